//! The request bodies of `/api/mappings` as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::http::schemas::{either, requiring};
use crate::validation::one_of_schema;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// `POST /api/mappings/`: `patient` (or `patient_id`) and `doctor` (or
/// `doctor_id`) are required.
#[derive(ToSchema)]
pub struct MappingFields {
    /// A patient the caller can see.
    #[schema(nullable = false, minimum = 1)]
    patient: Option<i64>,
    /// The same as `patient` (for older clients).
    #[schema(nullable = false, minimum = 1)]
    patient_id: Option<i64>,
    /// A doctor who is not archived.
    #[schema(nullable = false, minimum = 1)]
    doctor: Option<i64>,
    /// The same as `doctor` (for older clients).
    #[schema(nullable = false, minimum = 1)]
    doctor_id: Option<i64>,
    #[schema(max_length = 500)]
    reason: Option<String>,
    #[schema(max_length = 10000)]
    notes: Option<String>,
    /// Default (and when `null`) `ACTIVE`; in any case.
    #[schema(schema_with = mapping_status_or_null_schema)]
    status: Option<String>,
}

/// `PATCH`/`PUT /api/mappings/<id>/`: only these fields change, none is
/// required (PUT and PATCH are the same here).
#[derive(ToSchema)]
pub struct MappingChange {
    #[schema(max_length = 500)]
    reason: Option<String>,
    #[schema(max_length = 10000)]
    notes: Option<String>,
    #[schema(nullable = false, schema_with = mapping_status_schema)]
    status: Option<String>,
}

/// `POST /api/mappings/`: `MappingFields` with `patient` (or `patient_id`)
/// and `doctor` (or `doctor_id`) required.
pub struct MappingInput;

impl utoipa::PartialSchema for MappingInput {
    fn schema() -> RefOr<Schema> {
        requiring(
            "MappingFields",
            vec![
                either("patient", "patient_id"),
                either("doctor", "doctor_id"),
            ],
        )
    }
}

impl ToSchema for MappingInput {}

fn mapping_status_schema() -> utoipa::openapi::Object {
    one_of_schema(&super::STATUS_VALUES, false)
}

fn mapping_status_or_null_schema() -> utoipa::openapi::Object {
    one_of_schema(&super::STATUS_VALUES, true)
}
