//! Rules that hold on every route: bodies (400/413/415), trailing slashes, 405,
//! JSON 404s, the one error shape, security headers and the service routes.
//! Table-driven in the PocketBase `ApiScenario` style.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    created, doctor, header, json_with, patient, spawn_app, TestApp, ADMIN_EMAIL, PASSWORD,
};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const TEXT: &str = "text/plain";
const MIB: usize = 1024 * 1024;

/// `(method, path, body as (content type, text), expected status, expected code)`.
type Scenario<'a> = (&'a str, &'a str, Option<(&'a str, &'a str)>, u16, &'a str);

fn json_body(text: &str) -> Option<(&str, &str)> {
    Some((JSON, text))
}

/// A JSON patient body of exactly `size` bytes, padded with an unknown field.
fn patient_of_size(size: usize) -> String {
    let (head, tail) = (r#"{"first_name":"Big","padding":""#, r#""}"#);
    let text = format!("{head}{}{tail}", "x".repeat(size - head.len() - tail.len()));
    assert_eq!(text.len(), size);
    text
}

/// Asserts the one error shape: `detail` and `code` strings, and `errors`
/// (field -> non-empty list of messages) exactly when it is a validation error.
fn assert_error_shape(body: &Value) {
    let object = body.as_object().expect("an error body is a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if body["code"] == "validation_error" {
        assert_eq!(keys, ["code", "detail", "errors"], "{body}");
        let errors = body["errors"].as_object().expect("errors is an object");
        assert!(!errors.is_empty(), "{body}");
        for messages in errors.values() {
            let messages = messages.as_array().expect("a list of messages");
            assert!(
                !messages.is_empty() && messages.iter().all(Value::is_string),
                "{body}"
            );
        }
    } else {
        assert_eq!(keys, ["code", "detail"], "{body}");
    }
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
}

/// Runs every scenario with `token`, asserting status, `code`, a JSON
/// content type and the error shape. Returns each response's headers.
async fn run(app: &TestApp, token: &str, scenarios: &[Scenario<'_>]) -> Vec<HeaderMap> {
    let mut headers = Vec::new();
    for &(method, path, payload, status, code) in scenarios {
        let name = format!("{method} {path}");
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = app.request(method, path, token);
        if let Some((content_type, text)) = payload {
            request = request
                .header("Content-Type", content_type)
                .body(text.to_owned());
        }
        let response = request.send().await.expect("request sent");
        let content_type = header(&response, "content-type");
        headers.push(response.headers().clone());
        let actual = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(actual, status, "{name}: body {text}");
        assert!(content_type.starts_with(JSON), "{name}: {content_type}");
        assert!(!text.contains("<html"), "{name}: {text}");
        let body: Value = serde_json::from_str(&text).expect("a JSON error body");
        assert_eq!(body["code"], code, "{name}: {body}");
        assert_error_shape(&body);
    }
    headers
}

#[rocket::async_test]
async fn a_body_that_is_not_a_json_object_is_400_malformed_json() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let bad = "malformed_json";
    let scenarios = [
        (
            "POST",
            "/api/patients/",
            json_body(r#"{"first_name":"#),
            400,
            bad,
        ),
        (
            "PATCH",
            "/api/auth/me/",
            json_body(r#"{"name":"x",}"#),
            400,
            bad,
        ),
        (
            "POST",
            "/api/patients/",
            json_body(r#"[{"first_name":"Ada"}]"#),
            400,
            bad,
        ),
        ("POST", "/api/doctors/", json_body(r#""Ada""#), 400, bad),
        ("POST", "/api/users/", json_body("null"), 400, bad),
        ("POST", "/api/patients/", json_body(""), 400, bad),
        (
            "POST",
            "/api/auth/login/",
            json_body(r#"{"email""#),
            400,
            bad,
        ),
        ("POST", "/api/auth/login/", json_body("[]"), 400, bad),
    ];

    // Act + Assert
    run(&app, &admin.access, &scenarios).await;
}

#[rocket::async_test]
async fn a_body_with_another_content_type_is_415() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let patient_json = r#"{"first_name":"Ada"}"#;
    let code = "unsupported_media_type";
    let scenarios = [
        (
            "POST",
            "/api/patients/",
            Some((TEXT, patient_json)),
            415,
            code,
        ),
        (
            "POST",
            "/api/patients/",
            Some((FORM, "first_name=Ada")),
            415,
            code,
        ),
        (
            "POST",
            "/api/auth/login/",
            Some((FORM, "email=a%40b.test&password=x")),
            415,
            code,
        ),
        (
            "PATCH",
            "/api/auth/me/",
            Some((TEXT, r#"{"name":"x"}"#)),
            415,
            code,
        ),
    ];

    // Act + Assert
    run(&app, &admin.access, &scenarios).await;
    let with_charset = app
        .request(Method::POST, "/api/patients/", &admin.access)
        .header("Content-Type", "application/json; charset=utf-8")
        .body(patient_json)
        .send()
        .await
        .expect("request sent");
    assert_eq!(created(with_charset).await["first_name"], "Ada");
}

#[rocket::async_test]
async fn a_body_over_one_mebibyte_is_413_and_one_at_the_limit_is_accepted() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let over = patient_of_size(MIB + 1);
    let scenarios = [(
        "POST",
        "/api/patients/",
        json_body(&over),
        413,
        "payload_too_large",
    )];

    // Act + Assert
    run(&app, &admin.access, &scenarios).await;
    let at_limit = app
        .request(Method::POST, "/api/patients/", &admin.access)
        .header("Content-Type", JSON)
        .body(patient_of_size(MIB))
        .send()
        .await
        .expect("request sent");
    let stored = created(at_limit).await;
    assert_eq!(stored["first_name"], "Big");
    assert!(
        stored.get("padding").is_none(),
        "unknown fields are ignored"
    );
}

#[rocket::async_test]
async fn every_route_answers_with_and_without_a_trailing_slash() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let made = app.create_patient(&admin.access, &patient("Ada")).await;
    app.create_doctor(&admin.access, &doctor("Greg")).await;
    let one = format!("/api/patients/{}", made["id"]);
    let paths = [
        "/api/health",
        "/api/patients",
        one.as_str(),
        "/api/doctors",
        "/api/mappings",
        "/api/users",
        "/api/settings",
        "/api/auth/me",
    ];

    for path in paths {
        // Act
        let bare = json_with(app.get(path, &admin.access).await, 200).await;
        let slashed = json_with(app.get(&format!("{path}/"), &admin.access).await, 200).await;

        // Assert
        assert_eq!(bare, slashed, "{path}");
    }
    for path in ["/api/auth/login", "/api/token"] {
        let login = json!({ "email": ADMIN_EMAIL, "password": PASSWORD });
        assert_eq!(app.post(path, "", &login).await.status(), 200, "{path}");
    }
    let bare = app
        .post("/api/patients", &admin.access, &patient("Bo"))
        .await;
    assert_eq!(created(bare).await["first_name"], "Bo");
}

#[rocket::async_test]
async fn a_wrong_method_is_405_with_an_allow_header() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        ("PUT", "/api/health", "GET"),
        ("DELETE", "/api/patients/", "POST"),
        ("DELETE", "/api/doctors", "GET"),
        ("PUT", "/api/users/", "POST"),
        ("GET", "/api/auth/login/", "POST"),
        ("PUT", "/api/auth/me/", "PATCH"),
        ("POST", "/api/settings/", "PATCH"),
        ("POST", "/api/patients/1/", "DELETE"),
    ];
    let scenarios: Vec<Scenario<'_>> = cases
        .iter()
        .map(|&(method, path, _)| (method, path, None, 405, "method_not_allowed"))
        .collect();

    // Act
    let headers = run(&app, &admin.access, &scenarios).await;

    // Assert
    for ((method, path, allowed), headers) in cases.iter().zip(headers) {
        let allow = headers.get("allow").and_then(|v| v.to_str().ok());
        let allow = allow.unwrap_or_default();
        assert!(allow.contains(allowed), "{method} {path}: Allow {allow:?}");
        assert!(!allow.contains(method), "{method} {path}: Allow {allow:?}");
    }
}

#[rocket::async_test]
async fn unknown_api_paths_and_non_integer_ids_are_json_404s() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let scenarios = [
        ("GET", "/api/nonexistent", None, 404, "not_found"),
        ("GET", "/api/nonexistent/deeper/", None, 404, "not_found"),
        ("POST", "/api/nope/", json_body("{}"), 404, "not_found"),
        ("DELETE", "/api/nope", None, 404, "not_found"),
        ("GET", "/api/patients/abc", None, 404, "not_found"),
        ("GET", "/api/patients/abc/", None, 404, "not_found"),
        ("GET", "/api/patients/1.5/", None, 404, "not_found"),
        ("GET", "/api/patients/999999/", None, 404, "not_found"),
        ("GET", "/api/doctors/abc/", None, 404, "not_found"),
        ("GET", "/api/users/abc/", None, 404, "not_found"),
        ("GET", "/api/mappings/detail/abc/", None, 404, "not_found"),
        (
            "PATCH",
            "/api/patients/abc/",
            json_body("{}"),
            404,
            "not_found",
        ),
    ];

    // Act + Assert
    run(&app, &admin.access, &scenarios).await;
    run(
        &app,
        "",
        &[("GET", "/api/nonexistent", None, 404, "not_found")],
    )
    .await;
}

#[rocket::async_test]
async fn every_kind_of_error_has_the_one_shape() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let duplicate = json!({ "email": "user@clinic.test", "password": PASSWORD, "role": "user" });
    let duplicate = duplicate.to_string();
    let wrong_login = json!({ "email": ADMIN_EMAIL, "password": "not the password" }).to_string();
    let bad_patient = json!({ "first_name": " ", "gender": "X", "email": "nope" }).to_string();

    // Act + Assert (`run` checks the shape of each)
    let as_user = [
        (
            "POST",
            "/api/patients/",
            json_body(&bad_patient),
            400,
            "validation_error",
        ),
        ("GET", "/api/users/", None, 403, "permission_denied"),
        ("GET", "/api/patients/424242/", None, 404, "not_found"),
        ("PUT", "/api/health", None, 405, "method_not_allowed"),
        (
            "POST",
            "/api/patients/",
            Some((TEXT, "{}")),
            415,
            "unsupported_media_type",
        ),
        (
            "POST",
            "/api/patients/",
            json_body("{"),
            400,
            "malformed_json",
        ),
    ];
    run(&app, &user.access, &as_user).await;
    let as_admin = [(
        "POST",
        "/api/users/",
        json_body(&duplicate),
        409,
        "duplicate",
    )];
    run(&app, &admin.access, &as_admin).await;
    let anonymous = [
        ("GET", "/api/patients/", None, 401, "not_authenticated"),
        (
            "POST",
            "/api/auth/login/",
            json_body(&wrong_login),
            401,
            "invalid_credentials",
        ),
    ];
    run(&app, "", &anonymous).await;
    let garbage = [("GET", "/api/auth/me/", None, 401, "not_authenticated")];
    run(&app, "garbage", &garbage).await;
}

#[rocket::async_test]
async fn every_response_carries_the_security_headers_and_api_ones_are_not_cached() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let paths = [
        ("/api/health", ""),
        ("/api/auth/me/", admin.access.as_str()),
        ("/api/patients/", ""),
        ("/api/nonexistent", ""),
        ("/api/openapi.json", ""),
        ("/api/docs/", ""),
        ("/", ""),
    ];

    for (path, token) in paths {
        // Act
        let response = app.get(path, token).await;

        // Assert
        let csp = header(&response, "content-security-policy");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(
            header(&response, "referrer-policy"),
            "same-origin",
            "{path}"
        );
        assert!(csp.contains("default-src 'self'"), "{path}: CSP {csp:?}");
        assert!(
            csp.contains("frame-ancestors 'none'"),
            "{path}: CSP {csp:?}"
        );
        if path.starts_with("/api") {
            let cache = header(&response, "cache-control");
            assert!(
                cache.contains("no-store"),
                "{path}: Cache-Control {cache:?}"
            );
        }
    }
}

#[rocket::async_test]
async fn health_answers_without_a_token() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let response = app.get("/api/health", "").await;

    // Assert
    let health = json_with(response, 200).await;
    assert_eq!(
        health,
        json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION"), "database": "ok" })
    );
}

#[rocket::async_test]
async fn the_openapi_description_lists_the_main_routes() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert: the trailing slash is optional on every route, so either key form counts.
    assert!(
        spec["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.")),
        "{}",
        spec["openapi"]
    );
    let paths: Vec<&str> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|p| p.trim_end_matches('/'))
        .collect();
    for expected in [
        "/api/patients",
        "/api/patients/{id}",
        "/api/doctors",
        "/api/doctors/{id}",
        "/api/mappings",
        "/api/auth/login",
        "/api/auth/register",
        "/api/auth/refresh",
        "/api/users",
        "/api/users/{id}",
        "/api/settings",
        "/api/health",
    ] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }
}

#[rocket::async_test]
async fn the_docs_page_and_the_ui_are_html() {
    // Arrange
    let app = spawn_app().await;

    for path in ["/api/docs/", "/"] {
        // Act
        let response = app.get(path, "").await;

        // Assert
        assert_eq!(response.status(), 200, "{path}");
        let content_type = header(&response, "content-type");
        assert!(
            content_type.starts_with("text/html"),
            "{path}: {content_type}"
        );
        let text = response.text().await.expect("body").to_lowercase();
        assert!(
            text.contains("<html") || text.contains("<!doctype html"),
            "{path}"
        );
    }
}
