//! Browser tests: a real headless Chromium (through chromedriver) against the
//! real server, each test with its own server, browser and profile. They rely
//! on the selectors the UI promises in its screens (`data-form`, `data-list`,
//! `data-action`, `data-error-for`, `data-field`). Screens a person may want to
//! look at are saved to `target/ui-screenshots/`.

mod accounts;
mod appointments;
mod audit;
mod backups;
mod clinic_data;
mod desk;
mod duplicates;
mod flows;
mod imports;
mod narrow;
mod sessions;
mod summary;

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
