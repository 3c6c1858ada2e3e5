//! The database handle's own tests: group commit, a failing or panicking
//! job, a full queue, watchers, idle jobs and the clean stop.

use std::sync::mpsc;

use super::*;

fn open(dir: &tempfile::TempDir, queue: usize) -> Db {
    let mut config = Config::for_tests(dir.path());
    config.write_queue = queue;
    config.prepare_data_dir().expect("data dir");
    let db = Db::open(&config, |_| {
        anyhow::bail!("a new database needs no upgrade")
    })
    .expect("open");
    db.write_now(|tx| Ok(tx.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")?))
        .expect("table");
    db
}

fn rows(db: &Db) -> Vec<i64> {
    db.read_now(|conn| {
        let mut stmt = conn.prepare("SELECT x FROM t ORDER BY x")?;
        let rows = stmt.query_map([], |row| row.get(0))?;
        Ok(rows.collect::<Result<Vec<i64>, _>>()?)
    })
    .expect("rows")
}

/// Queues a job that holds the writer until the returned sender is used,
/// so that whatever is queued meanwhile forms the next batch.
fn hold_the_writer(db: &Db) -> (mpsc::Sender<()>, std::thread::JoinHandle<()>) {
    let (release, released) = mpsc::channel::<()>();
    let (started, running) = mpsc::channel::<()>();
    let held = db.clone();
    let holder = std::thread::spawn(move || {
        held.write_now(move |_| {
            started.send(()).expect("tell the test");
            released.recv().expect("released");
            Ok(())
        })
        .expect("the holding job");
    });
    running.recv().expect("the writer runs the holding job");
    (release, holder)
}

#[test]
fn in_one_batch_a_failing_job_rolls_back_alone_and_the_others_commit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 64);
    let (release, holder) = hold_the_writer(&db);
    let before =
        db.0.queue
            .commits
            .load(std::sync::atomic::Ordering::Relaxed);

    // Arrange: three jobs queued behind the held writer: one batch.
    let jobs: Vec<_> = [(1, false), (2, true), (3, false)]
        .into_iter()
        .map(|(x, fail)| {
            let db = db.clone();
            let job = std::thread::spawn(move || {
                db.write_now(move |tx| {
                    tx.execute("INSERT INTO t (x) VALUES (?1)", [x])?;
                    if fail {
                        // Its insert is in; the job's failure must undo it.
                        return Err(ApiError::NotFound);
                    }
                    Ok(x)
                })
            });
            (x, job)
        })
        .collect();
    // Each thread has queued its job once the queue holds three.
    while db.0.queue.queued() < 3 {
        std::thread::yield_now();
    }

    // Act
    release.send(()).expect("release");
    holder.join().expect("holder");
    let answers: Vec<_> = jobs
        .into_iter()
        .map(|(x, job)| (x, job.join().expect("job")))
        .collect();

    // Assert: one commit for the holder, one for the batch of three.
    let after =
        db.0.queue
            .commits
            .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(after - before, 2, "the three jobs shared one commit");
    assert!(matches!(answers[0], (1, Ok(1))));
    assert!(matches!(answers[1], (2, Err(ApiError::NotFound))));
    assert!(matches!(answers[2], (3, Ok(3))));
    assert_eq!(rows(&db), vec![1, 3]);
}

#[test]
fn an_idle_job_runs_only_after_the_writes_queued_behind_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 64);
    let ran = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (release, holder) = hold_the_writer(&db);

    // Arrange: the idle job is queued first, two writes after it.
    let mut jobs = Vec::new();
    for (name, idle) in [("idle", true), ("first", false), ("second", false)] {
        let (writing, ran) = (db.clone(), Arc::clone(&ran));
        let queued = db.0.queue.queued();
        jobs.push(std::thread::spawn(move || {
            let work = move |_: &Transaction<'_>| {
                ran.lock().expect("lock").push(name);
                Ok(())
            };
            let runtime = rocket::tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            if idle {
                runtime.block_on(writing.write_when_idle(work))
            } else {
                runtime.block_on(writing.write(work))
            }
        }));
        while db.0.queue.queued() == queued {
            std::thread::yield_now();
        }
    }

    // Act
    release.send(()).expect("release");
    holder.join().expect("holder");
    for job in jobs {
        job.join().expect("job").expect("answered");
    }

    // Assert
    assert_eq!(*ran.lock().expect("lock"), ["first", "second", "idle"]);
}

#[test]
fn a_panicking_job_is_rolled_back_and_answered_and_the_writer_carries_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 8);

    let panicked: Result<(), ApiError> = db.write_now(|tx| {
        tx.execute("INSERT INTO t (x) VALUES (1)", [])?;
        panic!("a bug in a job");
    });
    let next = db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (2)", [])?));

    assert!(matches!(panicked, Err(ApiError::Internal(_))));
    assert!(next.is_ok());
    assert_eq!(rows(&db), vec![2]);
}

#[test]
fn a_full_queue_turns_a_write_away_at_once_and_writes_nothing_of_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 1);
    let (release, holder) = hold_the_writer(&db);
    // The queue's one place taken, behind the held writer:
    let queued = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (1)", [])?))
        })
    };
    while db.0.queue.queued() < 1 {
        std::thread::yield_now();
    }

    let refused = db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (2)", [])?));
    release.send(()).expect("release");
    holder.join().expect("holder");

    assert!(matches!(
        refused,
        Err(ApiError::Busy { retry_after: 1, .. })
    ));
    assert!(queued.join().expect("queued").is_ok());
    assert_eq!(rows(&db), vec![1]);
}

#[test]
fn watchers_learn_of_a_change_before_the_write_is_answered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 8);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    db.watch(
        "t",
        Arc::new(move |ids: &[i64]| sink.lock().expect("lock").extend_from_slice(ids)),
    );

    let rowid = db
        .write_now(|tx| {
            tx.execute("INSERT INTO t (x) VALUES (5)", [])?;
            Ok(tx.last_insert_rowid())
        })
        .expect("insert");
    let after_answer = seen.lock().expect("lock").clone();
    db.write_now(
        |tx| Ok(tx.execute_batch("CREATE TABLE other (y); INSERT INTO other VALUES (1)")?),
    )
    .expect("unwatched");

    assert_eq!(after_answer, vec![rowid]);
    assert_eq!(
        *seen.lock().expect("lock"),
        vec![rowid],
        "other tables are not reported"
    );
}

#[test]
fn close_finishes_the_queued_writes_then_refuses_more_and_empties_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = open(&dir, 8);
    let (release, holder) = hold_the_writer(&db);
    let queued = {
        let db = db.clone();
        std::thread::spawn(move || {
            db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (7)", [])?))
        })
    };
    while db.0.queue.queued() == 0 {
        std::thread::yield_now();
    }
    let closing = {
        let db = db.clone();
        std::thread::spawn(move || db.close())
    };
    release.send(()).expect("release");
    holder.join().expect("holder");
    closing.join().expect("close").expect("closed");

    let late = db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (8)", [])?));
    assert!(queued.join().expect("queued").is_ok());
    assert!(matches!(late, Err(ApiError::Busy { .. })));
    assert_eq!(rows(&db), vec![7]);
    let wal = std::fs::metadata(dir.path().join("clinicdesk.sqlite3-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "every committed page is in the database file");
}

#[test]
fn only_a_clean_stop_leaves_the_mark_that_spares_the_next_start_its_check() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mark = dir.path().join("clinicdesk.sqlite3-closed");
    let db = open(&dir, 8);
    db.write_now(|tx| Ok(tx.execute("INSERT INTO t (x) VALUES (1)", [])?))
        .expect("write");
    db.close().expect("close");
    drop(db);
    assert!(mark.exists(), "a clean stop leaves the mark");

    // The next start takes it, so a crash of that run leaves none.
    let config = Config::for_tests(dir.path());
    let db = Db::open(&config, |_| anyhow::bail!("no upgrade")).expect("reopen");
    assert!(!mark.exists(), "the start took the mark");
    assert_eq!(rows(&db), vec![1]);
    drop(db);
    assert!(!mark.exists(), "a server that is not closed leaves no mark");
}

#[test]
fn now_is_rfc3339_utc_to_the_second() {
    let now = now();
    assert_eq!(now.len(), "2026-11-23T10:30:00Z".len(), "{now}");
    assert!(now.ends_with('Z'));
}
