//! The backup schedule as clinic settings (validated, stored, planned by the
//! running scheduler without a restart), backups answered on the clinic's
//! clock, and a download that is admin-only and in the trail.

use clinicdesk::backup;
use clinicdesk::config::Config;
use serde_json::{json, Value};

use crate::helpers::{assert_error, assert_field_errors, header, json_with, spawn_app, TestApp};

/// The status once the scheduler has planned by `backup_time`: it plans
/// on its own task, woken by the settings change, so the status may lag the
/// PATCH by a moment. Asks again (no sleep) until it has, a bounded number
/// of times.
async fn status_planned(app: &TestApp, token: &str, planned: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        last = json_with(app.get("/api/admin/backups/status", token).await, 200).await;
        if planned(&last) {
            return last;
        }
        rocket::tokio::task::yield_now().await;
    }
    panic!("the scheduler never planned as asked: {last}");
}

#[rocket::async_test]
async fn the_schedule_is_a_validated_setting_and_the_running_scheduler_plans_by_it() {
    // Arrange: tests start with the daily backup off (the config's value).
    let app = spawn_app().await;
    let admin = app.admin().await;
    let before = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(before["backup_time"], "off");
    assert_eq!(before["backup_keep"], 7);

    // Act: bad values, all reported at once, nothing changed
    let refused = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "backup_time": "25:00", "backup_keep": 0, "clinic_name": "Changed" }),
        )
        .await;

    // Assert
    assert_field_errors(refused, &["backup_time", "backup_keep"]).await;
    for bad in [
        json!({ "backup_time": "2:00" }),
        json!({ "backup_keep": 366 }),
    ] {
        let response = app.patch("/api/settings/", &admin.access, &bad).await;
        assert_error(response, 400, "validation_error").await;
    }
    let unchanged = json_with(app.get("/api/settings/", &admin.access).await, 200).await;
    assert_eq!(unchanged, before, "a refused change changes nothing");

    // Act: a time on the clinic's clock
    let saved = json_with(
        app.patch(
            "/api/settings/",
            &admin.access,
            &json!({ "time_zone": "Asia/Kolkata", "backup_time": "03:17", "backup_keep": 3 }),
        )
        .await,
        200,
    )
    .await;

    // Assert: stored, and the scheduler now plans 03:17 in Kolkata
    assert_eq!(saved["backup_time"], "03:17");
    assert_eq!(saved["backup_keep"], 3);
    let status = status_planned(&app, &admin.access, |s| {
        s["next_run"]
            .as_str()
            .is_some_and(|next| next.ends_with("T03:17:00+05:30"))
    })
    .await;
    assert_eq!(status["backup_time"], "03:17");
    assert_eq!(status["backup_keep"], 3);
    assert_eq!(status["time_zone"], "Asia/Kolkata");

    // Act: off again
    let off = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "backup_time": "off" }),
        )
        .await;

    // Assert: nothing planned
    assert_eq!(json_with(off, 200).await["backup_time"], "off");
    status_planned(&app, &admin.access, |s| s["next_run"].is_null()).await;
}

#[rocket::async_test]
async fn the_keep_setting_decides_how_many_backups_the_folder_keeps() {
    // Arrange: two earlier backups (the command line's), then keep one.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let config = Config::for_tests(app.data_dir.path());
    for _ in 0..2 {
        backup::create(&config, None).expect("manual backup");
    }
    let saved = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "backup_keep": 1 }),
        )
        .await;
    assert_eq!(saved.status(), 200);

    // Act
    let made = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;

    // Assert: only the newest stays, though the config file says 7
    let listed = app.get("/api/admin/backups/", &admin.access).await;
    assert_eq!(header(&listed, "x-total-count"), "1");
    assert_eq!(json_with(listed, 200).await[0]["name"], made["name"]);
}

#[rocket::async_test]
async fn backups_are_listed_on_the_clinics_clock_and_a_download_is_audited_and_admin_only() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;
    let zone = json!({ "time_zone": "Asia/Kolkata" });
    assert_eq!(
        app.patch("/api/settings/", &admin.access, &zone)
            .await
            .status(),
        200
    );
    let made = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;
    let name = made["name"].as_str().expect("name").to_owned();
    let path = format!("/api/admin/backups/{name}");

    // Act
    let listed = json_with(app.get("/api/admin/backups/", &admin.access).await, 200).await;
    let by_staff = app.get(&path, &staff.access).await;
    let by_admin = app.get(&path, &admin.access).await;

    // Assert: the same moment in UTC and on the clinic's clock
    let entry = &listed[0];
    assert_eq!(entry["name"], name.as_str());
    assert_eq!(entry["encrypted"], false);
    assert!(
        entry["size"].as_u64().is_some_and(|size| size > 0),
        "{entry}"
    );
    let utc = entry["created_at"].as_str().expect("created_at");
    let local = entry["created_local"].as_str().expect("created_local");
    assert!(
        utc.ends_with('Z') && local.ends_with("+05:30"),
        "{utc} {local}"
    );
    let same_moment = |text: &str| {
        time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            .expect("RFC 3339")
    };
    assert_eq!(same_moment(utc), same_moment(local));
    // Staff are refused, and the refusal says nothing about the file
    let refused = assert_error(by_staff, 403, "permission_denied").await;
    assert!(!refused.to_string().contains(&name), "{refused}");
    assert_eq!(by_admin.status(), 200);
    assert!(header(&by_admin, "content-disposition").starts_with("attachment;"));
    let trail = json_with(
        app.get("/api/audit/?entity=backup&action=export", &admin.access)
            .await,
        200,
    )
    .await;
    let exports: Vec<&Value> = trail
        .as_array()
        .expect("rows")
        .iter()
        .filter(|row| row["outcome"] == "success")
        .collect();
    assert_eq!(exports.len(), 1, "one download, one export: {trail}");
    assert_eq!(exports[0]["actor_id"], admin.id);
    let denied = json_with(
        app.get("/api/audit/?entity=backup&action=denied", &admin.access)
            .await,
        200,
    )
    .await;
    assert_eq!(
        denied[0]["actor_id"], staff.id,
        "staff's try is recorded: {denied}"
    );
}

#[rocket::async_test]
async fn a_name_that_is_not_a_listed_backup_is_404_and_never_a_path() {
    // Arrange: a backup, and files beside and above the backup folder.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let made = json_with(
        app.post("/api/admin/backups", &admin.access, &Value::Null)
            .await,
        201,
    )
    .await;
    let name = made["name"].as_str().expect("name");

    // Act + Assert
    for other in [
        format!("{name}.sha256"),
        format!("{name}.json"),
        "..%2Fclinicdesk.sqlite3".to_owned(),
        "..%2F..%2Fjwt.key".to_owned(),
        "%2Fetc%2Fpasswd".to_owned(),
        "clinicdesk-20000101T000000.000Z.sqlite3".to_owned(),
    ] {
        let response = app
            .get(&format!("/api/admin/backups/{other}"), &admin.access)
            .await;
        let body = assert_error(response, 404, "not_found").await;
        assert!(!body.to_string().contains("SQLite"), "{other}: {body}");
    }
}
