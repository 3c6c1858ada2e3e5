//! Concurrent writers: `SQLite` allows one writer at a time, so racing
//! requests must queue (or hit a schema rule), never fail with a 500.

use rocket::futures::future::join_all;
use serde_json::json;

use crate::helpers::{doctor, json_with, patient, spawn_app, spawn_app_with};

#[rocket::async_test]
async fn concurrent_updates_of_one_patient_all_succeed() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;
    let created = app.create_patient(&staff.access, &patient("Ada")).await;
    let path = format!("/api/patients/{}/", created["id"]);

    // Act: each update reads the record and writes it back in one transaction.
    let updates = (0..20).map(|i| {
        let body = json!({ "city": format!("City {i}") });
        let (app, path, token) = (&app, &path, &staff.access);
        async move { app.patch(path, token, &body).await.status().as_u16() }
    });
    let statuses = join_all(updates).await;

    // Assert
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let stored = json_with(app.get(&path, &staff.access).await, 200).await;
    assert!(stored["city"]
        .as_str()
        .is_some_and(|c| c.starts_with("City ")));
}

#[rocket::async_test]
async fn of_racing_assignments_of_one_pair_exactly_one_becomes_active() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let p = app.create_patient(&admin.access, &patient("Ada")).await;
    let d = app.create_doctor(&admin.access, &doctor("Greg")).await;
    let body = json!({ "patient": p["id"], "doctor": d["id"] });

    // Act
    let attempts = (0..12).map(|_| async {
        app.post("/api/mappings/", &admin.access, &body)
            .await
            .status()
            .as_u16()
    });
    let mut statuses = join_all(attempts).await;
    statuses.sort_unstable();

    // Assert: one 201, the rest the uniqueness conflict; nothing else.
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    let listed = app
        .get(
            &format!("/api/mappings/?patient_id={}", p["id"]),
            &admin.access,
        )
        .await;
    assert_eq!(listed.headers()["x-total-count"], "1");
}

#[rocket::async_test]
async fn fifty_parallel_logins_keep_the_server_answering_everything_else() {
    // Arrange: a hundred connections at once from this one address, past
    // the per-address cap that suits one clinic computer (that cap has its
    // own tests, in connections.rs); here the password hashing is tested.
    let app = spawn_app_with(|config| config.max_connections_per_address = 512).await;
    let admin = app.admin().await;
    let created = app.create_patient(&admin.access, &patient("Ada")).await;
    let path = format!("/api/patients/{}/", created["id"]);

    // Act: a burst of logins (argon2 each) and reads at the same time.
    let logins = (0..50).map(|_| async {
        app.login(crate::helpers::ADMIN_EMAIL, crate::helpers::PASSWORD)
            .await
            .status()
            .as_u16()
    });
    let reads = (0..50).map(|_| async { app.get(&path, &admin.access).await.status().as_u16() });
    let (logins, reads) = rocket::futures::future::join(join_all(logins), join_all(reads)).await;

    // Assert: every read answered; every login succeeded or was turned away
    // cleanly (503 busy with Retry-After), never a failure of the server.
    assert!(reads.iter().all(|s| *s == 200), "{reads:?}");
    assert!(logins.iter().all(|s| *s == 200 || *s == 503), "{logins:?}");
    assert!(logins.contains(&200));
}
