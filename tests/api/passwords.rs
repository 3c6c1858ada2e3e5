//! A password an admin sets is temporary: its owner must choose their own
//! before doing anything else.

use serde_json::json;

use crate::helpers::{assert_error, json_with, spawn_app, PASSWORD};

const NEW_PASSWORD: &str = "my own quiet harbour 4";

#[rocket::async_test]
async fn an_account_an_admin_creates_must_choose_its_own_password_before_anything_else() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({ "email": "nurse@clinic.test", "password": PASSWORD, "role": "staff" });
    let made = json_with(app.post("/api/users/", &admin.access, &body).await, 201).await;
    assert_eq!(made["must_change_password"], true);

    // Act
    let login = json_with(app.login("nurse@clinic.test", PASSWORD).await, 200).await;
    let access = login["access"].as_str().expect("access").to_owned();
    let patients = app.get("/api/patients/", &access).await;
    let rename = app
        .patch("/api/auth/me/", &access, &json!({ "name": "N" }))
        .await;
    let me = app.get("/api/auth/me/", &access).await;
    let change = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });
    let changed = app.post("/api/auth/password/", &access, &change).await;
    let old_token = app.get("/api/patients/", &access).await;
    let relogin = json_with(app.login("nurse@clinic.test", NEW_PASSWORD).await, 200).await;
    let access = relogin["access"].as_str().expect("access").to_owned();
    let after = app.get("/api/patients/", &access).await;

    // Assert
    assert_eq!(login["user"]["must_change_password"], true);
    assert_error(patients, 403, "password_change_required").await;
    assert_error(rename, 403, "password_change_required").await;
    assert_eq!(json_with(me, 200).await["must_change_password"], true);
    assert_eq!(changed.status(), 204);
    assert_eq!(
        old_token.status(),
        401,
        "a password change ends the account's access tokens"
    );
    assert_eq!(after.status(), 200, "the new password's login works");
    let me = json_with(app.get("/api/auth/me/", &access).await, 200).await;
    assert_eq!(me["must_change_password"], false);
}

#[rocket::async_test]
async fn a_reset_by_an_admin_is_temporary_unless_the_admin_says_otherwise() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nurse = app.account(&admin, "staff", "nurse@clinic.test").await;
    let path = format!("/api/users/{}/", nurse.id);

    // Act
    let reset = app
        .patch(&path, &admin.access, &json!({ "password": NEW_PASSWORD }))
        .await;
    let kept = app
        .patch(
            &path,
            &admin.access,
            &json!({ "password": PASSWORD, "must_change_password": false }),
        )
        .await;
    let bad = app
        .patch(
            &path,
            &admin.access,
            &json!({ "must_change_password": "maybe" }),
        )
        .await;

    // Assert
    assert_eq!(json_with(reset, 200).await["must_change_password"], true);
    assert_eq!(json_with(kept, 200).await["must_change_password"], false);
    assert_error(bad, 400, "validation_error").await;
    let login = json_with(app.login(&nurse.email, PASSWORD).await, 200).await;
    let access = login["access"].as_str().expect("access");
    assert_eq!(app.get("/api/patients/", access).await.status(), 200);
}
