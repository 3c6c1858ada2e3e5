//! The clinic's day in the browser: booking from the Book screen (and the
//! words for a clash), the Today board's status moves, two desks on one
//! board, a walk-in, a doctor's own "next patient", the day sheet, and a
//! doctor's weekly hours.
//!
//! Times are chosen so that free slots exist whenever the test runs: the
//! doctor works every day 00:00–23:59, the Book test takes the last time of
//! the coming week, and the board's appointments start now (booked with
//! `override`, or as walk-ins).

use fantoccini::key::Key;
use serde_json::Value;

use super::*;
use crate::helpers::{at_midday, created, TestApp};

const BOOK_FORM: &str = r#"form[data-form="book"]"#;
const BOARD_READY: &str = r#".board[data-state="ready"]"#;
const SLOT: &str = r#"button[data-action="book-slot"]"#;

/// A doctor `first_name` Grey who works every day around the clock.
async fn doctor_on_duty(app: &TestApp, token: &str, first_name: &str) -> i64 {
    let body = json!({ "first_name": first_name, "last_name": "Grey", "specialization": "General practice" });
    on_duty(app, token, &body).await
}

/// Creates the doctor `body`, who works every day around the clock; returns its id.
async fn on_duty(app: &TestApp, token: &str, body: &Value) -> i64 {
    let id = add_doctor(app, token, body).await;
    let week: Vec<Value> = (1..=7)
        .map(|weekday| json!({ "weekday": weekday, "start": "00:00", "end": "23:59" }))
        .collect();
    let saved = app
        .put(&format!("/api/doctors/{id}/hours/"), token, &json!(week))
        .await;
    assert!(
        saved.status().is_success(),
        "hours saved: {}",
        saved.status()
    );
    id
}

/// This minute, as RFC 3339 UTC (appointments start on a whole minute).
fn now_utc() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .and_then(|t| t.replace_second(0))
        .expect("a whole minute");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// Books `patient` with `doctor` starting now (staff's override: whatever the
/// hour, the board of today gets it); returns the appointment's id.
async fn book_now(app: &TestApp, token: &str, patient: i64, doctor: i64) -> i64 {
    let body =
        json!({ "patient": patient, "doctor": doctor, "start": now_utc(), "override": true });
    let appointment = created(app.post("/api/appointments/", token, &body).await).await;
    assert_eq!(appointment["status"], "booked", "{appointment}");
    crate::helpers::id(&appointment)
}

/// The appointment as the API has it now.
async fn appointment(app: &TestApp, token: &str, id: i64) -> Value {
    ok(app.get(&format!("/api/appointments/{id}/"), token).await).await
}

/// The board's card of appointment `id`, optionally only while it has `status`.
fn card(id: i64, status: Option<&str>) -> String {
    match status {
        Some(status) => format!(r#".board li.appt[data-id="{id}"][data-status="{status}"]"#),
        None => format!(r#".board li.appt[data-id="{id}"]"#),
    }
}

/// Signs in and opens Today from the navigation; waits for the board.
async fn open_today(browser: &Browser, email: &str) {
    browser.sign_in(email, PASSWORD).await;
    browser.nav("today").await;
    browser
        .wait_for(r#".board:not([data-state="loading"])"#)
        .await;
}

/// Clicks the `action` button of appointment `id` on the board, waits for the
/// card to show `status`, and asserts the API agrees.
async fn move_on_board(
    browser: &Browser,
    app: &TestApp,
    token: &str,
    id: i64,
    action: &str,
    status: &str,
) {
    browser
        .click(&format!(r#"{} [data-action="{action}"]"#, card(id, None)))
        .await;
    browser.wait_for(&card(id, Some(status))).await;
    assert_eq!(
        appointment(app, token, id).await["status"],
        status,
        "after {action}"
    );
}

#[rocket::async_test]
async fn staff_book_a_free_time_from_the_book_screen_with_the_keyboard() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let grace = add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Grace", "last_name": "Hopper" }),
    )
    .await;
    add_patient(&app, &staff.access, &patient("Alan")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.nav("book").await;

    // Act: the patient by search (Enter picks the match), the doctor, a reason
    browser
        .fill(&format!(r#"{BOOK_FORM} [name="patient_search"]"#), "hopp")
        .await;
    browser
        .wait_for(&format!(
            r#"[data-action="pick-patient"][data-id="{grace}"]"#
        ))
        .await;
    browser.press(Key::Enter).await;
    browser
        .wait_for(&format!(
            r#"[data-role="chosen-patient"] [data-patient-id="{grace}"]"#
        ))
        .await;
    let doctors = format!(r#"{BOOK_FORM} select[name="doctor"]"#);
    browser
        .wait_for(&format!(r#"{doctors} option[value="{doctor}"]"#))
        .await;
    browser.select(&doctors, &doctor.to_string()).await;
    browser.fill_in(BOOK_FORM, "reason", "Check-up").await;

    // Act: the week's free times; Enter on the last one books it
    browser.wait_for(SLOT).await;
    browser.screenshot("book").await;
    let start = browser
        .js(&format!(
            "const slot = [...document.querySelectorAll('{SLOT}')].pop();
             slot.focus();
             return slot.dataset.start;"
        ))
        .await;
    let start = start.as_str().expect("a slot's start").to_owned();
    browser.press(Key::Enter).await;

    // Assert: the screen says so, and the API has the appointment
    browser.wait_for(r#"[data-role="booked"]"#).await;
    browser
        .wait_for_alert("Booked: Grace Hopper with Dr Meredith Grey")
        .await;
    let list = ok(app
        .get(
            &format!("/api/appointments/?patient_id={grace}"),
            &staff.access,
        )
        .await)
    .await;
    let list = list.as_array().expect("a list");
    assert_eq!(list.len(), 1, "one appointment: {list:?}");
    let booked = &list[0];
    assert_eq!(booked["start"], start.as_str(), "{booked}");
    assert_eq!(booked["doctor"], doctor, "{booked}");
    assert_eq!(booked["status"], "booked", "{booked}");
    assert_eq!(booked["reason"], "Check-up", "{booked}");

    // Assert: the time is no longer offered
    browser.wait_for(SLOT).await;
    let offered = browser
        .js(&format!(
            "return [...document.querySelectorAll('{SLOT}')].some((b) => b.dataset.start === {});",
            crate::browser::js_string(&start)
        ))
        .await;
    assert_eq!(
        offered, false,
        "the booked time is gone from the free times"
    );
    let violations = browser.csp_violations().await;
    assert!(violations.is_empty(), "blocked by the CSP: {violations:?}");
}

#[rocket::async_test]
async fn a_time_taken_meanwhile_is_refused_with_the_clash_in_words() {
    // Arrange: the Book screen shows the doctor's free times
    let (app, _admin, staff) = spawn_clinic().await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let grace = add_patient(&app, &staff.access, &patient("Grace")).await;
    let other = add_patient(&app, &staff.access, &patient("Other")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser
        .open(&format!("/book?patient={grace}&doctor={doctor}"))
        .await;
    browser.wait_for(SLOT).await;
    let start = browser
        .js(&format!(
            "return [...document.querySelectorAll('{SLOT}')].pop().dataset.start;"
        ))
        .await;
    let start = start.as_str().expect("a slot's start").to_owned();

    // Act: another desk books that time first; this one clicks it
    let body = json!({ "patient": other, "doctor": doctor, "start": start });
    created(app.post("/api/appointments/", &staff.access, &body).await).await;
    let slot = format!(r#"{SLOT}[data-start="{start}"]"#);
    browser.click(&slot).await;

    // Assert: the clash in words, not the code; nothing booked for Grace
    let from = &start[11..16];
    browser
        .wait_for_alert(&format!(
            "Dr Meredith Grey already has an appointment {from}–"
        ))
        .await;
    browser.wait_for(r#"[data-role="clash"]"#).await;
    browser.assert_page_lacks("slot_taken", "the code").await;
    let mine = ok(app
        .get(
            &format!("/api/appointments/?patient_id={grace}"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(mine, json!([]), "nothing booked for Grace");
}

#[rocket::async_test]
async fn on_today_a_booked_patient_is_checked_in_started_and_completed() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, doctor).await;
    let browser = Browser::start(&app).await;

    // Act: Today, the appointment in the doctor's column
    open_today(&browser, &staff.email).await;
    browser.wait_for(BOARD_READY).await;
    let column = format!(r#".board-col[data-doctor-id="{doctor}"]"#);
    browser.wait_for_in(&column, "Dr Meredith Grey").await;
    browser
        .wait_for_in(&card(id, Some("booked")), "Ada Lovelace")
        .await;
    browser.screenshot("today").await;

    // Act and assert: each click moves it on, and the API agrees
    move_on_board(&browser, &app, &staff.access, id, "arrive", "arrived").await;
    browser
        .wait_for_in(
            &format!(r#"{} [data-field="wait"]"#, card(id, None)),
            "waiting",
        )
        .await;
    move_on_board(&browser, &app, &staff.access, id, "start", "in_progress").await;
    move_on_board(&browser, &app, &staff.access, id, "complete", "completed").await;

    // Assert: a completed visit offers no more moves
    browser
        .assert_absent(
            &format!("{} .appt-actions button", card(id, None)),
            "no moves after completion",
        )
        .await;
}

#[rocket::async_test]
async fn a_change_at_one_desk_appears_on_the_other_desks_board() {
    // Arrange: two desks on Today
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, doctor).await;
    let front = Browser::start(&app).await;
    let back = Browser::start(&app).await;
    open_today(&front, &staff.email).await;
    open_today(&back, &admin.email).await;
    front.wait_for(&card(id, Some("booked"))).await;
    back.wait_for(&card(id, Some("booked"))).await;

    // Act: the front desk checks her in
    front
        .click(&format!(r#"{} [data-action="arrive"]"#, card(id, None)))
        .await;

    // Assert: the other board shows it by itself (it polls)
    back.wait_for(&card(id, Some("arrived"))).await;

    // Act and assert: and back the other way
    back.click(&format!(r#"{} [data-action="start"]"#, card(id, None)))
        .await;
    front.wait_for(&card(id, Some("in_progress"))).await;
    assert_eq!(
        appointment(&app, &staff.access, id).await["status"],
        "in_progress"
    );
}

#[rocket::async_test]
async fn a_walk_in_is_added_from_the_board_and_starts_as_arrived() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let browser = Browser::start(&app).await;
    open_today(&browser, &staff.email).await;

    // Act: Walk-in, the patient by search, the doctor, add
    browser.act("walk-in").await;
    let form = r#"dialog[open] form[data-form="walk-in"]"#;
    browser
        .fill(&format!(r#"{form} [name="patient_search"]"#), "Ada")
        .await;
    browser
        .click(&format!(
            r#"{form} [data-action="pick-patient"][data-id="{ada}"]"#
        ))
        .await;
    let doctors = format!(r#"{form} select[name="doctor"]"#);
    browser
        .wait_for(&format!(r#"{doctors} option[value="{doctor}"]"#))
        .await;
    browser.select(&doctors, &doctor.to_string()).await;
    browser.submit(form).await;

    // Assert: on the board as arrived, and a walk-in for the API
    browser.wait_gone("dialog[open]").await;
    let arrived =
        format!(r#".board-col[data-doctor-id="{doctor}"] li.appt[data-status="arrived"]"#);
    browser.wait_for_in(&arrived, "Ada Lovelace").await;
    let list = ok(app
        .get(
            &format!("/api/appointments/?patient_id={ada}"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(list[0]["kind"], "walk_in", "{list}");
    assert_eq!(list[0]["status"], "arrived", "{list}");
}

#[rocket::async_test]
async fn a_booked_appointment_is_moved_from_the_board_to_a_free_time_of_another_doctor() {
    // Arrange: Ada is booked with Dr Grey now; Dr Yang works too
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let grey = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let yang = on_duty(
        &app,
        &staff.access,
        &json!({ "first_name": "Cristina", "last_name": "Yang", "specialization": "Surgery" }),
    )
    .await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, grey).await;
    let before = appointment(&app, &staff.access, id).await;
    let browser = Browser::start(&app).await;
    open_today(&browser, &staff.email).await;

    // Act: Move on the card, Dr Yang, the week's last free time
    browser
        .click(&format!(r#"{} [data-action="move"]"#, card(id, None)))
        .await;
    browser
        .wait_for(&format!(
            r#"[data-role="moving"][data-appointment-id="{id}"]"#
        ))
        .await;
    assert_eq!(browser.path().await, "/book");
    browser.screenshot("move").await;
    let doctors = format!(r#"{BOOK_FORM} select[name="doctor"]"#);
    browser
        .wait_for(&format!(r#"{doctors} option[value="{yang}"]"#))
        .await;
    browser.select(&doctors, &yang.to_string()).await;
    browser.wait_for(SLOT).await;
    let start = browser
        .js(&format!(
            "return [...document.querySelectorAll('{SLOT}')].pop().dataset.start;"
        ))
        .await;
    let start = start.as_str().expect("a slot's start").to_owned();
    browser
        .click(&format!(r#"{SLOT}[data-start="{start}"]"#))
        .await;

    // Assert: the same appointment, at the new time with Dr Yang, its length kept
    browser
        .wait_for(&format!(
            r#"[data-role="moved"][data-appointment-id="{id}"]"#
        ))
        .await;
    browser.wait_for_alert("Moved: Ada Lovelace to ").await;
    let moved = appointment(&app, &staff.access, id).await;
    assert_eq!(moved["start"], start.as_str(), "{moved}");
    assert_eq!(moved["doctor"], yang, "{moved}");
    assert_eq!(moved["status"], "booked", "{moved}");
    assert_eq!(
        moved["duration_minutes"], before["duration_minutes"],
        "{moved}"
    );
    let list = ok(app
        .get(
            &format!("/api/appointments/?patient_id={ada}"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "moved, not booked again: {list}"
    );
    browser
        .assert_page_lacks("null", "no empty values shown as text")
        .await;
}

#[rocket::async_test]
async fn a_cancelled_appointment_cannot_be_moved_and_the_screen_says_why() {
    // Arrange: Ada's appointment was cancelled
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let grey = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, grey).await;
    let cancelled = app
        .post(
            &format!("/api/appointments/{id}/status/"),
            &staff.access,
            &json!({ "status": "cancelled" }),
        )
        .await;
    assert_eq!(cancelled.status(), 200);
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act: an old link to move it
    browser.open(&format!("/book?move={id}")).await;

    // Assert: said in words; the screen books anew, for any patient
    browser
        .wait_for_alert("is cancelled, so it cannot be moved")
        .await;
    browser.wait_for_in("main", "Book an appointment").await;
    assert!(
        !browser.visible(r#"[data-role="moving"]"#).await,
        "nothing is being moved"
    );
    assert_eq!(
        appointment(&app, &staff.access, id).await["status"],
        "cancelled"
    );
}

#[rocket::async_test]
async fn a_doctors_own_account_opens_on_its_column_and_starts_the_next_patient() {
    // Arrange: an account linked to Dr Grey, another doctor with an earlier name
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let grey = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let other = on_duty(
        &app,
        &staff.access,
        &json!({ "first_name": "Aaron", "last_name": "Abbott", "specialization": "Surgery" }),
    )
    .await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let bea = add_patient(&app, &staff.access, &patient("Bea")).await;
    let walk_in = |patient: i64, doctor: i64| json!({ "kind": "walk_in", "patient": patient, "doctor": doctor });
    let waiting = created(
        app.post("/api/appointments/", &staff.access, &walk_in(ada, grey))
            .await,
    )
    .await;
    created(
        app.post("/api/appointments/", &staff.access, &walk_in(bea, other))
            .await,
    )
    .await;
    let account = app.account(&admin, "staff", "grey@clinic.test").await;
    let linked = app
        .patch(
            &format!("/api/users/{}/", account.id),
            &admin.access,
            &json!({ "doctor": grey }),
        )
        .await;
    assert_eq!(linked.status(), 200, "the account is linked to Dr Grey");
    let browser = Browser::start(&app).await;

    // Act: she signs in (her home is Today)
    browser.open("/login").await;
    browser
        .fill_in(LOGIN_FORM, "email", "grey@clinic.test")
        .await;
    browser.fill_in(LOGIN_FORM, "password", PASSWORD).await;
    browser.submit(LOGIN_FORM).await;
    browser.wait_for(BOARD_READY).await;

    // Assert: on Today, her column first
    assert_eq!(browser.path().await, "/today");
    let first = browser
        .js("return document.querySelector('.board-col').dataset.doctorId;")
        .await;
    assert_eq!(first, grey.to_string(), "her own column comes first");

    // Act: My next patient
    browser.act("next-patient").await;

    // Assert: Ada (waiting for her) is with the doctor; the other doctor's walk-in is not
    let id = crate::helpers::id(&waiting);
    browser.wait_for(&card(id, Some("in_progress"))).await;
    assert_eq!(
        appointment(&app, &staff.access, id).await["status"],
        "in_progress"
    );
    let others = ok(app
        .get(
            &format!("/api/appointments/?patient_id={bea}"),
            &staff.access,
        )
        .await)
    .await;
    assert_eq!(others[0]["status"], "arrived", "{others}");
}

#[rocket::async_test]
async fn the_day_sheet_lists_the_doctors_appointments_for_printing() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, doctor).await;
    let browser = Browser::start(&app).await;
    open_today(&browser, &staff.email).await;

    // Act: the column's Day sheet
    browser
        .click(&format!(
            r#".board-col[data-doctor-id="{doctor}"] [data-action="print-day"]"#
        ))
        .await;

    // Assert: the sheet, with the appointment and a Print button
    assert_eq!(browser.wait_for_list("day-sheet").await, "ready");
    assert_eq!(browser.path().await, "/today/print");
    let row = format!(r#"table[data-list="day-sheet"] tr[data-id="{id}"]"#);
    browser.wait_for_in(&row, "Ada Lovelace").await;
    browser
        .wait_for_in("main", "Day sheet: Dr Meredith Grey")
        .await;
    assert!(
        browser.visible(r#"[data-action="print"]"#).await,
        "a Print button"
    );
    browser.screenshot("day-sheet").await;
}

#[rocket::async_test]
async fn staff_set_a_doctors_weekly_hours_and_a_user_only_reads_them() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let doctor = add_doctor(&app, &staff.access, &doctor("Meredith")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.open(&format!("/doctors/{doctor}")).await;
    let form = r#"form[data-form="hours"]"#;
    browser.wait_for(form).await;

    // Act: Monday 09:00–13:00, then the same on Tuesday (Add copies onto the next day)
    browser.act("add-hours").await;
    let row =
        |n: usize, name: &str| format!(r#"{form} li.hours-row:nth-child({n}) [name="{name}"]"#);
    browser.set_value(&row(1, "start"), "09:00").await;
    browser.set_value(&row(1, "end"), "13:00").await;
    browser.act("add-hours").await;
    browser.wait_for(&row(2, "weekday")).await;
    browser.submit(form).await;

    // Assert
    browser
        .wait_for_alert("weekly hours of Meredith House are saved")
        .await;
    let hours = ok(app
        .get(&format!("/api/doctors/{doctor}/hours/"), &staff.access)
        .await)
    .await;
    assert_eq!(
        hours,
        json!([
            { "weekday": 1, "start": "09:00", "end": "13:00" },
            { "weekday": 2, "start": "09:00", "end": "13:00" },
        ]),
        "the week as saved"
    );
    browser.screenshot("doctor-hours").await;

    // Act: a `user` opens the same page
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let reader = Browser::start(&app).await;
    reader.sign_in(&user.email, PASSWORD).await;
    reader.open(&format!("/doctors/{doctor}")).await;

    // Assert: the hours as text, no editor
    reader
        .wait_for_in(r#".hours-list [data-weekday="1"]"#, "09:00–13:00")
        .await;
    reader
        .assert_absent(form, "no hours editor for a user")
        .await;
    reader
        .assert_absent(
            r#"form[data-form="time-off"]"#,
            "no time-off form for a user",
        )
        .await;
}

#[rocket::async_test]
async fn the_patient_page_lists_the_appointments_and_books_with_the_patient_chosen() {
    // Arrange: Ada has an appointment today
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let doctor = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let id = book_now(&app, &staff.access, ada, doctor).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act
    browser.open(&format!("/patients/{ada}")).await;

    // Assert: the appointment among the upcoming ones, with its doctor
    assert_eq!(browser.wait_for_list("patient-appointments").await, "ready");
    let row = format!(r#"table[data-list="patient-appointments"] tr[data-id="{id}"]"#);
    browser.wait_for_in(&row, "Dr Meredith Grey").await;
    let move_link = browser
        .js(&format!(
            "return document.querySelector({})?.getAttribute('href');",
            crate::browser::js_string(&format!(r#"{row} [data-action="move"]"#))
        ))
        .await;
    assert_eq!(
        move_link,
        format!("/book?move={id}"),
        "a booked appointment can be moved"
    );
    browser.screenshot("patient-appointments").await;

    // Act: Book
    browser
        .click(r#"section [data-action="book"][href^="/book"]"#)
        .await;

    // Assert: the Book screen with Ada already chosen
    browser
        .wait_for(&format!(
            r#"{BOOK_FORM} [data-role="chosen-patient"] [data-patient-id="{ada}"]"#
        ))
        .await;
    assert_eq!(browser.path().await, "/book");
    browser
        .assert_page_lacks("null", "no empty values shown as text")
        .await;
}

#[rocket::async_test]
async fn on_a_narrow_screen_the_doctors_are_grouped_one_under_the_other() {
    // Arrange: two doctors with a patient each today, a phone-sized window
    let (app, admin, staff) = spawn_clinic().await;
    at_midday(&app, &admin).await;
    let grey = doctor_on_duty(&app, &staff.access, "Meredith").await;
    let yang = on_duty(
        &app,
        &staff.access,
        &json!({ "first_name": "Cristina", "last_name": "Yang", "specialization": "Cardiology" }),
    )
    .await;
    let ada = add_patient(&app, &staff.access, &patient("Ada")).await;
    let bea = add_patient(&app, &staff.access, &patient("Bea")).await;
    book_now(&app, &staff.access, ada, grey).await;
    book_now(&app, &staff.access, bea, yang).await;
    let browser = Browser::start(&app).await;
    let set_size = browser.client.set_window_size(480, 900).await;
    set_size.expect("a phone-sized window");

    // Act
    open_today(&browser, &staff.email).await;
    browser.wait_for(BOARD_READY).await;

    // Assert: one column under the other, nothing wider than the screen
    let layout = browser
        .js("const [a, b] = [...document.querySelectorAll('.board-col')].map((c) => c.getBoundingClientRect());
             return { stacked: Math.abs(a.left - b.left) < 1 && b.top >= a.bottom,
                      fits: document.documentElement.scrollWidth <= window.innerWidth };")
        .await;
    assert_eq!(
        layout,
        json!({ "stacked": true, "fits": true }),
        "the board's layout"
    );
    browser.screenshot("today-narrow").await;
}
