//! Sessions in the browser: reload, sign-out, idle sign-out, where the
//! tokens live (never in web storage; the refresh token only in its cookie),
//! and the warning when the connection itself is not encrypted.

use super::*;

#[rocket::async_test]
async fn a_reload_keeps_the_session_and_nothing_sensitive_is_kept_in_web_storage() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    add_patient(&app, &staff.access, &patient("Rosalind")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    let list = r#"table[data-list="patients"]"#;
    browser.wait_for_in(list, "Rosalind Lovelace").await;

    // Act
    browser.reload().await;

    // Assert: still signed in, on the same screen
    browser.wait_for_in(list, "Rosalind Lovelace").await;
    assert_eq!(browser.path().await, "/patients");
    assert!(
        browser.visible(r#"[data-action="logout"]"#).await,
        "signed in"
    );
    browser.assert_absent(LOGIN_FORM, "no login form").await;

    // Assert: no token or patient data in web storage, no cookie readable by scripts
    let storage = browser.web_storage().await;
    let dump = storage.to_string();
    for secret in ["eyJ", "Rosalind", "Lovelace", "access", "refresh", "token"] {
        assert!(!dump.contains(secret), "{secret:?} in web storage: {dump}");
    }
    assert!(
        !dump.contains(&staff.email),
        "the email in web storage: {dump}"
    );
    let empty = json!({ "local": {}, "session": {} });
    assert_eq!(storage, empty, "web storage stays empty");
    let cookies = browser.js("return document.cookie;").await;
    assert_eq!(cookies, "", "no cookie is readable by scripts");
}

#[rocket::async_test]
async fn signing_out_clears_the_screen_and_a_reload_does_not_bring_the_session_back() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Barbara")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Barbara Lovelace").await;

    // Act
    browser.act("logout").await;

    // Assert: the login form, nothing of the patient
    browser.wait_for(LOGIN_FORM).await;
    browser.wait_for_alert("You are signed out.").await;
    assert_eq!(browser.path().await, "/login");
    assert!(
        !browser.visible("header.topbar").await,
        "the app shell hides"
    );
    browser.assert_page_lacks("Barbara", "after sign-out").await;
    let storage = browser.web_storage().await.to_string();
    assert!(!storage.contains("Barbara"), "web storage: {storage}");

    // Act: reload, then ask for the patient's page directly
    browser.reload().await;
    browser.wait_for(LOGIN_FORM).await;
    browser.open(&format!("/patients/{id}")).await;

    // Assert: still signed out
    browser.wait_for(LOGIN_FORM).await;
    assert_eq!(browser.path().await, "/login");
    browser.assert_page_lacks("Barbara", "signed out").await;
}

#[rocket::async_test]
async fn the_refresh_token_lives_only_in_an_http_only_strict_cookie_on_its_own_path() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;

    // Act: the browser's own cookie jar, seen from an app page and from the cookie's path
    let on_app_page = browser.client.get_all_cookies().await.expect("cookies");
    browser.open("/api/auth/session/refresh/").await;
    let on_session_path = browser.client.get_all_cookies().await.expect("cookies");

    // Assert
    assert!(on_app_page.is_empty(), "app pages: {on_app_page:?}");
    let session = on_session_path
        .iter()
        .find(|c| c.name() == "clinicdesk_session")
        .unwrap_or_else(|| panic!("a session cookie: {on_session_path:?}"));
    assert_eq!(session.http_only(), Some(true), "HttpOnly");
    let same_site = session.same_site().map(|s| s.to_string());
    assert_eq!(same_site.as_deref(), Some("Strict"), "SameSite");
    assert_eq!(session.path(), Some("/api/auth/session"));
    assert!(!session.value().is_empty(), "a refresh token in the cookie");
}

#[rocket::async_test]
async fn an_idle_session_warns_then_signs_out_and_clears_the_screen() {
    // Arrange
    let (app, _admin, staff) = spawn_clinic().await;
    let id = add_patient(&app, &staff.access, &patient("Dorothy")).await;
    let browser = Browser::start(&app).await;
    browser.sign_in(&staff.email, PASSWORD).await;
    browser.click(&format!(r#"a[href="/patients/{id}"]"#)).await;
    browser.wait_for_in("h1", "Dorothy Lovelace").await;

    // Act: the UI's test hook turns 15 minutes into 6 seconds (warning for the last 4)
    browser
        .js("document.documentElement.dataset.idleSeconds = '6';
             document.documentElement.dataset.idleWarningSeconds = '4';")
        .await;

    // Assert: first the warning, then the sign-out, with the patient gone from the screen
    let warning = r#"[data-role="idle-warning"]"#;
    browser.wait_for(&format!("{warning}:not([hidden])")).await;
    browser
        .wait_for_alert("signed out after 15 minutes without activity")
        .await;
    browser.wait_for(LOGIN_FORM).await;
    assert_eq!(browser.path().await, "/login");
    assert!(!browser.visible(warning).await, "the warning is gone");
    browser
        .assert_page_lacks("Dorothy", "after the automatic sign-out")
        .await;

    // Assert: the server ended the session too
    browser.reload().await;
    browser.wait_for(LOGIN_FORM).await;
    assert!(!browser.visible("header.topbar").await, "still signed out");
}

#[rocket::async_test]
async fn plain_http_under_a_network_name_shows_the_not_encrypted_banner_and_loopback_does_not() {
    // Arrange: Chromium reaches the test server as clinic.example (resolved to 127.0.0.1).
    let app = spawn_app().await;
    let browser = Browser::start_as(&app, "clinic.example").await;
    let banner = r#"[data-role="insecure-warning"]"#;

    // Act
    browser.open("/login").await;

    // Assert: the warning, over the sign-in form
    browser.wait_for(LOGIN_FORM).await;
    let shown = browser.wait_for(&format!("{banner}:not([hidden])")).await;
    let text = shown.text().await.unwrap_or_default();
    assert_eq!(
        text,
        "This connection is not encrypted: patient data crosses the network in clear text. \
         Ask your IT person to turn on HTTPS."
    );
    assert!(browser.visible(banner).await, "the banner is displayed");
    browser.screenshot("insecure-warning").await;

    // Act: the same server on its loopback address
    let loopback = format!("{}/login", app.base);
    browser.client.goto(&loopback).await.expect("open loopback");

    // Assert: no warning there
    browser.wait_for(LOGIN_FORM).await;
    browser.wait_for(&format!("{banner}[hidden]")).await;
    assert!(!browser.visible(banner).await, "no banner on loopback");
}
