//! The clinic's daily work in the browser: setup to an assigned patient,
//! a `user`'s limited view, field errors in place, HTML shown as text,
//! tablet width, editing on the patient page.

use super::*;

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
