//! Booking appointments and their status flow (contract part 2), against
//! the real server; hours and slots are in `schedule.rs`, who may do what in
//! `appointment_access.rs`, the board's list in `board.rs`. Dates are in
//! 2038, so every booking is in the future for years to come (first they
//! were in 2027, whose calendar 2038 shares: the same weekdays and the same
//! DST Sundays), in the clinic zone `Europe/Berlin`.

use rocket::futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_field_errors, at_midday, created, doctor, id, ids, json_with, ok, patient,
    spawn_clinic, Account, TestApp,
};

/// Every day, all day: so a test can book any time it likes.
pub(crate) fn always() -> Value {
    Value::Array(
        (1..=7)
            .map(|weekday| json!({ "weekday": weekday, "start": "00:00", "end": "23:59" }))
            .collect(),
    )
}

pub(crate) async fn berlin(app: &TestApp, admin: &Account) {
    let body = json!({ "time_zone": "Europe/Berlin" });
    ok(app.patch("/api/settings/", &admin.access, &body).await).await;
}

/// A doctor with the given weekly hours.
pub(crate) async fn doctor_with(app: &TestApp, token: &str, name: &str, hours: &Value) -> i64 {
    let d = app.create_doctor(token, &doctor(name)).await;
    let path = format!("/api/doctors/{}/hours/", id(&d));
    ok(app.put(&path, token, hours).await).await;
    id(&d)
}

pub(crate) async fn book(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/api/appointments/", token, body).await
}

/// A clinic in Berlin with one always-open doctor and one patient.
pub(crate) async fn clinic() -> (TestApp, Account, Account, i64, i64) {
    let (app, admin, staff) = spawn_clinic().await;
    berlin(&app, &admin).await;
    let d = doctor_with(&app, &staff.access, "Greg", &always()).await;
    let p = id(&app.create_patient(&staff.access, &patient("Ada")).await);
    (app, admin, staff, d, p)
}

pub(crate) fn at(patient: i64, doctor: i64, start: &str, end: &str) -> Value {
    json!({ "patient": patient, "doctor": doctor, "start": start, "end": end })
}

#[rocket::async_test]
async fn a_booking_answers_clinic_time_with_its_offset_and_the_doctors_usual_length() {
    let (app, _admin, staff, d, p) = clinic().await;

    let body =
        json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:00", "reason": "Check-up" });
    let response = book(&app, &staff.access, &body).await;
    let location = crate::helpers::header(&response, "location");
    let a = created(response).await;

    assert_eq!(a["start"], "2038-06-07T09:00:00+02:00");
    assert_eq!(
        a["end"], "2038-06-07T09:15:00+02:00",
        "15 minutes by default"
    );
    assert_eq!(a["duration_minutes"], 15);
    assert_eq!(a["status"], "booked");
    assert_eq!(a["kind"], "scheduled");
    assert_eq!(a["patient_details"]["name"], "Ada Lovelace");
    assert_eq!(a["doctor_details"]["name"], "Greg House");
    assert_eq!(a["created_by"], staff.id);
    assert_eq!(a["wait_minutes"], Value::Null);
    crate::helpers::assert_location(&location, &format!("/api/appointments/{}", id(&a)));

    // A time with an offset is taken as given.
    let utc = at(p, d, "2038-06-07T10:00:00Z", "2038-06-07T10:30:00Z");
    let a = created(book(&app, &staff.access, &utc).await).await;
    assert_eq!(a["start"], "2038-06-07T12:00:00+02:00");
    assert_eq!(a["duration_minutes"], 30);
}

#[rocket::async_test]
async fn of_twenty_parallel_bookings_of_one_slot_exactly_one_is_taken() {
    let (app, _admin, staff, d, _p) = clinic().await;
    let mut patients = Vec::new();
    for i in 0..20 {
        patients.push(id(&app
            .create_patient(&staff.access, &patient(&format!("P{i}")))
            .await));
    }

    let attempts = patients.iter().map(|p| {
        let body = at(*p, d, "2038-06-07T09:00", "2038-06-07T09:30");
        let (app, token) = (&app, &staff.access);
        async move {
            let response = book(app, token, &body).await;
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("JSON"))
        }
    });
    let answers = join_all(attempts).await;

    let won: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(won.len(), 1, "{answers:?}");
    let lost: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!(lost.len(), 19, "{answers:?}");
    for body in lost {
        assert_eq!(body["code"], "slot_taken");
        assert_eq!(
            body["conflicts"][0]["id"], won[0]["id"],
            "names the clash: {body}"
        );
        assert_eq!(body["conflicts"][0]["doctor"], d);
        let detail = body["detail"].as_str().expect("detail");
        assert!(
            detail.contains("Greg House") && detail.contains("09:00"),
            "{detail}"
        );
    }
    let day = json_with(
        app.get("/api/appointments/?date=2038-06-07", &staff.access)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&day).len(), 1);
}

#[rocket::async_test]
async fn of_one_patient_booked_with_ten_doctors_at_once_exactly_one_is_taken() {
    let (app, _admin, staff, _d, p) = clinic().await;
    let mut doctors = Vec::new();
    for i in 0..10 {
        doctors.push(doctor_with(&app, &staff.access, &format!("D{i}"), &always()).await);
    }

    let attempts = doctors.iter().map(|d| {
        let body = at(p, *d, "2038-06-07T09:00", "2038-06-07T09:30");
        let (app, token) = (&app, &staff.access);
        async move { book(app, token, &body).await.status().as_u16() }
    });
    let statuses = join_all(attempts).await;

    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        9,
        "{statuses:?}"
    );
}

#[rocket::async_test]
async fn touching_is_allowed_and_every_kind_of_overlap_is_refused() {
    let (app, _admin, staff, d, p) = clinic().await;
    let other = id(&app.create_patient(&staff.access, &patient("Bea")).await);
    let first = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T10:00", "2038-06-07T11:00"),
        )
        .await,
    )
    .await;

    // Touching end-to-start on either side is fine (another patient, same doctor).
    for (start, end) in [
        ("2038-06-07T09:00", "2038-06-07T10:00"),
        ("2038-06-07T11:00", "2038-06-07T11:30"),
    ] {
        created(book(&app, &staff.access, &at(other, d, start, end)).await).await;
    }
    // Contained, containing, and partial on either side are refused.
    let third = id(&app.create_patient(&staff.access, &patient("Cy")).await);
    for (start, end) in [
        ("2038-06-07T10:15", "2038-06-07T10:45"),
        ("2038-06-07T09:30", "2038-06-07T11:15"),
        ("2038-06-07T09:45", "2038-06-07T10:15"),
        ("2038-06-07T10:45", "2038-06-07T11:15"),
        ("2038-06-07T10:00", "2038-06-07T11:00"),
    ] {
        let body = assert_error(
            book(&app, &staff.access, &at(third, d, start, end)).await,
            409,
            "slot_taken",
        )
        .await;
        assert!(
            !body["conflicts"].as_array().expect("conflicts").is_empty(),
            "{start}: {body}"
        );
    }

    // Moving an appointment within its own time does not clash with itself.
    let path = format!("/api/appointments/{}/", id(&first));
    let moved = ok(app
        .patch(
            &path,
            &staff.access,
            &json!({ "start": "2038-06-07T10:15", "end": "2038-06-07T11:00" }),
        )
        .await)
    .await;
    assert_eq!(moved["start"], "2038-06-07T10:15:00+02:00");
    // A new start alone keeps the duration (45 minutes now).
    let moved = ok(app
        .patch(
            &path,
            &staff.access,
            &json!({ "start": "2038-06-07T12:00" }),
        )
        .await)
    .await;
    assert_eq!(moved["end"], "2038-06-07T12:45:00+02:00");

    // Cancelling frees the slot.
    let wanted = at(third, d, "2038-06-07T12:00", "2038-06-07T12:30");
    assert_error(book(&app, &staff.access, &wanted).await, 409, "slot_taken").await;
    let cancelled = app.delete(&path, &staff.access).await;
    assert_eq!(cancelled.status(), 204);
    created(book(&app, &staff.access, &wanted).await).await;
    let kept = ok(app.get(&path, &staff.access).await).await;
    assert_eq!(kept["status"], "cancelled", "never erased");
    assert!(kept["cancelled_at"].is_string());
}

/// Books a fresh appointment (a new patient each, so none clash) and walks
/// it along `path` of allowed statuses.
async fn reached(app: &TestApp, staff: &Account, d: i64, n: usize, path: &[&str]) -> String {
    let p = id(&app
        .create_patient(&staff.access, &patient(&format!("T{n}")))
        .await);
    let start = format!("2038-06-08T{:02}:{:02}", 6 + n / 4, (n % 4) * 15);
    let body = json!({ "patient": p, "doctor": d, "start": start, "duration": 15 });
    let a = created(book(app, &staff.access, &body).await).await;
    let status_path = format!("/api/appointments/{}/status/", id(&a));
    for status in path {
        ok(app
            .post(&status_path, &staff.access, &json!({ "status": status }))
            .await)
        .await;
    }
    status_path
}

#[rocket::async_test]
async fn every_allowed_transition_stamps_its_time_and_every_other_is_refused() {
    let (app, _admin, staff, d, _p) = clinic().await;
    let to_reach: [(&str, &[&str]); 6] = [
        ("booked", &[]),
        ("arrived", &["arrived"]),
        ("in_progress", &["arrived", "in_progress"]),
        ("completed", &["arrived", "in_progress", "completed"]),
        ("cancelled", &["cancelled"]),
        ("no_show", &["no_show"]),
    ];
    let allowed = [
        ("booked", "arrived", "arrived_at"),
        ("booked", "cancelled", "cancelled_at"),
        ("booked", "no_show", "no_show_at"),
        ("arrived", "in_progress", "started_at"),
        ("arrived", "cancelled", "cancelled_at"),
        ("in_progress", "completed", "completed_at"),
    ];
    let mut n = 0;
    for (from, path) in to_reach {
        for to in [
            "booked",
            "arrived",
            "in_progress",
            "completed",
            "cancelled",
            "no_show",
        ] {
            n += 1;
            let status_path = reached(&app, &staff, d, n, path).await;
            let body = json!({ "status": to, "reason": "Feels better" });
            let response = app.post(&status_path, &staff.access, &body).await;
            match allowed.iter().find(|(f, t, _)| *f == from && *t == to) {
                Some((_, _, stamp)) => {
                    let a = ok(response).await;
                    assert_eq!(a["status"], to, "{from} → {to}");
                    assert!(
                        a[stamp]
                            .as_str()
                            .is_some_and(|t| t.ends_with("+02:00") || t.ends_with("+01:00")),
                        "{from} → {to} stamps {stamp}: {a}"
                    );
                    assert_eq!(a["status_changed_by"], staff.id);
                    let kept = if to == "cancelled" {
                        json!("Feels better")
                    } else {
                        Value::Null
                    };
                    assert_eq!(a["cancel_reason"], kept);
                }
                None => {
                    assert_error(response, 409, "invalid_transition").await;
                }
            }
        }
    }
}

#[rocket::async_test]
async fn a_walk_in_starts_now_and_has_arrived() {
    let (app, admin, staff, d, p) = clinic().await;
    at_midday(&app, &admin).await;

    let body = json!({ "patient": p, "doctor": d, "kind": "walk_in", "duration": 10 });
    let a = created(book(&app, &staff.access, &body).await).await;

    assert_eq!(a["status"], "arrived");
    assert_eq!(a["kind"], "walk_in");
    assert!(a["arrived_at"].is_string());
    assert!(
        a["wait_minutes"]
            .as_i64()
            .is_some_and(|w| (0..=1).contains(&w)),
        "{a}"
    );
    let today = json_with(
        app.get("/api/appointments/?date=today", &staff.access)
            .await,
        200,
    )
    .await;
    assert!(ids(&today).contains(&id(&a)), "on today's board");
    let started = ok(app
        .post(
            &format!("/api/appointments/{}/status/", id(&a)),
            &staff.access,
            &json!({ "status": "in_progress" }),
        )
        .await)
    .await;
    assert!(started["wait_minutes"].as_i64().is_some());
}

#[rocket::async_test]
async fn bad_input_is_a_400_naming_each_field_and_never_a_409_or_500() {
    let (app, _admin, staff, d, p) = clinic().await;
    created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T09:00", "2038-06-07T10:00"),
        )
        .await,
    )
    .await;

    let cases = [
        (
            json!({ "patient": p, "doctor": d, "start": "next tuesday" }),
            vec!["start"],
        ),
        (
            json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:00", "end": "2038-06-07T08:00" }),
            vec!["end"],
        ),
        (
            json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:00", "duration": 100_000 }),
            vec!["duration"],
        ),
        (
            json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:00", "end": "2038-06-09T09:00" }),
            vec!["end"],
        ),
        (
            json!({ "patient": "Ada", "doctor": [d], "start": 5, "kind": "emergency" }),
            vec!["doctor", "kind", "patient", "start"],
        ),
        (
            json!({ "patient": p, "doctor": d, "start": "99999-01-01T00:00" }),
            vec!["start"],
        ),
        (
            json!({ "patient": p, "doctor": d, "start": "2038-06-07T09:00:30" }),
            vec!["start"],
        ),
        (json!({ "doctor": d }), vec!["patient", "start"]),
        (
            json!({ "patient": 999_999, "doctor": 999_999, "start": "2038-06-07T09:00" }),
            vec!["doctor", "patient"],
        ),
    ];
    for (body, fields) in cases {
        assert_field_errors(book(&app, &staff.access, &body).await, &fields).await;
    }
    let past = json!({ "patient": p, "doctor": d, "start": "2020-01-01T09:00" });
    assert_field_errors(book(&app, &staff.access, &past).await, &["start"]).await;

    let day = json_with(
        app.get("/api/appointments/?date=2038-06-07", &staff.access)
            .await,
        200,
    )
    .await;
    assert_eq!(ids(&day).len(), 1, "nothing half-written");
    for query in [
        "date=tomorrowish",
        "status=sleeping",
        "ordering=patient",
        "doctor_id=x",
        "page_size=0",
        "date=2038-06-07&from=2038-06-01",
    ] {
        let response = app
            .get(&format!("/api/appointments/?{query}"), &staff.access)
            .await;
        assert_error(response, 400, "validation_error").await;
    }
    for query in ["date=2038-02-30", "days=40", "duration=2"] {
        let response = app
            .get(&format!("/api/doctors/{d}/slots/?{query}"), &staff.access)
            .await;
        assert_error(response, 400, "validation_error").await;
    }
}

#[rocket::async_test]
async fn the_database_itself_refuses_an_overlapping_active_appointment() {
    let (app, _admin, staff, d, p) = clinic().await;
    let other = id(&app.create_patient(&staff.access, &patient("Bea")).await);
    let a = created(
        book(
            &app,
            &staff.access,
            &at(p, d, "2038-06-07T09:00", "2038-06-07T09:30"),
        )
        .await,
    )
    .await;
    let conn = rusqlite::Connection::open(app.data_dir.path().join("clinicdesk.sqlite3"))
        .expect("open the database");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");
    let insert = |patient: i64, start: &str, end: &str, status: &str| {
        conn.execute(
            "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, status, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '2038-01-01T00:00:00Z', '2038-01-01T00:00:00Z')",
            rusqlite::params![patient, d, start, end, status, staff.id],
        )
    };

    // Same doctor, overlapping (09:00–09:30 Berlin is 07:00–07:30 UTC): refused by the trigger.
    let err = insert(
        other,
        "2038-06-07T07:15:00Z",
        "2038-06-07T07:45:00Z",
        "booked",
    )
    .expect_err("overlap refused");
    assert!(err.to_string().contains("slot_taken"), "{err}");
    // Touching, or not active, is allowed.
    insert(
        other,
        "2038-06-07T07:30:00Z",
        "2038-06-07T08:00:00Z",
        "booked",
    )
    .expect("touching");
    insert(
        other,
        "2038-06-07T07:00:00Z",
        "2038-06-07T07:30:00Z",
        "cancelled",
    )
    .expect("cancelled");
    // Moving one onto the other is refused too, however the UPDATE is written.
    let moved = conn.execute(
        "UPDATE appointments SET start_at = '2038-06-07T07:10:00Z', end_at = '2038-06-07T07:40:00Z' WHERE id = ?1",
        [id(&a)],
    );
    assert!(moved.is_err_and(|e| e.to_string().contains("slot_taken")));
}
