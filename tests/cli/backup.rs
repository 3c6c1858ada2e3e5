//! `clinicdesk backup` and `clinicdesk restore`: an online backup holds
//! what was committed, restores into another data directory, and a damaged
//! or tampered backup is refused without touching the current database.

use std::fs;

use serde_json::{json, Value};

use crate::harness::{admin_create, clinicdesk, login, run, start_server, Running, PASSWORD};

const ADMIN: &str = "boss@clinic.test";

/// A data directory with an admin, backed up to `<dir>/copy.sqlite3`.
fn clinic_with_backup() -> (tempfile::TempDir, std::path::PathBuf) {
    let clinic = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(clinic.path(), ADMIN, PASSWORD)
        .status
        .success());
    let out = clinic.path().join("copy.sqlite3");
    let made = run(
        clinic.path(),
        &["backup", "--out", out.to_str().expect("utf-8")],
    );
    assert!(made.status.success(), "{}", made.stderr);
    (clinic, out)
}

async fn access_token(port: u16) -> String {
    let body: Value = login(port, ADMIN, PASSWORD)
        .await
        .json()
        .await
        .expect("login body");
    body["access"].as_str().expect("access").to_owned()
}

#[rocket::async_test]
async fn a_backup_taken_while_serving_restores_into_a_new_data_directory() {
    // Arrange: a running clinic with one patient.
    let clinic = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(clinic.path(), ADMIN, PASSWORD)
        .status
        .success());
    let (server, port) = start_server(clinic.path());
    let token = access_token(port).await;
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/patients/"))
        .bearer_auth(&token)
        .json(&json!({ "first_name": "Grace", "last_name": "Hopper" }))
        .send()
        .await
        .expect("patient sent");
    assert_eq!(created.status(), 201);
    let out = clinic.path().join("copy.sqlite3");

    // Act: back up while the server runs, then restore elsewhere.
    let backup = run(
        clinic.path(),
        &["backup", "--out", out.to_str().expect("utf-8")],
    );
    drop(server);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let restored = run(elsewhere.path(), &["restore", out.to_str().expect("utf-8")]);

    // Assert: the files, then the old account and patient on the new machine.
    assert!(backup.status.success(), "{}", backup.stderr);
    let manifest: Value = serde_json::from_slice(
        &fs::read(clinic.path().join("copy.sqlite3.json")).expect("manifest"),
    )
    .expect("JSON");
    assert_eq!(manifest["rows"]["patients"], 1);
    let checksum =
        fs::read_to_string(clinic.path().join("copy.sqlite3.sha256")).expect("checksum file");
    assert!(checksum.ends_with("  copy.sqlite3\n"), "{checksum}");
    assert!(restored.status.success(), "{}", restored.stderr);
    let (_server, port) = start_server(elsewhere.path());
    let token = access_token(port).await;
    let list: Value = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/api/patients/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("list sent")
        .json()
        .await
        .expect("list body");
    assert_eq!(list[0]["name"], "Grace Hopper");
}

#[test]
fn a_tampered_backup_is_refused_and_the_current_database_is_left_alone() {
    // Arrange
    let (_clinic, out) = clinic_with_backup();
    let target = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(target.path(), "other@clinic.test", PASSWORD)
        .status
        .success());
    let before = fs::read(target.path().join("clinicdesk.sqlite3")).expect("current database");
    let mut bytes = fs::read(&out).expect("backup");
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    fs::write(&out, bytes).expect("tampered");

    // Act
    let restored = run(target.path(), &["restore", out.to_str().expect("utf-8")]);

    // Assert
    assert!(!restored.status.success());
    assert!(
        restored.stderr.contains("does not match its checksum"),
        "{}",
        restored.stderr
    );
    let after = fs::read(target.path().join("clinicdesk.sqlite3")).expect("current database");
    assert!(before == after, "the current database is unchanged");
}

#[test]
fn restore_is_refused_while_a_server_uses_the_data_directory() {
    // Arrange
    let (clinic, out) = clinic_with_backup();
    let (_server, _) = start_server(clinic.path());

    // Act
    let restored = run(clinic.path(), &["restore", out.to_str().expect("utf-8")]);

    // Assert
    assert!(!restored.status.success());
    assert!(
        restored.stderr.contains("stop the clinicdesk server"),
        "{}",
        restored.stderr
    );
}

#[test]
fn an_encrypted_backup_restores_with_its_passphrase_and_a_wrong_one_changes_nothing() {
    // Arrange: a clinic whose configuration encrypts backups.
    let clinic = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(clinic.path(), ADMIN, PASSWORD)
        .status
        .success());
    let secret = clinic.path().join("backup-passphrase.txt");
    fs::write(&secret, "a long backup passphrase\n").expect("passphrase file");
    let config = format!(
        "backup_passphrase_file = {:?}\n",
        secret.display().to_string()
    );
    fs::write(clinic.path().join("clinicdesk.toml"), config).expect("config");
    let made = run(clinic.path(), &["backup"]);
    assert!(made.status.success(), "{}", made.stderr);
    let file = fs::read_dir(clinic.path().join("backups"))
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .find(|p| p.to_string_lossy().ends_with(".sqlite3.age"))
        .expect("an encrypted backup");
    let wrong = clinic.path().join("wrong.txt");
    fs::write(&wrong, "not the passphrase\n").expect("wrong file");
    let target = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(target.path(), "other@clinic.test", PASSWORD)
        .status
        .success());
    // The target's clinic (its settings are made at its first start) keeps
    // Indian time, so its kept file says +0530.
    drop(start_server(target.path()).0.stop());
    rusqlite::Connection::open(target.path().join("clinicdesk.sqlite3"))
        .expect("open")
        .execute(
            "UPDATE settings SET time_zone = 'Asia/Kolkata' WHERE id = 1",
            [],
        )
        .expect("time zone set");
    let before = fs::read(target.path().join("clinicdesk.sqlite3")).expect("database");
    let file_arg = file.to_str().expect("utf-8");

    // Act
    let refused = run(
        target.path(),
        &[
            "restore",
            file_arg,
            "--passphrase-file",
            wrong.to_str().expect("utf-8"),
        ],
    );
    let after_refusal = fs::read(target.path().join("clinicdesk.sqlite3")).expect("database");
    let restored = run(
        target.path(),
        &[
            "restore",
            file_arg,
            "--passphrase-file",
            secret.to_str().expect("utf-8"),
        ],
    );

    // Assert
    let raw = fs::read(&file).expect("backup");
    assert!(
        !raw.starts_with(b"SQLite format 3"),
        "the backup is not plain SQLite"
    );
    assert!(
        !raw.windows(ADMIN.len()).any(|w| w == ADMIN.as_bytes()),
        "no readable account data"
    );
    assert!(!refused.status.success());
    assert!(
        refused.stderr.contains("passphrase does not open"),
        "{}",
        refused.stderr
    );
    assert!(
        before == after_refusal,
        "a wrong passphrase changes nothing"
    );
    assert!(restored.status.success(), "{}", restored.stderr);
    let kept: Vec<String> = fs::read_dir(target.path())
        .expect("data dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("clinicdesk.sqlite3.pre-restore-"))
        .collect();
    assert_eq!(kept.len(), 1, "the replaced database is kept: {kept:?}");
    assert!(
        kept[0].ends_with("+0530"),
        "named on the clinic's clock: {kept:?}"
    );
    let conn = rusqlite::Connection::open(target.path().join("clinicdesk.sqlite3")).expect("open");
    let email: String = conn
        .query_row("SELECT email FROM users", [], |row| row.get(0))
        .expect("the old account");
    assert_eq!(email, ADMIN);
}

#[rocket::async_test]
async fn a_backup_under_ten_continuous_writers_holds_every_earlier_write_and_disturbs_none() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;

    // Arrange: ten clients writing patients continuously.
    let clinic = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(clinic.path(), ADMIN, PASSWORD)
        .status
        .success());
    let (_server, port) = start_server(clinic.path());
    let token = crate::harness::access_token(port).await;
    let (stop, acknowledged) = (AtomicBool::new(false), Mutex::new(Vec::new()));
    let out = clinic.path().join("during-load.sqlite3");
    let out_arg = out.to_str().expect("utf-8").to_owned();

    // Act: once writes flow, back up from another process; keep writing after.
    let backup_task = async {
        while acknowledged.lock().expect("not poisoned").len() < 30 {
            rocket::tokio::task::yield_now().await;
        }
        let before: Vec<i64> = acknowledged.lock().expect("not poisoned").clone();
        let dir = clinic.path().to_path_buf();
        let made =
            rocket::tokio::task::spawn_blocking(move || run(&dir, &["backup", "--out", &out_arg]))
                .await
                .expect("backup ran");
        let after = acknowledged.lock().expect("not poisoned").len();
        while acknowledged.lock().expect("not poisoned").len() < after + 20 {
            rocket::tokio::task::yield_now().await;
        }
        stop.store(true, Ordering::SeqCst);
        (made, before)
    };
    let load = crate::harness::write_until_stopped(port, &token, 10, 400, &stop, &acknowledged);
    let ((made, before), failures) = rocket::futures::future::join(backup_task, load).await;

    // Assert: no client noticed; the backup restores with every earlier write.
    assert_eq!(failures, 0, "no writer saw an error");
    assert!(made.status.success(), "{}", made.stderr);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let restored = run(elsewhere.path(), &["restore", out.to_str().expect("utf-8")]);
    assert!(restored.status.success(), "{}", restored.stderr);
    let (_copy, port) = start_server(elsewhere.path());
    let token = crate::harness::access_token(port).await;
    crate::harness::assert_patients_readable(
        port,
        &token,
        &before,
        "committed before the backup began",
    )
    .await;
}

#[test]
fn killing_a_backup_midway_never_leaves_a_file_under_the_final_name_unless_it_is_whole() {
    // Arrange: a database big enough that a backup takes a while.
    let clinic = tempfile::tempdir().expect("temp dir");
    assert!(admin_create(clinic.path(), ADMIN, PASSWORD)
        .status
        .success());
    let conn = rusqlite::Connection::open(clinic.path().join("clinicdesk.sqlite3")).expect("open");
    conn.execute_batch(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
         INSERT INTO patients (first_name, last_name, medical_history, created_by, created_at, updated_at)
         SELECT 'P' || i, 'L' || i, printf('%.200c', 'x'), 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM n;",
    )
    .expect("rows");
    drop(conn);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());

    for round in 0..5u32 {
        let out = clinic.path().join(format!("killed-{round}.sqlite3"));
        let mut command = clinicdesk(["--data-dir"]);
        command
            .arg(clinic.path())
            .args(["backup", "--out", out.to_str().expect("utf-8")]);
        let mut backup = Running::start(command, None);

        // Act: kill -9 at an unpredictable moment within the ~0.7 s a
        // backup of this database takes here (start-up included).
        let delay = u64::from((seed >> (round * 4)) % 700);
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(delay);
        while std::time::Instant::now() < deadline {
            std::thread::yield_now();
        }
        let _ = backup.child.kill();
        drop(backup);

        // Assert: nothing under the final name, or a whole, verified backup.
        if out.exists() {
            let sidecar = fs::read_to_string(format!("{}.sha256", out.display()))
                .expect("a complete backup has its checksum");
            let actual = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                fs::read(&out).expect("backup"),
            ));
            assert!(
                sidecar.starts_with(&actual),
                "round {round}: a file under the final name is whole"
            );
        }
    }
}
