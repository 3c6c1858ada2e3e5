//! `GET /api/openapi.json`, generated from the handlers' `#[utoipa::path]`
//! annotations and the wire types, so it cannot drift from the routes; and
//! `/api/docs/`, Swagger UI served from the binary (its files are vendored
//! into the crate: no CDN, works on an offline clinic LAN).
//!
//! Request bodies are read field by field (see `validation::Fields`), so
//! the `*Request` types below exist only to describe them.

#![allow(dead_code)] // The request types are read by the OpenAPI derive, never constructed.

use rocket::Route;
use serde::Deserialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_swagger_ui::SwaggerUi;

use crate::{audit, auth, backup, doctors, health, mappings, patients, settings, setup, users};

/// `POST /api/setup/`.
#[derive(Deserialize, ToSchema)]
pub struct SetupRequest {
    /// The token after `#` in the setup link the server printed.
    token: String,
    email: String,
    password: String,
    name: Option<String>,
}

/// `POST /api/auth/register/`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    email: String,
    password: String,
    /// Must equal `password` when given.
    password_confirm: Option<String>,
    name: Option<String>,
    username: Option<String>,
}

/// `POST /api/auth/login/`: `email` or `username` (which may hold the email).
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    email: Option<String>,
    username: Option<String>,
    password: String,
}

/// `POST /api/auth/refresh/` and `/api/auth/logout/`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    refresh: String,
}

/// `PATCH /api/auth/me/`.
#[derive(Deserialize, ToSchema)]
pub struct MeRequest {
    name: Option<String>,
    username: Option<String>,
}

/// `POST /api/auth/password/`.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    current_password: String,
    new_password: String,
}

/// `POST`/`PATCH /api/users/`: an admin's view of an account.
#[derive(Deserialize, ToSchema)]
pub struct UserRequest {
    email: Option<String>,
    /// A new password (reset by an admin).
    password: Option<String>,
    name: Option<String>,
    username: Option<String>,
    /// `admin`, `staff` or `user` (default `user`).
    role: Option<String>,
    is_active: Option<bool>,
    /// Whether the owner must choose a new password at next sign-in. Default
    /// `true` whenever the admin sets a password on another account; `false`
    /// e.g. for a lab system's account. Never `true` on the admin's own.
    must_change_password: Option<bool>,
    /// `false` clears the account's sign-in delays (accounts are never
    /// locked; failed sign-ins only delay the address they come from).
    locked: Option<bool>,
}

/// `POST /api/mappings/` (`patient`/`doctor` also as `patient_id`/`doctor_id`);
/// `PATCH`/`PUT` take `status`, `reason` and `notes` only.
#[derive(Deserialize, ToSchema)]
pub struct MappingRequest {
    patient: Option<i64>,
    doctor: Option<i64>,
    reason: Option<String>,
    notes: Option<String>,
    /// `ACTIVE` (default), `INACTIVE` or `COMPLETED`.
    status: Option<String>,
}

/// Every error answer: `errors` only on `400 validation_error`, one entry
/// per bad field. `code` is one of the closed list in the README.
#[derive(Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A sentence for a person.
    detail: String,
    /// For programs: `validation_error`, `not_authenticated`, `not_found`, …
    code: String,
    errors: Option<std::collections::BTreeMap<String, Vec<String>>>,
}

/// The generated description of the API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "clinicdesk",
        description = "A small clinic's patients, doctors and patient–doctor mappings. \
            Errors are always `{\"detail\", \"code\", \"errors\"?}`; lists carry `X-Total-Count` and `Link`."
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
    components(schemas(ErrorBody)),
    modifiers(&Mounted)
)]
pub struct ApiDoc;

/// Adds the `/api` prefix every route is mounted under, the error shape as
/// every operation's `default` response, and the bearer scheme.
struct Mounted;

impl Modify for Mounted {
    fn modify(&self, openapi: &mut Document) {
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
                    let error = ResponseBuilder::new()
                        .description("An error, in the API's one error shape")
                        .content(
                            "application/json",
                            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
                        )
                        .build();
                    operation
                        .responses
                        .responses
                        .insert("default".into(), error.into());
                }
                (format!("/api{path}"), item)
            })
            .collect();
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The docs page and the JSON it reads.
pub fn routes() -> Vec<Route> {
    SwaggerUi::new("/api/docs/<_..>")
        .url("/api/openapi.json", ApiDoc::openapi())
        .into()
}
