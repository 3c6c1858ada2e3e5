//! The request bodies of `/api/appointments` as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::validation::one_of_schema;
use utoipa::ToSchema;

/// `POST /api/appointments/`. Times are RFC 3339; without an offset they
/// are clinic time (`2027-03-29T09:00`).
#[derive(ToSchema)]
pub struct AppointmentInput {
    patient: i64,
    doctor: i64,
    /// Required, except for a `walk_in`, which starts now.
    #[schema(example = "2027-03-29T09:00")]
    start: Option<String>,
    /// Or `duration`; neither: the doctor's `appointment_minutes`.
    end: Option<String>,
    /// Minutes, 5–480.
    #[schema(minimum = 5, maximum = 480)]
    duration: Option<i64>,
    #[schema(schema_with = appointment_kind_schema)]
    kind: Option<String>,
    #[schema(max_length = 200)]
    reason: Option<String>,
    #[schema(max_length = 2000)]
    notes: Option<String>,
    /// Book over a clash or outside the doctor's hours (admin, staff;
    /// `user` → `403`). Recorded in the audit trail.
    #[schema(nullable = false)]
    r#override: Option<bool>,
}

/// `PATCH /api/appointments/<id>/`: notes, or a move (only while active).
/// A new `start` alone keeps the duration.
#[derive(ToSchema)]
pub struct AppointmentChange {
    start: Option<String>,
    end: Option<String>,
    #[schema(minimum = 5, maximum = 480)]
    duration: Option<i64>,
    doctor: Option<i64>,
    #[schema(max_length = 200)]
    reason: Option<String>,
    #[schema(max_length = 2000)]
    notes: Option<String>,
    #[schema(nullable = false)]
    r#override: Option<bool>,
}

/// `POST /api/appointments/<id>/status/`.
#[derive(ToSchema)]
pub struct StatusChangeRequest {
    #[schema(schema_with = appointment_status_schema)]
    status: String,
    /// Kept as `cancel_reason` on a cancel.
    #[schema(max_length = 200)]
    reason: Option<String>,
}

fn appointment_kind_schema() -> utoipa::openapi::Object {
    one_of_schema(&super::KINDS, true)
}

fn appointment_status_schema() -> utoipa::openapi::Object {
    one_of_schema(&super::STATUSES, false)
}
