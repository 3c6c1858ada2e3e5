//! Accounts and settings in the browser: creating accounts and roles,
//! temporary passwords, self-registration, password change, backups.

use super::*;

const PASSWORD_REQUIRED: &str = r#"form[data-form="password-required"]"#;

/// What people choose when their temporary password must go.
const OWN_PASSWORD: &str = "a password of my own 7";

/// Signs in with an admin-set `temporary` password, which lands on "Choose a new
/// password" (and nowhere else); chooses `OWN_PASSWORD` there.
async fn sign_in_and_replace_temporary_password(browser: &Browser, email: &str, temporary: &str) {
    browser.open("/login").await;
    browser.fill_in(LOGIN_FORM, "email", email).await;
    browser.fill_in(LOGIN_FORM, "password", temporary).await;
    browser.submit(LOGIN_FORM).await;
    browser.wait_for(PASSWORD_REQUIRED).await;
    assert_eq!(browser.path().await, "/password");
    replace_temporary_password(browser, temporary).await;
}

/// On "Choose a new password": the temporary password, then `OWN_PASSWORD` twice.
async fn replace_temporary_password(browser: &Browser, temporary: &str) {
    browser
        .fill_in(PASSWORD_REQUIRED, "current_password", temporary)
        .await;
    browser
        .fill_in(PASSWORD_REQUIRED, "new_password", OWN_PASSWORD)
        .await;
    browser
        .fill_in(PASSWORD_REQUIRED, "new_password_confirm", OWN_PASSWORD)
        .await;
    browser.submit(PASSWORD_REQUIRED).await;
    browser.wait_for_alert("Your new password is saved.").await;
}

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
    sign_in_and_replace_temporary_password(&browser, "nora@clinic.test", PASSWORD).await;
    browser.wait_for_list("patients").await;
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

#[rocket::async_test]
async fn a_temporary_password_must_be_replaced_before_anything_else() {
    // Arrange: the admin creates an account, leaving "must choose a new password" ticked.
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("users").await;
    let form = r#"form[data-form="user-create"]"#;
    let must_change = format!(r#"{form} [name="must_change_password"]"#);
    browser.wait_for(&must_change).await;
    let ticked = format!("return document.querySelector('{must_change}').checked;");
    assert_eq!(browser.js(&ticked).await, true, "ticked by default");
    browser.fill_in(form, "name", "Tom Temp").await;
    browser.fill_in(form, "email", "tom@clinic.test").await;
    browser.fill_in(form, "password", PASSWORD).await;
    browser.submit(form).await;
    browser
        .wait_for_alert("Account created for tom@clinic.test")
        .await;
    let tom = ok(app.get("/api/users/?search=tom", &admin.access).await).await;
    assert_eq!(tom[0]["must_change_password"], true, "{tom}");
    browser.act("logout").await;

    // Act: Tom signs in with the temporary password
    browser.wait_for(LOGIN_FORM).await;
    browser
        .fill_in(LOGIN_FORM, "email", "tom@clinic.test")
        .await;
    browser.fill_in(LOGIN_FORM, "password", PASSWORD).await;
    browser.submit(LOGIN_FORM).await;

    // Assert: only the new-password screen, with the reason; no navigation but sign-out
    browser.wait_for(PASSWORD_REQUIRED).await;
    assert_eq!(browser.path().await, "/password");
    browser
        .wait_for_in(
            "main",
            "An admin set a temporary password for you. Choose your own to continue.",
        )
        .await;
    assert!(
        !browser.visible(r#"a[data-nav="patients"]"#).await,
        "no navigation"
    );
    assert!(
        browser.visible(r#"[data-action="logout"]"#).await,
        "sign-out stays"
    );
    browser.screenshot("password-required").await;

    // Act: try to go elsewhere (a reload that restores the session, too)
    browser.open("/doctors").await;

    // Assert: back on the new-password screen; the API refuses the rest as well
    browser.wait_for(PASSWORD_REQUIRED).await;
    assert_eq!(browser.path().await, "/password");
    let token = app.logged_in("tom@clinic.test", PASSWORD).await.access;
    let refused = app.get("/api/patients/", &token).await;
    assert_error(refused, 403, "password_change_required").await;

    // Act: a too short one first (the meter says so), then a good one
    browser
        .fill_in(PASSWORD_REQUIRED, "new_password", "abc")
        .await;
    browser
        .wait_for_in(r#"[data-role="password-strength"]"#, "Too short")
        .await;
    replace_temporary_password(&browser, PASSWORD).await;

    // Assert: on to the page Tom asked for; only the new password works now
    browser.wait_for_list("doctors").await;
    assert_eq!(browser.path().await, "/doctors");
    assert!(
        browser.visible(r#"a[data-nav="patients"]"#).await,
        "navigation is back"
    );
    browser.nav("patients").await;
    browser.wait_for_list("patients").await;
    assert_eq!(app.login("tom@clinic.test", PASSWORD).await.status(), 401);
    let own = app.logged_in("tom@clinic.test", OWN_PASSWORD).await;
    let now = app.get("/api/patients/", &own.access).await;
    assert_eq!(now.status(), 200, "the block is lifted");

    // Act: a reload (the change revoked the old refresh cookie)
    browser.reload().await;

    // Assert: still signed in, on the same screen
    browser.wait_for_list("patients").await;
    assert_eq!(browser.path().await, "/patients");
}

#[rocket::async_test]
async fn a_password_reset_while_signed_in_ends_the_session_and_the_owner_chooses_a_new_one() {
    // Arrange: a nurse at work in the browser.
    let (app, admin, _staff) = spawn_clinic().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&nurse.email, PASSWORD).await;

    // Act: an admin sets a temporary password meanwhile (say, because hers
    // leaked); she moves on
    let path = format!("/api/users/{}/", nurse.id);
    let reset = json!({ "password": "temporary horse 31" });
    assert_eq!(app.patch(&path, &admin.access, &reset).await.status(), 200);
    browser.nav("doctors").await;

    // Assert: a reset ends every login and access token of the account at
    // once, this browser's too: back to the sign-in page.
    browser.wait_for(LOGIN_FORM).await;
    browser.wait_for_alert("Please sign in again").await;

    // Act + Assert: the temporary password leads to "Choose a new password" only
    sign_in_and_replace_temporary_password(&browser, &nurse.email, "temporary horse 31").await;
    // …and then she is on her home screen, the front desk's Today.
    browser
        .wait_for(r#".board:not([data-state="loading"])"#)
        .await;
    assert_eq!(browser.path().await, "/today");
}

#[rocket::async_test]
async fn an_admin_sets_a_new_password_which_its_owner_must_replace() {
    // Arrange: a nurse who forgot her password.
    let (app, admin, _staff) = spawn_clinic().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("users").await;
    browser.wait_for_list("users").await;
    let nurse_row = row("users", &nurse.id.to_string());
    let temporary = "temporary horse 31";

    // Act: "Set password", with "must choose a new password" left ticked
    browser
        .click(&format!(r#"{nurse_row} [data-action="reset-password"]"#))
        .await;
    let dialog = r#"dialog[open] form[data-form="password-reset"]"#;
    browser.fill_in(dialog, "password", temporary).await;
    let ticked = format!(
        r#"return document.querySelector('{dialog} [name="must_change_password"]').checked;"#
    );
    assert_eq!(browser.js(&ticked).await, true, "ticked by default");
    browser.submit(dialog).await;

    // Assert
    browser
        .wait_for_alert("must replace it at their next sign-in")
        .await;
    browser.wait_gone("dialog[open]").await;
    let badge = format!(r#"{nurse_row} [data-role="temporary-password"]"#);
    browser.wait_for(&badge).await;
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 401);

    // Act: she signs in with it
    browser.act("logout").await;
    browser.wait_for(LOGIN_FORM).await;
    sign_in_and_replace_temporary_password(&browser, &nurse.email, temporary).await;

    // Assert
    // …and then she is on her home screen, the front desk's Today.
    browser
        .wait_for(r#".board:not([data-state="loading"])"#)
        .await;
    assert_eq!(browser.path().await, "/today");
    assert_eq!(app.login(&nurse.email, OWN_PASSWORD).await.status(), 200);
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
    // The browser's logout ended the admin's access tokens, this one's too.
    let admin = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    let settings = app.get("/api/settings/", &admin.access).await;
    assert_eq!(ok(settings).await["registration"], "open");
}

#[rocket::async_test]
async fn an_admin_sets_the_clinic_time_zone_in_settings_and_a_bad_name_is_shown_as_an_error() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("settings").await;
    let settings = r#"form[data-form="settings"]"#;

    // Act: a name that is no zone
    browser.fill_in(settings, "time_zone", "Mars/Olympus").await;
    browser.submit(settings).await;

    // Assert
    browser
        .wait_for_in(
            &format!(r#"{settings} [data-error-for="time_zone"]"#),
            "IANA",
        )
        .await;

    // Act: a real one
    browser.fill_in(settings, "time_zone", "Asia/Kolkata").await;
    browser.submit(settings).await;

    // Assert
    browser.wait_for_alert("Settings saved.").await;
    let saved = app.get("/api/settings/", &admin.access).await;
    assert_eq!(ok(saved).await["time_zone"], "Asia/Kolkata");
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
async fn an_admin_is_warned_until_there_is_a_recent_backup_and_can_make_one_on_the_backups_screen()
{
    // Arrange: a clinic that has never been backed up.
    let (app, admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Assert: warned at sign-in, and on the Backups screen
    browser
        .wait_for_alert("no good backup from the last 24 hours")
        .await;
    browser.nav("backups").await;
    browser.wait_for(r#"[data-role="backup-warning"]"#).await;

    // Act: back up from the Backups screen
    browser.act("backup-now").await;

    // Assert: written, the warning gone, and the backup is real
    browser.wait_for_alert("Backup written").await;
    browser.wait_gone(r#"[data-role="backup-warning"]"#).await;
    let listed = ok(app.get("/api/admin/backups", &admin.access).await).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["verified"], true);
}

#[rocket::async_test]
async fn an_admin_sees_a_delayed_account_and_clears_the_delay() {
    // Arrange: a nurse who mistyped ten times at this computer.
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
    browser
        .wait_for_in(&nurse_row, "Sign-in delayed until")
        .await;
    browser
        .click(&format!(r#"{nurse_row} [data-action="unlock"]"#))
        .await;

    // Assert
    browser.wait_for_alert("can sign in again").await;
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn an_admin_links_an_account_to_its_doctor_in_the_users_screen() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let body = json!({ "first_name": "Meredith", "last_name": "Grey", "specialization": "General practice" });
    let doctor = add_doctor(&app, &admin.access, &body).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;
    browser.nav("users").await;
    let row = format!(r#"table[data-list="users"] tr[data-id="{}"]"#, staff.id);
    browser.wait_for(&row).await;

    // Act
    browser
        .select(
            &format!(r#"{row} select[name="doctor"]"#),
            &doctor.to_string(),
        )
        .await;

    // Assert: the account belongs to the doctor, and the page says so.
    browser.wait_for_alert("Meredith Grey").await;
    let me = app.get("/api/auth/me/", &staff.access).await;
    let me: serde_json::Value = me.json().await.expect("me");
    assert_eq!(me["doctor"], doctor);
}
