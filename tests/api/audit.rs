//! The audit trail: exactly the expected rows for each change and read,
//! none for a failed write, denied attempts, filters, CSV export, and a
//! table that refuses to be rewritten.

use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_field_errors, created, header, id, json_with, patient, spawn_app,
    spawn_app_with, Account, TestApp, PASSWORD,
};

/// The trail an admin sees for `query`, newest first.
async fn trail(app: &TestApp, admin: &Account, query: &str) -> Vec<Value> {
    let page = json_with(
        app.get(&format!("/api/audit/?{query}"), &admin.access)
            .await,
        200,
    )
    .await;
    page.as_array().expect("a JSON array").clone()
}

fn actions(rows: &[Value]) -> Vec<&str> {
    rows.iter().filter_map(|r| r["action"].as_str()).collect()
}

#[rocket::async_test]
async fn each_change_and_read_of_a_patient_leaves_exactly_its_rows_and_never_a_value() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app
        .create_patient(
            &admin.access,
            &json!({ "first_name": "Zebulon", "phone": "+1 555 0101" }),
        )
        .await;
    let path = format!("/api/patients/{}/", id(&created));

    // Act
    json_with(app.get(&path, &admin.access).await, 200).await;
    let changed = app
        .patch(
            &path,
            &admin.access,
            &json!({ "phone": "+1 555 0199", "city": "Lagos" }),
        )
        .await;
    let request_id = header(&changed, "x-request-id");
    json_with(changed, 200).await;
    json_with(
        app.get("/api/patients/?search=zeb", &admin.access).await,
        200,
    )
    .await;
    assert_eq!(app.delete(&path, &admin.access).await.status(), 204);
    let restore = format!("{path}restore/");
    json_with(app.post(&restore, &admin.access, &json!({})).await, 200).await;

    // Assert: one row each, newest first, about this patient.
    let query = format!("entity=patient&entity_id={}", id(&created));
    let rows = trail(&app, &admin, &query).await;
    assert_eq!(
        actions(&rows),
        ["restore", "archive", "update", "view", "create"]
    );
    let update = &rows[2];
    assert_eq!(update["fields"], json!(["city", "phone"]));
    assert_eq!(update["actor_id"], admin.id);
    assert_eq!(update["actor_role"], "admin");
    assert_eq!(update["outcome"], "success");
    assert_eq!(update["client_ip"], "127.0.0.1");
    assert_eq!(update["request_id"], request_id.as_str());
    assert_eq!(rows[4]["fields"], json!(["first_name", "phone"]));
    // The search is one row about patients in general, not one per patient.
    let searches = trail(&app, &admin, "entity=patient&action=search").await;
    assert_eq!(searches.len(), 1);
    assert!(searches[0]["entity_id"].is_null());
    let all = trail(&app, &admin, "page_size=500").await;
    let text = serde_json::to_string(&all).expect("json");
    for value in [
        "Zebulon",
        "+1 555 0101",
        "+1 555 0199",
        "Lagos",
        "zeb",
        PASSWORD,
    ] {
        assert!(!text.contains(value), "{value} leaked into the trail");
    }
}

#[rocket::async_test]
async fn a_write_that_fails_leaves_no_row() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let created = app.create_patient(&admin.access, &patient("Ann")).await;
    let path = format!("/api/patients/{}/", id(&created));
    let doctor = json!({ "first_name": "Dee", "specialization": "GP", "email": "dee@clinic.test" });
    app.create_doctor(&admin.access, &doctor).await;

    // Act
    let invalid = app
        .patch(&path, &admin.access, &json!({ "email": "not an email" }))
        .await;
    let duplicate = app.post("/api/doctors/", &admin.access, &doctor).await;

    // Assert
    assert_field_errors(invalid, &["email"]).await;
    assert_error(duplicate, 409, "duplicate").await;
    let query = format!("entity=patient&entity_id={}", id(&created));
    assert_eq!(actions(&trail(&app, &admin, &query).await), ["create"]);
    assert_eq!(
        actions(&trail(&app, &admin, "entity=doctor").await),
        ["create"]
    );
}

#[rocket::async_test]
async fn attempts_on_someone_elses_record_or_an_admin_route_are_denied_rows() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let alice = app.account(&admin, "user", "alice@clinic.test").await;
    let bob = app.account(&admin, "user", "bob@clinic.test").await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;
    let hers = app.create_patient(&alice.access, &patient("Hers")).await;

    // Act
    let peek = app
        .get(&format!("/api/patients/{}/", id(&hers)), &bob.access)
        .await;
    let mappings = app
        .get(&format!("/api/mappings/{}/", id(&hers)), &bob.access)
        .await;
    let missing = app.get("/api/patients/9999/", &bob.access).await;
    let users = app.get("/api/users/", &staff.access).await;

    // Assert: the answers are unchanged; the attempts are on record.
    assert_error(peek, 404, "not_found").await;
    assert_error(mappings, 404, "not_found").await;
    assert_error(missing, 404, "not_found").await;
    assert_error(users, 403, "permission_denied").await;
    let denied = trail(&app, &admin, "action=denied").await;
    let seen: Vec<(i64, &str, Value)> = denied
        .iter()
        .map(|r| {
            (
                r["actor_id"].as_i64().expect("actor"),
                r["entity"].as_str().expect("entity"),
                r["entity_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (staff.id, "user", Value::Null),
            (bob.id, "patient", json!(id(&hers))),
            (bob.id, "patient", json!(id(&hers))),
        ],
        "a missing id is a typo, not an attempt"
    );
}

#[rocket::async_test]
async fn sign_ins_sign_in_delays_token_reuse_and_account_changes_are_on_record() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;

    // Act
    assert_eq!(
        app.login("nobody@clinic.test", PASSWORD).await.status(),
        401
    );
    for _ in 0..5 {
        assert_eq!(
            app.login(&nurse.email, "wrong horse battery 1")
                .await
                .status(),
            401
        );
    }
    assert_eq!(app.login(&nurse.email, PASSWORD).await.status(), 429);
    let user_path = format!("/api/users/{}/", nurse.id);
    json_with(
        app.patch(&user_path, &admin.access, &json!({ "locked": false }))
            .await,
        200,
    )
    .await;
    let again = app.logged_in(&nurse.email, PASSWORD).await;
    assert_eq!(app.refresh(&again.refresh).await.status(), 200);
    assert_eq!(app.refresh(&again.refresh).await.status(), 401);
    json_with(
        app.patch(&user_path, &admin.access, &json!({ "role": "user" }))
            .await,
        200,
    )
    .await;
    assert_eq!(app.delete(&user_path, &admin.access).await.status(), 204);
    let settings = json!({ "registration": "open" });
    json_with(
        app.patch("/api/settings/", &admin.access, &settings).await,
        200,
    )
    .await;

    // Assert
    let unknown = trail(&app, &admin, "action=login_failed&entity=user").await;
    let stranger = unknown
        .iter()
        .find(|r| r["entity_id"].is_null())
        .expect("unknown email row");
    assert!(stranger["actor_id"].is_null());
    assert_eq!(stranger["outcome"], "failure");
    let query = format!("entity=user&entity_id={}", nurse.id);
    let rows = trail(&app, &admin, &query).await;
    let mut expected = vec![
        "user_deactivate",
        "role_change",
        "token_reuse",
        "login",
        "unlock",
    ];
    // The delayed attempt, the delay its predecessor started, the five failures.
    expected.extend(["login_failed", "throttle"]);
    expected.extend(["login_failed"; 5]);
    expected.extend(["login", "create"]);
    assert_eq!(actions(&rows), expected);
    assert_eq!(rows[1]["fields"], json!(["role"]));
    assert_eq!(rows[1]["actor_id"], admin.id);
    assert_eq!(rows[2]["actor_id"], nurse.id);
    let changed = trail(&app, &admin, "action=setting_change").await;
    assert_eq!(changed[0]["fields"], json!(["registration"]));
}

#[rocket::async_test]
async fn the_trail_filters_pages_and_exports_as_csv_and_the_export_is_itself_recorded() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["One", "Two", "Three"] {
        app.create_patient(&admin.access, &patient(name)).await;
    }

    // Act
    let first = app
        .get(
            "/api/audit/?action=create&entity=patient&page_size=2",
            &admin.access,
        )
        .await;
    let past = app.get("/api/audit/?to=2000-01-01", &admin.access).await;
    let bad = app
        .get(
            "/api/audit/?action=drop&entity=table&from=yesterday&user_id=x",
            &admin.access,
        )
        .await;
    let export = app
        .get("/api/audit/export?entity=patient", &admin.access)
        .await;

    // Assert
    assert_eq!(header(&first, "x-total-count"), "3");
    assert_eq!(
        json_with(first, 200).await.as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(json_with(past, 200).await, json!([]));
    assert_field_errors(bad, &["action", "entity", "from", "user_id"]).await;
    assert_eq!(export.status(), 200);
    assert!(header(&export, "content-type").starts_with("text/csv"));
    assert!(header(&export, "content-disposition").contains("attachment"));
    let csv = export.text().await.expect("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "id,at,actor_id,actor_role,action,entity,entity_id,outcome,client_ip,request_id,fields,related_id"
    );
    assert_eq!(lines.len(), 4, "a header and three creates: {csv}");
    assert!(
        lines[1].contains(",admin,create,patient,3,success,127.0.0.1,"),
        "{csv}"
    );
    let exports = trail(&app, &admin, "action=export&entity=audit").await;
    assert_eq!(exports.len(), 1);
}

#[rocket::async_test]
async fn only_admins_read_the_trail() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;

    // Act
    let list = app.get("/api/audit/", &staff.access).await;
    let export = app.get("/api/audit/export", &staff.access).await;
    let stranger = app.get("/api/audit/", "").await;

    // Assert
    assert_error(list, 403, "permission_denied").await;
    assert_error(export, 403, "permission_denied").await;
    assert_eq!(stranger.status(), 401);
}

#[rocket::async_test]
async fn the_audit_table_refuses_update_and_delete_even_through_sql() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.create_patient(&admin.access, &patient("Kept")).await;
    let database = app.data_dir.path().join("clinicdesk.sqlite3");
    let conn = rusqlite::Connection::open(&database).expect("open the database");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .expect("busy timeout");

    // Act
    let update = conn.execute("UPDATE audit_log SET actor_id = 99", []);
    let delete = conn.execute("DELETE FROM audit_log", []);

    // Assert
    for result in [update, delete] {
        let err = result.expect_err("refused").to_string();
        assert!(err.contains("append-only"), "{err}");
    }
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE actor_id = 99",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(rows, 0);
    let created = created(
        app.post("/api/patients/", &admin.access, &patient("After"))
            .await,
    )
    .await;
    assert!(created["id"].is_i64(), "the server goes on writing");
}

#[rocket::async_test]
async fn behind_a_trusted_proxy_the_forwarded_client_address_is_recorded_and_otherwise_ignored() {
    // Arrange
    let proxied = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().expect("ip")];
    })
    .await;
    let direct = spawn_app().await;
    let mut trails = Vec::new();

    // Act
    for app in [&proxied, &direct] {
        let admin = app.admin().await;
        app.request(reqwest::Method::GET, "/api/patients/", &admin.access)
            .header("X-Forwarded-For", "10.9.8.7")
            .send()
            .await
            .expect("sent");
        trails.push(trail(app, &admin, "action=search&entity=patient").await);
    }

    // Assert
    assert_eq!(trails[0][0]["client_ip"], "10.9.8.7");
    assert_eq!(trails[1][0]["client_ip"], "127.0.0.1");
}

/// The clinic's date of a trail row's time, `at`.
fn clinic_date(at: &Value, zone: &str) -> jiff::civil::Date {
    let at: jiff::Timestamp = at.as_str().expect("a time").parse().expect("RFC 3339");
    jiff::ZonedDateTime::new(at, jiff::tz::TimeZone::get(zone).expect("a zone")).date()
}

#[rocket::async_test]
async fn a_bare_date_in_the_filter_is_a_day_on_the_clinics_clock() {
    // Arrange: one zone 14 h ahead of UTC and one 11 h behind, so at any
    // hour one of them is on another date than UTC.
    let app = spawn_app().await;
    let admin = app.admin().await;
    for zone in ["Pacific/Kiritimati", "Pacific/Pago_Pago"] {
        let body = json!({ "time_zone": zone });
        json_with(app.patch("/api/settings/", &admin.access, &body).await, 200).await;
        app.create_patient(&admin.access, &patient(zone)).await;
        let newest = trail(&app, &admin, "action=create&entity=patient&page_size=1").await;
        let day = clinic_date(&newest[0]["at"], zone);
        let id = &newest[0]["id"];

        // Act
        let found = |query: String| {
            let app = &app;
            let admin = &admin;
            async move {
                trail(app, admin, &query)
                    .await
                    .iter()
                    .any(|row| &row["id"] == id)
            }
        };
        let that_day = found(format!("from={day}&to={day}")).await;
        let before = found(format!("to={}", day.yesterday().expect("a day"))).await;
        let after = found(format!("from={}", day.tomorrow().expect("a day"))).await;

        // Assert
        assert!(that_day, "{zone}: the row is on {day}, the clinic's date");
        assert!(!before, "{zone}: not on the clinic's day before");
        assert!(!after, "{zone}: not on the clinic's day after");
    }
}
