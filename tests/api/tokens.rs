//! Tokens: forged and malformed access tokens, refresh rotation and reuse
//! detection, logout, and the signing secret on disk.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

use crate::helpers::{
    assert_unauthenticated, b64url, json_with, jwt_secret, sign_token, spawn_app, spawn_app_with,
    token_claims, unix_now, ADMIN_EMAIL, PASSWORD,
};

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
        (
            "issued an hour ahead",
            hs256("iat", json!(unix_now() + 3600)),
        ),
        (
            "not before an hour ahead",
            hs256("nbf", json!(unix_now() + 3600)),
        ),
        (
            "lives ten years",
            hs256("exp", json!(unix_now() + 10 * 365 * 24 * 3600)),
        ),
        // Within the signature and the expiry, but longer than the
        // configured 15 minutes of an access token.
        ("lives an hour", hs256("exp", json!(unix_now() + 3600))),
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
async fn logout_ends_the_accounts_access_tokens_and_the_next_login_works_at_once() {
    // Arrange: two logins of one account; the second ends in the same
    // second as both were issued (a counter, not a time, tells them apart).
    let app = spawn_app().await;
    let admin = app.admin().await;
    let other_device = app.logged_in(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(app.get("/api/auth/me/", &admin.access).await.status(), 200);

    // Act
    let logout = app
        .post(
            "/api/auth/logout/",
            "",
            &json!({ "refresh": admin.refresh }),
        )
        .await;
    let again = app.logged_in(ADMIN_EMAIL, PASSWORD).await;

    // Assert
    assert_eq!(logout.status(), 204);
    assert_unauthenticated(app.get("/api/auth/me/", &admin.access).await).await;
    assert_unauthenticated(app.get("/api/auth/me/", &other_device.access).await).await;
    assert_eq!(app.get("/api/auth/me/", &again.access).await.status(), 200);
    // The other device's login was not ended: it renews and carries on.
    let renewed = json_with(app.refresh(&other_device.refresh).await, 200).await;
    let renewed = renewed["access"].as_str().expect("access");
    assert_eq!(app.get("/api/auth/me/", renewed).await.status(), 200);
}

#[rocket::async_test]
async fn a_password_change_ends_the_accounts_access_tokens() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({ "current_password": PASSWORD, "new_password": "violet lantern orchard 42" });

    // Act
    let changed = app.post("/api/auth/password/", &admin.access, &body).await;

    // Assert
    assert_eq!(changed.status(), 204);
    assert_unauthenticated(app.get("/api/auth/me/", &admin.access).await).await;
    let fresh = app
        .logged_in(ADMIN_EMAIL, "violet lantern orchard 42")
        .await;
    assert_eq!(app.get("/api/auth/me/", &fresh.access).await.status(), 200);
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

#[rocket::async_test]
async fn issued_tokens_carry_the_documented_claims_and_the_configured_lifetimes() {
    // Arrange
    let app = spawn_app_with(|c| {
        c.access_token_minutes = 5;
        c.refresh_token_days = 2;
    })
    .await;
    let admin = app.admin().await;
    let key = DecodingKey::from_secret(&jwt_secret(&app));
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["clinicdesk"]);
    validation.set_audience(&["clinicdesk"]);

    // Act
    let decode = |token: &str| jsonwebtoken::decode::<Value>(token, &key, &validation);
    let access = decode(&admin.access).expect("access token verifies").claims;
    let refresh = decode(&admin.refresh)
        .expect("refresh token verifies")
        .claims;

    // Assert
    let lifetime = |claims: &Value| claims["exp"].as_u64().zip(claims["iat"].as_u64());
    assert_eq!(lifetime(&access).map(|(exp, iat)| exp - iat), Some(5 * 60));
    assert_eq!(
        lifetime(&refresh).map(|(exp, iat)| exp - iat),
        Some(2 * 86_400)
    );
    assert_eq!(
        (access["typ"].clone(), refresh["typ"].clone()),
        (json!("access"), json!("refresh"))
    );
    assert_eq!(access["sub"], admin.id.to_string());
    assert_eq!(access["role"], "admin");
    assert!(access["jti"].is_string() && access["jti"] != refresh["jti"]);
}
