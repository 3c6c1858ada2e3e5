//! The request bodies of doctors' hours and time off as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use utoipa::ToSchema;

/// One block of `PUT /api/doctors/<id>/hours/`.
#[derive(ToSchema)]
pub struct HoursInput {
    /// ISO weekday: Monday = 1 … Sunday = 7.
    #[schema(minimum = 1, maximum = 7)]
    weekday: i64,
    /// `HH:MM`, clinic time, 00:00–23:59.
    #[schema(example = "09:00", pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    start: String,
    /// `HH:MM`, after `start`.
    #[schema(example = "13:00", pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    end: String,
}

/// `POST /api/doctors/<id>/time-off/`: a date (`2027-03-03`, the whole day)
/// or a date and time, with an offset or in clinic time.
#[derive(ToSchema)]
pub struct TimeOffInput {
    #[schema(example = "2027-03-03")]
    start: String,
    /// After `start`; a date means the end of that day. At most a year on.
    #[schema(example = "2027-03-07")]
    end: String,
    #[schema(max_length = 200)]
    reason: Option<String>,
}
