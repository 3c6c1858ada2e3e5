//! `GET /api/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations, the list queries' `IntoParams` and the wire types, so it
//! cannot drift from the routes (`tests/api/openapi.rs` checks every
//! mounted route against it); and `/api/docs/`, Swagger UI served from the
//! binary (its files are vendored into the crate: no CDN, works on an
//! offline clinic LAN).
//!
//! Request bodies are read field by field (see `validation::Fields`), so
//! the `*Request`, `*Input` and `*Change` types listed below exist only to
//! describe them; each resource writes its own down in its `schema` module
//! (the error answer is `http::ErrorBody`). A create or
//! PUT needs its required fields; a PATCH needs none, but may not blank them.
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

use std::collections::BTreeMap;

use rocket::Route;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::users;
use crate::{
    account, appointments, audit, backup, doctors, exchange, health, mappings, merge, patients,
    record_names, schedule, settings, setup,
};

use crate::account::schema::{
    LoginFields, LoginRequest, MeRequest, PasswordChangeRequest, RefreshRequest, RegisterRequest,
};
use crate::appointments::schema::{AppointmentChange, AppointmentInput, StatusChangeRequest};
use crate::appointments::Conflict;
use crate::doctors::schema::{DoctorChange, DoctorInput};
use crate::http::ErrorBody;
use crate::mappings::schema::{MappingChange, MappingFields, MappingInput};
use crate::patients::schema::{MergeRequest, NotDuplicateRequest, PatientChange, PatientInput};
use crate::schedule::schema::{HoursInput, TimeOffInput};
use crate::settings::schema::SettingsChangeRequest;
use crate::setup::schema::SetupRequest;
use crate::users::schema::{UserChangeRequest, UserCreateRequest};

/// The generated description of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinicdesk",
        description = "A small clinic's patients, doctors, patient–doctor mappings, doctors' hours and appointments. \
            Every route also answers with a trailing slash. Errors are always \
            `{\"detail\", \"code\", \"errors\"?}`; lists carry `X-Total-Count` and `Link`."
    ),
    paths(
        health::health,
        setup::setup,
        account::register, account::login, account::token, account::refresh,
        account::token_refresh, account::logout, account::me, account::update_me,
        account::change_password,
        account::session::open, account::session::refresh, account::session::close,
        users::list, users::create, users::read, users::update, users::deactivate,
        settings::read, settings::update, settings::read_clinic,
        patients::list, patients::export, patients::create, patients::read, patients::replace, patients::update,
        patients::archive, patients::restore,
        patients::duplicates::check, patients::duplicates::of_patient, patients::duplicates::pairs,
        patients::duplicates::not_duplicate, merge::merge, patients::import::import,
        doctors::list, doctors::export, doctors::create, doctors::read, doctors::replace, doctors::update,
        doctors::archive, doctors::restore, doctors::import::import,
        schedule::read_hours, schedule::replace_hours, schedule::list_time_off, schedule::add_time_off,
        schedule::remove_time_off,
        appointments::list, appointments::create, appointments::read, appointments::update,
        appointments::change_status, appointments::cancel, appointments::for_patient, appointments::slots,
        mappings::list, mappings::create, mappings::for_patient, mappings::update, mappings::replace,
        mappings::remove, mappings::detail, mappings::detail_update, mappings::detail_replace,
        mappings::detail_remove, mappings::delete_alias,
        backup::routes::list, backup::routes::create, backup::routes::status, backup::routes::download,
        audit::routes::list, audit::routes::export,
        record_names::names,
        exchange::export, exchange::import,
    ),
    components(schemas(
        ErrorBody, SetupRequest, RegisterRequest, LoginFields,
        LoginRequest, RefreshRequest, MeRequest,
        PasswordChangeRequest, UserCreateRequest, UserChangeRequest, SettingsChangeRequest,
        PatientChange, PatientInput, DoctorChange, DoctorInput, MappingFields, MappingInput,
        MappingChange, audit::Entity, HoursInput, TimeOffInput, AppointmentInput, AppointmentChange,
        StatusChangeRequest, Conflict, NotDuplicateRequest, MergeRequest,
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
    let whole = operation
        .operation_id
        .as_deref()
        .is_some_and(|id| WHOLE_ARRAYS.contains(&id));

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
        if status == 200 && is_list(response) && !whole {
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

/// The operations whose array answer is one whole document, not a page of
/// a list: a doctor's week, a span of free slots.
const WHOLE_ARRAYS: &[&str] = &[
    "schedule_read_hours",
    "schedule_replace_hours",
    "appointments_slots",
];

/// A JSON array answer: a page of a list (`http::Page`), unless the
/// operation is one of `WHOLE_ARRAYS`.
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

    #[test]
    fn every_error_code_in_the_error_module_doc_is_in_the_documented_enum() {
        let source = include_str!("../error.rs");
        let doc: String = source
            .lines()
            .take_while(|line| line.starts_with("//!"))
            .collect();
        let listed = doc.split("Codes").nth(1).unwrap_or_default();
        let mut in_doc: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
        in_doc.sort_unstable();
        let mut documented = crate::error::CODES.to_vec();
        documented.sort_unstable();
        assert_eq!(in_doc, documented);
    }
}
