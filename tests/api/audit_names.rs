//! A trail a person can read: the names behind a page's ids (admins only,
//! looked up when asked, archived records included, never stored in the
//! trail) and the searches left out on request.

use serde_json::json;

use crate::helpers::{
    add_doctor, add_patient, assert_error, assert_field_errors, doctor, header, json_with, patient,
    spawn_app, spawn_clinic,
};

#[rocket::async_test]
async fn an_admin_gets_the_names_a_trail_page_points_at_archived_records_included() {
    // Arrange: a patient who is then archived, a doctor, an account.
    let (app, admin, staff) = spawn_clinic().await;
    let ada = add_patient(
        &app,
        &staff.access,
        &json!({ "first_name": "Ada", "last_name": "Quimby" }),
    )
    .await;
    let archived = format!("/api/patients/{ada}/");
    assert_eq!(app.delete(&archived, &staff.access).await.status(), 204);
    let house = add_doctor(&app, &admin.access, &doctor("Gregory")).await;

    // Act
    let path = format!(
        "/api/audit/names?patients={ada},999999&doctors={house}&users={},{}",
        admin.id, staff.id
    );
    let names = json_with(app.get(&path, &admin.access).await, 200).await;

    // Assert: each known id named; an unknown one left out
    assert_eq!(names["patients"], json!({ ada.to_string(): "Ada Quimby" }));
    assert_eq!(
        names["doctors"][house.to_string()]
            .as_str()
            .map(|n| n.starts_with("Gregory")),
        Some(true),
        "{names}"
    );
    assert_eq!(names["users"][admin.id.to_string()], "Ada Admin");
    assert_eq!(names["users"][staff.id.to_string()], "Test Person");
    // The lookup is itself in the trail, as a search naming the field, and
    // the trail holds no name.
    let trail = app
        .get("/api/audit/?action=search&entity=patient", &admin.access)
        .await;
    let trail = json_with(trail, 200).await;
    assert_eq!(trail[0]["actor_id"], admin.id);
    assert_eq!(trail[0]["fields"], json!(["name"]));
    let export = app.get("/api/audit/export", &admin.access).await;
    let csv = export.text().await.expect("csv");
    assert!(!csv.contains("Quimby"), "the trail stores no value");
}

#[rocket::async_test]
async fn only_admins_get_names_and_bad_ids_are_400() {
    // Arrange
    let (app, admin, staff) = spawn_clinic().await;
    let grace = add_patient(&app, &staff.access, &patient("Grace")).await;
    let path = format!("/api/audit/names?patients={grace}");

    // Act
    let by_staff = app.get(&path, &staff.access).await;
    let bad = app
        .get(
            "/api/audit/names?patients=1,x&doctors=0&users=",
            &admin.access,
        )
        .await;

    // Assert
    let refused = assert_error(by_staff, 403, "permission_denied").await;
    assert!(!refused.to_string().contains("Grace"), "{refused}");
    let body = assert_field_errors(bad, &["patients", "doctors"]).await;
    assert!(
        body["errors"].get("users").is_none(),
        "empty is no ids: {body}"
    );
}

#[rocket::async_test]
async fn exclude_action_leaves_the_searches_out_and_keeps_the_count_exact() {
    // Arrange: a change, then several searches.
    let app = spawn_app().await;
    let admin = app.admin().await;
    add_patient(&app, &admin.access, &patient("Hedy")).await;
    for term in ["he", "hed", "hedy"] {
        let search = format!("/api/patients/?search={term}");
        json_with(app.get(&search, &admin.access).await, 200).await;
    }

    // Act
    let all = app.get("/api/audit/", &admin.access).await;
    let all_count: usize = header(&all, "x-total-count").parse().expect("count");
    let without = app
        .get("/api/audit/?exclude_action=search", &admin.access)
        .await;
    let without_count: usize = header(&without, "x-total-count").parse().expect("count");
    let without = json_with(without, 200).await;
    let bad = app
        .get("/api/audit/?exclude_action=browse", &admin.access)
        .await;

    // Assert
    let rows = without.as_array().expect("rows");
    assert!(
        rows.iter().all(|row| row["action"] != "search"),
        "{without}"
    );
    assert!(
        rows.iter()
            .any(|row| row["action"] == "create" && row["entity"] == "patient"),
        "{without}"
    );
    assert_eq!(without_count, rows.len());
    assert!(
        without_count + 3 <= all_count,
        "{without_count} of {all_count}"
    );
    assert_field_errors(bad, &["exclude_action"]).await;
    let csv = app
        .get("/api/audit/export?exclude_action=search", &admin.access)
        .await
        .text()
        .await
        .expect("csv");
    assert!(!csv.contains(",search,"), "the export filters alike");
}
