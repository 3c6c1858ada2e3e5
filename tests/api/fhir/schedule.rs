//! FHIR Practitioner and Appointment: read and search validate, the
//! doctor's qualification and licence, every appointment status mapped,
//! times with the clinic's offset, and a `user` limited to their patients'.

use serde_json::{json, Value};

use super::schema::assert_valid;
use super::{assert_outcome, fhir, searchset};
use crate::helpers::{add_patient, created, id, ok, patient, spawn_clinic, Account, TestApp};

/// Every day, all day, so any time can be booked.
fn always() -> Value {
    Value::Array(
        (1..=7)
            .map(|weekday| json!({ "weekday": weekday, "start": "00:00", "end": "23:59" }))
            .collect(),
    )
}

/// A clinic in Berlin with one always-open doctor (returned with its id).
async fn clinic() -> (TestApp, Account, Account, i64) {
    let (app, admin, staff) = spawn_clinic().await;
    ok(app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "time_zone": "Europe/Berlin" }),
        )
        .await)
    .await;
    let body = json!({
        "first_name": "Gregory", "last_name": "House", "specialization": "Diagnostics",
        "qualification": "MD", "license_number": "NJ-0042", "phone": "+1 555 0142",
        "email": "house@clinic.test",
    });
    let d = id(&app.create_doctor(&staff.access, &body).await);
    ok(app
        .put(
            &format!("/api/doctors/{d}/hours/"),
            &staff.access,
            &always(),
        )
        .await)
    .await;
    (app, admin, staff, d)
}

/// Books `patient` with the doctor at `start` (Berlin time) for 20 minutes
/// and walks it through `path`; returns its id.
async fn booked(app: &TestApp, staff: &Account, d: i64, p: i64, start: &str, path: &[&str]) -> i64 {
    let body =
        json!({ "patient": p, "doctor": d, "start": start, "duration": 20, "reason": "Check-up" });
    let a = id(&created(app.post("/api/appointments/", &staff.access, &body).await).await);
    for status in path {
        let change = json!({ "status": status, "reason": "Feeling better" });
        ok(app
            .post(
                &format!("/api/appointments/{a}/status/"),
                &staff.access,
                &change,
            )
            .await)
        .await;
    }
    a
}

#[rocket::async_test]
async fn a_practitioner_read_and_search_validate_and_carry_the_qualification_and_licence() {
    // Arrange
    let (app, admin, staff, d) = clinic().await;
    let plain =
        json!({ "first_name": "Lisa", "last_name": "Cuddy", "specialization": "Endocrinology" });
    let other = id(&app.create_doctor(&staff.access, &plain).await);
    let user = app.account(&admin, "user", "user@clinic.test").await;

    // Act
    let house = fhir(&app, &format!("/fhir/Practitioner/{d}"), &user.access, 200).await;
    let cuddy = fhir(
        &app,
        &format!("/fhir/Practitioner/{other}"),
        &user.access,
        200,
    )
    .await;
    let named = fhir(&app, "/fhir/Practitioner?name=hou", &user.access, 200).await;
    let all = fhir(&app, "/fhir/Practitioner?_count=1", &user.access, 200).await;

    // Assert
    assert_valid(&house, "Practitioner");
    assert_eq!(
        house["name"],
        json!([{ "text": "Gregory House", "family": "House", "given": ["Gregory"] }])
    );
    assert_eq!(
        house["telecom"],
        json!([{ "system": "phone", "value": "+1 555 0142" }, { "system": "email", "value": "house@clinic.test" }])
    );
    let licence = json!({ "system": "urn:clinicdesk:licence-number", "value": "NJ-0042" });
    assert_eq!(
        house["qualification"],
        json!([
            { "identifier": [licence], "code": { "text": "MD" } },
            { "code": { "text": "Diagnostics" } },
        ])
    );
    assert_eq!(house["identifier"][1], licence);
    assert_valid(&cuddy, "Practitioner");
    assert_eq!(
        cuddy["qualification"],
        json!([{ "code": { "text": "Endocrinology" } }])
    );
    assert!(cuddy.get("telecom").is_none());
    assert_eq!(searchset(&named, 1), [d]);
    assert_eq!(searchset(&all, 2), [d]);
    assert!(super::link(&all, "next").is_some());
    // An archived doctor is gone, as from /api.
    assert_eq!(
        app.delete(&format!("/api/doctors/{other}/"), &staff.access)
            .await
            .status(),
        204
    );
    let gone = fhir(
        &app,
        &format!("/fhir/Practitioner/{other}"),
        &user.access,
        404,
    )
    .await;
    assert_outcome(&gone, "not-found");
}

#[rocket::async_test]
async fn every_appointment_status_maps_and_each_appointment_validates_with_clinic_offsets() {
    // Arrange: one appointment in each status, in summer and winter time.
    let (app, _admin, staff, d) = clinic().await;
    let p = add_patient(&app, &staff.access, &patient("Ada")).await;
    let walks: [(&[&str], &str); 6] = [
        (&[], "booked"),
        (&["arrived"], "arrived"),
        (&["arrived", "in_progress"], "checked-in"),
        (&["arrived", "in_progress", "completed"], "fulfilled"),
        (&["cancelled"], "cancelled"),
        (&["no_show"], "noshow"),
    ];
    let mut made = Vec::new();
    for (n, (path, code)) in walks.into_iter().enumerate() {
        let start = format!("2038-06-07T{:02}:00", 8 + n);
        made.push((booked(&app, &staff, d, p, &start, path).await, code, n));
    }
    let winter = booked(&app, &staff, d, p, "2038-01-11T09:00", &[]).await;

    for (a, code, n) in made {
        // Act
        let body = fhir(&app, &format!("/fhir/Appointment/{a}"), &staff.access, 200).await;

        // Assert
        assert_valid(&body, "Appointment");
        assert_eq!(body["status"], code);
        assert_eq!(
            body["start"],
            format!("2038-06-07T{:02}:00:00+02:00", 8 + n)
        );
        assert_eq!(body["end"], format!("2038-06-07T{:02}:20:00+02:00", 8 + n));
        assert_eq!(body["minutesDuration"], 20);
        assert_eq!(body["reasonCode"], json!([{ "text": "Check-up" }]));
        assert_eq!(
            body["participant"],
            json!([
                { "actor": { "reference": format!("Patient/{p}"), "display": "Ada Lovelace" }, "status": "accepted" },
                { "actor": { "reference": format!("Practitioner/{d}"), "display": "Gregory House" }, "status": "accepted" },
            ])
        );
        // What the schema cannot say: start before end (app-2), a
        // cancellation reason only when cancelled or a no-show (app-4).
        assert!(body["start"].as_str() < body["end"].as_str());
        let reason = body.get("cancelationReason");
        if code == "cancelled" {
            assert_eq!(reason, Some(&json!({ "text": "Feeling better" })));
        } else {
            assert!(reason.is_none(), "{code}: {body}");
        }
    }
    let january = fhir(
        &app,
        &format!("/fhir/Appointment/{winter}"),
        &staff.access,
        200,
    )
    .await;
    assert_eq!(january["start"], "2038-01-11T09:00:00+01:00");
}

#[rocket::async_test]
async fn appointment_search_by_patient_practitioner_and_clinic_day_within_what_a_user_sees() {
    // Arrange
    let (app, admin, staff, d) = clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let mine = add_patient(&app, &user.access, &patient("Mine")).await;
    let theirs = add_patient(&app, &staff.access, &patient("Theirs")).await;
    // 23:30 in Berlin on the 7th is the 7th in clinic time, the 7th in UTC too;
    // 00:30 on the 8th is still the 7th in UTC: the clinic's day decides.
    let late = booked(&app, &staff, d, mine, "2038-06-07T23:30", &[]).await;
    let early = booked(&app, &staff, d, mine, "2038-06-08T00:30", &[]).await;
    let other = booked(&app, &staff, d, theirs, "2038-06-07T10:00", &[]).await;
    let later = booked(&app, &staff, d, theirs, "2038-06-20T10:00", &[]).await;
    let s = &staff.access;

    // Act / Assert
    for (query, expected) in [
        (format!("patient=Patient/{mine}"), vec![late, early]),
        (format!("patient={theirs}"), vec![other, later]),
        (
            format!("practitioner=Practitioner/{d}&_count=500"),
            vec![other, late, early, later],
        ),
        ("date=2038-06-07".to_owned(), vec![other, late]),
        ("date=2038-06-08".to_owned(), vec![early]),
        ("date=ge2038-06-08".to_owned(), vec![early, later]),
        (
            "date=gt2038-06-07&date=le2038-06-19".to_owned(),
            vec![early],
        ),
    ] {
        let bundle = fhir(&app, &format!("/fhir/Appointment?{query}"), s, 200).await;
        let total = i64::try_from(expected.len()).expect("small");
        assert_eq!(searchset(&bundle, total), expected, "{query}");
    }
    let seen = fhir(&app, "/fhir/Appointment", &user.access, 200).await;
    assert_eq!(searchset(&seen, 2), [late, early]);
    let asked = fhir(
        &app,
        &format!("/fhir/Appointment?patient={theirs}"),
        &user.access,
        200,
    )
    .await;
    assert_eq!(searchset(&asked, 0), Vec::<i64>::new());
    let hidden = fhir(
        &app,
        &format!("/fhir/Appointment/{other}"),
        &user.access,
        404,
    )
    .await;
    assert_outcome(&hidden, "not-found");
    // A read is a view of the appointment, a search a search, as on /api.
    let rows = ok(app
        .get(
            &format!("/api/audit/?entity=appointment&entity_id={late}&action=view"),
            &admin.access,
        )
        .await)
    .await;
    assert_eq!(rows.as_array().map(Vec::len), Some(0));
    fhir(
        &app,
        &format!("/fhir/Appointment/{late}"),
        &user.access,
        200,
    )
    .await;
    let rows = ok(app
        .get(
            &format!("/api/audit/?entity=appointment&entity_id={late}&action=view"),
            &admin.access,
        )
        .await)
    .await;
    assert_eq!(rows[0]["actor_id"], user.id);
    let searches = ok(app
        .get(
            "/api/audit/?entity=appointment&action=search",
            &admin.access,
        )
        .await)
    .await;
    assert_eq!(searches.as_array().map(Vec::len), Some(9));
}
