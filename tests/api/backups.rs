//! `/api/admin/backups` (admin only) and the daily job's pruning.

use clinicdesk::backup;
use clinicdesk::config::Config;
use clinicdesk::db::Db;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{assert_error, header, json_with, spawn_app, spawn_app_with};

#[rocket::async_test]
async fn an_admin_backs_up_now_then_lists_and_downloads_a_verified_backup() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let created = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;
    let listed = app.get("/api/admin/backups/", &admin.access).await;
    let total = listed.headers()["x-total-count"]
        .to_str()
        .expect("count")
        .to_owned();
    let listed = json_with(listed, 200).await;
    let name = created["name"].as_str().expect("name");
    let download = app
        .get(&format!("/api/admin/backups/{name}"), &admin.access)
        .await;

    // Assert
    assert_eq!(created["verified"], true);
    assert_eq!(total, "1");
    assert_eq!(listed[0]["name"], name);
    assert_eq!(download.status(), 200);
    assert_eq!(
        download.headers()["content-type"],
        "application/octet-stream"
    );
    assert!(download.headers()["content-disposition"]
        .to_str()
        .expect("header")
        .contains(name));
    let bytes = download.bytes().await.expect("file");
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let sidecar = std::fs::read_to_string(
        app.data_dir
            .path()
            .join("backups")
            .join(format!("{name}.sha256")),
    )
    .expect("sha256 file");
    assert!(
        sidecar.starts_with(&hex::encode(Sha256::digest(&bytes))),
        "the download is the checksummed file"
    );
}

#[rocket::async_test]
async fn a_backup_is_named_by_the_clinics_clock_with_its_offset() {
    // Arrange: a zone whose offset (+05:30) no machine here runs on.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let zone = serde_json::json!({ "time_zone": "Asia/Kolkata" });
    json_with(app.patch("/api/settings/", &admin.access, &zone).await, 200).await;

    // Act
    let created = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;

    // Assert: `clinicdesk-2026-12-02_073000.123+0530.sqlite3`, the moment
    // the screen shows as `2026-12-02T07:30:00+05:30` (the file's time, a
    // moment after its name was chosen).
    let name = created["name"].as_str().expect("name");
    let stamp = name
        .strip_prefix("clinicdesk-")
        .and_then(|rest| rest.strip_suffix(".sqlite3"))
        .expect("clinicdesk-<time>.sqlite3");
    let named = jiff::fmt::strtime::parse("%Y-%m-%d_%H%M%S%.f%z", stamp)
        .and_then(|parsed| parsed.to_timestamp())
        .expect("a time in the name");
    assert!(
        stamp.ends_with("+0530"),
        "{name} carries the clinic's offset"
    );
    let shown: jiff::Timestamp = created["created_local"]
        .as_str()
        .expect("local time")
        .parse()
        .expect("a time");
    let apart = shown.duration_since(named);
    assert!(
        apart >= jiff::SignedDuration::from_secs(-1) && apart < jiff::SignedDuration::from_secs(60),
        "{name} names the moment the backup shows ({shown})"
    );
}

#[rocket::async_test]
async fn only_admins_reach_backups() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;

    // Act + Assert
    assert_error(
        app.post("/api/admin/backups", &staff.access, &Value::Null)
            .await,
        403,
        "permission_denied",
    )
    .await;
    assert_error(
        app.get("/api/admin/backups", &staff.access).await,
        403,
        "permission_denied",
    )
    .await;
    assert_error(
        app.get("/api/admin/backups/status", &staff.access).await,
        403,
        "permission_denied",
    )
    .await;
    assert_error(
        app.get("/api/admin/backups", "").await,
        401,
        "not_authenticated",
    )
    .await;
}

#[rocket::async_test]
async fn a_changed_backup_is_listed_as_unverified_and_nothing_else_downloads() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;
    let path = app
        .data_dir
        .path()
        .join("backups")
        .join(created["name"].as_str().expect("name"));
    let mut bytes = std::fs::read(&path).expect("backup");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, bytes).expect("changed");

    // Act
    let listed = json_with(app.get("/api/admin/backups", &admin.access).await, 200).await;

    // Assert
    assert_eq!(listed[0]["verified"], false);
    for other in ["jwt.key", "..%2Fjwt.key", "clinicdesk.sqlite3", ".."] {
        let response = app
            .get(&format!("/api/admin/backups/{other}"), &admin.access)
            .await;
        assert_eq!(response.status(), 404, "{other}");
    }
}

#[rocket::async_test]
async fn a_second_backup_within_a_minute_is_429_with_retry_after() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let first = app
        .post("/api/admin/backups", &admin.access, &Value::Null)
        .await;
    assert_eq!(first.status(), 201);

    // Act
    let second = app
        .post("/api/admin/backups", &admin.access, &Value::Null)
        .await;

    // Assert
    let retry_after: u64 = header(&second, "retry-after").parse().expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(second, 429, "throttled").await;
    let listed = app.get("/api/admin/backups/", &admin.access).await;
    assert_eq!(header(&listed, "x-total-count"), "1");
}

#[rocket::async_test]
async fn manual_backups_count_towards_the_retention() {
    // Arrange: three earlier manual backups (the command line's), keep two.
    let app = spawn_app_with(|config| config.backup_keep = 2).await;
    let admin = app.admin().await;
    let config = Config {
        backup_keep: 2,
        ..Config::for_tests(app.data_dir.path())
    };
    for _ in 0..3 {
        backup::create(&config, None).expect("manual backup");
    }

    // Act
    let made = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;

    // Assert
    let listed = app.get("/api/admin/backups/", &admin.access).await;
    assert_eq!(header(&listed, "x-total-count"), "2");
    let listed = json_with(listed, 200).await;
    assert_eq!(listed[0]["name"], made["name"], "the newest stays");
    let files = std::fs::read_dir(config.backup_dir())
        .expect("folder")
        .count();
    assert_eq!(
        files, 6,
        "two backups with two sidecars each, the others gone with theirs"
    );
}

#[cfg(unix)]
#[rocket::async_test]
async fn the_backup_folder_its_files_and_the_lock_file_are_for_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;

    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let made = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;

    // Assert
    let permissions_of = |path: &std::path::Path| {
        std::fs::metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    };
    let folder = app.data_dir.path().join("backups");
    let name = made["name"].as_str().expect("name");
    assert_eq!(permissions_of(&folder), 0o700, "backups/");
    for file in [
        name.to_owned(),
        format!("{name}.json"),
        format!("{name}.sha256"),
    ] {
        assert_eq!(permissions_of(&folder.join(&file)), 0o600, "{file}");
    }
    assert_eq!(
        permissions_of(&app.data_dir.path().join("clinicdesk.lock")),
        0o600,
        "clinicdesk.lock"
    );
}

#[rocket::async_test]
async fn the_status_shows_the_schedule_and_the_newest_backup() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;

    // Act
    let status = json_with(
        app.get("/api/admin/backups/status", &admin.access).await,
        200,
    )
    .await;

    // Assert
    assert_eq!(
        status["backup_time"], "off",
        "tests run without the daily job"
    );
    assert_eq!(status["backup_keep"], 7);
    assert_eq!(status["newest"]["name"], created["name"]);
    assert!(status["last_failure"].is_null());
}

#[test]
fn the_daily_job_keeps_the_newest_backups_and_never_prunes_upgrade_backups() {
    // Arrange: a database and a backup made before an upgrade.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config {
        backup_keep: 2,
        ..Config::for_tests(dir.path())
    };
    config.prepare_data_dir().expect("data dir");
    drop(Db::open(&config, |from| backup::before_upgrade(&config, from)).expect("database"));
    backup::create(&config, Some(&backup::pre_migration_path(&config, 3))).expect("upgrade backup");

    // Act
    for _ in 0..4 {
        backup::schedule::back_up_now(&config, config.backup_keep).expect("daily backup");
    }

    // Assert
    let names: Vec<String> = backup::list(&config)
        .iter()
        .map(|p| p.file_name().expect("name").to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        3,
        "two daily and the upgrade backup: {names:?}"
    );
    assert_eq!(
        names
            .iter()
            .filter(|n| n.contains("before-upgrade"))
            .count(),
        1
    );
    let sidecars = std::fs::read_dir(config.backup_dir())
        .expect("folder")
        .count();
    assert_eq!(
        sidecars, 9,
        "each kept backup has its two sidecars, pruned ones none"
    );
}

#[test]
fn stale_temporary_files_of_an_interrupted_backup_are_swept_at_start_up() {
    // Arrange: one partial file from long ago, one from just now.
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::for_tests(dir.path());
    config.prepare_data_dir().expect("data dir");
    let old = dir.path().join(".backup-dead.partial");
    let fresh = dir.path().join(".backup-running.partial");
    for path in [&old, &fresh] {
        std::fs::write(path, b"half a snapshot").expect("partial");
    }
    let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 60 * 60);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .expect("open")
        .set_modified(long_ago)
        .expect("aged");

    // Act
    backup::sweep_partials(&config);

    // Assert: the old one is gone; one that may belong to a running backup stays.
    assert!(!old.exists());
    assert!(fresh.exists());
}
