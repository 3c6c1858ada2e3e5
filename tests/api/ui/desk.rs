//! Front-desk frictions: two people of one name told apart in the list, the
//! sign-in form's own message and a "Create one" link only while
//! registration is open, and forms whose errors lead the keyboard to the
//! first bad field on the page.

use super::*;
use crate::helpers::spawn_open_app;

const REGISTER_FORM: &str = r#"form[data-form="register"]"#;
const AUTH_CARD: &str = "section.auth-card";

/// The name of the control that has the keyboard focus, once it is `name`.
async fn wait_for_focus_on(browser: &Browser, name: &str) {
    let predicate =
        format!("return document.activeElement && document.activeElement.name === '{name}';");
    browser
        .wait_until(&predicate, &format!("the focus on the field {name:?}"))
        .await;
}

#[rocket::async_test]
async fn two_patients_of_the_same_name_are_told_apart_by_number_and_birth_date_in_the_list() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let format = json!({ "date_format": "DD.MM.YYYY" });
    ok(app.patch("/api/settings/", &admin.access, &format).await).await;
    let elder =
        json!({ "first_name": "Maria", "last_name": "Garcia", "date_of_birth": "1961-04-09" });
    let younger =
        json!({ "first_name": "Maria", "last_name": "Garcia", "date_of_birth": "1988-11-23" });
    let elder = add_patient(&app, &staff.access, &elder).await.to_string();
    let younger = add_patient(&app, &staff.access, &younger).await.to_string();
    let browser = Browser::start(&app).await;

    // Act
    browser.sign_in(&staff.email, PASSWORD).await;

    // Assert: each row has the name, its own number and its own birth date
    for (id, born) in [(&elder, "09.04.1961"), (&younger, "23.11.1988")] {
        let line = row("patients", id);
        browser.wait_for_in(&line, "Maria Garcia").await;
        let number = browser
            .text(&format!(r#"{line} [data-field="number"]"#))
            .await;
        assert_eq!(number, format!("#{id}"), "the number in row {id}");
        let date = browser
            .text(&format!(r#"{line} [data-field="date_of_birth"]"#))
            .await;
        assert_eq!(date, born, "born in row {id}, in the clinic's format");
    }
    let identity = |id: &str| format!(r#"{} [data-role="identity"]"#, row("patients", id));
    let (first, second) = (
        browser.text(&identity(&elder)).await,
        browser.text(&identity(&younger)).await,
    );
    assert_ne!(first, second, "the two Marias look different");
    browser.screenshot("patients-list-same-name").await;
}

#[rocket::async_test]
async fn a_wrong_password_is_said_inside_the_sign_in_form() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.open("/login").await;

    // Act
    browser.fill_in(LOGIN_FORM, "email", &staff.email).await;
    browser
        .fill_in(LOGIN_FORM, "password", "not the password 42")
        .await;
    browser.submit(LOGIN_FORM).await;

    // Assert: the message is in the form, the page-level area says nothing
    let in_form = format!("{LOGIN_FORM} {ALERT}.alert-error");
    browser.wait_for_in(&in_form, "password is wrong").await;
    assert!(browser.visible(&in_form).await, "the message is shown");
    let page_level = "return document.querySelector('main > [data-role=\"alert\"]').hidden;";
    assert_eq!(browser.js(page_level).await, true, "nothing atop the page");
    assert_eq!(browser.path().await, "/login", "still signing in");
}

#[rocket::async_test]
async fn while_registration_is_closed_there_is_no_create_one_link_and_the_register_page_says_so() {
    // Arrange: a new clinic keeps self-registration closed
    let (app, _admin, _staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;

    // Act
    browser.open("/login").await;

    // Assert: once the server has answered, no link to registration
    browser
        .wait_for(&format!(r#"{AUTH_CARD}[data-registration="closed"]"#))
        .await;
    browser
        .assert_absent(r#"a[href="/register"]"#, "registration is closed")
        .await;
    browser
        .wait_for_in(r#"[data-role="no-account"]"#, "administrator")
        .await;

    // Act: the register page by its address, nothing typed
    browser.open("/register").await;

    // Assert
    let notice = format!("{REGISTER_FORM} {ALERT}");
    browser
        .wait_for_in(&notice, "Self-registration is closed")
        .await;
    assert!(browser.visible(&notice).await, "the notice is shown");
    let typed = format!(
        "return [...document.querySelectorAll('{REGISTER_FORM} input')].every((i) => i.value === '');"
    );
    assert_eq!(browser.js(&typed).await, true, "said before any typing");
}

#[rocket::async_test]
async fn once_an_admin_opens_registration_the_sign_in_page_offers_create_one() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let opened = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "registration": "open" }),
        )
        .await;
    assert_eq!(ok(opened).await["registration"], "open");
    let browser = Browser::start(&app).await;

    // Act
    browser.open("/login").await;

    // Assert: the link, and it leads to a register page with no closed notice
    browser
        .wait_for_in(r#"a[href="/register"]"#, "Create one")
        .await;
    browser.click(r#"a[href="/register"]"#).await;
    browser
        .wait_for(&format!(
            r#"{AUTH_CARD}[data-registration="open"] {REGISTER_FORM}"#
        ))
        .await;
    let notice = format!("{REGISTER_FORM} {ALERT}");
    assert!(!browser.visible(&notice).await, "no closed notice");
}

#[rocket::async_test]
async fn an_empty_patient_form_sends_the_focus_to_its_first_field_and_active_comes_last() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.act("new-patient").await;
    browser.wait_for(PATIENT_FORM).await;

    // Assert: Tab goes from the age to the phone, "Active patient" is the last field
    browser
        .click(&format!(r#"{PATIENT_FORM} [name="age"]"#))
        .await;
    wait_for_focus_on(&browser, "age").await;
    browser.press(Key::Tab).await;
    wait_for_focus_on(&browser, "phone").await;
    let last = format!(
        "return [...document.querySelector('{PATIENT_FORM}').elements].filter((e) => e.name).pop().name;"
    );
    assert_eq!(browser.js(&last).await, "is_active");

    // Act: save with nothing filled in (the click puts the focus on the button)
    browser.submit(PATIENT_FORM).await;

    // Assert: the first name is flagged and has the focus
    browser
        .wait_for_alert("Please check the highlighted fields.")
        .await;
    wait_for_focus_on(&browser, "first_name").await;
    let error = format!(r#"{PATIENT_FORM} [data-error-for="first_name"]"#);
    assert!(!browser.text(&error).await.trim().is_empty(), "a message");
    let invalid = format!(
        "return document.querySelector('{PATIENT_FORM} [name=\"first_name\"]').getAttribute('aria-invalid');"
    );
    assert_eq!(browser.js(&invalid).await, "true");
}

#[rocket::async_test]
async fn of_two_fields_the_server_refuses_the_focus_goes_to_the_one_higher_in_the_form() {
    // Arrange: the phone comes before the email in the form, after it in the alphabet
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.act("new-patient").await;
    browser.fill_in(PATIENT_FORM, "first_name", "Ines").await;
    browser.fill_in(PATIENT_FORM, "email", "not-an-email").await;
    browser.fill_in(PATIENT_FORM, "phone", "call me").await;

    // Act
    browser.submit(PATIENT_FORM).await;

    // Assert: both are flagged, the phone has the focus
    browser
        .wait_for_alert("Please check the highlighted fields.")
        .await;
    for bad in ["phone", "email"] {
        let error = format!(r#"{PATIENT_FORM} [data-error-for="{bad}"]"#);
        assert!(
            !browser.text(&error).await.trim().is_empty(),
            "error for {bad}"
        );
    }
    wait_for_focus_on(&browser, "phone").await;
    let listed = app.get("/api/patients/", &staff.access).await;
    assert_eq!(ok(listed).await, json!([]), "nothing created");
}

#[rocket::async_test]
async fn an_empty_registration_flags_every_required_field_and_not_the_optional_name() {
    // Arrange
    let app = spawn_open_app().await;
    let browser = Browser::start(&app).await;
    browser.open("/register").await;
    browser
        .wait_for(&format!(
            r#"{AUTH_CARD}[data-registration="open"] {REGISTER_FORM}"#
        ))
        .await;

    // Act
    browser.submit(REGISTER_FORM).await;

    // Assert: email, both passwords flagged ("Password again" too, which the server never judges)
    let flagged = |name: &str| format!(r#"{REGISTER_FORM} [name="{name}"][aria-invalid="true"]"#);
    for name in ["email", "password", "password_confirm"] {
        browser.wait_for(&flagged(name)).await;
    }
    browser
        .assert_absent(&flagged("name"), "the name is optional")
        .await;
    wait_for_focus_on(&browser, "email").await;
}

#[rocket::async_test]
async fn an_empty_setup_flags_your_name_with_every_other_required_field_and_creates_nothing() {
    // Arrange
    let app = spawn_app().await;
    let token = app.setup_token.clone().expect("a setup token");
    let browser = Browser::start(&app).await;
    browser.open(&format!("/setup#{token}")).await;
    browser.wait_for(SETUP_FORM).await;

    // Act
    browser.submit(SETUP_FORM).await;

    // Assert: the name first, then the account's fields; no admin was made
    let flagged = |name: &str| format!(r#"{SETUP_FORM} [name="{name}"][aria-invalid="true"]"#);
    for name in ["name", "email", "password", "password_confirm"] {
        browser.wait_for(&flagged(name)).await;
    }
    wait_for_focus_on(&browser, "name").await;
    let login = app.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(login.status(), 401, "no account was created");
}

#[rocket::async_test]
async fn the_patient_list_downloads_as_csv_as_it_is_filtered() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let ada = json!({ "first_name": "Ada", "last_name": "Lovelace" });
    let grace = json!({ "first_name": "Grace", "last_name": "Hopper" });
    let ada = add_patient(&app, &staff.access, &ada).await.to_string();
    add_patient(&app, &staff.access, &grace).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser
        .wait_for_in(&row("patients", &ada), "Ada Lovelace")
        .await;

    // Act: narrow the list, then export it
    browser
        .fill_in(r#"form[data-form="patients-filters"]"#, "search", "lovel")
        .await;
    browser
        .wait_until(
            "return document.querySelectorAll('[data-list=\"patients\"] tbody tr[data-id]').length === 1;",
            "the list narrowed to one",
        )
        .await;
    browser.act("export-csv").await;

    // Assert: a real download holding what the list shows, every page of it
    browser.wait_for_alert("is downloading").await;
    let (name, csv) = browser.wait_for_download().await;
    assert!(name.starts_with("clinicdesk-patients-"), "{name}");
    assert!(csv.starts_with("id,first_name,last_name"), "{csv}");
    assert!(csv.contains("Lovelace"), "{csv}");
    assert!(!csv.contains("Hopper"), "the filter applies: {csv}");
}

#[rocket::async_test]
async fn a_birth_date_is_typed_in_the_clinics_format_and_locks_the_age_while_it_is_there() {
    // Arrange: the clinic writes dates day first
    let (app, admin, staff) = spawn_clinic().await;
    let format = json!({ "date_format": "DD.MM.YYYY" });
    ok(app.patch("/api/settings/", &admin.access, &format).await).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.act("new-patient").await;
    let dob = format!(r#"{PATIENT_FORM} [name="date_of_birth"]"#);
    let age = format!(r#"{PATIENT_FORM} [name="age"]"#);

    // Assert: the box asks for the clinic's pattern, and says the date wins over the age
    let placeholder = format!(
        "return document.querySelector({}).placeholder;",
        crate::browser::js_string(&dob)
    );
    assert_eq!(browser.js(&placeholder).await, "DD.MM.YYYY");
    let form_text = browser.text(PATIENT_FORM).await;
    assert!(
        form_text.contains("date of birth always wins"),
        "{form_text}"
    );

    // Act: an age, then a date typed the other way round
    browser.fill_in(PATIENT_FORM, "first_name", "Ines").await;
    browser.fill_in(PATIENT_FORM, "age", "40").await;
    browser.fill(&dob, "1984-13-07").await;

    // Assert: the age is emptied and locked while a date is there
    let locked = format!(
        "const age = document.querySelector({});
         return age.disabled && age.value === '';",
        crate::browser::js_string(&age)
    );
    browser
        .wait_until(&locked, "the age locked by the date")
        .await;

    // Act: save the unreadable date
    browser.submit(PATIENT_FORM).await;

    // Assert: told how to write it in the clinic's format, nothing saved
    let error = format!(r#"{PATIENT_FORM} [data-error-for="date_of_birth"]"#);
    browser
        .wait_for_in(&error, "Enter the date as DD.MM.YYYY, like 12.07.1984")
        .await;
    wait_for_focus_on(&browser, "date_of_birth").await;
    assert_eq!(
        ok(app.get("/api/patients/", &staff.access).await).await,
        json!([])
    );

    // Act: typed as the clinic writes it
    browser.fill(&dob, "12.07.1984").await;
    browser.submit(PATIENT_FORM).await;

    // Assert: stored as the API's date, shown back in the clinic's format
    browser.wait_for_alert("Ines is added.").await;
    let shown = r#"[data-field="date_of_birth"]"#;
    browser.wait_for_in(shown, "12.07.1984").await;
    let saved = ok(app.get("/api/patients/", &staff.access).await).await;
    assert_eq!(saved[0]["date_of_birth"], "1984-07-12");
    assert!(saved[0]["age"].as_i64().is_some_and(|years| years >= 42));
}

#[rocket::async_test]
async fn an_admin_names_the_clinic_and_picks_its_date_format_and_every_screen_follows_at_once() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let born =
        json!({ "first_name": "Maria", "last_name": "Garcia", "date_of_birth": "1961-04-09" });
    let id = add_patient(&app, &staff.access, &born).await.to_string();
    let browser = Browser::start(&app).await;
    browser.sign_in(&admin.email, PASSWORD).await;
    let settings = r#"form[data-form="settings"]"#;
    browser.nav("settings").await;

    // Act
    browser
        .fill_in(settings, "clinic_name", "Praxis am See")
        .await;
    browser
        .select(&format!(r#"{settings} [name="date_format"]"#), "DD.MM.YYYY")
        .await;
    browser.submit(settings).await;

    // Assert: the header names the clinic and the list writes dates day first, without signing in again
    browser.wait_for_alert("Settings saved").await;
    browser
        .wait_for_in(
            r#"header.topbar [data-role="clinic-name"]"#,
            "Praxis am See",
        )
        .await;
    browser.nav("patients").await;
    let date = format!(r#"{} [data-field="date_of_birth"]"#, row("patients", &id));
    browser.wait_for_in(&date, "09.04.1961").await;
    let stored = ok(app.get("/api/settings/clinic", &staff.access).await).await;
    assert_eq!(stored["clinic_name"], "Praxis am See");
    assert_eq!(stored["date_format"], "DD.MM.YYYY");
}

#[rocket::async_test]
async fn the_book_screen_takes_its_day_in_the_clinics_format_and_shows_that_days_free_times() {
    // Arrange: a day-first clinic, and a doctor who works every day
    let (app, admin, staff) = spawn_clinic().await;
    let format = json!({ "date_format": "DD.MM.YYYY" });
    ok(app.patch("/api/settings/", &admin.access, &format).await).await;
    let body = json!({ "first_name": "Meredith", "specialization": "General practice" });
    let doctor = add_doctor(&app, &staff.access, &body).await;
    let week: Vec<serde_json::Value> = (1..=7)
        .map(|weekday| json!({ "weekday": weekday, "start": "08:00", "end": "12:00" }))
        .collect();
    let hours = format!("/api/doctors/{doctor}/hours/");
    ok(app.put(&hours, &staff.access, &json!(week)).await).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.open(&format!("/book?doctor={doctor}")).await;
    let from = r#"form[data-form="book"] [name="date"]"#;
    browser.wait_for(from).await;
    let placeholder = format!(
        "return document.querySelector({}).placeholder;",
        crate::browser::js_string(from)
    );
    assert_eq!(browser.js(&placeholder).await, "DD.MM.YYYY");

    // Act: a day typed as the clinic writes it
    browser.fill(from, "07.06.2031").await;
    browser.press(Key::Tab).await;

    // Assert: the free times start on that day
    browser
        .wait_until(
            "const s = [...document.querySelectorAll('button[data-action=\"book-slot\"]')]; \
             return s.length > 0 && s[0].dataset.start.startsWith('2031-06-07');",
            "the free times from 7 June 2031",
        )
        .await;
}
