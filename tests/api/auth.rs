//! Setup, registration, login, tokens, refresh, logout, me and password change.

use jsonwebtoken::Algorithm;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, assert_field_errors, assert_unauthenticated, b64url, created, json_with,
    jwt_secret, sign_token, spawn_app, spawn_app_with, spawn_open_app, token_claims, unix_now,
    ADMIN_EMAIL, PASSWORD,
};

const NEW_PASSWORD: &str = "violet lantern orchard 42";
/// In the bad-password table: "send no `password_confirm`".
const PASSWORD_CONFIRM_OK: &str = "";

#[rocket::async_test]
async fn setup_creates_the_first_admin_once_and_then_answers_404() {
    // Arrange
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a setup token while no admin exists");
    let body = json!({ "token": token, "email": ADMIN_EMAIL, "password": PASSWORD, "name": "Ada" });

    // Act
    let first = app.post("/api/setup/", "", &body).await;
    let second = app.post("/api/setup/", "", &body).await;

    // Assert
    let admin = created(first).await;
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["email"], ADMIN_EMAIL);
    assert!(admin.get("password").is_none() && !admin.to_string().contains("argon2"));
    assert_error(second, 404, "not_found").await;
}

#[rocket::async_test]
async fn setup_with_a_wrong_token_is_401_and_a_weak_password_is_400() {
    // Arrange
    let app = spawn_app().await;
    let token = app.setup_token.clone().expect("setup token");

    // Act
    let wrong = json!({ "token": "not-the-token", "email": ADMIN_EMAIL, "password": PASSWORD });
    let wrong_token = app.post("/api/setup/", "", &wrong).await;
    let weak = json!({ "token": token, "email": ADMIN_EMAIL, "password": "password123" });
    let weak_password = app.post("/api/setup/", "", &weak).await;

    // Assert
    assert_error(wrong_token, 401, "not_authenticated").await;
    assert_field_errors(weak_password, &["password"]).await;
}

#[rocket::async_test]
async fn registration_is_closed_by_default_and_says_who_can_open_it() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .register(&json!({ "email": "new@clinic.test", "password": PASSWORD }))
        .await;

    // Assert
    let body = assert_error(response, 403, "registration_closed").await;
    let detail = body["detail"].as_str().unwrap_or_default().to_lowercase();
    assert!(
        detail.contains("admin"),
        "detail names who can open it: {body}"
    );
}

#[rocket::async_test]
async fn registration_opened_in_settings_takes_effect_at_once() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let opened = app
        .patch(
            "/api/settings/",
            &admin.access,
            &json!({ "registration": "open" }),
        )
        .await;
    assert_eq!(json_with(opened, 200).await["registration"], "open");

    // Act
    let response = app
        .register(&json!({ "email": "new@clinic.test", "password": PASSWORD }))
        .await;

    // Assert
    assert_eq!(created(response).await["role"], "user");
}

#[rocket::async_test]
async fn register_creates_a_plain_user_and_ignores_role_and_is_active() {
    // Arrange
    let app = spawn_open_app().await;
    let body = json!({
        "email": "Mallory@Clinic.test", "password": PASSWORD, "name": "Mallory",
        "username": "mallory", "role": "admin", "is_active": false, "id": 77,
    });

    // Act
    let response = app.register(&body).await;

    // Assert
    let user = created(response).await;
    assert_eq!(user["role"], "user");
    assert_eq!(user["is_active"], true);
    assert_eq!(user["email"], "mallory@clinic.test", "stored lowercase");
    assert_eq!(user["username"], "mallory");
    assert_ne!(user["id"], 77);
    assert!(user["created_at"].is_string());
    let text = user.to_string();
    assert!(
        !text.contains("password") && !text.contains("argon2"),
        "{text}"
    );
    let mallory = app.logged_in("mallory@clinic.test", PASSWORD).await;
    let users = app.get("/api/users/", &mallory.access).await;
    assert_error(users, 403, "permission_denied").await;
}

#[rocket::async_test]
async fn register_rejects_a_duplicate_email_in_any_case_and_a_duplicate_username() {
    // Arrange
    let app = spawn_open_app().await;
    let first = json!({ "email": "ann@clinic.test", "username": "ann", "password": PASSWORD });
    created(app.register(&first).await).await;

    // Act
    let same_email = app
        .register(&json!({ "email": "ANN@Clinic.Test", "password": PASSWORD }))
        .await;
    let same_username = app
        .register(&json!({ "email": "other@clinic.test", "username": "ann", "password": PASSWORD }))
        .await;

    // Assert
    assert_error(same_email, 409, "duplicate").await;
    assert_error(same_username, 409, "duplicate").await;
}

#[rocket::async_test]
async fn register_rejects_bad_passwords_with_the_field_that_is_wrong() {
    // Arrange
    let app = spawn_open_app().await;
    let many_bytes = "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞßàáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿ".repeat(3);
    assert!(many_bytes.chars().count() < 256 && many_bytes.len() > 256);
    let cases = [
        ("common", "password123", PASSWORD_CONFIRM_OK, "password"),
        (
            "keyboard row",
            "qwertyuiop",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        ("digits", "12345678", PASSWORD_CONFIRM_OK, "password"),
        ("too short", "Zq9#mK2", PASSWORD_CONFIRM_OK, "password"),
        (
            "over 256 bytes",
            many_bytes.as_str(),
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "equal to the email",
            "ROSALIND.FRANKLIN@CLINIC.TEST",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "equal to the name",
            "rosalind elsie franklin",
            PASSWORD_CONFIRM_OK,
            "password",
        ),
        (
            "confirm differs",
            PASSWORD,
            "correct horse battery 8",
            "password_confirm",
        ),
    ];

    for (case, password, confirm, field) in cases {
        // Act
        println!("case: {case}");
        let mut body = json!({
            "email": "rosalind.franklin@clinic.test", "name": "Rosalind Elsie Franklin",
            "password": password,
        });
        if confirm != PASSWORD_CONFIRM_OK {
            body["password_confirm"] = json!(confirm);
        }
        let response = app.register(&body).await;

        // Assert
        assert_field_errors(response, &[field]).await;
    }
    let missing = app.register(&json!({ "name": "Nobody" })).await;
    assert_field_errors(missing, &["email", "password"]).await;
}

#[rocket::async_test]
async fn login_works_by_email_in_any_case_by_username_and_through_the_token_alias() {
    // Arrange
    let app = spawn_app_with(|c| {
        c.registration = clinicdesk::config::Registration::Open;
        c.access_token_minutes = 15;
    })
    .await;
    let body = json!({ "email": "kim@clinic.test", "username": "kim", "password": PASSWORD });
    created(app.register(&body).await).await;
    let attempts = [
        ("/api/auth/login/", "email", "KIM@clinic.test"),
        ("/api/auth/login/", "username", "kim"),
        ("/api/auth/login/", "username", "kim@clinic.test"),
        ("/api/token/", "email", "kim@clinic.test"),
    ];

    for (path, field, value) in attempts {
        // Act
        let credentials = json!({ field: value, "password": PASSWORD });
        let response = app.post(path, "", &credentials).await;

        // Assert
        let login = json_with(response, 200).await;
        assert_eq!(login["token_type"], "Bearer", "{credentials}");
        assert_eq!(login["expires_in"], 900, "{credentials}");
        assert_eq!(login["user"]["email"], "kim@clinic.test");
        assert!(login["refresh"].is_string());
        assert!(!login.to_string().contains("argon2"), "no hash in {login}");
        let access = login["access"].as_str().expect("access token");
        let me = json_with(app.get("/api/auth/me/", access).await, 200).await;
        assert_eq!(me["email"], "kim@clinic.test");
    }
}

#[rocket::async_test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_401() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;

    // Act
    let wrong_password = app.login(ADMIN_EMAIL, "correct horse battery 8").await;
    let unknown_email = app.login("nobody@clinic.test", PASSWORD).await;

    // Assert
    let a = assert_error(wrong_password, 401, "invalid_credentials").await;
    let b = assert_error(unknown_email, 401, "invalid_credentials").await;
    assert_eq!(a, b, "the two failures must be indistinguishable");
}

#[rocket::async_test]
async fn a_deactivated_account_cannot_log_in() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "leaver@clinic.test").await;
    let deleted = app
        .delete(&format!("/api/users/{}/", user.id), &admin.access)
        .await;
    assert_eq!(deleted.status(), 204);

    // Act
    let right_password = app.login(&user.email, PASSWORD).await;
    let wrong_password = app.login(&user.email, "correct horse battery 8").await;

    // Assert
    assert_error(right_password, 401, "account_inactive").await;
    assert_error(wrong_password, 401, "invalid_credentials").await;
}

#[rocket::async_test]
async fn a_token_forged_with_the_servers_secret_is_accepted() {
    // Arrange: proves the forging below matches the server, so its failures mean something.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let token = sign_token(
        &jwt_secret(&app),
        Algorithm::HS256,
        &token_claims(admin.id, "access"),
    );

    // Act
    let response = app.get("/api/auth/me/", &token).await;

    // Assert
    assert_eq!(json_with(response, 200).await["email"], ADMIN_EMAIL);
}

#[rocket::async_test]
async fn every_bad_access_token_is_401_with_a_bearer_challenge() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let key = jwt_secret(&app);
    let valid = token_claims(admin.id, "access");
    let with = |field: &str, value: Value| {
        let mut changed = valid.clone();
        changed[field] = value;
        changed
    };
    let bearer =
        |key: &[u8], alg, claims: &Value| format!("Bearer {}", sign_token(key, alg, claims));
    let hs256 = |field, value| bearer(&key, Algorithm::HS256, &with(field, value));
    let parts: Vec<&str> = admin.access.split('.').collect();
    let tampered = b64url(with("sub", json!("999")).to_string().as_bytes());
    let unsigned = b64url(valid.to_string().as_bytes());
    let cases = [
        ("no scheme", admin.access.clone()),
        ("basic scheme", format!("Basic {}", admin.access)),
        ("bearer alone", "Bearer".to_owned()),
        ("garbage", "Bearer not.a.jwt".to_owned()),
        ("refresh as access", format!("Bearer {}", admin.refresh)),
        ("expired", hs256("exp", json!(unix_now() - 3600))),
        (
            "wrong secret",
            bearer(
                b"0123456789abcdef0123456789abcdef",
                Algorithm::HS256,
                &valid,
            ),
        ),
        ("hs512", bearer(&key, Algorithm::HS512, &valid)),
        (
            "alg none",
            format!(
                "Bearer {}.{unsigned}.",
                b64url(br#"{"alg":"none","typ":"JWT"}"#)
            ),
        ),
        (
            "tampered payload",
            format!("Bearer {}.{tampered}.{}", parts[0], parts[2]),
        ),
        ("wrong iss", hs256("iss", json!("someone-else"))),
        ("wrong aud", hs256("aud", json!("someone-else"))),
        ("typ refresh", hs256("typ", json!("refresh"))),
        ("unknown user", hs256("sub", json!("999"))),
    ];

    for (case, authorization) in cases {
        // Act
        println!("case: {case}");
        let response = app
            .get_with_authorization("/api/auth/me/", &authorization)
            .await;

        // Assert
        let body = assert_unauthenticated(response).await;
        assert!(!body.to_string().contains(ADMIN_EMAIL), "{case}: {body}");
    }
    assert_unauthenticated(app.get("/api/auth/me/", "").await).await;
}

#[rocket::async_test]
async fn refresh_rotates_the_token_and_the_old_one_stops_working() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let rotated = json_with(app.refresh(&admin.refresh).await, 200).await;
    let replayed = app.refresh(&admin.refresh).await;

    // Assert
    assert_eq!(rotated["token_type"], "Bearer");
    assert!(rotated["expires_in"].is_u64());
    assert_ne!(rotated["refresh"], admin.refresh.as_str());
    let me = app
        .get(
            "/api/auth/me/",
            rotated["access"].as_str().unwrap_or_default(),
        )
        .await;
    assert_eq!(me.status(), 200);
    assert_unauthenticated(replayed).await;
}

#[rocket::async_test]
async fn reusing_a_used_refresh_token_revokes_the_whole_login_but_not_others() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other_login = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    let rotated = json_with(app.refresh(&admin.refresh).await, 200).await;
    let newer = rotated["refresh"].as_str().expect("refresh").to_owned();

    // Act
    let reuse = app.refresh(&admin.refresh).await;
    let newer_after_reuse = app.refresh(&newer).await;
    let other_after_reuse = app.refresh(&other_login.refresh).await;

    // Assert
    assert_unauthenticated(reuse).await;
    assert_unauthenticated(newer_after_reuse).await;
    assert_eq!(
        other_after_reuse.status(),
        200,
        "another login is untouched"
    );
}

#[rocket::async_test]
async fn the_token_refresh_alias_rotates_too_and_refuses_an_access_token() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let alias = app
        .post(
            "/api/token/refresh/",
            "",
            &json!({ "refresh": admin.refresh }),
        )
        .await;
    let access_as_refresh = app.refresh(&admin.access).await;
    let garbage = app.refresh("garbage").await;

    // Assert
    assert!(json_with(alias, 200).await["access"].is_string());
    assert_unauthenticated(access_as_refresh).await;
    assert_unauthenticated(garbage).await;
}

#[rocket::async_test]
async fn logout_revokes_that_refresh_token_without_needing_an_access_token() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let logout = app
        .post(
            "/api/auth/logout/",
            "",
            &json!({ "refresh": admin.refresh }),
        )
        .await;
    let refresh_after = app.refresh(&admin.refresh).await;
    let unknown = app
        .post(
            "/api/auth/logout/",
            "",
            &json!({ "refresh": "not-a-token" }),
        )
        .await;

    // Assert
    assert_eq!(logout.status(), 204);
    assert_unauthenticated(refresh_after).await;
    assert_unauthenticated(unknown).await;
}

#[rocket::async_test]
async fn me_shows_the_caller_and_patch_changes_name_and_username_but_not_role() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "pat@clinic.test").await;
    let changes =
        json!({ "name": "Pat Doe", "username": "pat", "role": "admin", "is_active": false });

    // Act
    let patched = app.patch("/api/auth/me/", &user.access, &changes).await;
    let me = app.get("/api/auth/me/", &user.access).await;

    // Assert
    let patched = json_with(patched, 200).await;
    assert_eq!(patched["name"], "Pat Doe");
    assert_eq!(patched["username"], "pat");
    assert_eq!(patched["role"], "user");
    let me = json_with(me, 200).await;
    assert_eq!(
        (me["role"].clone(), me["is_active"].clone()),
        (json!("user"), json!(true))
    );
    assert!(!me.to_string().contains("argon2"));
    let users = app.get("/api/users/", &user.access).await;
    assert_error(users, 403, "permission_denied").await;
}

#[rocket::async_test]
async fn password_change_needs_the_current_password_and_a_strong_new_one() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;

    // Act
    let wrong_current =
        json!({ "current_password": "correct horse battery 8", "new_password": NEW_PASSWORD });
    let wrong = app
        .post("/api/auth/password/", &admin.access, &wrong_current)
        .await;
    let weak_new = json!({ "current_password": PASSWORD, "new_password": "password123" });
    let weak = app
        .post("/api/auth/password/", &admin.access, &weak_new)
        .await;

    // Assert
    assert_field_errors(wrong, &["current_password"]).await;
    assert_field_errors(weak, &["new_password"]).await;
    assert_eq!(
        app.login(ADMIN_EMAIL, PASSWORD).await.status(),
        200,
        "unchanged"
    );
}

#[rocket::async_test]
async fn password_change_swaps_the_password_and_revokes_every_refresh_token() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let second_login = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    let body = json!({ "current_password": PASSWORD, "new_password": NEW_PASSWORD });

    // Act
    let changed = app.post("/api/auth/password/", &admin.access, &body).await;

    // Assert
    assert_eq!(changed.status(), 204);
    assert_unauthenticated(app.refresh(&admin.refresh).await).await;
    assert_unauthenticated(app.refresh(&second_login.refresh).await).await;
    assert_error(
        app.login(ADMIN_EMAIL, PASSWORD).await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_eq!(app.login(ADMIN_EMAIL, NEW_PASSWORD).await.status(), 200);
}

#[rocket::async_test]
async fn the_signing_secret_is_a_private_file_in_the_data_dir() {
    use std::os::unix::fs::PermissionsExt;

    // Arrange
    let app = spawn_app().await;

    // Act
    let metadata = std::fs::metadata(app.data_dir.path().join("jwt.key")).expect("jwt.key");

    // Assert
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert_eq!(jwt_secret(&app).len(), 32, "256-bit secret");
}
