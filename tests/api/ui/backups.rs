//! The Backups screen (admin only): a backup made with "Back up now" listed
//! on the clinic's clock with its size, its download, the schedule saved as
//! settings, the restore instructions, and who may not see it.

use sha2::{Digest, Sha256};

use super::*;

const SCHEDULE_FORM: &str = r#"form[data-form="backup-schedule"]"#;
const BACKUPS_TABLE: &str = r#"table[data-list="backups"]"#;

#[rocket::async_test]
async fn an_admin_backs_up_now_sees_it_on_the_clinics_clock_downloads_it_and_sets_the_schedule() {
    // Arrange: the clinic is in Kolkata (+05:30), so its clock is never UTC's.
    let (app, admin, _staff) = spawn_clinic().await;
    let zone = json!({ "time_zone": "Asia/Kolkata" });
    ok(app.patch("/api/settings/", &admin.access, &zone).await).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("backups").await;
    assert_eq!(browser.wait_for_list("backups").await, "empty");
    assert_eq!(browser.path().await, "/backups");

    // Act
    browser.act("backup-now").await;

    // Assert: listed with the clinic's local time and its size
    browser.wait_for_alert("Backup written").await;
    browser
        .wait_until(
            &format!(
                "return document.querySelectorAll('{BACKUPS_TABLE} tbody tr[data-id]').length === 1;"
            ),
            "the new backup in the list",
        )
        .await;
    let listed = ok(app.get("/api/admin/backups/", &admin.access).await).await;
    let made = &listed[0];
    let name = made["name"].as_str().expect("name");
    let local = made["created_local"].as_str().expect("created_local");
    let utc = made["created_at"].as_str().expect("created_at");
    let this_row = row("backups", name);
    let shown = browser
        .text(&format!(r#"{this_row} [data-col="time"]"#))
        .await;
    assert!(
        shown.contains(&local[11..16]),
        "the clinic's {local} in {shown:?}"
    );
    assert!(!shown.contains(&utc[11..16]), "not UTC's {utc}: {shown:?}");
    let size = browser
        .js(&format!(
            "return document.querySelector('{} [data-col=size]').dataset.value;",
            this_row.replace('\'', "\\'")
        ))
        .await;
    assert_eq!(size, made["size"].to_string().as_str());
    let size_text = browser
        .text(&format!(r#"{this_row} [data-col="size"]"#))
        .await;
    assert!(
        size_text.ends_with("KB") || size_text.ends_with("MB"),
        "{size_text}"
    );
    browser.screenshot("backups").await;

    // Act: download it
    browser
        .click(&format!(r#"{this_row} [data-action="download-backup"]"#))
        .await;

    // Assert: the very file, checksummed
    browser.wait_for_alert("is downloading").await;
    let (saved, bytes) = browser.wait_for_download_bytes().await;
    assert_eq!(saved, name);
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    let sidecar = std::fs::read_to_string(
        app.data_dir
            .path()
            .join("backups")
            .join(format!("{name}.sha256")),
    )
    .expect("sha256 file");
    assert!(sidecar.starts_with(&hex::encode(Sha256::digest(&bytes))));

    // Act: a bad schedule
    browser.fill_in(SCHEDULE_FORM, "backup_time", "25:00").await;
    browser.submit(SCHEDULE_FORM).await;

    // Assert: said next to the field, nothing saved
    browser
        .wait_for_in(
            &format!(r#"{SCHEDULE_FORM} [data-error-for="backup_time"]"#),
            "HH:MM",
        )
        .await;
    let settings = ok(app.get("/api/settings/", &admin.access).await).await;
    assert_eq!(settings["backup_time"], "off");

    // Act: a good one
    browser.fill_in(SCHEDULE_FORM, "backup_time", "04:45").await;
    browser.fill_in(SCHEDULE_FORM, "backup_keep", "5").await;
    browser.submit(SCHEDULE_FORM).await;

    // Assert: saved as settings, and the status shows the plan
    browser.wait_for_alert("Schedule saved").await;
    let settings = ok(app.get("/api/settings/", &admin.access).await).await;
    assert_eq!(settings["backup_time"], "04:45");
    assert_eq!(settings["backup_keep"], 5);
    browser
        .wait_for_in(
            r#"[data-role="backup-schedule"]"#,
            "Daily at 04:45 (Asia/Kolkata), keeping the newest 5",
        )
        .await;
    browser
        .wait_for_in(r#"[data-section="restore"]"#, "clinicdesk restore <file>")
        .await;
    browser
        .wait_for_in(r#"[data-role="replication"]"#, "No second machine")
        .await;
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "CSP violations: {violations:?}");
}

#[rocket::async_test]
async fn staff_have_no_backups_screen() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act
    let nav = browser.visible(r#"a[data-nav="backups"]"#).await;
    browser.open("/backups").await;

    // Assert
    assert!(!nav, "no Backups link for staff");
    browser.wait_for_in("h1", "Not allowed").await;
    browser
        .assert_absent(r#"[data-action="backup-now"]"#, "no backups for staff")
        .await;
}
