//! Cross-origin access: none by default; an allow-listed origin gets its
//! own name back (never `*`, never credentials) and its preflight answered.

use reqwest::Method;

use crate::helpers::{header, spawn_app, spawn_app_with};

const LAB: &str = "http://lab.clinic.test:9000";

#[rocket::async_test]
async fn without_an_allow_list_no_other_origin_is_let_in() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let read = app
        .request(Method::GET, "/api/health", "")
        .header("Origin", LAB)
        .send()
        .await
        .expect("sent");
    let preflight = app
        .request(Method::OPTIONS, "/api/patients/", "")
        .header("Origin", LAB)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("sent");

    // Assert
    assert!(read.headers().get("access-control-allow-origin").is_none());
    assert!(preflight
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert_ne!(preflight.status(), 204);
}

#[rocket::async_test]
async fn an_allowed_origin_gets_its_own_name_back_and_its_preflight_answered() {
    // Arrange
    let app = spawn_app_with(|config| config.cors_origins = vec![LAB.to_owned()]).await;

    // Act
    let read = app
        .request(Method::GET, "/api/health", "")
        .header("Origin", LAB)
        .send()
        .await
        .expect("sent");
    let preflight = app
        .request(Method::OPTIONS, "/api/patients/", "")
        .header("Origin", LAB)
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .expect("sent");
    let other = app
        .request(Method::GET, "/api/health", "")
        .header("Origin", "http://elsewhere.test")
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(header(&read, "access-control-allow-origin"), LAB);
    assert!(read
        .headers()
        .get("access-control-allow-credentials")
        .is_none());
    assert!(header(&read, "vary").contains("Origin"));
    assert_eq!(preflight.status(), 204);
    assert_eq!(header(&preflight, "access-control-allow-origin"), LAB);
    assert!(header(&preflight, "access-control-allow-headers").contains("Authorization"));
    assert!(other.headers().get("access-control-allow-origin").is_none());
}

#[rocket::async_test]
async fn trace_is_never_echoed() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let trace = app
        .request(Method::TRACE, "/api/patients/", "")
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(trace.status(), 405);
}

#[rocket::async_test]
async fn the_fhir_view_follows_the_same_allow_list() {
    // Arrange
    let app = spawn_app_with(|config| config.cors_origins = vec![LAB.to_owned()]).await;
    let ask = |origin: &'static str| {
        app.request(Method::OPTIONS, "/fhir/Patient", "")
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .send()
    };

    // Act
    let allowed = ask(LAB).await.expect("sent");
    let other = ask("http://elsewhere.test").await.expect("sent");
    let metadata = app
        .request(Method::GET, "/fhir/metadata", "")
        .header("Origin", LAB)
        .send()
        .await
        .expect("sent");

    // Assert
    assert_eq!(allowed.status(), 204);
    assert_eq!(header(&allowed, "access-control-allow-origin"), LAB);
    assert!(header(&allowed, "access-control-allow-headers").contains("Authorization"));
    assert!(other.headers().get("access-control-allow-origin").is_none());
    assert_ne!(other.status(), 204);
    assert_eq!(header(&metadata, "access-control-allow-origin"), LAB);
    assert!(header(&metadata, "access-control-expose-headers").contains("Location"));
}
