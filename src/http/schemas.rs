//! Pieces of `/api/openapi.json` that every resource uses: the error
//! answer, which `error::ApiError` renders, and the two ways a create body
//! is described as its change body with some fields required.

#![allow(dead_code)] // `ErrorBody` is read by the OpenAPI derive, never constructed.

use std::collections::BTreeMap;

use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, Array, ArrayBuilder, ObjectBuilder, Schema,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::ToSchema;

use crate::error::CODES;
use crate::validation::one_of_schema;

/// The schema named `base`, with the further conditions `rules`.
pub fn requiring(base: &str, rules: Vec<Schema>) -> RefOr<Schema> {
    let mut all = AllOfBuilder::new().item(Ref::from_schema_name(base));
    for rule in rules {
        all = all.item(rule);
    }
    RefOr::T(Schema::AllOf(all.build()))
}

/// An object that has `a` or `b` (or both).
pub fn either(a: &str, b: &str) -> Schema {
    let has = |name: &str| ObjectBuilder::new().required(name).build();
    Schema::AnyOf(AnyOfBuilder::new().item(has(a)).item(has(b)).build())
}

/// Every error answer: `errors` only on `400 validation_error`, one entry
/// per bad field.
#[derive(ToSchema)]
pub struct ErrorBody {
    /// A sentence for a person.
    detail: String,
    /// For programs: one of a closed list.
    #[schema(schema_with = error_code_schema)]
    code: String,
    /// Field name → every problem with it.
    #[schema(nullable = false)]
    errors: Option<BTreeMap<String, Vec<String>>>,
    /// On `409 slot_taken` only: the active appointments the booking would
    /// overlap.
    #[schema(schema_with = conflicts_schema)]
    conflicts: Option<Vec<serde_json::Value>>,
}

fn error_code_schema() -> utoipa::openapi::Object {
    one_of_schema(&CODES, false)
}

/// `Conflict` is the appointments' type: named here, not imported, so this
/// plumbing knows no resource (the document lists it among its schemas).
fn conflicts_schema() -> Array {
    ArrayBuilder::new()
        .items(Ref::from_schema_name("Conflict"))
        .build()
}
