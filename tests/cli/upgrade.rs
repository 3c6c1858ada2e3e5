//! Upgrades: a database written by an older clinicdesk is backed up, then
//! migrated at start-up; one from a newer clinicdesk is refused untouched.

use std::fs;
use std::path::Path;

use rusqlite::Connection;

use crate::harness::{clinicdesk, login, parse_local_url, serve_args, Running, PASSWORD};

/// A database as the first release left it: schema 1, one admin.
fn first_release_database(dir: &Path) {
    let conn = Connection::open(dir.join("clinicdesk.sqlite3")).expect("database");
    conn.execute_batch(include_str!("../../migrations/0001_users.sql"))
        .expect("schema 1");
    let hash = clinicdesk::auth::password::hash(PASSWORD).expect("hash");
    conn.execute(
        "INSERT INTO users (email, password_hash, role, created_at, updated_at)
         VALUES ('old@clinic.test', ?1, 'admin', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
        [hash],
    )
    .expect("the old admin");
    conn.pragma_update(None, "user_version", 1)
        .expect("version 1");
}

fn user_version(path: &Path) -> i64 {
    Connection::open(path)
        .expect("open")
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .expect("user_version")
}

#[rocket::async_test]
async fn a_database_from_an_older_release_is_backed_up_then_upgraded() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    first_release_database(dir.path());

    // Act
    let mut server = Running::start(clinicdesk(serve_args(dir.path())), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    let (port, _) = parse_local_url(&line).expect("address");

    // Assert: the old admin logs in, a patient can be stored (schema 4)...
    let body: serde_json::Value = login(port, "old@clinic.test", PASSWORD)
        .await
        .json()
        .await
        .expect("login");
    let created = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/patients/"))
        .bearer_auth(body["access"].as_str().expect("access"))
        .json(&serde_json::json!({ "first_name": "Grace" }))
        .send()
        .await
        .expect("patient sent");
    assert_eq!(created.status(), 201);
    // ...and the schema-1 database was kept first.
    let backups: Vec<_> = fs::read_dir(dir.path().join("backups"))
        .expect("a backups folder")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "sqlite3"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    let name = backups[0].display().to_string();
    assert!(name.contains("before-upgrade-from-schema-1"), "{name}");
    assert_eq!(user_version(&backups[0]), 1);
}

#[test]
fn a_database_from_a_newer_release_is_refused_and_left_as_it_is() {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    first_release_database(dir.path());
    let database = dir.path().join("clinicdesk.sqlite3");
    Connection::open(&database)
        .expect("open")
        .pragma_update(None, "user_version", 99)
        .expect("99");

    // Act
    let start = Running::start(clinicdesk(serve_args(dir.path())), None).finish();

    // Assert
    assert!(!start.status.success());
    assert!(
        start.stderr.contains("newer clinicdesk"),
        "{}",
        start.stderr
    );
    assert_eq!(user_version(&database), 99);
    assert!(
        !dir.path().join("backups").exists(),
        "nothing was backed up or changed"
    );
}

#[test]
fn a_failed_upgrade_is_rolled_back_and_the_start_refused_with_the_backup_named() {
    // Arrange: schema 1, plus a table in the way of migration 2.
    let dir = tempfile::tempdir().expect("temp dir");
    first_release_database(dir.path());
    let database = dir.path().join("clinicdesk.sqlite3");
    Connection::open(&database)
        .expect("open")
        .execute_batch("CREATE TABLE patients (something_else TEXT);")
        .expect("an obstacle");

    // Act
    let start = Running::start(clinicdesk(serve_args(dir.path())), None).finish();

    // Assert: refused, unchanged, and the pre-upgrade backup is named.
    assert!(!start.status.success());
    assert!(start.stderr.contains("rolled back"), "{}", start.stderr);
    assert!(
        start.stderr.contains("before-upgrade-from-schema-1"),
        "{}",
        start.stderr
    );
    assert_eq!(user_version(&database), 1);
    let conn = Connection::open(&database).expect("open");
    let doctors: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'doctors')",
            [],
            |row| row.get(0),
        )
        .expect("schema query");
    assert!(!doctors, "no part of the upgrade stayed");
}

/// A database as the release before duplicate detection left it (schema
/// 13), with an admin, the same person registered twice, and a name with
/// accents indexed the old way.
fn database_before_duplicate_detection(dir: &Path) {
    let conn = Connection::open(dir.join("clinicdesk.sqlite3")).expect("database");
    for migration in [
        include_str!("../../migrations/0001_users.sql"),
        include_str!("../../migrations/0002_patients.sql"),
        include_str!("../../migrations/0003_doctors.sql"),
        include_str!("../../migrations/0004_mappings.sql"),
        include_str!("../../migrations/0005_login_lockout.sql"),
        include_str!("../../migrations/0006_audit_log.sql"),
        include_str!("../../migrations/0007_temporary_passwords.sql"),
        include_str!("../../migrations/0008_search_index.sql"),
        include_str!("../../migrations/0009_patient_counts.sql"),
        include_str!("../../migrations/0010_ids_never_reused.sql"),
        include_str!("../../migrations/0011_clinic_time_zone.sql"),
        include_str!("../../migrations/0012_appointments.sql"),
        include_str!("../../migrations/0013_mappings_end_with_their_doctor.sql"),
    ] {
        conn.execute_batch(migration).expect("an older schema");
    }
    let hash = clinicdesk::auth::password::hash(PASSWORD).expect("hash");
    conn.execute(
        "INSERT INTO users (email, password_hash, role, created_at, updated_at)
         VALUES ('old@clinic.test', ?1, 'admin', '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
        [hash],
    )
    .expect("the old admin");
    // A clinic in Kolkata (+05:30), which names the backup the upgrade makes.
    conn.execute(
        "INSERT INTO settings (id, registration, time_zone, updated_at)
         VALUES (1, 'closed', 'Asia/Kolkata', '2025-01-01T00:00:00Z')",
        [],
    )
    .expect("the old settings");
    // The search text as older releases wrote it: lower-cased, accents kept.
    for (first, last) in [
        ("Katharina", "Schmidt"),
        ("Katarina", "Schmitt"),
        ("María", "Hernández"),
    ] {
        conn.execute(
            "INSERT INTO patients (first_name, last_name, date_of_birth, search_text, created_by,
                                   created_at, updated_at)
             VALUES (?1, ?2, '1984-07-12', lower(?1 || ' ' || ?2), 1,
                     '2025-01-01T00:00:00Z', '2025-01-01T00:00:00Z')",
            [first, last],
        )
        .expect("an older patient");
    }
    conn.pragma_update(None, "user_version", 13)
        .expect("version 13");
}

#[rocket::async_test]
async fn patients_from_before_duplicate_detection_are_paired_and_searched_by_folded_names_after_the_upgrade(
) {
    // Arrange
    let dir = tempfile::tempdir().expect("temp dir");
    database_before_duplicate_detection(dir.path());

    // Act
    let mut server = Running::start(clinicdesk(serve_args(dir.path())), None);
    let line = server.wait_for("the address", |l| l.contains("is running at"));
    let (port, _) = parse_local_url(&line).expect("address");
    let body: serde_json::Value = login(port, "old@clinic.test", PASSWORD)
        .await
        .json()
        .await
        .expect("login");
    let token = body["access"].as_str().expect("access").to_owned();

    // Assert: the background fill pairs them (it runs after start and says
    // when it is done, naming only how many patients).
    server.wait_for("the background reindex", |l| {
        l.contains("older patients indexed") && l.contains("patients=3")
    });
    let http = reqwest::Client::new();
    let pairs: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/api/patients/duplicates/"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("pairs sent")
        .json()
        .await
        .expect("pairs");
    assert_eq!(pairs[0]["a"]["id"], 1, "{pairs}");
    assert_eq!(pairs[0]["b"]["id"], 2, "{pairs}");
    let check = http
        .get(format!(
            "http://127.0.0.1:{port}/api/patients/duplicate-check/?first_name=Katharina&last_name=Schmidt&date_of_birth=1984-07-12"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("check sent")
        .json::<serde_json::Value>()
        .await
        .expect("check");
    assert_eq!(check.as_array().map(Vec::len), Some(2), "{check}");
    // ...and the older rows are searched as this release folds names.
    let found = http
        .get(format!(
            "http://127.0.0.1:{port}/api/patients/?search=hernan"
        ))
        .bearer_auth(&token)
        .send()
        .await
        .expect("search sent")
        .json::<serde_json::Value>()
        .await
        .expect("search");
    assert_eq!(found[0]["id"], 3, "{found}");
    server.stop();
    // The backup before the upgrade is named on the clinic's clock, read
    // from the old schema's settings.
    let kept: Vec<String> = fs::read_dir(dir.path().join("backups"))
        .expect("a backups folder")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".sqlite3"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0].ends_with("+0530-before-upgrade-from-schema-13.sqlite3"),
        "{kept:?}"
    );
}
