//! The bodies the `OpenAPI` document describes that no Rust type is read
//! or written as: the request bodies, which the handlers read field by
//! field (`validation::Fields`), and the error answer (`error::ApiError`
//! renders it). These types exist only to describe them, and this file is
//! the one place they are written down, side by side. Handlers name them in
//! their `#[utoipa::path]` (`request_body = …`, `body = ErrorBody`), so they
//! live at the resources' layer rather than in `openapi`, which only
//! collects them.

#![allow(dead_code)] // Read by the OpenAPI derive, never constructed.

use std::collections::BTreeMap;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type,
};

use utoipa::openapi::{Ref, RefOr};
use utoipa::ToSchema;

use crate::validation::one_of_schema;
use crate::{auth, error, mappings, patients, settings};

/// `POST /api/setup/`.
#[derive(ToSchema)]
pub struct SetupRequest {
    /// The token after `#` in the setup link the server printed.
    #[schema(min_length = 1)]
    token: String,
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 256 bytes; not a common password,
    /// nor the email or name.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
    #[schema(max_length = 150)]
    name: Option<String>,
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
}

/// `POST /api/auth/register/`.
#[derive(ToSchema)]
pub struct RegisterRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 256 bytes; not a common password,
    /// nor the email or name.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
    /// Must equal `password` when given.
    #[schema(nullable = false)]
    password_confirm: Option<String>,
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
}

/// `POST /api/auth/login/`, `/api/token/`, `/api/auth/session/`: `email`
/// or `username` (either may hold the email or the username), and the
/// password. `LoginRequest` requires one of the two.
#[derive(ToSchema)]
pub struct LoginFields {
    #[schema(nullable = false, min_length = 1, max_length = 254)]
    email: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 254)]
    username: Option<String>,
    #[schema(min_length = 1)]
    password: String,
}

/// `LoginFields` with `email` or `username`.
pub struct LoginRequest;

impl utoipa::PartialSchema for LoginRequest {
    fn schema() -> RefOr<Schema> {
        requiring("LoginFields", vec![either("email", "username")])
    }
}

impl ToSchema for LoginRequest {}

/// `POST /api/auth/refresh/`, `/api/token/refresh/` and `/api/auth/logout/`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from a login or an earlier refresh.
    #[schema(min_length = 1)]
    refresh: String,
}

/// `PATCH /api/auth/me/`: other fields are ignored.
#[derive(ToSchema)]
pub struct MeRequest {
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
}

/// `POST /api/auth/password/`.
#[derive(ToSchema)]
pub struct PasswordChangeRequest {
    #[schema(min_length = 1)]
    current_password: String,
    /// At least 8 characters and at most 256 bytes; not a common password,
    /// nor the email or name.
    #[schema(min_length = 8, max_length = 256)]
    new_password: String,
}

/// `POST /api/users/`: a new account (admin).
#[derive(ToSchema)]
pub struct UserCreateRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// A first password; temporary unless `must_change_password` is `false`.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
    /// Default `user`.
    #[schema(nullable = false, schema_with = role_schema)]
    role: Option<String>,
    /// Whether the owner must choose a new password at first sign-in.
    /// Default `true`; `false` e.g. for a lab system's account.
    #[schema(nullable = false)]
    must_change_password: Option<bool>,
}

/// `PATCH /api/users/<id>/`: what an admin may change on an account.
#[derive(ToSchema)]
pub struct UserChangeRequest {
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
    /// The last active admin cannot be demoted (`409 last_admin`).
    #[schema(nullable = false, schema_with = role_schema)]
    role: Option<String>,
    /// The last active admin cannot be deactivated (`409 last_admin`).
    #[schema(nullable = false)]
    is_active: Option<bool>,
    /// A new password (reset by an admin); temporary unless
    /// `must_change_password` is `false`.
    #[schema(nullable = false, min_length = 8, max_length = 256)]
    password: Option<String>,
    /// Never `true` on the admin's own account (400).
    #[schema(nullable = false)]
    must_change_password: Option<bool>,
    /// Only `false`: clears the account's sign-in delays (accounts are never
    /// locked; failed sign-ins only delay the address they come from).
    #[schema(nullable = false, schema_with = unlock_schema)]
    locked: Option<bool>,
    /// The doctor record this account belongs to, or `null`. One account
    /// per doctor (a second is `409 duplicate`); an archived or unknown
    /// doctor is `400`.
    doctor: Option<i64>,
}

/// `PATCH /api/settings/`.
#[derive(ToSchema)]
pub struct SettingsChangeRequest {
    /// `open`: anyone who can reach the server may create a `user` account.
    #[schema(nullable = false, schema_with = registration_schema)]
    registration: Option<String>,
    #[schema(max_length = 200)]
    clinic_name: Option<String>,
}

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

/// The schema named `base`, with the further conditions `rules`.
fn requiring(base: &str, rules: Vec<Schema>) -> RefOr<Schema> {
    let mut all = AllOfBuilder::new().item(Ref::from_schema_name(base));
    for rule in rules {
        all = all.item(rule);
    }
    RefOr::T(Schema::AllOf(all.build()))
}

/// An object that has `a` or `b` (or both).
fn either(a: &str, b: &str) -> Schema {
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
    #[schema(nullable = false)]
    conflicts: Option<Vec<crate::appointments::Conflict>>,
}

fn error_code_schema() -> utoipa::openapi::Object {
    one_of_schema(&error::CODES, false)
}

fn role_schema() -> utoipa::openapi::Object {
    let roles = [auth::Role::Admin, auth::Role::Staff, auth::Role::User].map(auth::Role::as_str);
    one_of_schema(&roles, false)
}

fn unlock_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .build()
}

fn registration_schema() -> utoipa::openapi::Object {
    settings::registration_schema()
}

fn gender_schema() -> utoipa::openapi::Object {
    patients::gender_input_schema()
}

fn blood_group_schema() -> utoipa::openapi::Object {
    one_of_schema(&patients::BLOOD_GROUPS, true)
}

fn mapping_status_schema() -> utoipa::openapi::Object {
    one_of_schema(&mappings::STATUS_VALUES, false)
}

fn mapping_status_or_null_schema() -> utoipa::openapi::Object {
    one_of_schema(&mappings::STATUS_VALUES, true)
}

/// The phone rule as far as a pattern can say it; "at least 7 digits" is
/// in the description.
fn phone_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(
            [Type::String, Type::Null]
                .into_iter()
                .collect::<SchemaType>(),
        )
        .min_length(Some(7))
        .max_length(Some(20))
        .pattern(Some(r"^\+?[0-9 ()-]+$"))
        .build()
}

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
    one_of_schema(&crate::appointments::KINDS, true)
}

fn appointment_status_schema() -> utoipa::openapi::Object {
    one_of_schema(&crate::appointments::STATUSES, false)
}
