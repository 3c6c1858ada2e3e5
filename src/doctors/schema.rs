//! The request bodies of `/api/doctors` as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::http::schemas::{either, requiring};
use crate::validation::phone_schema;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// `PATCH /api/doctors/<id>/` (and, with `first_name` or `name` and
/// `specialization` required, `DoctorInput` for POST and PUT). Absent
/// fields keep their value; `null` or a blank string clears an optional one.
#[derive(ToSchema)]
pub struct DoctorChange {
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    first_name: Option<String>,
    #[schema(max_length = 100)]
    last_name: Option<String>,
    /// Accepted instead of `first_name`/`last_name` when `first_name` is
    /// absent: split at the first space (each part at most 100 characters).
    #[schema(nullable = false, min_length = 1, max_length = 201, pattern = r"\S")]
    name: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 100, pattern = r"\S")]
    specialization: Option<String>,
    #[schema(minimum = 0, maximum = 70)]
    years_of_experience: Option<i64>,
    /// The same as `years_of_experience` (for older clients).
    #[schema(minimum = 0, maximum = 70)]
    experience_years: Option<i64>,
    /// 7–20 characters of digits, spaces, `-`, `(`, `)` and an optional
    /// leading `+`, at least 7 of them digits.
    #[schema(schema_with = phone_schema)]
    phone: Option<String>,
    /// The same as `phone` (for older clients).
    #[schema(schema_with = phone_schema)]
    contact_number: Option<String>,
    /// Unique among doctors.
    #[schema(format = Email, max_length = 254)]
    email: Option<String>,
    #[schema(max_length = 200)]
    qualification: Option<String>,
    /// Unique among doctors.
    #[schema(max_length = 100)]
    license_number: Option<String>,
    /// At most two decimals.
    #[schema(minimum = 0, maximum = 1_000_000)]
    consultation_fee: Option<f64>,
    #[schema(max_length = 200)]
    available_days: Option<String>,
    #[schema(max_length = 200)]
    available_time: Option<String>,
    #[schema(max_length = 10000)]
    bio: Option<String>,
    #[schema(max_length = 200)]
    languages_spoken: Option<String>,
    #[schema(max_length = 200)]
    city: Option<String>,
    /// Default `true`.
    #[schema(nullable = false)]
    is_available: Option<bool>,
    /// The usual appointment length in minutes; default 15.
    #[schema(nullable = false, minimum = 5, maximum = 240)]
    appointment_minutes: Option<i64>,
}

/// `POST /api/doctors/` and `PUT /api/doctors/<id>/`: `DoctorChange` with
/// `first_name` (or `name`) and `specialization` required; on PUT, omitted
/// optional fields keep their values.
pub struct DoctorInput;

impl utoipa::PartialSchema for DoctorInput {
    fn schema() -> RefOr<Schema> {
        let specialization =
            Schema::Object(ObjectBuilder::new().required("specialization").build());
        requiring(
            "DoctorChange",
            vec![either("first_name", "name"), specialization],
        )
    }
}

impl ToSchema for DoctorInput {}
