//! `POST /api/patients/import/` and `/api/doctors/import/`: a spreadsheet's
//! CSV file, its columns matched by their usual names, every row through
//! the API's own validation, a dry run, and an all-or-nothing import on
//! record as one event.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    add_patient, assert_error, header, json_with, ok, spawn_clinic, Account, TestApp,
};

async fn send_csv(app: &TestApp, path: &str, token: &str, body: impl Into<Vec<u8>>) -> Response {
    app.request(Method::POST, path, token)
        .header("Content-Type", "text/csv")
        .body(body.into())
        .send()
        .await
        .expect("request sent")
}

async fn patient_count(app: &TestApp, account: &Account) -> i64 {
    let response = app.get("/api/patients/?page_size=1", &account.access).await;
    assert_eq!(response.status(), 200);
    header(&response, "X-Total-Count").parse().expect("a count")
}

async fn patients(app: &TestApp, account: &Account) -> Vec<Value> {
    let list = ok(app
        .get("/api/patients/?ordering=id&page_size=500", &account.access)
        .await)
    .await;
    list.as_array().expect("a list").clone()
}

fn has_error(report: &Value, row: u64, field: &str) -> bool {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .any(|e| {
            e["row"] == row
                && e["field"] == field
                && e["message"].as_str().is_some_and(|m| !m.is_empty())
        })
}

#[rocket::async_test]
async fn columns_match_by_alias_in_any_case_spacing_or_punctuation_with_a_bom_and_semicolons() {
    let (app, _admin, staff) = spawn_clinic().await;
    let file = "\u{feff}Given name;FAMILY-NAME;DOB;Mobile;Sex;E-mail;Shoe size\n\
                Ada;Lovelace;1955-12-10;+44 20 7946 0000;female;ADA@Example.TEST;6\n";

    let report = json_with(
        send_csv(&app, "/api/patients/import/", &staff.access, file).await,
        201,
    )
    .await;

    assert_eq!(report["created"], 1, "{report}");
    assert_eq!(report["ignored_columns"], json!(["Shoe size"]));
    let stored = &patients(&app, &staff).await[0];
    assert_eq!(stored["first_name"], "Ada");
    assert_eq!(stored["last_name"], "Lovelace");
    assert_eq!(stored["date_of_birth"], "1955-12-10");
    assert_eq!(stored["phone"], "+44 20 7946 0000");
    assert_eq!(stored["gender"], "F");
    assert_eq!(stored["email"], "ada@example.test");
    assert_eq!(stored["created_by"], staff.id);

    // The API's own aliases: `name` split, `contact_number`, `age`.
    let file = "name,contact_number,AGE,blood type\nGrace Hopper,+1 555 0100 200,85,o+\n";
    json_with(
        send_csv(&app, "/api/patients/import", &staff.access, file).await,
        201,
    )
    .await;
    let grace = &patients(&app, &staff).await[1];
    assert_eq!(grace["first_name"], "Grace");
    assert_eq!(grace["last_name"], "Hopper");
    assert_eq!(grace["phone"], "+1 555 0100 200");
    assert_eq!(grace["age"], 85);
    assert_eq!(grace["blood_group"], "O+");
}

#[rocket::async_test]
async fn utf16_and_latin1_files_are_refused_with_how_to_save_them() {
    let (app, _admin, staff) = spawn_clinic().await;
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in "first_name\nAda\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let latin1 = b"first_name,city\nJos\xE9,M\xFCnchen\n".to_vec();

    for file in [utf16, latin1] {
        let body = assert_error(
            send_csv(&app, "/api/patients/import/", &staff.access, file).await,
            400,
            "bad_request",
        )
        .await;
        assert!(
            body["detail"].as_str().unwrap().contains("CSV UTF-8"),
            "{body}"
        );
    }
    assert_eq!(patient_count(&app, &staff).await, 0);
}

#[rocket::async_test]
async fn a_bad_row_is_reported_by_row_field_and_message_and_nothing_is_stored() {
    let (app, _admin, staff) = spawn_clinic().await;
    add_patient(&app, &staff.access, &json!({ "first_name": "Before" })).await;
    // The quoted history holds a line break: still one row (row 2).
    let file = "first_name,date_of_birth,email,medical_history\n\
                Ada,1955-12-10,ada@example.test,\"asthma\nsince 1820\"\n\
                Bob,1990-02-30,not-an-email,\n\
                ,1990-01-01,,\n\
                Short\n";

    let report = json_with(
        send_csv(&app, "/api/patients/import/", &staff.access, file).await,
        400,
    )
    .await;

    assert_eq!(
        (
            report["rows"].clone(),
            report["valid"].clone(),
            report["invalid"].clone()
        ),
        (json!(4), json!(1), json!(3)),
        "{report}"
    );
    assert!(has_error(&report, 3, "date_of_birth"), "{report}");
    assert!(has_error(&report, 3, "email"), "{report}");
    assert!(has_error(&report, 4, "first_name"), "{report}");
    assert!(has_error(&report, 5, "row"), "{report}");
    assert!(!has_error(&report, 2, "medical_history"), "{report}");
    assert_eq!(report["created"], 0);
    assert_eq!(patient_count(&app, &staff).await, 1);
}

#[rocket::async_test]
async fn a_dry_run_stores_nothing_and_names_possible_duplicates_in_the_clinic_and_the_file() {
    let (app, _admin, staff) = spawn_clinic().await;
    let ada = add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1955-12-10" }),
    )
    .await;
    let file = "first_name,last_name,dob,phone\n\
                Ada,Lovelace,1955-12-10,\n\
                Grace,Hopper,1906-12-09,+1 555 0100 200\n\
                Grace,Hopper,1906-12-09,+1 555 0100 200\n\
                Bad,Date,yesterday,\n";

    let report = json_with(
        send_csv(
            &app,
            "/api/patients/import/?dry_run=true",
            &staff.access,
            file,
        )
        .await,
        200,
    )
    .await;

    assert_eq!(
        (
            report["rows"].clone(),
            report["valid"].clone(),
            report["invalid"].clone()
        ),
        (json!(4), json!(3), json!(1)),
        "{report}"
    );
    assert!(has_error(&report, 5, "date_of_birth"), "{report}");
    let duplicates = report["possible_duplicates"]
        .as_array()
        .expect("duplicates");
    assert!(
        duplicates
            .iter()
            .any(|d| d["row"] == 2 && d["patient"]["id"] == ada),
        "{report}"
    );
    assert!(
        duplicates
            .iter()
            .any(|d| d["row"] == 4 && d["same_as_row"] == 3),
        "{report}"
    );
    assert!(!duplicates.iter().any(|d| d["row"] == 3), "{report}");
    assert_eq!(patient_count(&app, &staff).await, 1);
}

#[rocket::async_test]
async fn a_user_may_not_import_patients_or_doctors() {
    let (app, admin, _staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    for path in ["/api/patients/import/", "/api/doctors/import/?dry_run=true"] {
        let file = "first_name,specialization\nAda,Cardiology\n";
        assert_error(
            send_csv(&app, path, &user.access, file).await,
            403,
            "permission_denied",
        )
        .await;
    }
    assert_eq!(patient_count(&app, &admin).await, 0);
}

#[rocket::async_test]
async fn a_file_over_20_mib_is_413_over_100000_rows_or_without_a_name_column_is_400() {
    let (app, _admin, staff) = spawn_clinic().await;
    let mut huge = b"first_name\n".to_vec();
    huge.resize(21 * 1024 * 1024, b'a');
    assert_error(
        send_csv(&app, "/api/patients/import/", &staff.access, huge).await,
        413,
        "payload_too_large",
    )
    .await;

    let many = format!("first_name\n{}", "Ada\n".repeat(100_001));
    let body = assert_error(
        send_csv(&app, "/api/patients/import/", &staff.access, many).await,
        400,
        "bad_request",
    )
    .await;
    assert!(
        body["detail"].as_str().unwrap().contains("100000"),
        "{body}"
    );

    let nameless = "dob,phone\n1990-01-01,+1 555 0100 200\n";
    assert_error(
        send_csv(&app, "/api/patients/import/", &staff.access, nameless).await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        send_csv(&app, "/api/patients/import/", &staff.access, "").await,
        400,
        "bad_request",
    )
    .await;
    assert_eq!(patient_count(&app, &staff).await, 0);
}

#[rocket::async_test]
async fn an_exported_list_imports_back_as_it_was_and_the_import_is_one_audit_event() {
    let (app, admin, staff) = spawn_clinic().await;
    add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Ada", "last_name": "Lovelace, Countess", "date_of_birth": "1955-12-10",
                 "gender": "F", "phone": "+49 30 1234567", "email": "ada@example.test",
                 "blood_group": "AB-", "city": "London", "allergies": "penicillin\nlatex",
                 "is_active": false }),
    )
    .await;
    add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "=1+1", "age": 40 }),
    )
    .await;
    let export = app.get("/api/patients/export.csv", &staff.access).await;
    assert_eq!(export.status(), 200);
    let file = export.text().await.expect("csv");

    let report = json_with(
        send_csv(&app, "/api/patients/import/", &admin.access, file).await,
        201,
    )
    .await;

    assert_eq!(report["created"], 2, "{report}");
    let all = patients(&app, &staff).await;
    let fields = [
        "first_name",
        "last_name",
        "date_of_birth",
        "age",
        "gender",
        "phone",
        "email",
        "blood_group",
        "city",
        "allergies",
        "is_active",
    ];
    for (before, after) in all[..2].iter().zip(&all[2..]) {
        for field in fields {
            assert_eq!(before[field], after[field], "{field}");
        }
        assert_eq!(after["created_by"], admin.id);
    }
    let trail = ok(app
        .get("/api/audit/?action=import&entity=patient", &admin.access)
        .await)
    .await;
    let events = trail.as_array().expect("events");
    assert_eq!(events.len(), 1, "{trail}");
    assert_eq!(events[0]["actor_id"], admin.id);
    assert_eq!(events[0]["fields"], json!(["count:2"]), "{trail}");
    let creates = ok(app
        .get("/api/audit/?action=create&entity=patient", &admin.access)
        .await)
    .await;
    assert_eq!(
        creates.as_array().expect("events").len(),
        2,
        "only the two made by hand"
    );
}

#[rocket::async_test]
async fn doctors_import_the_same_way_with_their_unique_values_checked() {
    let (app, admin, staff) = spawn_clinic().await;
    app.create_doctor(
        &staff.access,
        &json!({ "first_name": "Greg", "specialization": "Nephrology", "email": "greg@example.test" }),
    )
    .await;
    let clashing = "Given Name;Surname;Specialty;E-mail;License\n\
                    Lisa;Cuddy;Endocrinology;GREG@example.test;L-1\n\
                    James;Wilson;Oncology;james@example.test;l-1\n\
                    Eric;Foreman;;eric@example.test;L-3\n";
    let report = json_with(
        send_csv(&app, "/api/doctors/import/", &staff.access, clashing).await,
        400,
    )
    .await;
    assert!(has_error(&report, 2, "email"), "{report}");
    assert!(has_error(&report, 3, "license_number"), "{report}");
    assert!(has_error(&report, 4, "specialization"), "{report}");

    let dry = json_with(
        send_csv(
            &app,
            "/api/doctors/import/?dry_run=1",
            &staff.access,
            clashing,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(dry["invalid"], 3, "{dry}");

    let file = "name,specialization,contact_number,experience,consultation fee\n\
                Lisa Cuddy,Endocrinology,+1 555 0100 201,20,150.50\n\
                James Wilson,Oncology,,,\n";
    let report = json_with(
        send_csv(&app, "/api/doctors/import/", &staff.access, file).await,
        201,
    )
    .await;
    assert_eq!(report["created"], 2, "{report}");
    let doctors = ok(app.get("/api/doctors/?ordering=id", &staff.access).await).await;
    let lisa = &doctors[1];
    assert_eq!(lisa["last_name"], "Cuddy");
    assert_eq!(lisa["phone"], "+1 555 0100 201");
    assert_eq!(lisa["years_of_experience"], 20);
    assert_eq!(lisa["consultation_fee"], 150.5);
    let trail = ok(app
        .get("/api/audit/?action=import&entity=doctor", &admin.access)
        .await)
    .await;
    assert_eq!(trail[0]["fields"], json!(["count:2"]), "{trail}");

    let export = app.get("/api/doctors/export.csv", &staff.access).await;
    let file = export.text().await.expect("csv");
    let again = json_with(
        send_csv(
            &app,
            "/api/doctors/import/?dry_run=true",
            &staff.access,
            file,
        )
        .await,
        200,
    )
    .await;
    // Every exported doctor is valid but for the email it already holds.
    assert_eq!(again["rows"], 3, "{again}");
    assert!(has_error(&again, 2, "email"), "{again}");
    assert_eq!(again["errors"].as_array().unwrap().len(), 1, "{again}");
}
