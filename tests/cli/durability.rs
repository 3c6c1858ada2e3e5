//! Start-up and shutdown safety: one server per data directory, a clean
//! stop on SIGTERM that leaves the database file complete, a refusal to
//! serve from a damaged database, and start-up checks skipped only after a
//! clean stop.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::process::Command;

use crate::harness::{
    access_token, admin_create, assert_patients_readable, clinicdesk, parse_local_url, serve_args,
    write_until_stopped, Running, PASSWORD,
};

/// Starts a server on `dir` and waits until it prints its address.
fn start_server(dir: &std::path::Path) -> (Running, u16) {
    let mut server = Running::start(clinicdesk(serve_args(dir)), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    let (port, _) = parse_local_url(&line).expect("address line");
    (server, port)
}

/// Sends SIGTERM to `server` and waits for it to exit 0, as a clean stop
/// does; what it printed.
fn stop_with_sigterm(server: &mut Running) -> crate::harness::Finished {
    let signal = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(signal.success());
    let finished = server.finish();
    assert!(
        finished.status.success(),
        "exit 0 on SIGTERM: {:?}\n{}",
        finished.status,
        finished.stderr
    );
    finished
}

#[test]
fn a_second_server_on_the_same_data_directory_is_refused() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    let (_first, _) = start_server(dir.path());

    // Act
    let second = Running::start(clinicdesk(serve_args(dir.path())), None).finish();

    // Assert
    assert!(!second.status.success(), "the second start must fail");
    assert!(
        second.stderr.contains("already using the data directory"),
        "{}",
        second.stderr
    );
    assert!(
        second.stderr.contains(&dir.path().display().to_string()),
        "{}",
        second.stderr
    );
}

#[rocket::async_test]
async fn sigterm_stops_the_server_cleanly_and_leaves_the_write_ahead_log_empty() {
    // Arrange: a server that has written something.
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), "boss@clinic.test", PASSWORD)
        .status
        .success());
    let (mut server, port) = start_server(dir.path());
    let login = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/auth/login/"))
        .json(&serde_json::json!({ "email": "boss@clinic.test", "password": PASSWORD }))
        .send()
        .await
        .expect("login sent");
    assert_eq!(login.status(), 200, "the login writes a refresh-token row");

    // Act
    stop_with_sigterm(&mut server);

    // Assert
    let wal = dir.path().join("clinicdesk.sqlite3-wal");
    let wal_len = fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(wal_len, 0, "every committed page is in the database file");
}

#[test]
fn a_damaged_database_stops_the_start_with_a_message_naming_it() {
    // Arrange: a real database with a backup, then garbage over its second
    // half. Both commands stopped cleanly and left the mark that lets a start
    // skip its check (`clinicdesk.sqlite3-closed`): the damage came after it,
    // so the start must check all the same.
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), "boss@clinic.test", PASSWORD)
        .status
        .success());
    let mut backup = clinicdesk(["--data-dir"]);
    backup.arg(dir.path()).arg("backup");
    assert!(Running::start(backup, None).finish().status.success());
    let database = dir.path().join("clinicdesk.sqlite3");
    let length = fs::metadata(&database).expect("database exists").len();
    let mut file = fs::OpenOptions::new()
        .write(true)
        .open(&database)
        .expect("open");
    file.seek(SeekFrom::Start(length / 2)).expect("seek");
    file.write_all(&vec![0xA5; usize::try_from(length / 2).expect("small")])
        .expect("garbage written");
    drop(file);
    assert!(dir.path().join("clinicdesk.sqlite3-closed").exists());

    // Act
    let start = Running::start(clinicdesk(serve_args(dir.path())), None).finish();

    // Assert
    assert!(
        !start.status.success(),
        "a damaged database must not be served"
    );
    assert!(
        start.stderr.contains(&database.display().to_string()),
        "{}",
        start.stderr
    );
    assert!(start.stderr.contains("damaged"), "{}", start.stderr);
    assert!(
        start.stderr.contains("clinicdesk restore"),
        "names the newest backup: {}",
        start.stderr
    );
    assert!(!start.stdout.contains("is running at"), "{}", start.stdout);
}

#[rocket::async_test]
async fn only_a_start_after_a_clean_stop_skips_the_integrity_checks() {
    const SKIPPED: &str = "the start-up integrity checks are skipped";
    let dir = tempfile::tempdir().expect("temp dir");
    let mark = dir.path().join("clinicdesk.sqlite3-closed");
    assert!(admin_create(dir.path(), "boss@clinic.test", PASSWORD)
        .status
        .success());
    assert!(mark.exists(), "`admin create` stopped cleanly");

    // A start after that clean stop skips the checks and takes the mark.
    let (server, _) = start_server(dir.path());
    assert!(!mark.exists(), "a running server has taken the mark");
    let printed = server.stop(); // kill -9
    assert!(printed.iter().any(|l| l.contains(SKIPPED)), "{printed:?}");

    // After kill -9 no mark is left, so the next start checks.
    assert!(!mark.exists(), "kill -9 leaves no mark");
    let (mut server, port) = start_server(dir.path());
    // Answered: the server is past its start and handles SIGTERM itself.
    let health = reqwest::get(format!("http://127.0.0.1:{port}/api/health"))
        .await
        .expect("health answered");
    assert_eq!(health.status(), 200);
    let finished = stop_with_sigterm(&mut server);
    assert!(!finished.stderr.contains(SKIPPED), "{}", finished.stderr);
    assert!(mark.exists(), "SIGTERM is a clean stop");
}

#[test]
fn check_reports_the_database_settings_and_integrity() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), "boss@clinic.test", PASSWORD)
        .status
        .success());

    // Act
    let mut command = clinicdesk(["--data-dir"]);
    command.arg(dir.path()).arg("check");
    let report = Running::start(command, None).finish();

    // Assert
    assert!(report.status.success(), "{}", report.stderr);
    for expected in [
        "journal mode:    wal",
        "synchronous:     FULL",
        "foreign keys:    on",
        "integrity:       ok",
        "backup schedule: 02:00 keeping 7 from the configuration, set at the first start",
    ] {
        assert!(
            report.stdout.contains(expected),
            "{expected:?} missing from:\n{}",
            report.stdout
        );
    }
}

/// Reads acknowledged patients one by one until `stop`, keeping the
/// `X-Request-Id` of every answered read: each must have its audit row.
async fn read_until_stopped(
    port: u16,
    token: &str,
    stop: &std::sync::atomic::AtomicBool,
    acknowledged: &std::sync::Mutex<Vec<i64>>,
    answered: &std::sync::Mutex<Vec<String>>,
) {
    use std::sync::atomic::Ordering;
    let http = reqwest::Client::new();
    let mut turn = 0usize;
    while !stop.load(Ordering::SeqCst) {
        let id = {
            let ids = acknowledged.lock().expect("not poisoned");
            if ids.is_empty() {
                None
            } else {
                Some(ids[turn % ids.len()])
            }
        };
        turn += 1;
        let Some(id) = id else {
            rocket::tokio::task::yield_now().await;
            continue;
        };
        let Ok(response) = http
            .get(format!("http://127.0.0.1:{port}/api/patients/{id}/"))
            .bearer_auth(token)
            .send()
            .await
        else {
            break;
        };
        if response.status() == 200 {
            if let Some(request) = response.headers().get("X-Request-Id") {
                let request = request.to_str().unwrap_or_default().to_owned();
                answered.lock().expect("not poisoned").push(request);
            }
        }
    }
}

#[rocket::async_test]
async fn every_acknowledged_write_and_every_answered_reads_record_survive_kill_9_under_load() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    let dir = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(dir.path(), "boss@clinic.test", PASSWORD)
        .status
        .success());
    let acknowledged = Mutex::new(Vec::new());
    let answered = Mutex::new(Vec::new());
    // An unpredictable moment: after between 10 and 59 acknowledged writes.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for round in 0..3u32 {
        // Arrange: a server under load from six writers and two readers.
        let (mut server, port) = start_server(dir.path());
        let token = access_token(port).await;
        let stop = AtomicBool::new(false);
        let before = acknowledged.lock().expect("not poisoned").len();
        let reads_before = answered.lock().expect("not poisoned").len();
        let kill_after = before + 10 + usize::try_from((seed >> (round * 5)) % 50).expect("small");

        // Act: kill -9 once enough writes were acknowledged and a read was
        // answered (under a loaded machine the readers, which read what was
        // acknowledged, can still be waiting for their first answer).
        let killer = async {
            while (acknowledged.lock().expect("not poisoned").len() < kill_after
                || answered.lock().expect("not poisoned").len() == reads_before)
                && !stop.load(Ordering::SeqCst)
            {
                rocket::tokio::task::yield_now().await;
            }
            let _ = server.child.kill();
            stop.store(true, Ordering::SeqCst);
        };
        let load = async {
            write_until_stopped(port, &token, 6, 200, &stop, &acknowledged).await;
            stop.store(true, Ordering::SeqCst);
        };
        let reads = rocket::futures::future::join(
            read_until_stopped(port, &token, &stop, &acknowledged, &answered),
            read_until_stopped(port, &token, &stop, &acknowledged, &answered),
        );
        rocket::futures::future::join3(killer, load, reads).await;
        drop(server);

        // Assert: intact, and nothing acknowledged is missing.
        let mut check = clinicdesk(["--data-dir"]);
        check.arg(dir.path()).arg("check");
        let report = Running::start(check, None).finish();
        assert!(
            report.stdout.contains("integrity:       ok"),
            "round {round}: {}{}",
            report.stdout,
            report.stderr
        );
        let (_server, port) = start_server(dir.path());
        let token = access_token(port).await;
        let ids = acknowledged.lock().expect("not poisoned").clone();
        assert!(ids.len() > before, "round {round} wrote something");
        let context = format!("round {round}, acknowledged before kill -9");
        assert_patients_readable(port, &token, &ids, &context).await;
        let conn = rusqlite::Connection::open(dir.path().join("clinicdesk.sqlite3")).expect("open");
        let recorded: std::collections::HashSet<String> = conn
            .prepare("SELECT request_id FROM audit_log WHERE action = 'view'")
            .expect("query")
            .query_map([], |row| row.get(0))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("request ids");
        let reads = answered.lock().expect("not poisoned").clone();
        assert!(
            reads.len() > reads_before,
            "round {round}: some reads were answered"
        );
        let missing: Vec<&String> = reads.iter().filter(|r| !recorded.contains(*r)).collect();
        assert!(
            missing.is_empty(),
            "round {round}: {} of {} answered reads have no audit row",
            missing.len(),
            reads.len()
        );
    }
}
