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

/// Every filter, search, ordering and paging parameter of every list route.
const LIST_PARAMETERS: &[(&str, &[&str])] = &[
    (
        "/api/patients/",
        &[
            "search",
            "gender",
            "city",
            "blood_group",
            "is_active",
            "archived",
            "ordering",
            "page",
            "page_size",
        ],
    ),
    (
        "/api/doctors/",
        &[
            "search",
            "specialization",
            "city",
            "is_available",
            "min_experience",
            "max_fee",
            "archived",
            "ordering",
            "page",
            "page_size",
        ],
    ),
    (
        "/api/mappings/",
        &[
            "patient_id",
            "doctor_id",
            "status",
            "ordering",
            "page",
            "page_size",
        ],
    ),
    ("/api/mappings/1/", &["page", "page_size"]),
    (
        "/api/users/",
        &[
            "search",
            "role",
            "is_active",
            "ordering",
            "page",
            "page_size",
        ],
    ),
    (
        "/api/audit/",
        &[
            "user_id",
            "entity",
            "entity_id",
            "action",
            "from",
            "to",
            "page",
            "page_size",
        ],
    ),
    (
        "/api/audit/export/",
        &["user_id", "entity", "entity_id", "action", "from", "to"],
    ),
    ("/api/admin/backups/", &["page", "page_size"]),
];

#[rocket::async_test]
async fn control_characters_and_broken_utf8_in_any_list_parameter_are_a_400_naming_it() {
    // Arrange: as admin, who may use every list (and a patient for the
    // per-patient mapping list).
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .post("/api/patients/", &admin.access, &patient("Ada"))
        .await;
    assert_eq!(created.status(), 201);
    // NUL, unit separator, DEL, CR LF, a lone surrogate's UTF-8 form, a
    // stray continuation byte; each inside text, as a search would be.
    let payloads = [
        "A%00B",
        "A%1FB",
        "%7F",
        "A%0D%0AB",
        "%ED%A0%80",
        "A%FFB",
        "%C3",
    ];

    for (path, parameters) in LIST_PARAMETERS {
        for parameter in *parameters {
            for payload in payloads {
                // Act
                let url = format!("{path}?{parameter}={payload}");
                let response = app.get(&url, &admin.access).await;

                // Assert
                let status = response.status().as_u16();
                let body: Value = response.json().await.expect("a JSON error");
                assert_eq!(status, 400, "{url}: {body}");
                assert_eq!(body["code"], "validation_error", "{url}: {body}");
                assert!(body["errors"][parameter].is_array(), "{url}: {body}");
            }
        }
    }
    // Nothing was stored by any of it, and clean text still searches.
    let clean = app.get("/api/patients/?search=Ada", &admin.access).await;
    assert_eq!(clean.status(), 200);
    assert_eq!(clean.headers()["x-total-count"], "1");
}

#[rocket::async_test]
async fn text_that_looks_empty_breaks_a_single_line_or_reorders_itself_is_refused() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let ada = app.post("/api/patients/", token, &patient("Ada")).await;
    let ada: Value = ada.json().await.expect("patient");
    let greg = app.post("/api/doctors/", token, &doctor("Greg")).await;
    let greg: Value = greg.json().await.expect("doctor");
    let user = |extra: Value| {
        let mut body =
            json!({ "email": "eve@clinic.test", "password": "violet lantern orchard 42" });
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        body
    };
    let mapping = |extra: Value| {
        let mut body = json!({ "patient": ada["id"], "doctor": greg["id"] });
        body.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        body
    };
    let cases = [
        (
            "/api/patients/",
            json!({ "first_name": "\u{200B}" }),
            "first_name",
        ),
        (
            "/api/patients/",
            json!({ "first_name": "\u{FEFF}\u{2060} \u{200D}" }),
            "first_name",
        ),
        (
            "/api/patients/",
            json!({ "first_name": "Ada\r\nSmith" }),
            "first_name",
        ),
        (
            "/api/patients/",
            json!({ "first_name": "Ada", "city": "Lon\ndon" }),
            "city",
        ),
        (
            "/api/patients/",
            json!({ "first_name": "\u{202E}adA" }),
            "first_name",
        ),
        (
            "/api/patients/",
            json!({ "first_name": "Ada", "medical_history": "ok\u{2067}x" }),
            "medical_history",
        ),
        (
            "/api/doctors/",
            json!({ "first_name": "Greg", "specialization": "\u{200B}" }),
            "specialization",
        ),
        (
            "/api/doctors/",
            json!({ "first_name": "Gr\reg", "specialization": "GP" }),
            "first_name",
        ),
        (
            "/api/doctors/",
            json!({ "first_name": "Greg", "specialization": "G\u{200F}P" }),
            "specialization",
        ),
        ("/api/users/", user(json!({ "name": "Eve\nAdmin" })), "name"),
        (
            "/api/users/",
            user(json!({ "name": "Eve\u{202D}" })),
            "name",
        ),
        (
            "/api/mappings/",
            mapping(json!({ "reason": "check\r\nup" })),
            "reason",
        ),
        (
            "/api/mappings/",
            mapping(json!({ "notes": "\u{202E}reversed" })),
            "notes",
        ),
    ];

    for (path, body, field) in cases {
        // Act
        let response = app.post(path, token, &body).await;

        // Assert
        let status = response.status().as_u16();
        let answer: Value = response.json().await.expect("a JSON error");
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["code"], "validation_error", "{path} {body}");
        assert!(
            answer["errors"][field].is_array(),
            "{path} {body}: {answer}"
        );
    }
}

#[rocket::async_test]
async fn multi_line_fields_keep_their_line_breaks() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = admin.access.as_str();
    let greg = app.post("/api/doctors/", token, &doctor("Greg")).await;
    let greg: Value = greg.json().await.expect("doctor");

    // Act
    let noted = app
        .post(
            "/api/patients/",
            token,
            &json!({ "first_name": "Bo", "medical_history": "2019: asthma\n2021: none" }),
        )
        .await;
    let noted_status = noted.status();
    let noted: Value = noted.json().await.expect("patient");
    let mapping = json!({ "patient": noted["id"], "doctor": greg["id"], "notes": "one\ntwo" });
    let mapped = app.post("/api/mappings/", token, &mapping).await;
    let bio = json!({ "first_name": "Di", "specialization": "GP", "bio": "Line\nLine" });
    let with_bio = app.post("/api/doctors/", token, &bio).await;

    // Assert
    assert_eq!(noted_status, 201);
    assert_eq!(noted["medical_history"], "2019: asthma\n2021: none");
    assert_eq!(mapped.status(), 201);
    assert_eq!(with_bio.status(), 201);
}
