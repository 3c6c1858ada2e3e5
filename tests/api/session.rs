//! Browser sessions (`/api/auth/session/*`): the refresh token lives only in
//! an `HttpOnly`, `SameSite=Strict` cookie; the page sees just access tokens.

use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::{assert_error, json_with, spawn_app, TestApp, ADMIN_EMAIL, PASSWORD};

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
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/api/auth/session",
        "Max-Age=",
    ] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
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
async fn the_cookie_renews_the_session_once_and_a_replayed_cookie_ends_it() {
    // Arrange
    let app = spawn_app().await;
    app.admin().await;
    let first = cookie_pair(&set_cookie(&open_session(&app).await));

    // Act
    let renewed = refresh_with(&app, &first).await;
    let second = cookie_pair(&set_cookie(&renewed));
    let body: Value = json_with(renewed, 200).await;
    let replayed = refresh_with(&app, &first).await;

    // Assert: rotation, then reuse detection revokes the newer cookie too.
    assert_ne!(first, second, "the cookie is rotated");
    assert_eq!(body["user"]["email"], ADMIN_EMAIL);
    assert!(body.get("refresh").is_none());
    assert_error(replayed, 401, "not_authenticated").await;
    assert_error(refresh_with(&app, &second).await, 401, "not_authenticated").await;
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
