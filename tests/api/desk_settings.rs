//! What the front desk reads on every screen (issue 16): messages in a
//! receptionist's words with an example, and the clinic's name and date
//! format, which every signed-in account may read at `/api/settings/clinic`.

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_exact_field_errors, assert_unauthenticated, ok, spawn_clinic,
};

const CLINIC: &str = "/api/settings/clinic";

/// The messages for `field` in a validation error, joined.
fn said(body: &Value, field: &str) -> String {
    let messages = body["errors"][field]
        .as_array()
        .unwrap_or_else(|| panic!("errors.{field} in {body}"));
    messages
        .iter()
        .map(|m| m.as_str().expect("a message").to_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[rocket::async_test]
async fn each_bad_patient_field_is_explained_with_an_example_under_its_unchanged_name() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({
        "first_name": "  ", "phone": "call me", "email": "ada-at-home",
        "date_of_birth": "12.07.1984", "age": 200, "blood_group": "Z",
        "gender": "robot", "postal_code": "9".repeat(201),
        "emergency_contact_phone": "12",
    });

    // Act
    let response = app.post("/api/patients/", &staff.access, &body).await;

    // Assert: the same code and field names as ever, plain words with an example
    let fields = [
        "first_name",
        "phone",
        "email",
        "date_of_birth",
        "age",
        "blood_group",
        "gender",
        "postal_code",
        "emergency_contact_phone",
    ];
    let refused = assert_exact_field_errors(response, &fields).await;
    let expected = [
        ("first_name", "Fill this in"),
        ("phone", "like +49 30 1234567"),
        ("emergency_contact_phone", "like +49 30 1234567"),
        ("email", "like name@example.com"),
        ("date_of_birth", "like 1984-07-12"),
        ("age", "like 42"),
        ("blood_group", "A+, A-"),
        ("gender", "male, female"),
        ("postal_code", "200 characters or fewer (it has 201)"),
    ];
    for (field, words) in expected {
        let message = said(&refused, field);
        assert!(message.contains(words), "{field}: {message}");
        for jargon in ["Must be", "May not", "character class", "'('"] {
            assert!(
                !message.contains(jargon),
                "{field} says {jargon:?}: {message}"
            );
        }
    }
    let listed = ok(app.get("/api/patients/", &staff.access).await).await;
    assert_eq!(listed, json!([]), "nothing created");
}

#[rocket::async_test]
async fn a_birth_date_after_today_is_refused_in_plain_words() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let body = json!({ "first_name": "Ines", "date_of_birth": "2999-01-01" });

    // Act
    let response = app.post("/api/patients/", &staff.access, &body).await;

    // Assert
    let refused = assert_exact_field_errors(response, &["date_of_birth"]).await;
    let message = said(&refused, "date_of_birth");
    assert!(message.contains("cannot be in the future"), "{message}");
}

#[rocket::async_test]
async fn every_signed_in_account_reads_the_clinic_name_date_format_and_zone_and_only_an_admin_sets_them(
) {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "desk@clinic.test").await;

    // Act: before anything is set
    let fresh = ok(app.get(CLINIC, &user.access).await).await;

    // Assert: no name yet, dates as each computer writes them, and the
    // zone the clinic started in (its machine's)
    let started_in = ok(app.get("/api/settings/", &admin.access).await).await["time_zone"].clone();
    assert_eq!(
        fresh,
        json!({ "clinic_name": null, "date_format": "browser", "time_zone": started_in })
    );

    // Act: the admin names the clinic and picks a format and a zone
    let change = json!({
        "clinic_name": "Praxis am See",
        "date_format": "dd.mm.yyyy",
        "time_zone": "Asia/Kolkata",
    });
    let changed = ok(app.patch("/api/settings/", &admin.access, &change).await).await;

    // Assert: stored in its canonical spelling, and every role sees it
    assert_eq!(changed["date_format"], "DD.MM.YYYY");
    for caller in [&admin, &staff, &user] {
        let seen = ok(app.get(CLINIC, &caller.access).await).await;
        assert_eq!(
            seen,
            json!({
                "clinic_name": "Praxis am See",
                "date_format": "DD.MM.YYYY",
                "time_zone": "Asia/Kolkata",
            }),
            "as {}",
            caller.email
        );
    }
    assert_unauthenticated(app.get(CLINIC, "").await).await;
    let full = app.get("/api/settings/", &user.access).await;
    assert_error(full, 403, "permission_denied").await;
}

#[rocket::async_test]
async fn an_unknown_date_format_is_refused_naming_the_choices_and_changes_nothing() {
    // Arrange
    let (app, admin, _staff) = spawn_clinic().await;
    let good = json!({ "date_format": "MM/DD/YYYY" });
    ok(app.patch("/api/settings/", &admin.access, &good).await).await;

    // Act
    for bad in [json!("D/M/YY"), json!(""), json!(null), json!(7)] {
        let body = json!({ "date_format": bad });
        let response = app.patch("/api/settings/", &admin.access, &body).await;

        // Assert
        let refused = assert_exact_field_errors(response, &["date_format"]).await;
        let message = said(&refused, "date_format");
        assert!(!message.is_empty(), "{bad}: {refused}");
    }
    let kept = ok(app.get(CLINIC, &admin.access).await).await;
    assert_eq!(kept["date_format"], "MM/DD/YYYY");
    let message = {
        let body = json!({ "date_format": "D/M/YY" });
        let response = app.patch("/api/settings/", &admin.access, &body).await;
        said(
            &assert_exact_field_errors(response, &["date_format"]).await,
            "date_format",
        )
    };
    assert!(message.contains("DD.MM.YYYY"), "{message}");
    assert!(message.contains("browser"), "{message}");
}
