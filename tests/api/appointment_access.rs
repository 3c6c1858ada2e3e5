//! Who may see, book, override and change appointments and hours, what the
//! audit trail records of it, and moving an appointment (contract part 2).

use serde_json::{json, Value};

use crate::appointments::{always, at, book, clinic, doctor_with};
use crate::helpers::{
    assert_error, assert_field_errors, assert_not_found, created, id, ids, json_with, ok, patient,
};

#[rocket::async_test]
async fn a_user_sees_and_books_only_their_own_patients_and_cannot_override() {
    let (app, admin, staff, d, staffs_patient) = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let mine = id(&app.create_patient(&user.access, &patient("Mine")).await);
    let theirs = created(
        book(
            &app,
            &staff.access,
            &at(staffs_patient, d, "2038-06-07T09:00", "2038-06-07T09:30"),
        )
        .await,
    )
    .await;

    // Their own patient: booked, listed, changed.
    let own = created(
        book(
            &app,
            &user.access,
            &at(mine, d, "2038-06-07T10:00", "2038-06-07T10:30"),
        )
        .await,
    )
    .await;
    let listed = json_with(
        app.get("/api/appointments/?date=2038-06-07", &user.access)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&listed), [id(&own)]);
    ok(app
        .post(
            &format!("/api/appointments/{}/status/", id(&own)),
            &user.access,
            &json!({ "status": "arrived" }),
        )
        .await)
    .await;

    // Someone else's: 404 everywhere, and not bookable.
    let path = format!("/api/appointments/{}/", id(&theirs));
    assert_not_found(app.get(&path, &user.access).await).await;
    assert_not_found(
        app.patch(&path, &user.access, &json!({ "notes": "x" }))
            .await,
    )
    .await;
    assert_not_found(
        app.post(
            &format!("{path}status/"),
            &user.access,
            &json!({ "status": "arrived" }),
        )
        .await,
    )
    .await;
    assert_not_found(app.delete(&path, &user.access).await).await;
    assert_not_found(
        app.get(
            &format!("/api/patients/{staffs_patient}/appointments/"),
            &user.access,
        )
        .await,
    )
    .await;
    assert_field_errors(
        book(
            &app,
            &user.access,
            &at(staffs_patient, d, "2038-06-07T11:00", "2038-06-07T11:30"),
        )
        .await,
        &["patient"],
    )
    .await;
    let filtered = json_with(
        app.get(
            &format!("/api/appointments/?patient_id={staffs_patient}"),
            &user.access,
        )
        .await,
        200,
    )
    .await;
    assert!(ids(&filtered).is_empty());
}

#[rocket::async_test]
async fn override_hours_and_time_off_are_for_staff_and_admin_but_everyone_reads_hours_and_slots() {
    let (app, admin, _staff, d, _p) = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let mine = id(&app.create_patient(&user.access, &patient("Mine")).await);

    let over = json!({ "patient": mine, "doctor": d, "start": "2038-06-07T09:00", "end": "2038-06-07T09:30", "override": true });
    assert_error(
        book(&app, &user.access, &over).await,
        403,
        "permission_denied",
    )
    .await;
    assert_error(
        app.put(&format!("/api/doctors/{d}/hours/"), &user.access, &always())
            .await,
        403,
        "permission_denied",
    )
    .await;
    let off = json!({ "start": "2038-07-01", "end": "2038-07-02" });
    assert_error(
        app.post(&format!("/api/doctors/{d}/time-off/"), &user.access, &off)
            .await,
        403,
        "permission_denied",
    )
    .await;
    // …but every role reads hours and slots.
    ok(app
        .get(&format!("/api/doctors/{d}/hours/"), &user.access)
        .await)
    .await;
    ok(app
        .get(
            &format!("/api/doctors/{d}/slots/?date=2038-06-07"),
            &user.access,
        )
        .await)
    .await;
}

#[rocket::async_test]
async fn staff_may_override_a_clash_and_the_trail_records_views_changes_and_the_override() {
    let (app, admin, staff, d, p) = clinic().await;
    let other = id(&app.create_patient(&staff.access, &patient("Bea")).await);
    let first = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T09:00", "2038-06-07T09:30"),
        )
        .await,
    )
    .await;

    let over = json!({ "patient": other, "doctor": d, "start": "2038-06-07T09:00", "end": "2038-06-07T09:30", "override": true });
    let second = created(book(&app, &staff.access, &over).await).await;
    assert_eq!(second["overbooked"], true);
    ok(app
        .get(&format!("/api/appointments/{}/", id(&first)), &staff.access)
        .await)
    .await;
    ok(app
        .post(
            &format!("/api/appointments/{}/status/", id(&first)),
            &staff.access,
            &json!({ "status": "arrived" }),
        )
        .await)
    .await;
    json_with(
        app.get(&format!("/api/patients/{p}/appointments/"), &staff.access)
            .await,
        200,
    )
    .await;

    let trail = |entity_id: i64| {
        format!("/api/audit/?entity=appointment&entity_id={entity_id}&page_size=100")
    };
    let rows = json_with(app.get(&trail(id(&second)), &admin.access).await, 200).await;
    let actions: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["action"].as_str().expect("action"))
        .collect();
    assert!(
        actions.contains(&"create") && actions.contains(&"override"),
        "{actions:?}"
    );
    let rows = json_with(app.get(&trail(id(&first)), &admin.access).await, 200).await;
    let actions: Vec<&str> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["action"].as_str().expect("action"))
        .collect();
    assert!(
        actions.contains(&"view") && actions.contains(&"status_change"),
        "{actions:?}"
    );
    let searches = json_with(
        app.get(
            "/api/audit/?entity=patient&action=view&page_size=100",
            &admin.access,
        )
        .await,
        200,
    )
    .await;
    assert!(
        searches
            .as_array()
            .expect("rows")
            .iter()
            .any(|r| r["entity_id"] == p && r["fields"] == json!(["appointments"])),
        "{searches}"
    );
}

#[rocket::async_test]
async fn a_move_is_checked_like_a_booking_and_only_an_active_appointment_moves() {
    let (app, _admin, staff, d, p) = clinic().await;
    let other = id(&app.create_patient(&staff.access, &patient("Bea")).await);
    let d2 = doctor_with(&app, &staff.access, "Second", &always()).await;
    created(
        book(
            &app,
            &staff.access,
            &at(other, d, "2038-06-07T10:00", "2038-06-07T10:30"),
        )
        .await,
    )
    .await;
    let a = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T09:00", "2038-06-07T09:30"),
        )
        .await,
    )
    .await;
    let path = format!("/api/appointments/{}/", id(&a));

    assert_error(
        app.patch(
            &path,
            &staff.access,
            &json!({ "start": "2038-06-07T10:15" }),
        )
        .await,
        409,
        "slot_taken",
    )
    .await;
    // Bad input is a 400 even where the time would also clash.
    assert_field_errors(
        app.patch(
            &path,
            &staff.access,
            &json!({ "start": "2038-06-07T10:15", "end": "2038-06-07T10:00" }),
        )
        .await,
        &["end"],
    )
    .await;
    let moved = ok(app
        .patch(
            &path,
            &staff.access,
            &json!({ "doctor": d2, "start": "2038-06-07T10:00" }),
        )
        .await)
    .await;
    assert_eq!(moved["doctor"], d2);
    assert_eq!(moved["end"], "2038-06-07T10:30:00+02:00");
    let noted = ok(app
        .patch(
            &path,
            &staff.access,
            &json!({ "notes": "Bring the X-ray", "reason": "" }),
        )
        .await)
    .await;
    assert_eq!(noted["notes"], "Bring the X-ray");
    assert_eq!(noted["reason"], Value::Null);

    ok(app
        .post(
            &format!("{path}status/"),
            &staff.access,
            &json!({ "status": "no_show" }),
        )
        .await)
    .await;
    assert_error(
        app.patch(
            &path,
            &staff.access,
            &json!({ "start": "2038-06-07T12:00" }),
        )
        .await,
        409,
        "appointment_closed",
    )
    .await;
    assert_error(
        app.delete(&path, &staff.access).await,
        409,
        "invalid_transition",
    )
    .await;
}

#[rocket::async_test]
async fn an_account_can_belong_to_one_doctor() {
    let (app, admin, staff, d, _p) = clinic().await;
    let doc = app.account(&admin, "staff", "greg@clinic.test").await;

    let linked = ok(app
        .patch(
            &format!("/api/users/{}/", doc.id),
            &admin.access,
            &json!({ "doctor": d }),
        )
        .await)
    .await;
    assert_eq!(linked["doctor"], d);
    let me = ok(app.get("/api/auth/me/", &doc.access).await).await;
    assert_eq!(me["doctor"], d);

    assert_error(
        app.patch(
            &format!("/api/users/{}/", staff.id),
            &admin.access,
            &json!({ "doctor": d }),
        )
        .await,
        409,
        "duplicate",
    )
    .await;
    assert_field_errors(
        app.patch(
            &format!("/api/users/{}/", staff.id),
            &admin.access,
            &json!({ "doctor": 999_999 }),
        )
        .await,
        &["doctor"],
    )
    .await;
    let unlinked = ok(app
        .patch(
            &format!("/api/users/{}/", doc.id),
            &admin.access,
            &json!({ "doctor": null }),
        )
        .await)
    .await;
    assert_eq!(unlinked["doctor"], Value::Null);
}
