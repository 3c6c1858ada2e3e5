//! Accounts and settings in the browser: creating accounts and roles,
//! self-registration, password change, backups.

use super::*;

#[rocket::async_test]
async fn an_admin_creates_an_account_changes_its_role_and_that_person_can_sign_in() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    let form = r#"form[data-form="user-create"]"#;

    // Act: create a staff account in the Users screen
    browser.nav("users").await;
    browser.wait_for_list("users").await;
    browser.fill_in(form, "name", "Nora Nurse").await;
    browser.fill_in(form, "email", "nora@clinic.test").await;
    browser.fill_in(form, "password", PASSWORD).await;
    browser
        .select(&format!(r#"{form} [name="role"]"#), "staff")
        .await;
    browser.submit(form).await;

    // Assert
    browser
        .wait_for_alert("Account created for nora@clinic.test (Staff).")
        .await;
    let users = app.get("/api/users/?search=nora", &admin.access).await;
    let nora = ok(users).await[0]["id"].to_string();
    browser
        .wait_for_in(&row("users", &nora), "nora@clinic.test")
        .await;

    // Act: make her a `user`
    let role = format!(r#"{} select[name="role"]"#, row("users", &nora));
    browser.select(&role, "user").await;

    // Assert: the change is saved, and she signs in as a user
    browser.wait_for_alert("Nora Nurse is now User.").await;
    let saved = app.get(&format!("/api/users/{nora}/"), &admin.access).await;
    assert_eq!(ok(saved).await["role"], "user");
    browser.act("logout").await;
    browser.sign_in("nora@clinic.test", PASSWORD).await;
    let whoami = browser.text(r#"[data-role="whoami"]"#).await;
    assert!(
        whoami.contains("Nora Nurse") && whoami.contains("User"),
        "{whoami}"
    );
    assert!(
        !browser.visible(r#"a[data-nav="users"]"#).await,
        "no Users link"
    );
}

/// Fills and sends the self-registration form at `/register`.
async fn register(browser: &Browser, name: &str, email: &str) {
    let form = r#"form[data-form="register"]"#;
    browser.open("/register").await;
    browser.fill_in(form, "name", name).await;
    browser.fill_in(form, "email", email).await;
    browser.fill_in(form, "password", PASSWORD).await;
    browser.fill_in(form, "password_confirm", PASSWORD).await;
    browser.submit(form).await;
}

#[rocket::async_test]
async fn self_registration_stays_closed_until_an_admin_opens_it_in_settings() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;

    // Act: try while closed
    register(&browser, "Walt Walkin", "walt@clinic.test").await;

    // Assert: refused with a message, no account
    let refused = format!("{ALERT}.alert-error");
    browser
        .wait_for_in(&refused, "Self-registration is closed")
        .await;
    assert_eq!(browser.path().await, "/register");
    let signed_in = "header.topbar:not([hidden])";
    browser.assert_absent(signed_in, "not signed in").await;
    let walt = app.get("/api/users/?search=walt", &admin.access).await;
    assert_eq!(ok(walt).await, json!([]), "no account");

    // Act: the admin opens registration in Settings; then try again
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("settings").await;
    let settings = r#"form[data-form="settings"]"#;
    browser
        .click(&format!(
            r#"{settings} input[name="registration"][value="open"]"#
        ))
        .await;
    browser.submit(settings).await;
    browser.wait_for_alert("Settings saved.").await;
    browser.act("logout").await;
    browser.wait_for(LOGIN_FORM).await;
    register(&browser, "Walt Walkin", "walt@clinic.test").await;

    // Assert: the new `user` is signed in on the patients list
    browser.wait_for_list("patients").await;
    let whoami = browser.text(r#"[data-role="whoami"]"#).await;
    assert!(
        whoami.contains("Walt Walkin") && whoami.contains("User"),
        "{whoami}"
    );
    let settings = app.get("/api/settings/", &admin.access).await;
    assert_eq!(ok(settings).await["registration"], "open");
}

#[rocket::async_test]
async fn changing_the_password_needs_the_current_one_and_then_only_the_new_one_works() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.nav("account").await;
    let form = r#"form[data-form="password"]"#;
    let new_password = "a different horse 42";

    // Act: a wrong current password
    browser
        .fill_in(form, "current_password", "not my password")
        .await;
    browser.fill_in(form, "new_password", new_password).await;
    browser
        .fill_in(form, "new_password_confirm", new_password)
        .await;
    browser.submit(form).await;

    // Assert: the message is next to the current password only
    let error = format!(r#"{form} [data-error-for="current_password"]"#);
    let has_text = format!("return document.querySelector('{error}').textContent.trim() !== '';");
    let what = "an error next to the current password";
    browser.wait_until(&has_text, what).await;
    let other = format!(r#"{form} [data-error-for="new_password"]"#);
    let other = browser.text(&other).await;
    assert!(other.trim().is_empty(), "the new password is fine: {other}");

    // Act: the right one
    browser.fill_in(form, "current_password", PASSWORD).await;
    browser.submit(form).await;

    // Assert: signed out with a message; the old password fails, the new one works
    browser.wait_for_alert("Password changed.").await;
    browser.wait_for(LOGIN_FORM).await;
    let old = app.login(&staff.email, PASSWORD).await;
    assert_error(old, 401, "invalid_credentials").await;
    browser.sign_in(&staff.email, new_password).await;
}

#[rocket::async_test]
async fn an_admin_is_warned_until_there_is_a_recent_backup_and_can_make_one_from_settings() {
    // Arrange: a clinic that has never been backed up.
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Assert: warned at sign-in, and on Settings
    browser
        .wait_for_alert("no good backup from the last 24 hours")
        .await;
    browser.nav("settings").await;
    browser.wait_for(r#"[data-role="backup-warning"]"#).await;

    // Act: back up from Settings
    browser.act("backup-now").await;

    // Assert: written, the warning gone, and the backup is real
    browser.wait_for_alert("Backup written").await;
    browser.wait_gone(r#"[data-role="backup-warning"]"#).await;
    let listed = ok(app.get("/api/admin/backups", &admin.access).await).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["verified"], true);
}

#[rocket::async_test]
async fn an_admin_sees_a_locked_account_and_unlocks_it() {
    // Arrange: a nurse who mistyped ten times.
    let (app, admin, _staff) = spawn_clinic().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;
    for _ in 0..10 {
        app.login(&nurse.email, "correct horse battery 8").await;
    }
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 429);
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Act
    browser.nav("users").await;
    browser.wait_for_list("users").await;
    let nurse_row = row("users", &nurse.id.to_string());
    browser.wait_for_in(&nurse_row, "Locked until").await;
    browser
        .click(&format!(r#"{nurse_row} [data-action="unlock"]"#))
        .await;

    // Assert
    browser.wait_for_alert("can sign in again").await;
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 200);
}
