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

#[rocket::async_test]
async fn two_hundred_concurrent_writers_are_all_answered_and_all_kept() {
    // Arrange: room for 200 connections from this one test client (the
    // per-address connection cap is not what this test is about).
    let app = spawn_app_with(|config| config.max_connections_per_address = 256).await;
    let admin = app.admin().await;
    let staff = app.account(&admin, "staff", "staff@clinic.test").await;

    // Act: 200 creates at once, through one writer.
    let creates = (0..200).map(|i| {
        let body = patient(&format!("Racer{i}"));
        let (app, token) = (&app, &staff.access);
        async move {
            let response = app.post("/api/patients/", token, &body).await;
            let status = response.status().as_u16();
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            (status, body)
        }
    });
    let answers = join_all(creates).await;

    // Assert: no SQLITE_BUSY (a 500) or turned-away write reached a client,
    // and every acknowledged patient is there.
    let failed: Vec<_> = answers.iter().filter(|(s, _)| *s != 201).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let listed = app.get("/api/patients/?page_size=500", &staff.access).await;
    assert_eq!(crate::helpers::header(&listed, "X-Total-Count"), "200");
}

#[rocket::async_test]
async fn a_full_write_queue_is_answered_503_with_retry_after_and_nothing_is_half_written() {
    // Arrange: room for one waiting write, and the database's write lock
    // held from outside, so the writer is stuck on its first job.
    let app = spawn_app_with(|config| config.write_queue = 1).await;
    let admin = app.admin().await;
    let outside = rusqlite::Connection::open(app.data_dir.path().join("clinicdesk.sqlite3"))
        .expect("open the database file");
    outside
        .execute_batch("BEGIN IMMEDIATE")
        .expect("hold the write lock");

    // Act: ten creates at once; the turned-away ones answer at once, and
    // only then is the lock let go.
    let responses = (0..10).map(|i| {
        let body = json!({ "first_name": format!("Queued{i}"), "city": "Kiel" });
        let (app, token) = (&app, &admin.access);
        async move { app.post("/api/patients/", token, &body).await }
    });
    let mut pending: Vec<_> = responses.map(Box::pin).collect();
    let mut answered = Vec::new();
    let mut released = false;
    while !pending.is_empty() {
        let (response, _, rest) = rocket::futures::future::select_all(pending).await;
        pending = rest;
        let status = response.status().as_u16();
        let retry_after = crate::helpers::header(&response, "Retry-After");
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        answered.push((status, retry_after, body));
        // The writer is stuck on what it took and one more waits in the
        // queue: a turned-away write is answered without waiting for the lock.
        if !released && status == 503 {
            outside.execute_batch("ROLLBACK").expect("let go");
            released = true;
        }
    }

    // Assert
    let busy: Vec<_> = answered.iter().filter(|(s, _, _)| *s == 503).collect();
    let created: Vec<_> = answered.iter().filter(|(s, _, _)| *s == 201).collect();
    assert!(released, "some write was turned away: {answered:?}");
    assert_eq!(busy.len() + created.len(), 10, "{answered:?}");
    for (_, retry_after, body) in &busy {
        assert_eq!(retry_after, "1");
        assert_eq!(body["code"], "busy");
    }
    // Read from the file itself: a list or the audit endpoint records its
    // own read through the writer, and with room for one write the
    // server's background duplicate scoring can hold that one place.
    let count = |sql: &str| -> usize {
        let n: i64 = outside
            .query_row(sql, [], |row| row.get(0))
            .expect("count in the database file");
        usize::try_from(n).expect("a count")
    };
    assert_eq!(
        count("SELECT count(*) FROM patients WHERE city = 'Kiel'"),
        created.len()
    );
    assert_eq!(
        count("SELECT count(*) FROM audit_log WHERE action = 'create' AND entity = 'patient'"),
        created.len(),
        "one record per kept create, none for a turned-away one"
    );
}
