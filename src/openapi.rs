//! `GET /api/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations, the list queries' `IntoParams` and the wire types, so it
//! cannot drift from the routes (`tests/api/openapi.rs` checks every
//! mounted route against it); and `/api/docs/`, Swagger UI served from the
//! binary (its files are vendored into the crate: no CDN, works on an
//! offline clinic LAN).
//!
//! Request bodies are read field by field (see `validation::Fields`), so
//! the `*Request`, `*Input` and `*Change` types below exist only to describe
//! them: this file is the one place they are written down. A create or PUT
//! needs its required fields; a PATCH needs none, but may not blank them.
//!
//! The answers every operation shares come from the contract's general rules
//! and are added here, by `Mounted`, rather than repeated on each handler:
//! a secured operation can answer `401` and `403`, one with a body `400`,
//! `413` and `415`, one with query parameters `400`, one with a path
//! parameter `404`, and every one but the health check `507` (a full disk).
//! Every `201` carries `Location` (and `links` to the operations its id
//! feeds), every list page `X-Total-Count` and `Link`. A handler declares
//! only its success answer and the errors particular to it (`409`, `429`,
//! ...).

#![allow(dead_code)] // The request types are read by the OpenAPI derive, never constructed.

use std::collections::BTreeMap;

use rocket::Route;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::users;
use crate::validation::one_of_schema;
use crate::{audit, auth, backup, doctors, error, health, mappings, patients, settings, setup};

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

fn error_code_schema() -> utoipa::openapi::Object {
    one_of_schema(error::CODES, false)
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

/// The generated description of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinicdesk",
        description = "A small clinic's patients, doctors and patient–doctor mappings. \
            Every route also answers with a trailing slash. Errors are always \
            `{\"detail\", \"code\", \"errors\"?}`; lists carry `X-Total-Count` and `Link`."
    ),
    paths(
        health::health,
        setup::setup,
        auth::routes::register, auth::routes::login, auth::routes::token, auth::routes::refresh,
        auth::routes::token_refresh, auth::routes::logout, auth::routes::me, auth::routes::update_me,
        auth::routes::change_password,
        auth::session::open, auth::session::refresh, auth::session::close,
        users::list, users::create, users::read, users::update, users::deactivate,
        settings::read, settings::update,
        patients::list, patients::create, patients::read, patients::replace, patients::update,
        patients::archive, patients::restore,
        doctors::list, doctors::create, doctors::read, doctors::replace, doctors::update,
        doctors::archive, doctors::restore,
        mappings::list, mappings::create, mappings::for_patient, mappings::update, mappings::replace,
        mappings::remove, mappings::detail, mappings::detail_update, mappings::detail_replace,
        mappings::detail_remove, mappings::delete_alias,
        backup::routes::list, backup::routes::create, backup::routes::status, backup::routes::download,
        audit::routes::list, audit::routes::export,
    ),
    components(schemas(
        ErrorBody, SetupRequest, RegisterRequest, LoginFields,
        LoginRequest, RefreshRequest, MeRequest,
        PasswordChangeRequest, UserCreateRequest, UserChangeRequest, SettingsChangeRequest,
        PatientChange, PatientInput, DoctorChange, DoctorInput, MappingFields, MappingInput,
        MappingChange, audit::Entity,
    )),
    modifiers(&Mounted)
)]
pub struct ApiDoc;

/// The `/api` prefix every route is mounted under, unique operation ids,
/// the answers every operation shares, and the bearer
/// scheme (see the module doc).
struct Mounted;

impl Modify for Mounted {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        add_shared_responses(&mut components.responses);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );

        let paths = std::mem::take(&mut openapi.paths.paths);
        openapi.paths.paths = paths
            .into_iter()
            .map(|(path, mut item)| {
                for operation in [
                    &mut item.get,
                    &mut item.put,
                    &mut item.post,
                    &mut item.delete,
                    &mut item.patch,
                ]
                .into_iter()
                .flatten()
                {
                    complete_operation(operation);
                }
                (format!("/api{path}"), item)
            })
            .collect();
        add_links(openapi);
    }
}

/// The error answers of the general rules, in `components/responses`.
fn add_shared_responses(responses: &mut BTreeMap<String, RefOr<Response>>) {
    for (name, status, description) in SHARED {
        responses.insert(
            (*name).to_owned(),
            RefOr::T(error_response(*status, description)),
        );
    }
}

/// The shared error answers: (name, status, description).
const SHARED: &[(&str, u16, &str)] = &[
    (
        "BadRequest",
        400,
        "`validation_error` (with `errors`, one entry per bad field or query parameter), \
         `malformed_json` or `bad_request`",
    ),
    (
        "Unauthenticated",
        401,
        "`not_authenticated`: no, a malformed, an expired or a revoked access token",
    ),
    (
        "Forbidden",
        403,
        "`permission_denied` (the caller's role may not do this) or \
         `password_change_required` (an admin set a temporary password)",
    ),
    (
        "NotFound",
        404,
        "`not_found`: no such record, or one the caller may not see",
    ),
    (
        "PayloadTooLarge",
        413,
        "`payload_too_large`: the body is over 1 MiB",
    ),
    (
        "UnsupportedMediaType",
        415,
        "`unsupported_media_type`: the body is not `application/json`",
    ),
    (
        "StorageFull",
        507,
        "`storage_full`: the server's disk is full, so nothing was saved (reads that are \
         recorded in the audit trail are refused too)",
    ),
];

/// The status of the shared answer `name`.
fn status_of(name: &str) -> u16 {
    SHARED
        .iter()
        .find(|(shared, ..)| *shared == name)
        .map_or(500, |(_, status, _)| *status)
}

/// An answer in the error shape, with the headers its status carries.
fn error_response(status: u16, description: &str) -> Response {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        Content::new(Some(Ref::from_schema_name("ErrorBody"))),
    );
    for (name, text) in error_headers(status) {
        response = response.header(name, header(text, Type::String));
    }
    response.build()
}

/// The headers an error status carries (see `error::ApiError::respond_to`).
fn error_headers(status: u16) -> Vec<(&'static str, &'static str)> {
    match status {
        401 => vec![("WWW-Authenticate", "`Bearer realm=\"clinicdesk\"`")],
        429 | 503 => vec![("Retry-After", "Seconds to wait before trying again")],
        _ => Vec::new(),
    }
}

fn header(description: &str, kind: Type) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(kind)))
        .description(Some(description))
        .build()
}

/// A unique `operationId` (`<tag>_<handler>`), the shared answers and the
/// success headers (see the module doc).
fn complete_operation(operation: &mut Operation) {
    let tag = operation
        .tags
        .as_ref()
        .and_then(|tags| tags.first())
        .cloned()
        .unwrap_or_default();
    if let Some(id) = &operation.operation_id {
        operation.operation_id = Some(format!("{tag}_{id}"));
    }
    let secured = operation
        .security
        .as_ref()
        .is_some_and(|requirements| !requirements.is_empty());
    let parameters = operation.parameters.iter().flatten();
    let (mut in_query, mut in_path) = (false, false);
    for parameter in parameters {
        if let RefOr::T(parameter) = parameter {
            in_query |= parameter.parameter_in == ParameterIn::Query;
            in_path |= parameter.parameter_in == ParameterIn::Path;
        }
    }
    let has_body = operation.request_body.is_some();

    let responses = &mut operation.responses.responses;
    let mut shared = Vec::new();
    if has_body || in_query {
        shared.push("BadRequest");
    }
    if secured {
        shared.extend(["Unauthenticated", "Forbidden"]);
    }
    if in_path {
        shared.push("NotFound");
    }
    if has_body {
        shared.extend(["PayloadTooLarge", "UnsupportedMediaType"]);
    }
    // Everything but the health check writes (a change, a login, or the
    // audit row of a read), so any of it can meet a full disk; health answers
    // its own 503.
    if tag != "service" {
        shared.push("StorageFull");
    }
    for name in shared {
        responses
            .entry(status_of(name).to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }

    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        let status: u16 = status.parse().unwrap_or_default();
        if status == 201 {
            let location = header("Where the new record is", Type::String);
            response
                .headers
                .entry("Location".into())
                .or_insert(location.into());
        }
        if status == 200 && is_list(response) {
            response.headers.insert(
                "X-Total-Count".into(),
                header("How many records the whole list holds", Type::Integer).into(),
            );
            response.headers.insert(
                "Link".into(),
                header(
                    "RFC 8288 links to the `first`, `prev`, `next` and `last` pages",
                    Type::String,
                )
                .into(),
            );
        }
        if status >= 400 {
            if response.content.is_empty() {
                response.content.insert(
                    "application/json".into(),
                    Content::new(Some(Ref::from_schema_name("ErrorBody"))).into(),
                );
            }
            for (name, text) in error_headers(status) {
                response
                    .headers
                    .entry(name.into())
                    .or_insert(header(text, Type::String).into());
            }
        }
    }
}

/// Where the id a create answers can be used next (`links` of its `201`):
/// (the create's operationId, the id's field, the operations it feeds, and
/// their parameter). Clients and schemathesis's stateful tests follow them.
/// `mappings_for_patient` takes a patient's id, the other `/api/mappings`
/// paths a mapping's.
const LINKS: &[(&str, &str, &[&str], &str)] = &[
    (
        "patients_create",
        "id",
        &[
            "patients_read",
            "patients_replace",
            "patients_update",
            "patients_archive",
            "patients_restore",
            "mappings_for_patient",
        ],
        "id",
    ),
    (
        "doctors_create",
        "id",
        &[
            "doctors_read",
            "doctors_replace",
            "doctors_update",
            "doctors_archive",
            "doctors_restore",
        ],
        "id",
    ),
    (
        "mappings_create",
        "id",
        &[
            "mappings_update",
            "mappings_replace",
            "mappings_remove",
            "mappings_detail",
            "mappings_detail_update",
            "mappings_detail_replace",
            "mappings_detail_remove",
            "mappings_delete_alias",
        ],
        "id",
    ),
    (
        "users_create",
        "id",
        &["users_read", "users_update", "users_deactivate"],
        "id",
    ),
    ("backups_create", "name", &["backups_download"], "name"),
];

/// Adds `LINKS` to the `201` answers of the creates they start from.
fn add_links(openapi: &mut Document) {
    for item in openapi.paths.paths.values_mut() {
        let Some(operation) = item.post.as_mut() else {
            continue;
        };
        let Some((_, field, targets, parameter)) = LINKS
            .iter()
            .find(|(from, ..)| operation.operation_id.as_deref() == Some(*from))
        else {
            continue;
        };
        let Some(RefOr::T(created)) = operation.responses.responses.get_mut("201") else {
            continue;
        };
        for target in *targets {
            let link = LinkBuilder::new()
                .operation_id(*target)
                .parameter(*parameter, format!("$response.body#/{field}"))
                .build();
            created.links.insert((*target).to_owned(), RefOr::T(link));
        }
    }
}

/// A JSON array answer: every one is a page of a list (`http::Page`).
fn is_list(response: &Response) -> bool {
    response.content.get("application/json").is_some_and(|content| {
        matches!(content, RefOr::T(c) if matches!(c.schema, Some(RefOr::T(Schema::Array(_)))))
    })
}

/// The docs page and the JSON it reads.
pub fn routes() -> Vec<Route> {
    SwaggerUi::new("/api/docs/<_..>")
        .url("/api/openapi.json", ApiDoc::openapi())
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_in_the_error_module_doc_is_in_the_documented_enum() {
        let source = include_str!("error.rs");
        let doc: String = source
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .collect();
        let listed = doc.split("Codes").nth(1).unwrap_or_default();
        let mut in_doc: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
        in_doc.sort_unstable();
        let mut documented = error::CODES.to_vec();
        documented.sort_unstable();
        assert_eq!(in_doc, documented);
    }
}
