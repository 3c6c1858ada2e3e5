//! The request bodies of `/api/patients` as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::http::schemas::{either, requiring};
use crate::validation::{one_of_schema, phone_schema};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// `PATCH /api/patients/<id>/` (and, with `first_name` or `name` required,
/// `PatientInput` for POST and PUT). Absent fields keep their value; `null`
/// or a blank string clears an optional one. Strings are trimmed.
#[derive(ToSchema)]
pub struct PatientChange {
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    first_name: Option<String>,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    /// Accepted instead of `first_name`/`last_name` when `first_name` is
    /// absent: split at the first space (each part at most 100 characters).
    #[schema(nullable = false, min_length = 1, max_length = 201, pattern = r"\S")]
    name: Option<String>,
    /// Not in the future, not more than 130 years ago.
    #[schema(format = Date)]
    date_of_birth: Option<String>,
    /// Stored when there is no `date_of_birth` (then the age is computed).
    #[schema(minimum = 0, maximum = 130)]
    age: Option<i64>,
    /// `M`, `F`, `O`, `U`, or `male`/`female`/`other`/`unknown` in any case
    /// (stored as the letter).
    #[schema(schema_with = gender_schema)]
    gender: Option<String>,
    /// 7–20 characters of digits, spaces, `-`, `(`, `)` and an optional
    /// leading `+`, at least 7 of them digits.
    #[schema(schema_with = phone_schema)]
    phone: Option<String>,
    /// The same as `phone` (for older clients).
    #[schema(schema_with = phone_schema)]
    contact_number: Option<String>,
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(schema_with = blood_group_schema)]
    blood_group: Option<String>,
    #[schema(max_length = 200)]
    address: Option<String>,
    #[schema(max_length = 200)]
    city: Option<String>,
    #[schema(max_length = 200)]
    state: Option<String>,
    #[schema(max_length = 200)]
    postal_code: Option<String>,
    #[schema(max_length = 200)]
    country: Option<String>,
    #[schema(max_length = 10000)]
    medical_history: Option<String>,
    #[schema(max_length = 10000)]
    allergies: Option<String>,
    #[schema(max_length = 10000)]
    current_medications: Option<String>,
    #[schema(max_length = 200)]
    emergency_contact_name: Option<String>,
    #[schema(schema_with = phone_schema)]
    emergency_contact_phone: Option<String>,
    #[schema(max_length = 200)]
    emergency_contact_relation: Option<String>,
    /// Default `true`.
    #[schema(nullable = false)]
    is_active: Option<bool>,
}

/// `POST /api/patients/` and `PUT /api/patients/<id>/`: `PatientChange`
/// with `first_name` (or `name`) required; on PUT, omitted optional fields
/// keep their values.
pub struct PatientInput;

impl utoipa::PartialSchema for PatientInput {
    fn schema() -> RefOr<Schema> {
        requiring("PatientChange", vec![either("first_name", "name")])
    }
}

impl ToSchema for PatientInput {}

fn gender_schema() -> utoipa::openapi::Object {
    super::gender_input_schema()
}

fn blood_group_schema() -> utoipa::openapi::Object {
    one_of_schema(&super::BLOOD_GROUPS, true)
}

/// `POST /api/patients/<id>/not-duplicate/`.
#[derive(ToSchema)]
pub struct NotDuplicateRequest {
    /// The other patient's id (not `<id>`).
    #[schema(minimum = 1)]
    other: i64,
}

/// `POST /api/patients/<id>/merge/`.
#[derive(ToSchema)]
pub struct MergeRequest {
    /// The record merged into `<id>` and then archived.
    #[schema(minimum = 1)]
    duplicate: i64,
}
