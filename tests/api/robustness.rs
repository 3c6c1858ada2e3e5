//! Bad input gets a clear 4xx and changes nothing: every writable field of
//! every write route, given values of every wrong shape, never makes the
//! server answer 5xx.

use serde_json::{json, Value};

use crate::helpers::{doctor, patient, spawn_app};

/// Values of every JSON type and some hostile strings.
fn hostile_values() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(-1),
        json!(1.5),
        json!(1e300),
        json!(i64::MAX),
        json!(""),
        json!("   "),
        json!("x".repeat(20_000)),
        json!("y".repeat(150)),
        json!(format!("A {}", "x".repeat(150))),
        json!([]),
        json!({ "nested": [1, 2] }),
        json!("\u{0}\u{202e}"),
        json!("'; DROP TABLE patients; --"),
        json!("2026-02-30"),
    ]
}

const PATIENT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "name",
    "date_of_birth",
    "age",
    "gender",
    "phone",
    "contact_number",
    "email",
    "blood_group",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
    "medical_history",
    "allergies",
    "current_medications",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "is_active",
    "id",
    "created_by",
];
const DOCTOR_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "name",
    "specialization",
    "years_of_experience",
    "experience_years",
    "phone",
    "email",
    "qualification",
    "license_number",
    "consultation_fee",
    "available_days",
    "available_time",
    "bio",
    "languages_spoken",
    "city",
    "is_available",
];
const MAPPING_FIELDS: &[&str] = &[
    "patient",
    "patient_id",
    "doctor",
    "doctor_id",
    "reason",
    "notes",
    "status",
];
const ACCOUNT_FIELDS: &[&str] = &["email", "password", "name", "username", "role", "is_active"];

#[rocket::async_test]
async fn no_value_of_any_shape_in_any_field_makes_the_server_fail() {
    // Arrange: one of each record, so updates have something to change.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let p = app.create_patient(token, &patient("Ada")).await;
    let d = app.create_doctor(token, &doctor("Greg")).await;
    let m = app
        .create_mapping(token, &json!({ "patient": p["id"], "doctor": d["id"] }))
        .await;
    let routes: Vec<(&str, String, &[&str])> = vec![
        ("POST", "/api/patients/".into(), PATIENT_FIELDS),
        ("PUT", format!("/api/patients/{}/", p["id"]), PATIENT_FIELDS),
        (
            "PATCH",
            format!("/api/patients/{}/", p["id"]),
            PATIENT_FIELDS,
        ),
        ("POST", "/api/doctors/".into(), DOCTOR_FIELDS),
        ("PATCH", format!("/api/doctors/{}/", d["id"]), DOCTOR_FIELDS),
        ("POST", "/api/mappings/".into(), MAPPING_FIELDS),
        (
            "PATCH",
            format!("/api/mappings/{}/", m["id"]),
            MAPPING_FIELDS,
        ),
        ("POST", "/api/users/".into(), ACCOUNT_FIELDS),
        ("PATCH", "/api/auth/me/".into(), ACCOUNT_FIELDS),
        (
            "PATCH",
            "/api/settings/".into(),
            &["registration", "clinic_name"],
        ),
        (
            "POST",
            "/api/auth/login/".into(),
            &["email", "username", "password"],
        ),
        ("POST", "/api/auth/refresh/".into(), &["refresh"]),
        (
            "POST",
            "/api/auth/password/".into(),
            &["current_password", "new_password"],
        ),
    ];

    // Act + Assert
    for (method, path, fields) in &routes {
        for field in *fields {
            for value in hostile_values() {
                let body = json!({ *field: value });
                let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
                let response = app
                    .request(method.clone(), path, token)
                    .json(&body)
                    .send()
                    .await
                    .expect("sent");
                let status = response.status();
                assert!(
                    status.is_client_error() || status.is_success(),
                    "{method} {path} with {field} = {} answered {status}",
                    body[*field]
                        .to_string()
                        .chars()
                        .take(60)
                        .collect::<String>()
                );
            }
        }
    }
}
