//! Rules that hold on every route: bodies (400/413/415), trailing slashes, 405,
//! JSON 404s, not-yours-is-404, the one error shape, security headers and the
//! service routes. Table-driven in the style of `PocketBase`'s `ApiScenario`.

use reqwest::header::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, created, doctor, header, json_with, patient, spawn_app, TestApp, ADMIN_EMAIL,
    PASSWORD,
};

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";
const TEXT: &str = "text/plain";
/// In a scenario: send no body.
const NO_BODY: &str = "";
const MIB: usize = 1024 * 1024;

/// `(method, path, content type of the body or NO_BODY, body)`.
type Scenario<'a> = (&'a str, &'a str, &'a str, &'a str);

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
            let all_text = messages.iter().all(Value::is_string);
            assert!(!messages.is_empty() && all_text, "{body}");
        }
    } else {
        assert_eq!(keys, ["code", "detail"], "{body}");
    }
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(!detail.is_empty(), "{body}");
    assert!(
        body["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{body}"
    );
}

/// Sends every scenario with `token` and asserts `status`, `code`, a JSON
/// content type and the one error shape. Returns each response's headers.
async fn run(
    app: &TestApp,
    token: &str,
    status: u16,
    code: &str,
    scenarios: &[Scenario<'_>],
) -> Vec<HeaderMap> {
    let mut headers = Vec::new();
    for &(method, path, content_type, payload) in scenarios {
        let name = format!("{method} {path}");
        let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut request = app.request(method, path, token);
        if content_type != NO_BODY {
            let request_with_body = request.header("Content-Type", content_type);
            request = request_with_body.body(payload.to_owned());
        }
        let response = request.send().await.expect("request sent");
        let answered_type = header(&response, "content-type");
        headers.push(response.headers().clone());
        let actual = response.status();
        let text = response.text().await.expect("body");
        assert_eq!(actual, status, "{name}: body {text}");
        assert!(answered_type.starts_with(JSON), "{name}: {answered_type}");
        assert!(!text.contains("<html"), "{name}: {text}");
        let body: Value = serde_json::from_str(&text).expect("a JSON error body");
        assert_eq!(body["code"], code, "{name}: {body}");
        assert_error_shape(&body);
    }
    headers
}

#[rocket::async_test]
async fn a_body_naming_a_key_twice_at_any_depth_is_400_malformed_json_and_changes_nothing() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let scenarios = [
        (
            "POST",
            "/api/users/",
            JSON,
            r#"{"email":"eve@clinic.test","password":"violet lantern orchard 42","role":"user","role":"admin"}"#,
        ),
        (
            "POST",
            "/api/patients/",
            JSON,
            r#"{"first_name":"Ada","role":"user","role":"admin"}"#,
        ),
        (
            "POST",
            "/api/patients/",
            JSON,
            r#"{"first_name":"Ada","first_name":"Eve"}"#,
        ),
        (
            "POST",
            "/api/patients/",
            JSON,
            r#"{"first_name":"Ada","extra":[{"a":1,"b":{"c":1,"c":2}}]}"#,
        ),
    ];

    // Act + Assert
    run(&app, &admin.access, 400, "malformed_json", &scenarios).await;
    let users = app.get("/api/users/", &admin.access).await;
    assert_eq!(header(&users, "x-total-count"), "1", "no account was made");
    let patients = app.get("/api/patients/", &admin.access).await;
    assert_eq!(
        header(&patients, "x-total-count"),
        "0",
        "no patient was made"
    );
}

#[rocket::async_test]
async fn a_body_that_is_not_a_json_object_is_400_malformed_json() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let scenarios = [
        ("POST", "/api/patients/", JSON, r#"{"first_name":"#),
        ("PATCH", "/api/auth/me/", JSON, r#"{"name":"x",}"#),
        ("POST", "/api/patients/", JSON, r#"[{"first_name":"A"}]"#),
        ("POST", "/api/doctors/", JSON, r#""Ada""#),
        ("POST", "/api/users/", JSON, "null"),
        ("POST", "/api/patients/", JSON, ""),
        ("POST", "/api/auth/login/", JSON, r#"{"email""#),
        ("POST", "/api/auth/login/", JSON, "[]"),
    ];

    // Act + Assert
    run(&app, &admin.access, 400, "malformed_json", &scenarios).await;
}

#[rocket::async_test]
async fn a_body_with_another_content_type_is_415() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let patient_json = r#"{"first_name":"Ada"}"#;
    let scenarios = [
        ("POST", "/api/patients/", TEXT, patient_json),
        ("POST", "/api/patients/", FORM, "first_name=Ada"),
        (
            "POST",
            "/api/auth/login/",
            FORM,
            "email=a%40b.test&password=x",
        ),
        ("PATCH", "/api/auth/me/", TEXT, r#"{"name":"x"}"#),
    ];

    // Act + Assert
    run(
        &app,
        &admin.access,
        415,
        "unsupported_media_type",
        &scenarios,
    )
    .await;
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
    let scenarios = [("POST", "/api/patients/", JSON, over.as_str())];

    // Act + Assert
    run(&app, &admin.access, 413, "payload_too_large", &scenarios).await;
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
        &one,
        "/api/doctors",
        "/api/mappings",
        "/api/users",
        "/api/settings",
        "/api/auth/me",
    ];

    for path in paths {
        // Act
        let bare = json_with(app.get(path, &admin.access).await, 200).await;
        let slashed = app.get(&format!("{path}/"), &admin.access).await;

        // Assert
        assert_eq!(bare, json_with(slashed, 200).await, "{path}");
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
        .map(|&(method, path, _)| (method, path, NO_BODY, ""))
        .collect();

    // Act
    let headers = run(&app, &admin.access, 405, "method_not_allowed", &scenarios).await;

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
        ("GET", "/api/nonexistent", NO_BODY, ""),
        ("GET", "/api/nonexistent/deeper/", NO_BODY, ""),
        ("POST", "/api/nope/", JSON, "{}"),
        ("DELETE", "/api/nope", NO_BODY, ""),
        ("GET", "/api/patients/abc", NO_BODY, ""),
        ("GET", "/api/patients/abc/", NO_BODY, ""),
        ("GET", "/api/patients/1.5/", NO_BODY, ""),
        ("GET", "/api/patients/999999/", NO_BODY, ""),
        ("GET", "/api/doctors/abc/", NO_BODY, ""),
        ("GET", "/api/users/abc/", NO_BODY, ""),
        ("GET", "/api/mappings/detail/abc/", NO_BODY, ""),
        ("PATCH", "/api/patients/abc/", JSON, "{}"),
    ];

    // Act + Assert
    run(&app, &admin.access, 404, "not_found", &scenarios).await;
    let anonymous = [("GET", "/api/nonexistent", NO_BODY, "")];
    run(&app, "", 404, "not_found", &anonymous).await;
}

#[rocket::async_test]
async fn another_users_patient_and_its_mappings_are_404_on_every_route() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let owner = app.account(&admin, "user", "owner@clinic.test").await;
    let stranger = app.account(&admin, "user", "stranger@clinic.test").await;
    let secret = json!({ "first_name": "Zebulon", "last_name": "Quixote" });
    let pid = app.create_patient(&owner.access, &secret).await["id"].clone();
    let did = app.create_doctor(&admin.access, &doctor("Greg")).await["id"].clone();
    let link = json!({ "patient": pid, "doctor": did, "reason": "Zebulon's heart" });
    let mid = app.create_mapping(&owner.access, &link).await["id"].clone();
    let patient_path = format!("/api/patients/{pid}/");
    let by_patient = format!("/api/mappings/{pid}/");
    let (by_id, detail) = (
        format!("/api/mappings/{mid}/"),
        format!("/api/mappings/detail/{mid}/"),
    );
    let delete = format!("/api/mappings/delete/{mid}/");
    let body = r#"{"first_name":"Hacked","status":"INACTIVE","reason":"x"}"#;
    let scenarios = [
        ("GET", patient_path.as_str(), NO_BODY, ""),
        ("PUT", &patient_path, JSON, body),
        ("PATCH", &patient_path, JSON, body),
        ("DELETE", &patient_path, NO_BODY, ""),
        ("GET", &by_patient, NO_BODY, ""),
        ("PUT", &by_id, JSON, body),
        ("PATCH", &by_id, JSON, body),
        ("DELETE", &by_id, NO_BODY, ""),
        ("GET", &detail, NO_BODY, ""),
        ("PUT", &detail, JSON, body),
        ("PATCH", &detail, JSON, body),
        ("DELETE", &detail, NO_BODY, ""),
        ("DELETE", &delete, NO_BODY, ""),
    ];

    // Act
    run(&app, &stranger.access, 404, "not_found", &scenarios).await;

    // Assert: nothing leaked, nothing changed.
    for path in [
        patient_path.as_str(),
        "/api/patients/",
        "/api/mappings/",
        &detail,
    ] {
        let text = app.get(path, &stranger.access).await.text().await;
        assert!(!text.expect("body").contains("Zebulon"), "{path}");
    }
    let own = app.get(&patient_path, &owner.access).await;
    assert_eq!(json_with(own, 200).await["first_name"], "Zebulon");
    let own_mapping = app.get(&detail, &owner.access).await;
    assert_eq!(json_with(own_mapping, 200).await["status"], "ACTIVE");
}

#[rocket::async_test]
async fn every_kind_of_error_has_the_one_shape() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let user = app.account(&admin, "user", "user@clinic.test").await;
    let duplicate = json!({ "email": "user@clinic.test", "password": PASSWORD, "role": "user" });
    let duplicate = duplicate.to_string();
    let wrong_login = json!({ "email": ADMIN_EMAIL, "password": "not the password" });
    let wrong_login = wrong_login.to_string();
    let bad_patient = json!({ "first_name": " ", "gender": "X", "email": "nope" }).to_string();

    // Act + Assert (`run` checks the shape of each)
    let bad = [("POST", "/api/patients/", JSON, bad_patient.as_str())];
    run(&app, &user.access, 400, "validation_error", &bad).await;
    let malformed = [("POST", "/api/patients/", JSON, "{")];
    run(&app, &user.access, 400, "malformed_json", &malformed).await;
    let anonymous = [("GET", "/api/patients/", NO_BODY, "")];
    run(&app, "", 401, "not_authenticated", &anonymous).await;
    let garbage = [("GET", "/api/auth/me/", NO_BODY, "")];
    run(&app, "garbage", 401, "not_authenticated", &garbage).await;
    let login = [("POST", "/api/auth/login/", JSON, wrong_login.as_str())];
    run(&app, "", 401, "invalid_credentials", &login).await;
    let forbidden = [("GET", "/api/users/", NO_BODY, "")];
    run(&app, &user.access, 403, "permission_denied", &forbidden).await;
    let missing = [("GET", "/api/patients/424242/", NO_BODY, "")];
    run(&app, &user.access, 404, "not_found", &missing).await;
    let method = [("PUT", "/api/health", NO_BODY, "")];
    run(&app, &user.access, 405, "method_not_allowed", &method).await;
    let taken = [("POST", "/api/users/", JSON, duplicate.as_str())];
    run(&app, &admin.access, 409, "duplicate", &taken).await;
    let media = [("POST", "/api/patients/", TEXT, "{}")];
    run(&app, &user.access, 415, "unsupported_media_type", &media).await;
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
        let nosniff = header(&response, "x-content-type-options");
        assert_eq!(nosniff, "nosniff", "{path}");
        let referrer = header(&response, "referrer-policy");
        assert_eq!(referrer, "same-origin", "{path}");
        let csp = header(&response, "content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: CSP {csp:?}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        if path.starts_with("/api") {
            let cache = header(&response, "cache-control");
            assert!(cache.contains("no-store"), "{path}: {cache:?}");
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
    let version = env!("CARGO_PKG_VERSION");
    // Replication is off unless configured (see the README's "Second machine").
    let expected =
        json!({ "status": "ok", "version": version, "database": "ok", "replication": "off" });
    assert_eq!(health, expected);
}

#[rocket::async_test]
async fn the_openapi_description_lists_the_main_routes() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert: the trailing slash is optional on every route, so either key form counts.
    let version = spec["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3."), "openapi {version:?}");
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
        assert!(paths.contains(&expected), "{expected} not in {paths:?}");
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
        let is_html = text.contains("<html") || text.contains("<!doctype html");
        assert!(is_html, "{path}");
    }
}

#[rocket::async_test]
async fn an_empty_page_or_page_size_is_400_on_every_list() {
    // Arrange
    let app = spawn_app().await;
    let admin = app.admin().await;
    let lists = [
        "/api/patients/",
        "/api/doctors/",
        "/api/mappings/",
        "/api/users/",
        "/api/audit/",
        "/api/admin/backups/",
    ];

    for list in lists {
        for parameter in ["page", "page_size"] {
            // Act
            let response = app
                .get(&format!("{list}?{parameter}="), &admin.access)
                .await;

            // Assert
            let body = assert_error(response, 400, "validation_error").await;
            assert!(
                body["errors"][parameter].is_array(),
                "{list} {parameter}: {body}"
            );
        }
    }
}
