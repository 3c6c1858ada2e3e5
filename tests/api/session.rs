//! Browser sessions (`/api/auth/session/*`): the refresh token lives only in
//! an `HttpOnly`, `SameSite=Strict` cookie; the page sees just access tokens.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, json_with, jwt_secret, sign_token, spawn_app, unix_now, TestApp, ADMIN_EMAIL,
    PASSWORD,
};

/// The `Set-Cookie` header of a response (there is at most one here).
fn set_cookie(response: &Response) -> String {
    response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `name=value` of a `Set-Cookie` header, as a browser would send it back.
fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap_or_default().to_owned()
}

async fn open_session(app: &TestApp) -> Response {
    app.post(
        "/api/auth/session/",
        "",
        &json!({ "email": ADMIN_EMAIL, "password": PASSWORD }),
    )
    .await
}

async fn refresh_with(app: &TestApp, cookie: &str) -> Response {
    app.request(Method::POST, "/api/auth/session/refresh/", "")
        .header("Cookie", cookie)
        .send()
        .await
        .expect("sent")
}

#[rocket::async_test]
async fn a_browser_login_puts_the_refresh_token_only_in_a_strict_http_only_cookie() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;

    // Act
    let response = open_session(&app).await;

    // Assert
    let cookie = set_cookie(&response);
    let body = json_with(response, 200).await;
    assert!(cookie.starts_with("clinicdesk_session="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/api/auth/session"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "closing the browser ends it: {cookie}"
    );
    assert!(
        body.get("refresh").is_none(),
        "no refresh token in the body: {body}"
    );
    assert!(body["access"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    let me = app
        .get("/api/auth/me/", body["access"].as_str().unwrap_or_default())
        .await;
    assert_eq!(me.status(), 200);
}

#[rocket::async_test]
async fn the_cookie_renews_the_session_and_a_replay_after_the_grace_ends_it() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;
    let first = cookie_pair(&set_cookie(&open_session(&app).await));

    // Act: renew, then show the first cookie again after its grace is over.
    let renewed = refresh_with(&app, &first).await;
    let second = cookie_pair(&set_cookie(&renewed));
    let body: Value = json_with(renewed, 200).await;
    age_refresh_uses(&app);
    let replayed = refresh_with(&app, &first).await;

    // Assert: rotation, then reuse detection revokes the newer cookie too.
    assert_ne!(first, second, "the cookie is rotated");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert!(body.get("refresh").is_none());
    assert_error(replayed, 401, "not_authenticated").await;
    assert_error(refresh_with(&app, &second).await, 401, "not_authenticated").await;
}

/// Moves every recorded refresh-token use an hour into the past, as if
/// the renewal grace had long run out (instead of waiting for it).
fn age_refresh_uses(app: &TestApp) {
    let conn = rusqlite::Connection::open(app.data_dir.path().join("clinicdesk.sqlite3"))
        .expect("database");
    conn.execute(
        "UPDATE refresh_tokens SET used_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '-1 hour') WHERE used_at IS NOT NULL",
        [],
    )
    .expect("aged");
}

#[rocket::async_test]
async fn two_tabs_renewing_with_the_same_cookie_at_once_both_stay_signed_in() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;
    let cookie = cookie_pair(&set_cookie(&open_session(&app).await));

    // Act
    let (one, two) =
        rocket::futures::future::join(refresh_with(&app, &cookie), refresh_with(&app, &cookie))
            .await;
    let (one, two) = (
        cookie_pair(&set_cookie(&one)),
        cookie_pair(&set_cookie(&two)),
    );

    // Assert: both renewed, and each new cookie keeps working.
    assert_eq!(
        json_with(refresh_with(&app, &one).await, 200).await["user"]["email"],
        ADMIN_EMAIL
    );
    assert_eq!(
        json_with(refresh_with(&app, &two).await, 200).await["user"]["email"],
        ADMIN_EMAIL
    );
}

#[rocket::async_test]
async fn a_session_left_idle_past_the_limit_is_not_renewed() {
    // Arrange: the real session token, re-signed as if issued 20 minutes ago.
    let app = spawn_app().await;
    app.admin().await;
    let cookie = cookie_pair(&set_cookie(&open_session(&app).await));
    let token = cookie.trim_start_matches("clinicdesk_session=");
    let secret = jwt_secret(&app);
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
    validation.set_audience(&["clinicdesk"]);
    let mut claims = jsonwebtoken::decode::<Value>(
        token,
        &jsonwebtoken::DecodingKey::from_secret(&secret),
        &validation,
    )
    .expect("the server's own token")
    .claims;
    claims["iat"] = json!(unix_now() - 20 * 60);
    // The same lifetime as issued (a longer one is refused for that alone).
    claims["exp"] = json!(claims["exp"].as_u64().expect("exp") - 20 * 60);
    let idle = format!(
        "clinicdesk_session={}",
        sign_token(&secret, jsonwebtoken::Algorithm::HS256, &claims)
    );

    // Act
    let response = refresh_with(&app, &idle).await;

    // Assert
    let body = assert_error(response, 401, "not_authenticated").await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("without activity"),
        "{body}"
    );
}

#[rocket::async_test]
async fn without_a_session_cookie_refresh_is_401() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app
        .request(Method::POST, "/api/auth/session/refresh/", "")
        .send()
        .await
        .expect("sent");

    // Assert
    assert_error(response, 401, "not_authenticated").await;
}

#[rocket::async_test]
async fn logout_clears_the_cookie_and_ends_the_session_on_the_server() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;
    let cookie = cookie_pair(&set_cookie(&open_session(&app).await));

    // Act
    let response = app
        .request(Method::POST, "/api/auth/session/logout/", "")
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(response.status(), 204);
    let cleared = set_cookie(&response);
    assert!(cleared.starts_with("clinicdesk_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_error(refresh_with(&app, &cookie).await, 401, "not_authenticated").await;
}
