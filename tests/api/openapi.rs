//! The API description cannot drift from the routes: every route mounted
//! under `/api` is in `/api/openapi.json` with the same method and path, and
//! nothing is documented that is not mounted.

use std::collections::BTreeSet;

use clinicdesk::config::Config;
use clinicdesk::server;
use serde_json::Value;

use crate::helpers::{json_with, spawn_app};

/// Mounted `/api` routes that are deliberately not operations of the
/// document, by Rocket path (every method):
const NOT_DOCUMENTED: &[(&str, &str)] = &[
    // The 405/404 fallback (`http::fallback_routes`): it answers what no
    // route claimed, so it is no operation of its own.
    ("/api/<_..>", "the 405 fallback"),
    // Swagger UI's files: the docs page, not the API.
    ("/api/docs/<_..>", "the Swagger UI files"),
    // The document itself.
    ("/api/openapi.json", "the OpenAPI document"),
];

/// `(METHOD, /api/path/{param})` of every mounted `/api` route the document
/// must describe, with parameters written `{param}` as the document does.
fn mounted_operations() -> BTreeSet<(String, String)> {
    let data_dir = tempfile::tempdir().expect("temp data dir");
    let rocket = server::build(Config::for_tests(data_dir.path())).expect("server builds");
    let mut mounted = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    for route in rocket.routes() {
        let path = route.uri.path().to_string();
        if !(path == "/api" || path.starts_with("/api/")) {
            continue;
        }
        if NOT_DOCUMENTED.iter().any(|(skip, _)| *skip == path) {
            excluded.insert(path);
            continue;
        }
        mounted.insert((route.method.as_str().to_owned(), openapi_path(&path)));
    }
    // An exclusion that matches nothing is stale: it would hide a future route.
    for (path, why) in NOT_DOCUMENTED {
        assert!(
            excluded.contains(*path),
            "{path} ({why}) is excluded but no longer mounted"
        );
    }
    mounted
}

/// Rocket's `/api/patients/<id>` as the document writes it, `/api/patients/{id}`.
fn openapi_path(rocket_path: &str) -> String {
    rocket_path
        .split('/')
        .map(|segment| match segment.strip_prefix('<') {
            Some(param) => format!("{{{}}}", param.trim_end_matches('>')),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// `(METHOD, path)` of every operation in the document.
fn documented_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut documented = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if operation.get("responses").is_some() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    documented
}

#[rocket::async_test]
async fn every_mounted_api_route_is_documented_and_nothing_else_is() {
    // Arrange
    let mounted = mounted_operations();
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert
    let documented = documented_operations(&spec);
    let undocumented: Vec<_> = mounted.difference(&documented).collect();
    let unmounted: Vec<_> = documented.difference(&mounted).collect();
    assert!(
        undocumented.is_empty(),
        "mounted but not in /api/openapi.json: {undocumented:?}"
    );
    assert!(
        unmounted.is_empty(),
        "in /api/openapi.json but not mounted: {unmounted:?}"
    );
    // Not a vacuous pass: the resources are all there.
    for (method, path) in [
        ("GET", "/api/patients"),
        ("DELETE", "/api/mappings/delete/{id}"),
        ("POST", "/api/setup"),
    ] {
        assert!(documented.contains(&(method.to_owned(), path.to_owned())));
    }
}

#[rocket::async_test]
async fn operation_ids_are_unique() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert
    let mut seen = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                panic!("{method} {path} has no operationId");
            };
            assert!(seen.insert(id.to_owned()), "operationId {id} repeats");
        }
    }
    // And every link points at one of them.
    let mut links = 0;
    for item in spec["paths"].as_object().expect("paths").values() {
        for operation in item.as_object().expect("path item").values() {
            for response in operation["responses"].as_object().into_iter().flatten() {
                for link in response.1["links"].as_object().into_iter().flatten() {
                    let target = link.1["operationId"].as_str().unwrap_or_default();
                    assert!(seen.contains(target), "link to unknown operation {target}");
                    links += 1;
                }
            }
        }
    }
    assert!(links > 0, "the creates link to what their ids feed");
}

#[rocket::async_test]
async fn each_templated_path_names_its_parameters_once() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert: OpenAPI forbids two paths that differ only in parameter names
    // (`/api/mappings/{id}` vs `/api/mappings/{patient_id}`).
    let mut shapes = BTreeSet::new();
    for path in spec["paths"].as_object().expect("paths").keys() {
        let shape: Vec<&str> = path
            .split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect();
        assert!(
            shapes.insert(shape.join("/")),
            "{path} repeats a path shape"
        );
    }
}

/// The answer `status` of `operation`, through a `$ref` to a shared one.
fn response<'a>(spec: &'a Value, operation: &'a Value, status: &str) -> Option<&'a Value> {
    let answer = operation["responses"].get(status)?;
    match answer["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().unwrap_or_default();
            spec["components"]["responses"].get(name)
        }
        None => Some(answer),
    }
}

#[rocket::async_test]
async fn the_document_declares_the_statuses_and_headers_of_the_general_rules() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let name = format!("{method} {path}");
            let statuses: Vec<&String> = operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .collect();
            assert!(
                statuses.iter().all(|s| s.parse::<u16>().is_ok()),
                "{name}: only real statuses, no `default`: {statuses:?}"
            );
            let has = |status: &str, header: &str| {
                response(&spec, operation, status)
                    .is_some_and(|answer| answer["headers"].get(header).is_some())
            };
            if operation.get("security").is_some() {
                assert!(
                    has("401", "WWW-Authenticate"),
                    "{name}: 401 + WWW-Authenticate"
                );
                assert!(response(&spec, operation, "403").is_some(), "{name}: 403");
            }
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(
                        response(&spec, operation, status).is_some(),
                        "{name}: {status}"
                    );
                }
            }
            if path.contains('{') {
                assert!(response(&spec, operation, "404").is_some(), "{name}: 404");
            }
            if response(&spec, operation, "201").is_some() {
                assert!(has("201", "Location"), "{name}: 201 + Location");
            }
            for throttled in ["429", "503"] {
                if response(&spec, operation, throttled).is_some() {
                    assert!(
                        has(throttled, "Retry-After"),
                        "{name}: {throttled} + Retry-After"
                    );
                }
            }
            // A paged list takes `page`; a whole document that is an array
            // (a doctor's week, free slots) has no pages to link.
            let is_array = operation["responses"]["200"]["content"]["application/json"]["schema"]
                ["type"]
                == "array";
            let paged = operation["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["name"] == "page"));
            if is_array && paged {
                assert!(has("200", "X-Total-Count"), "{name}: X-Total-Count");
                assert!(has("200", "Link"), "{name}: Link");
            }
        }
    }
}

#[rocket::async_test]
async fn create_and_put_bodies_require_what_patch_bodies_do_not() {
    // Arrange
    let app = spawn_app().await;

    // Act
    let spec = json_with(app.get("/api/openapi.json", "").await, 200).await;

    // Assert: each resource's POST/PUT and PATCH bodies are different schemas,
    // and only the first requires fields (`first_name` or its alias `name`).
    let body = |method: &str, path: &str| {
        spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_default()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    for (collection, item) in [
        ("/api/patients", "/api/patients/{id}"),
        ("/api/doctors", "/api/doctors/{id}"),
    ] {
        let (create, put, patch) = (
            body("post", collection),
            body("put", item),
            body("patch", item),
        );
        assert_eq!(
            create, put,
            "{collection}: create and PUT share the complete schema"
        );
        assert_ne!(create, patch, "{collection}: PATCH has its own schema");
        let schemas = &spec["components"]["schemas"];
        assert!(
            schemas[&patch].get("required").is_none(),
            "{patch} requires nothing"
        );
        let complete = schemas[&create].to_string();
        assert!(
            complete.contains(r#""required":["first_name"]"#)
                && complete.contains(r#""required":["name"]"#),
            "{create} requires first_name or name: {complete}"
        );
        let fields = schemas[&patch]["properties"]
            .as_object()
            .expect("properties");
        for alias in ["name", "contact_number"] {
            assert!(
                fields.contains_key(alias),
                "{patch} documents the alias {alias}"
            );
        }
    }
}
