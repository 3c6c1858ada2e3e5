//! The whole clinic out and back in (`GET /api/admin/export`, `POST
//! /api/admin/import`): a populated clinic arrives identical in a new one,
//! checked against the export document itself; an import is all or nothing
//! and goes only into an instance with no records.

use serde_json::{json, Value};

use crate::helpers::{
    add_doctor, add_mapping, add_patient, assert_error, created, id, ok, patient, spawn_app,
    spawn_clinic, Account, TestApp, ADMIN_EMAIL,
};

/// Everything a clinic holds, at least one of each kind and state:
/// accounts of every role, a patient of each owner, an archived patient,
/// a merged pair, an archived doctor and one linked to an account, hours,
/// time off, mappings in every status, appointments along their statuses,
/// and settings off their defaults.
async fn populated() -> (TestApp, Account) {
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let settings = json!({ "clinic_name": "Praxis Nord", "time_zone": "Europe/Berlin",
                           "duplicate_threshold": 70 });
    ok(app.patch("/api/settings/", &admin.access, &settings).await).await;
    let (jurgen, keep) = patients(&app, &admin, &staff, &user).await;
    doctors_and_their_day(&app, &admin, &staff, jurgen, keep).await;
    (app, admin)
}

/// Patients of two owners, every field of one, an age without a birth
/// date, an archived one, and a merged pair; answers two live ones.
async fn patients(app: &TestApp, admin: &Account, staff: &Account, user: &Account) -> (i64, i64) {
    let full = json!({
        "first_name": "Jürgen", "last_name": "Groß", "date_of_birth": "1961-04-02", "gender": "M",
        "phone": "+49 30 1234567", "email": "j.gross@example.org", "blood_group": "AB-",
        "address": "Hauptstr. 1", "city": "Berlin", "state": "BE", "postal_code": "10115",
        "country": "DE", "medical_history": "Asthma\nsince 1990", "allergies": "penicillin",
        "current_medications": "salbutamol", "emergency_contact_name": "Eva Groß",
        "emergency_contact_phone": "030 7654321", "emergency_contact_relation": "wife",
    });
    let jurgen = add_patient(app, &staff.access, &full).await;
    let aged = json!({ "name": "Mina Rao", "age": 44, "is_active": false });
    add_patient(app, &user.access, &aged).await;
    let gone = add_patient(app, &staff.access, &patient("Archie")).await;
    assert_eq!(
        app.delete(&format!("/api/patients/{gone}/"), &admin.access)
            .await
            .status(),
        204
    );
    let keep = add_patient(
        app,
        &staff.access,
        &json!({"first_name": "Katharina",
        "last_name": "Schmidt", "date_of_birth": "1980-05-01"}),
    )
    .await;
    let twin = add_patient(
        app,
        &staff.access,
        &json!({"first_name": "Katharina",
        "last_name": "Schmitt", "date_of_birth": "1980-05-01", "city": "Potsdam"}),
    )
    .await;
    ok(app
        .post(
            &format!("/api/patients/{keep}/merge/"),
            &staff.access,
            &json!({ "duplicate": twin }),
        )
        .await)
    .await;

    (jurgen, keep)
}

/// Doctors (one archived, one linked to an account) with hours, time off,
/// mappings in two statuses and appointments along their statuses.
async fn doctors_and_their_day(
    app: &TestApp,
    admin: &Account,
    staff: &Account,
    jurgen: i64,
    keep: i64,
) {
    let greg = add_doctor(
        app,
        &staff.access,
        &json!({"first_name": "Greg", "last_name": "House",
        "specialization": "Diagnostics", "consultation_fee": 120.5, "license_number": "L-1",
        "email": "greg@clinic.test", "appointment_minutes": 20}),
    )
    .await;
    let old = add_doctor(
        app,
        &staff.access,
        &json!({"name": "Old Doc",
        "specialization": "GP"}),
    )
    .await;
    let hours = json!([{ "weekday": 1, "start": "08:00", "end": "12:00" },
                       { "weekday": 3, "start": "13:00", "end": "18:30" }]);
    ok(app
        .put(
            &format!("/api/doctors/{greg}/hours/"),
            &staff.access,
            &hours,
        )
        .await)
    .await;
    let off = json!({ "start": "2038-06-09T08:00", "end": "2038-06-09T12:00", "reason": "Course" });
    created(
        app.post(
            &format!("/api/doctors/{greg}/time-off/"),
            &staff.access,
            &off,
        )
        .await,
    )
    .await;
    let linked = json!({ "email": "house@clinic.test", "password": crate::helpers::PASSWORD,
                         "role": "staff", "doctor": greg });
    created(app.post("/api/users/", &admin.access, &linked).await).await;

    add_mapping(app, &staff.access, jurgen, greg).await;
    let ended = add_mapping(app, &staff.access, keep, old).await;
    let done = json!({ "status": "COMPLETED", "notes": "referred" });
    ok(app
        .patch(&format!("/api/mappings/{ended}/"), &staff.access, &done)
        .await)
    .await;
    assert_eq!(
        app.delete(&format!("/api/doctors/{old}/"), &admin.access)
            .await
            .status(),
        204
    );

    let booking = |start: &str, who: i64| {
        json!({ "patient": who, "doctor": greg, "start": start,
                                                 "reason": "Check-up" })
    };
    created(
        app.post(
            "/api/appointments/",
            &staff.access,
            &booking("2038-06-07T08:00", jurgen),
        )
        .await,
    )
    .await;
    let seen = created(
        app.post(
            "/api/appointments/",
            &staff.access,
            &booking("2038-06-07T08:20", keep),
        )
        .await,
    )
    .await;
    for status in ["arrived", "in_progress", "completed"] {
        let path = format!("/api/appointments/{}/status/", id(&seen));
        ok(app
            .post(&path, &staff.access, &json!({ "status": status }))
            .await)
        .await;
    }
}

async fn export(app: &TestApp, admin: &Account) -> Value {
    let response = app.get("/api/admin/export", &admin.access).await;
    assert_eq!(response.status(), 200, "export");
    let disposition = crate::helpers::header(&response, "content-disposition");
    assert!(
        disposition.starts_with("attachment; filename=\"clinicdesk-export-"),
        "{disposition}"
    );
    ok(response).await
}

/// A document with the parts that legitimately differ between two
/// instances taken out: when it was written, and the accounts' own state
/// (the importing admin is this instance's own; the others must now
/// choose a password).
fn comparable(mut document: Value) -> Value {
    document["exported_at"] = Value::Null;
    for user in document["users"].as_array_mut().expect("users") {
        for field in ["must_change_password", "locked_until"] {
            user[field] = Value::Null;
        }
        if user["email"] == ADMIN_EMAIL {
            user["created_at"] = Value::Null;
            user["updated_at"] = Value::Null;
        }
    }
    document
}

#[rocket::async_test]
async fn a_populated_clinic_arrives_identical_in_a_new_one() {
    let (old, old_admin) = populated().await;
    let document = export(&old, &old_admin).await;
    for (section, at_least) in [
        ("users", 4),
        ("patients", 5),
        ("doctors", 2),
        ("hours", 2),
        ("time_off", 1),
        ("mappings", 2),
        ("appointments", 2),
    ] {
        let count = document[section].as_array().map_or(0, Vec::len);
        assert!(count >= at_least, "{section}: {count} in {document}");
    }
    let text = document.to_string();
    assert!(
        !text.contains("argon2") && !text.contains("password_hash"),
        "no secrets"
    );
    assert_eq!(document["format"], "clinicdesk-export");
    assert_eq!(document["version"], 1);

    let new = spawn_app().await;
    let new_admin = new.admin().await;
    let report = created(
        new.post("/api/admin/import", &new_admin.access, &document)
            .await,
    )
    .await;
    assert_eq!(report["patients"], 5, "{report}");
    assert_eq!(report["appointments"], 2, "{report}");
    let needing = report["accounts_needing_password"]
        .as_array()
        .expect("accounts");
    assert_eq!(
        needing.len(),
        3,
        "every account but the importing admin: {report}"
    );

    let again = export(&new, &new_admin).await;
    assert_eq!(comparable(again.clone()), comparable(document.clone()));
    // The accounts brought in must choose a password; the admin is kept.
    for user in again["users"].as_array().expect("users") {
        let imported = user["email"] != ADMIN_EMAIL;
        assert_eq!(user["must_change_password"], imported, "{user}");
    }
    // The records are served, not only stored: search, the merge link, the board.
    let found = ok(new
        .get("/api/patients/?search=jurgen", &new_admin.access)
        .await)
    .await;
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    let archived = ok(new
        .get("/api/patients/?archived=true", &new_admin.access)
        .await)
    .await;
    assert_eq!(archived.as_array().map(Vec::len), Some(2), "{archived}");
    let settings = ok(new.get("/api/settings/", &new_admin.access).await).await;
    assert_eq!(settings["clinic_name"], "Praxis Nord");
    let day = ok(new
        .get("/api/appointments/?date=2038-06-07", &new_admin.access)
        .await)
    .await;
    assert_eq!(day[0]["start"], "2038-06-07T08:00:00+02:00", "{day}");
    // One event for the whole import.
    let trail = ok(new
        .get("/api/audit/?action=import", &new_admin.access)
        .await)
    .await;
    assert_eq!(trail.as_array().map(Vec::len), Some(1), "{trail}");
}

#[rocket::async_test]
async fn an_imported_account_signs_in_only_after_an_admin_gives_it_a_temporary_password() {
    let (old, old_admin) = populated().await;
    let document = export(&old, &old_admin).await;
    let new = spawn_app().await;
    let admin = new.admin().await;
    created(
        new.post("/api/admin/import", &admin.access, &document)
            .await,
    )
    .await;
    let refused = new
        .login("staff@clinic.test", crate::helpers::PASSWORD)
        .await;
    assert_eq!(
        refused.status(),
        401,
        "Django and old passwords are not carried over"
    );

    let users = ok(new.get("/api/users/?page_size=100", &admin.access).await).await;
    let staff = users
        .as_array()
        .and_then(|all| all.iter().find(|u| u["email"] == "staff@clinic.test"))
        .expect("the staff account came in")
        .clone();
    let reset = json!({ "password": "Temporary-Pass-42" });
    let path = format!("/api/users/{}/", id(&staff));
    let response = new.patch(&path, &admin.access, &reset).await;
    assert!(response.status().is_success(), "{}", response.status());
    let signed_in = new
        .logged_in("staff@clinic.test", "Temporary-Pass-42")
        .await;
    let blocked = new.get("/api/patients/", &signed_in.access).await;
    assert_error(blocked, 403, "password_change_required").await;
}

#[rocket::async_test]
async fn an_instance_that_holds_records_refuses_an_import() {
    let (old, old_admin) = populated().await;
    let document = export(&old, &old_admin).await;
    let (new, admin, staff) = spawn_clinic().await;
    add_doctor(
        &new,
        &staff.access,
        &json!({"name": "Ann Lee", "specialization": "GP"}),
    )
    .await;
    let refused = new
        .post("/api/admin/import", &admin.access, &document)
        .await;
    assert_error(refused, 409, "not_empty").await;
}

#[rocket::async_test]
async fn one_bad_record_stores_nothing_and_every_problem_is_named() {
    let (old, old_admin) = populated().await;
    let mut document = export(&old, &old_admin).await;
    let first = document["patients"][0]["id"].clone();
    document["patients"][0]["phone"] = json!("call me");
    document["doctors"][0]["created_by"] = json!(4242);

    let new = spawn_app().await;
    let admin = new.admin().await;
    let response = new
        .post("/api/admin/import", &admin.access, &document)
        .await;
    let body = assert_error(response, 400, "validation_error").await;
    let fields: Vec<&String> = body["errors"].as_object().expect("errors").keys().collect();
    let doctor = document["doctors"][0]["id"].clone();
    assert!(
        fields
            .iter()
            .any(|f| **f == format!("patients[{first}].phone")),
        "{body}"
    );
    assert!(
        fields
            .iter()
            .any(|f| **f == format!("doctors[{doctor}].created_by")),
        "{body}"
    );
    for list in ["/api/patients/", "/api/doctors/", "/api/mappings/"] {
        let held = ok(new.get(list, &admin.access).await).await;
        assert_eq!(held, json!([]), "nothing stored: {list}");
    }
    let users = ok(new.get("/api/users/", &admin.access).await).await;
    assert_eq!(users.as_array().map(Vec::len), Some(1), "no account either");
}

#[rocket::async_test]
async fn a_dangling_reference_refuses_the_import() {
    let (old, old_admin) = populated().await;
    let mut document = export(&old, &old_admin).await;
    document["mappings"][0]["doctor_id"] = json!(999);
    let new = spawn_app().await;
    let admin = new.admin().await;
    let response = new
        .post("/api/admin/import", &admin.access, &document)
        .await;
    let body = assert_error(response, 400, "validation_error").await;
    let mapping = &document["mappings"][0]["id"];
    assert!(
        body["errors"]
            .get(format!("mappings[{mapping}].record"))
            .is_some(),
        "{body}"
    );
    assert_eq!(
        ok(new.get("/api/patients/", &admin.access).await).await,
        json!([])
    );
}

#[rocket::async_test]
async fn another_format_or_a_newer_version_is_refused_with_a_reason() {
    let (app, admin, staff) = spawn_clinic().await;
    let newer = json!({ "format": "clinicdesk-export", "version": 2, "patients": [] });
    let body = assert_error(
        app.post("/api/admin/import", &admin.access, &newer).await,
        400,
        "bad_request",
    )
    .await;
    let detail = body["detail"].as_str().expect("detail");
    assert!(
        detail.contains("version 2") && detail.contains("reads version 1"),
        "{detail}"
    );
    let other = json!([{ "model": "auth.user", "pk": 1, "fields": {} }]);
    assert_error(
        app.post("/api/admin/import", &admin.access, &other).await,
        400,
        "bad_request",
    )
    .await;
    // Admin only, both ways.
    assert_eq!(
        app.get("/api/admin/export", &staff.access).await.status(),
        403
    );
    let doc = json!({ "format": "clinicdesk-export", "version": 1 });
    assert_eq!(
        app.post("/api/admin/import", &staff.access, &doc)
            .await
            .status(),
        403
    );
}
