//! Browser tests: a real headless Chromium (through chromedriver) against the
//! real server, each test with its own server, browser and profile. They rely
//! on the selectors the UI promises in its screens (`data-form`, `data-list`,
//! `data-action`, `data-error-for`, `data-field`). Screens a person may want to
//! look at are saved to `target/ui-screenshots/`.

use fantoccini::key::Key;
use serde_json::json;

use crate::browser::{row, Browser};
use crate::helpers::{
    add_doctor, add_mapping, add_patient, assert_error, assert_not_found, doctor, header, ok,
    patient, spawn_app, spawn_clinic, unix_now, ADMIN_EMAIL, PASSWORD,
};

/// A name that would run script if the UI ever turned user data into HTML.
const XSS: &str = "<img src=x onerror=alert(1)>";

const ALERT: &str = r#"[data-role="alert"]"#;
const LOGIN_FORM: &str = r#"form[data-form="login"]"#;
const SETUP_FORM: &str = r#"form[data-form="setup"]"#;
const PATIENT_FORM: &str = r#"form[data-form="patient"]"#;
const DOCTOR_FORM: &str = r#"form[data-form="doctor"]"#;
const ASSIGN_FORM: &str = r#"form[data-form="assign"]"#;
const SEARCH_BOX: &str = r#"form[data-form="patients-filters"] [name="search"]"#;

/// Fills the setup form of `/setup#<token>` and waits until the new admin lands on the patients list.
async fn set_up_first_admin(browser: &Browser, token: &str) {
    browser.open(&format!("/setup#{token}")).await;
    browser.fill_in(SETUP_FORM, "name", "Ada Admin").await;
    browser.fill_in(SETUP_FORM, "email", ADMIN_EMAIL).await;
    let strength = r#"[data-role="password-strength"]"#;
    browser.fill_in(SETUP_FORM, "password", "abc").await;
    browser.wait_for_in(strength, "Too short").await;
    browser.fill_in(SETUP_FORM, "password", PASSWORD).await;
    browser
        .fill_in(SETUP_FORM, "password_confirm", PASSWORD)
        .await;
    let feedback = browser.text(strength).await;
    assert!(
        !feedback.contains("Too short"),
        "strength feedback: {feedback}"
    );
    let closed = r#"input[name="registration"][value="closed"]"#;
    let closed = browser
        .js(&format!(
            "return document.querySelector('{closed}').checked;"
        ))
        .await;
    assert_eq!(closed, true, "self-registration is closed by default");
    browser.submit(SETUP_FORM).await;
    browser.wait_for_alert("Welcome to clinicdesk").await;
    browser.wait_for_list("patients").await;
}

/// Creates a patient through the form at `/patients/new`; returns its id.
async fn create_patient_in_form(browser: &Browser, first: &str, last: &str) -> String {
    browser.act("new-patient").await;
    browser.fill_in(PATIENT_FORM, "first_name", first).await;
    browser.fill_in(PATIENT_FORM, "last_name", last).await;
    browser
        .select(&format!(r#"{PATIENT_FORM} [name="gender"]"#), "F")
        .await;
    browser.fill_in(PATIENT_FORM, "phone", "555-0100").await;
    browser.fill_in(PATIENT_FORM, "city", "Arlington").await;
    browser.submit(PATIENT_FORM).await;
    let name = format!("{first} {last}");
    browser.wait_for_alert(&format!("{name} is added.")).await;
    browser.wait_for_in("h1", &name).await;
    record_id(browser, "/patients/").await
}

/// Creates a doctor through the form at `/doctors/new` (saving a screenshot of it); returns its id.
async fn create_doctor_in_form(browser: &Browser, first: &str, last: &str) -> String {
    browser.nav("doctors").await;
    browser.act("new-doctor").await;
    browser.fill_in(DOCTOR_FORM, "first_name", first).await;
    browser.fill_in(DOCTOR_FORM, "last_name", last).await;
    browser
        .fill_in(DOCTOR_FORM, "specialization", "Cardiology")
        .await;
    browser
        .fill_in(DOCTOR_FORM, "years_of_experience", "12")
        .await;
    browser.fill_in(DOCTOR_FORM, "consultation_fee", "80").await;
    browser.screenshot("doctor-form").await;
    browser.submit(DOCTOR_FORM).await;
    let name = format!("{first} {last}");
    browser.wait_for_alert(&format!("{name} is added.")).await;
    browser.wait_for_in("h1", &name).await;
    record_id(browser, "/doctors/").await
}

/// The id at the end of the current address, which must start with `prefix`.
async fn record_id(browser: &Browser, prefix: &str) -> String {
    let path = browser.path().await;
    let id = path
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("address {path} should start with {prefix}"));
    assert!(
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()),
        "a record id in {path}"
    );
    id.to_owned()
}

/// Types `text` into the patients search box and waits until the list shows only patient `only`.
async fn search_patients(browser: &Browser, text: &str, only: &str) {
    browser.nav("patients").await;
    browser.wait_for_list("patients").await;
    browser.fill(SEARCH_BOX, text).await;
    let just_one = format!(
        r#"const ids = [...document.querySelectorAll('table[data-list="patients"] tbody tr[data-id]')]
             .map((r) => r.dataset.id);
           return ids.length === 1 && ids[0] === '{only}';"#
    );
    let what = format!("the search for {text:?} to list only #{only}");
    browser.wait_until(&just_one, &what).await;
}

/// On a patient page: picks `doctor` (an id) in the assign form, gives a reason, submits.
async fn assign_doctor(browser: &Browser, doctor: &str, reason: &str) {
    let select = format!(r#"{ASSIGN_FORM} select[name="doctor"]"#);
    browser
        .wait_for(&format!(r#"{select} option[value="{doctor}"]"#))
        .await;
    browser.select(&select, doctor).await;
    browser.fill_in(ASSIGN_FORM, "reason", reason).await;
    browser.submit(ASSIGN_FORM).await;
}

/// On a record page: Archive, Esc (nothing happens), Archive again, confirm.
async fn archive_after_changing_mind_once(browser: &Browser) {
    browser.act("archive").await;
    browser.wait_for("dialog[open]").await;
    browser.press(Key::Escape).await;
    browser.wait_gone("dialog[open]").await;
    assert!(
        browser.exists(r#"button[data-action="archive"]"#).await,
        "Esc closes the dialog and keeps the record"
    );
    browser.act("archive").await;
    browser
        .click(r#"dialog[open] button[data-action="confirm"]"#)
        .await;
}

#[rocket::async_test]
async fn a_new_clinic_goes_from_the_setup_link_to_an_assigned_patient_and_back_from_the_archive() {
    // Arrange
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a fresh server's setup token");
    let browser = Browser::start(&app).await;

    // Act: setup link -> first admin (signed in) -> sign out -> sign in again
    set_up_first_admin(&browser, &token).await;
    browser.act("logout").await;
    browser.wait_for(LOGIN_FORM).await;
    browser.sign_in(ADMIN_EMAIL, PASSWORD).await;

    // Act: a patient through the form, another through the API; search for the first
    let grace = create_patient_in_form(&browser, "Grace", "Hopper").await;
    let admin = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    let alan = add_patient(&app, &admin.access, &patient("Alan")).await;
    let alan = alan.to_string();
    search_patients(&browser, "hopp", &grace).await;

    // Assert: the search shows Grace and not Alan
    assert_eq!(browser.row_ids("patients").await, vec![grace.clone()]);
    browser.assert_page_lacks("Alan", "search").await;

    // Act: a doctor through the form, then assign it on Grace's page
    let meredith = create_doctor_in_form(&browser, "Meredith", "Grey").await;
    browser.nav("patients").await;
    browser
        .click(&format!(
            r#"{} a[href="/patients/{grace}"]"#,
            row("patients", &grace)
        ))
        .await;
    browser.wait_for_in("h1", "Grace Hopper").await;
    assign_doctor(&browser, &meredith, "Chest pain").await;

    // Assert: the assignment on the patient page
    let assignment = format!(
        r#"table[data-list="assignments"] tr[data-doctor-id="{meredith}"][data-status="ACTIVE"]"#
    );
    browser.wait_for_in(&assignment, "Meredith Grey").await;
    browser
        .wait_for_alert("Meredith Grey is assigned to Grace Hopper.")
        .await;
    assert_eq!(browser.text(r#"dd[data-field="city"]"#).await, "Arlington");
    assert_eq!(browser.text(r#"dd[data-field="gender"]"#).await, "Female");
    browser.screenshot("patient-page").await;

    // Assert: the assignment on the doctor page and in the patients list
    browser
        .click(&format!(r#"{assignment} a[href="/doctors/{meredith}"]"#))
        .await;
    browser.wait_for_in("h1", "Meredith Grey").await;
    let on_doctor_page =
        format!(r#"table[data-list="doctor-patients"] tr[data-patient-id="{grace}"]"#);
    browser.wait_for_in(&on_doctor_page, "Grace Hopper").await;
    browser.screenshot("doctor-page").await;
    browser.nav("patients").await;
    browser.act("clear-filters").await;
    let doctors_cell = format!(r#"{} td[data-col="doctors"]"#, row("patients", &grace));
    browser.wait_for_in(&doctors_cell, "Meredith Grey").await;
    browser.wait_for(&row("patients", &alan)).await;
    browser.screenshot("patients-list").await;

    // Act: archive Grace, changing her mind once
    browser
        .click(&format!(r#"a[href="/patients/{grace}"]"#))
        .await;
    archive_after_changing_mind_once(&browser).await;

    // Assert: gone from the list and from the API
    browser.wait_for_alert("Grace Hopper is archived.").await;
    assert_eq!(browser.path().await, "/patients");
    browser.wait_for_list("patients").await;
    browser
        .assert_absent(&row("patients", &grace), "archived")
        .await;
    let record = format!("/api/patients/{grace}/");
    assert_not_found(app.get(&record, &admin.access).await).await;

    // Act: restore her from the archived list
    browser.act("show-archived").await;
    browser.wait_for_list("patients").await;
    let restore = format!(r#"{} [data-action="restore"]"#, row("patients", &grace));
    browser.click(&restore).await;

    // Assert: back in the list and readable again
    browser.wait_for_alert("Grace Hopper is restored.").await;
    browser.nav("patients").await;
    browser.wait_for(&row("patients", &grace)).await;
    let restored = app.get(&record, &admin.access).await;
    assert_eq!(restored.status(), 200, "the restored patient is readable");
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "blocked by the CSP: {violations:?}");
}

#[rocket::async_test]
async fn a_user_account_sees_only_its_own_patients_and_no_buttons_to_edit_doctors() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let others = add_patient(&app, &staff.access, &patient("Othella")).await;
    let own = add_patient(&app, &user.access, &patient("Ownie")).await;
    let gregory = add_doctor(&app, &staff.access, &doctor("Gregory")).await;
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&user.email, PASSWORD).await;

    // Assert: the patients list holds only the user's own patient; no admin links
    assert_eq!(browser.row_ids("patients").await, vec![own.to_string()]);
    browser
        .wait_for_in(&row("patients", &own.to_string()), "Ownie Lovelace")
        .await;
    browser
        .assert_page_lacks("Othella", "someone else's patient")
        .await;
    assert!(
        !browser.visible(r#"a[data-nav="users"]"#).await,
        "no Users link"
    );
    assert!(
        !browser.visible(r#"a[data-nav="settings"]"#).await,
        "no Settings"
    );
    browser
        .assert_absent(r#"[data-action="show-archived"]"#, "archive is for admins")
        .await;

    // Assert: doctors are read-only
    browser.nav("doctors").await;
    browser.wait_for_list("doctors").await;
    assert_eq!(browser.row_ids("doctors").await, vec![gregory.to_string()]);
    browser
        .assert_absent(r#"[data-action="new-doctor"]"#, "no New doctor")
        .await;
    browser
        .click(&format!(r#"a[href="/doctors/{gregory}"]"#))
        .await;
    browser.wait_for_in("h1", "Gregory House").await;
    browser.wait_for_list("doctor-patients").await;
    browser
        .assert_absent(r#"[data-action="edit"]"#, "no Edit on a doctor")
        .await;
    browser
        .assert_absent(r#"[data-action="archive"]"#, "no Archive on a doctor")
        .await;

    // Assert: forbidden and invisible records by address get a clear message, no data
    browser.open("/doctors/new").await;
    browser.wait_for_in("h1", "Not allowed").await;
    browser.assert_absent(DOCTOR_FORM, "no doctor form").await;
    browser.open(&format!("/patients/{others}")).await;
    browser.wait_for_in("h1", "not found").await;
    browser
        .assert_page_lacks("Othella", "someone else's patient")
        .await;
}

#[rocket::async_test]
async fn validation_errors_appear_next_to_the_fields_they_belong_to() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.act("new-patient").await;
    browser.wait_for(PATIENT_FORM).await;

    // Act: no first name, a birth date next year, a malformed email, then Enter
    let next_year = 1970 + unix_now() / 31_556_952 + 1; // 365.2425-day years
    let dob = format!(r#"{PATIENT_FORM} [name="date_of_birth"]"#);
    browser.set_value(&dob, &format!("{next_year}-01-15")).await;
    browser.fill_in(PATIENT_FORM, "last_name", "Nameless").await;
    browser.fill_in(PATIENT_FORM, "email", "not-an-email").await;
    browser.press(Key::Enter).await;

    // Assert: each message sits next to its field, the other fields have none
    browser
        .wait_for_alert("Please check the highlighted fields.")
        .await;
    for bad in ["first_name", "email", "date_of_birth"] {
        let error = format!(r#"{PATIENT_FORM} [data-error-for="{bad}"]"#);
        assert!(
            !browser.text(&error).await.trim().is_empty(),
            "error for {bad}"
        );
        let input = format!(r#"{PATIENT_FORM} [name="{bad}"]"#);
        let invalid =
            format!("return document.querySelector('{input}').getAttribute('aria-invalid');");
        assert_eq!(
            browser.js(&invalid).await,
            "true",
            "{bad} is marked invalid"
        );
    }
    for good in ["last_name", "phone", "city"] {
        let error = format!(r#"{PATIENT_FORM} [data-error-for="{good}"]"#);
        let message = browser.text(&error).await;
        assert!(message.trim().is_empty(), "error for {good}: {message}");
    }
    browser.screenshot("patient-form-errors").await;
    assert_eq!(browser.path().await, "/patients/new", "still on the form");
    let listed = app.get("/api/patients/", &staff.access).await;
    assert_eq!(listed.text().await.expect("body"), "[]", "nothing created");
}

#[rocket::async_test]
async fn the_doctor_form_shows_each_api_error_next_to_its_field() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.nav("doctors").await;
    browser.act("new-doctor").await;

    // Act: no specialization, a negative fee
    browser.fill_in(DOCTOR_FORM, "first_name", "Derek").await;
    browser.fill_in(DOCTOR_FORM, "consultation_fee", "-5").await;
    browser.submit(DOCTOR_FORM).await;

    // Assert
    browser
        .wait_for_alert("Please check the highlighted fields.")
        .await;
    for (field, has_error) in [
        ("specialization", true),
        ("consultation_fee", true),
        ("first_name", false),
        ("years_of_experience", false),
    ] {
        let error = format!(r#"{DOCTOR_FORM} [data-error-for="{field}"]"#);
        let message = browser.text(&error).await;
        assert_eq!(
            !message.trim().is_empty(),
            has_error,
            "{field}: {message:?}"
        );
    }
    assert_eq!(browser.path().await, "/doctors/new", "still on the form");
}

#[rocket::async_test]
async fn a_name_made_of_html_is_shown_as_text_and_runs_nothing() {
    // Arrange: a patient and a doctor with markup as names, assigned to each other
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({ "first_name": XSS, "last_name": "Smith", "gender": "F" });
    let evil_patient = add_patient(&app, &staff.access, &body).await;
    let body = json!({ "first_name": XSS, "specialization": "Oncology" });
    let evil_doctor = add_doctor(&app, &staff.access, &body).await;
    add_mapping(&app, &staff.access, evil_patient, evil_doctor).await;
    let in_list = row("patients", &evil_patient.to_string());
    let browser = Browser::start(&app).await;
    let no_markup = "return document.querySelectorAll('img').length === 0
                     && !document.querySelector('[onerror]');";

    // Act: the list, with the doctors column filled
    browser.sign_in(&staff.email, PASSWORD).await;
    let doctors_cell = format!(r#"{in_list} td[data-col="doctors"]"#);
    browser.wait_for_in(&doctors_cell, XSS).await;

    // Assert
    let listed = browser.text(&in_list).await;
    assert!(
        listed.contains(&format!("{XSS} Smith")),
        "as typed: {listed}"
    );
    assert_eq!(
        browser.js(no_markup).await,
        true,
        "no element from the name"
    );

    // Act: the patient page
    browser
        .click(&format!(r#"{in_list} a[href="/patients/{evil_patient}"]"#))
        .await;
    browser.wait_for_in("h1", &format!("{XSS} Smith")).await;
    let assigned = format!(r#"table[data-list="assignments"] tr[data-doctor-id="{evil_doctor}"]"#);
    browser.wait_for_in(&assigned, XSS).await;

    // Assert
    assert_eq!(browser.text(r#"dd[data-field="first_name"]"#).await, XSS);
    assert_eq!(
        browser.js(no_markup).await,
        true,
        "no element from the name"
    );
    let title = browser.client.title().await.expect("title");
    assert!(title.contains(XSS), "the title as text: {title}");
    assert_eq!(browser.open_dialog().await, None, "no alert() ran");
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "blocked by the CSP: {violations:?}");
    let csp = header(&app.get("/", "").await, "content-security-policy");
    let directive = |name: &str| csp.split(';').map(str::trim).find(|d| d.starts_with(name));
    let scripts = directive("script-src").or_else(|| directive("default-src"));
    let scripts = scripts.unwrap_or_default();
    assert!(
        scripts.contains("'self'"),
        "scripts from this server: {csp}"
    );
    assert!(
        !scripts.contains("unsafe-inline"),
        "no inline scripts: {csp}"
    );
}

#[rocket::async_test]
async fn a_reload_keeps_the_session_and_nothing_sensitive_is_kept_in_web_storage() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    add_patient(&app, &staff.access, &patient("Rosalind")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    let list = r#"table[data-list="patients"]"#;
    browser.wait_for_in(list, "Rosalind Lovelace").await;

    // Act
    browser.reload().await;

    // Assert: still signed in, on the same screen
    browser.wait_for_in(list, "Rosalind Lovelace").await;
    assert_eq!(browser.path().await, "/patients");
    assert!(
        browser.visible(r#"[data-action="logout"]"#).await,
        "signed in"
    );
    browser.assert_absent(LOGIN_FORM, "no login form").await;

    // Assert: no token or patient data in web storage, no cookie readable by scripts
    let storage = browser.web_storage().await;
    let dump = storage.to_string();
    for secret in ["eyJ", "Rosalind", "Lovelace", "access", "refresh", "token"] {
        assert!(!dump.contains(secret), "{secret:?} in web storage: {dump}");
    }
    assert!(
        !dump.contains(&staff.email),
        "the email in web storage: {dump}"
    );
    let empty = json!({ "local": {}, "session": {} });
    assert_eq!(storage, empty, "web storage stays empty");
    let cookies = browser.js("return document.cookie;").await;
    assert_eq!(cookies, "", "no cookie is readable by scripts");
}

#[rocket::async_test]
async fn signing_out_clears_the_screen_and_a_reload_does_not_bring_the_session_back() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Barbara")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Barbara Lovelace").await;

    // Act
    browser.act("logout").await;

    // Assert: the login form, nothing of the patient
    browser.wait_for(LOGIN_FORM).await;
    browser.wait_for_alert("You are signed out.").await;
    assert_eq!(browser.path().await, "/login");
    assert!(
        !browser.visible("header.topbar").await,
        "the app shell hides"
    );
    browser.assert_page_lacks("Barbara", "after sign-out").await;
    let storage = browser.web_storage().await.to_string();
    assert!(!storage.contains("Barbara"), "web storage: {storage}");

    // Act: reload, then ask for the patient's page directly
    browser.reload().await;
    browser.wait_for(LOGIN_FORM).await;
    browser.open(&format!("/patients/{id}")).await;

    // Assert: still signed out
    browser.wait_for(LOGIN_FORM).await;
    assert_eq!(browser.path().await, "/login");
    browser.assert_page_lacks("Barbara", "signed out").await;
}

#[rocket::async_test]
async fn the_refresh_token_lives_only_in_an_http_only_strict_cookie_on_its_own_path() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act: the browser's own cookie jar, seen from an app page and from the cookie's path
    let on_app_page = browser.client.get_all_cookies().await.expect("cookies");
    browser.open("/api/auth/session/refresh/").await;
    let on_session_path = browser.client.get_all_cookies().await.expect("cookies");

    // Assert
    assert!(on_app_page.is_empty(), "app pages: {on_app_page:?}");
    let session = on_session_path
        .iter()
        .find(|c| c.name() == "clinicdesk_session")
        .unwrap_or_else(|| panic!("a session cookie: {on_session_path:?}"));
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    let same_site = session.same_site().map(|s| s.to_string());
    assert_eq!(same_site.as_deref(), Some("Strict"), "SameSite");
    assert_eq!(session.path(), Some("/api/auth/session"));
    assert!(!session.value().is_empty(), "a refresh token in the cookie");
}

#[rocket::async_test]
async fn an_idle_session_warns_then_signs_out_and_clears_the_screen() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Dorothy")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Dorothy Lovelace").await;

    // Act: the UI's test hook turns 15 minutes into 6 seconds (warning for the last 4)
    browser
        .js("document.documentElement.dataset.idleSeconds = '6';
             document.documentElement.dataset.idleWarningSeconds = '4';")
        .await;

    // Assert: first the warning, then the sign-out, with the patient gone from the screen
    let warning = r#"[data-role="idle-warning"]"#;
    browser.wait_for(&format!("{warning}:not([hidden])")).await;
    browser
        .wait_for_alert("signed out after 15 minutes without activity")
        .await;
    browser.wait_for(LOGIN_FORM).await;
    assert_eq!(browser.path().await, "/login");
    assert!(!browser.visible(warning).await, "the warning is gone");
    browser
        .assert_page_lacks("Dorothy", "after the automatic sign-out")
        .await;

    // Assert: the server ended the session too
    browser.reload().await;
    browser.wait_for(LOGIN_FORM).await;
    assert!(!browser.visible("header.topbar").await, "still signed out");
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
async fn the_patient_screens_fit_a_tablet_without_sideways_scrolling() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({ "first_name": "Katherine", "last_name": "Johnson", "city": "Hampton",
                       "address": "1 Langley Research Center Road, Building 1268A" });
    let id = add_patient(&app, &staff.access, &body).await;
    let gregory = add_doctor(&app, &staff.access, &doctor("Gregory")).await;
    add_mapping(&app, &staff.access, id, gregory).await;
    let browser = Browser::start(&app).await;
    let set_size = browser.client.set_window_size(768, 1024).await;
    set_size.expect("a tablet-sized window");
    let fits = "return document.documentElement.scrollWidth <= window.innerWidth;";

    // Act: the patients list
    browser.sign_in(&staff.email, PASSWORD).await;
    let doctors_cell = format!(
        r#"{} td[data-col="doctors"]"#,
        row("patients", &id.to_string())
    );
    browser.wait_for_in(&doctors_cell, "Gregory House").await;
    browser.screenshot("patients-list-tablet").await;

    // Assert
    assert_eq!(browser.js(fits).await, true, "the list fits 768 px");

    // Act: the patient page
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_list("assignments").await;
    browser.screenshot("patient-page-tablet").await;

    // Assert
    assert_eq!(browser.js(fits).await, true, "the patient page fits 768 px");
}

#[rocket::async_test]
async fn on_the_patient_page_staff_edit_details_change_an_assignment_and_remove_it() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Lise")).await;
    let otto = add_doctor(&app, &staff.access, &doctor("Otto")).await;
    let mapping = add_mapping(&app, &staff.access, id, otto).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;

    // Act: edit the city
    browser.act("edit").await;
    let first_name = format!(r#"{PATIENT_FORM} [name="first_name"]"#);
    browser.wait_for(&first_name).await;
    let prefilled = format!("return document.querySelector('{first_name}').value;");
    assert_eq!(
        browser.js(&prefilled).await,
        "Lise",
        "the form starts with the record"
    );
    browser.fill_in(PATIENT_FORM, "city", "Berlin").await;
    browser.submit(PATIENT_FORM).await;

    // Assert
    browser.wait_for_alert("Changes saved.").await;
    browser
        .wait_for_in(r#"dd[data-field="city"]"#, "Berlin")
        .await;

    // Act: mark the assignment completed
    let assignment = row("assignments", &mapping.to_string());
    browser
        .select(
            &format!(r#"{assignment} select[name="status"]"#),
            "COMPLETED",
        )
        .await;

    // Assert
    browser
        .wait_for_alert("Otto House: status is now completed.")
        .await;
    let of_patient = format!("/api/mappings/{id}/");
    let saved = ok(app.get(&of_patient, &staff.access).await).await;
    assert_eq!(saved[0]["status"], "COMPLETED", "{saved}");

    // Act: remove it (confirming)
    browser
        .click(&format!(r#"{assignment} [data-action="unassign"]"#))
        .await;
    browser
        .click(r#"dialog[open] button[data-action="confirm"]"#)
        .await;

    // Assert
    browser
        .wait_for_alert("Otto House is removed from this patient.")
        .await;
    browser.wait_gone(&assignment).await;
    let left = ok(app.get(&of_patient, &staff.access).await).await;
    assert_eq!(left, json!([]), "no assignment left");
}
