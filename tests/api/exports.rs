//! `GET /api/patients/export.csv` and `/api/doctors/export.csv` (contract
//! part 2): the list with its filters as CSV, within what the caller sees,
//! safe to open in a spreadsheet, and on record.

use serde_json::{json, Value};

use crate::helpers::{add_patient, doctor, header, ok, spawn_clinic};

/// The CSV's rows as records (the header first), read back with a real parser.
fn records(body: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(body.as_bytes())
        .into_records()
        .map(|r| r.expect("a CSV row").iter().map(str::to_owned).collect())
        .collect()
}

fn column(header_line: &str, name: &str) -> usize {
    header_line
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name} in {header_line}"))
}

#[rocket::async_test]
async fn the_patient_list_exports_as_csv_with_its_filters_guarded_against_formulas_and_audited() {
    let (app, admin, staff) = spawn_clinic().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "=HYPERLINK(\"http://x\")", "last_name": "Evil", "city": "Berlin" }),
    )
    .await;
    add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Ada", "last_name": "Lovelace, Countess", "city": "Berlin",
                 "phone": "+49 30 1234567" }),
    )
    .await;
    add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Grace", "city": "Arlington" }),
    )
    .await;
    add_patient(
        &app,
        &user.access,
        &json!({ "first_name": "Own", "city": "Berlin" }),
    )
    .await;

    let response = app
        .get(
            "/api/patients/export.csv?city=berlin&ordering=first_name",
            &staff.access,
        )
        .await;

    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/csv"));
    assert!(header(&response, "content-disposition").contains("attachment"));
    let body = response.text().await.expect("csv");
    let head = body.lines().next().expect("a header").to_owned();
    let rows = records(&body);
    let (first, last, phone) = (
        column(&head, "first_name"),
        column(&head, "last_name"),
        column(&head, "phone"),
    );
    let firsts: Vec<&str> = rows.iter().map(|r| r[first].as_str()).collect();
    assert_eq!(
        firsts,
        ["'=HYPERLINK(\"http://x\")", "Ada", "Own"],
        "{body}"
    );
    assert_eq!(rows[1][last], "Lovelace, Countess", "quoted, not split");
    assert_eq!(rows[1][phone], "'+49 30 1234567");

    // A user's export holds their own patients only.
    let mine = app.get("/api/patients/export.csv", &user.access).await;
    let mine = records(&mine.text().await.expect("csv"));
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0][first], "Own");
    // A bad filter is the list's 400.
    let bad = app
        .get("/api/patients/export.csv?gender=X", &staff.access)
        .await;
    assert_eq!(bad.status(), 400);
    // On record, as an export of patients.
    let trail = ok(app
        .get("/api/audit/?action=export&entity=patient", &admin.access)
        .await)
    .await;
    let actors: Vec<&Value> = trail
        .as_array()
        .expect("events")
        .iter()
        .map(|e| &e["actor_id"])
        .collect();
    assert_eq!(actors, [&json!(user.id), &json!(staff.id)], "{trail}");
}

#[rocket::async_test]
async fn the_doctor_list_exports_as_csv_and_is_audited() {
    let (app, admin, staff) = spawn_clinic().await;
    app.create_doctor(&staff.access, &doctor("Greg")).await;
    let response = app.get("/api/doctors/export.csv", &staff.access).await;

    assert_eq!(response.status(), 200);
    let body = response.text().await.expect("csv");
    let head = body.lines().next().expect("a header").to_owned();
    let rows = records(&body);
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0][column(&head, "first_name")], "Greg");
    let trail = ok(app
        .get("/api/audit/?action=export&entity=doctor", &admin.access)
        .await)
    .await;
    assert_eq!(trail.as_array().map(Vec::len), Some(1), "{trail}");
}
