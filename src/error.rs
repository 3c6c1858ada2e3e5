//! The single error type of the API and the one JSON shape it renders to:
//! `{"detail": "...", "code": "...", "errors": {"field": ["..."]}}`.
//!
//! Codes (a closed list the UI may key off): `validation_error`, `malformed_json`,
//! `not_authenticated`, `invalid_credentials`, `account_inactive`,
//! `permission_denied`, `registration_closed`, `not_found`, `method_not_allowed`,
//! `duplicate`, `last_admin`, `payload_too_large`, `unsupported_media_type`,
//! `throttled`, `busy`, `bad_request`, `storage_full`, `server_error`,
//! `password_change_required`, `too_many_connections` (the front door's
//! 503 past a connection cap, written by the front module itself, outside
//! Rocket), `slot_taken` (a booking that would overlap; the body names the
//! clashes in its conflicts list), `invalid_transition`, `appointment_closed`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde::Serialize;

/// Every `code` an answer can carry: the list above, for `/api/openapi.json`
/// (a unit test in `openapi` holds the two together).
pub const CODES: &[&str] = &[
    "validation_error",
    "malformed_json",
    "not_authenticated",
    "invalid_credentials",
    "account_inactive",
    "permission_denied",
    "registration_closed",
    "not_found",
    "method_not_allowed",
    "duplicate",
    "last_admin",
    "payload_too_large",
    "unsupported_media_type",
    "throttled",
    "busy",
    "bad_request",
    "storage_full",
    "server_error",
    "password_change_required",
    "too_many_connections",
    "slot_taken",
    "invalid_transition",
    "appointment_closed",
];

/// Field name → every problem found with it. Sorted, so output is stable.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Some fields are invalid.")]
    Validation(FieldErrors),
    #[error("{detail}")]
    BadRequest { code: &'static str, detail: String },
    #[error("{detail}")]
    Unauthorized { code: &'static str, detail: String },
    #[error("{detail}")]
    Forbidden { code: &'static str, detail: String },
    #[error("Not found.")]
    NotFound,
    #[error("This method is not allowed here. Allowed: {allow}.")]
    MethodNotAllowed { allow: String },
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
    /// `409 slot_taken`: the time is already taken; `conflicts` (a JSON
    /// array the resource builds) names what it clashes with.
    #[error("{detail}")]
    Taken {
        detail: String,
        conflicts: serde_json::Value,
    },
    #[error("The request body is larger than 1 MiB.")]
    PayloadTooLarge,
    #[error("The request body must be JSON (Content-Type: application/json).")]
    UnsupportedMediaType,
    #[error("Too many failed attempts. Try again in {retry_after} seconds.")]
    Throttled { retry_after: u64 },
    /// More work queued than the server takes on: `503` with `Retry-After`.
    #[error("{detail} Try again in {retry_after} seconds.")]
    Busy {
        retry_after: u64,
        detail: &'static str,
    },
    #[error("database error")]
    Database(#[from] rusqlite::Error),
    #[error("database pool error")]
    Pool(#[from] r2d2::Error),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// `401 not_authenticated` with a human reason (no secret in it).
    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::Unauthorized {
            code: "not_authenticated",
            detail: detail.into(),
        }
    }

    /// `403 permission_denied`.
    pub fn forbidden() -> Self {
        Self::Forbidden {
            code: "permission_denied",
            detail: "You do not have permission to do this.".into(),
        }
    }

    /// `409 duplicate`: a value that must be unique is already taken.
    pub fn duplicate(detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: "duplicate",
            detail: detail.into(),
        }
    }

    /// `400 validation_error` for a single field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        Self::Validation(BTreeMap::from([(name.to_owned(), vec![message.into()])]))
    }

    /// The disk holding the database is full: nothing was written (`SQLite`
    /// rolled the transaction back) and writes work again once there is room.
    fn is_disk_full(&self) -> bool {
        matches!(
            self,
            Self::Database(rusqlite::Error::SqliteFailure(failure, _))
                if failure.code == rusqlite::ErrorCode::DiskFull
        )
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> Status {
        if self.is_disk_full() {
            return Status::InsufficientStorage;
        }
        match self {
            Self::Validation(_) | Self::BadRequest { .. } => Status::BadRequest,
            Self::Unauthorized { .. } => Status::Unauthorized,
            Self::Forbidden { .. } => Status::Forbidden,
            Self::NotFound => Status::NotFound,
            Self::MethodNotAllowed { .. } => Status::MethodNotAllowed,
            Self::Conflict { .. } | Self::Taken { .. } => Status::Conflict,
            Self::PayloadTooLarge => Status::PayloadTooLarge,
            Self::UnsupportedMediaType => Status::UnsupportedMediaType,
            Self::Throttled { .. } => Status::TooManyRequests,
            Self::Busy { .. } => Status::ServiceUnavailable,
            Self::Database(_) | Self::Pool(_) | Self::Internal(_) => Status::InternalServerError,
        }
    }

    /// The machine-readable `code` of the body.
    pub fn code(&self) -> &'static str {
        if self.is_disk_full() {
            return "storage_full";
        }
        match self {
            Self::Validation(_) => "validation_error",
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. } => code,
            Self::Taken { .. } => "slot_taken",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Throttled { .. } => "throttled",
            Self::Busy { .. } => "busy",
            Self::Database(_) | Self::Pool(_) | Self::Internal(_) => "server_error",
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    detail: String,
    code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a FieldErrors>,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflicts: Option<&'a serde_json::Value>,
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let status = self.status();
        let detail = if self.is_disk_full() {
            tracing::error!(path = %req.uri().path(), "the disk holding the database is full; a write was refused");
            "The server's disk is full, so nothing was saved. Ask the person who looks after the \
             clinic's computers to free some space; clinicdesk carries on by itself once there is room."
                .to_owned()
        } else if matches!(self, Self::Database(_) | Self::Pool(_) | Self::Internal(_)) {
            // The cause goes to the log only: database text can quote patient data.
            // The path is logged without its query, which may hold search terms.
            tracing::error!(error = ?self, method = %req.method(), path = %req.uri().path(), "request failed");
            "Something went wrong on the server. The error has been logged.".to_owned()
        } else {
            self.to_string()
        };
        let errors = match &self {
            Self::Validation(fields) => Some(fields),
            _ => None,
        };

        let body = Json(Body {
            detail,
            code: self.code(),
            errors,
            conflicts: match &self {
                Self::Taken { conflicts, .. } => Some(conflicts),
                _ => None,
            },
        });
        let mut response = Response::build_from(body.respond_to(req)?);
        response.status(status);
        match &self {
            Self::Unauthorized { .. } => {
                response.header(Header::new(
                    "WWW-Authenticate",
                    "Bearer realm=\"clinicdesk\"",
                ));
            }
            Self::MethodNotAllowed { allow } => {
                response.header(Header::new("Allow", allow.clone()));
            }
            Self::Throttled { retry_after } | Self::Busy { retry_after, .. } => {
                response.header(Header::new("Retry-After", retry_after.to_string()));
            }
            _ => {}
        }
        response.ok()
    }
}

/// Where a failing guard leaves its error for the catcher (see `park`).
struct Parked(Mutex<Option<ApiError>>);

/// Stores `err` on the request and returns the status the guard should fail with.
///
/// Rocket 0.5 catchers see only a status, not a guard's error value, so guards
/// park the full error here and the `/api` catcher takes it back out.
pub fn park(req: &Request<'_>, err: ApiError) -> Status {
    let status = err.status();
    let slot = req.local_cache(|| Parked(Mutex::new(None)));
    if let Ok(mut parked) = slot.0.lock() {
        *parked = Some(err);
    }
    status
}

/// Takes back the error a guard or fairing parked on the request, if any.
pub fn take_parked(req: &Request<'_>) -> Option<ApiError> {
    req.local_cache(|| Parked(Mutex::new(None)))
        .0
        .lock()
        .ok()
        .and_then(|mut slot| slot.take())
}

/// The catchers mounted at `/api`, so no API answer is ever an HTML page.
pub fn catchers() -> Vec<Catcher> {
    catchers![api_default]
}

/// Every error Rocket produces under `/api` leaves in the API's own shape.
#[catch(default)]
fn api_default(status: Status, req: &Request<'_>) -> ApiError {
    take_parked(req).unwrap_or_else(|| match status.code {
        // 422 only comes from a path parameter that did not parse (`/patients/abc`):
        // no such record.
        404 | 422 => ApiError::NotFound,
        413 => ApiError::PayloadTooLarge,
        415 => ApiError::UnsupportedMediaType,
        400 => ApiError::BadRequest {
            code: "bad_request",
            detail: "The request could not be understood.".into(),
        },
        401 => ApiError::unauthenticated("Authentication is required."),
        403 => ApiError::forbidden(),
        _ => ApiError::Internal(anyhow::anyhow!("unhandled status {status}")),
    })
}
