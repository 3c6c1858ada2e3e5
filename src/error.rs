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
//! clashes in its conflicts list), `invalid_transition`, `appointment_closed`,
//! `cannot_merge` (a patient merged with itself or with an archived record),
//! `not_empty` (a whole-clinic import into a clinicdesk that already holds
//! records).

use std::collections::BTreeMap;
use std::sync::Mutex;

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher};
use serde::Serialize;

/// Every `code` an answer can carry: the closed list above, as a type, so
/// a mistyped code does not compile. Each is answered as its snake-case
/// name (`as_str`, which `Serialize` writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    ValidationError,
    MalformedJson,
    NotAuthenticated,
    InvalidCredentials,
    AccountInactive,
    PermissionDenied,
    RegistrationClosed,
    NotFound,
    MethodNotAllowed,
    Duplicate,
    LastAdmin,
    PayloadTooLarge,
    UnsupportedMediaType,
    Throttled,
    Busy,
    BadRequest,
    StorageFull,
    ServerError,
    PasswordChangeRequired,
    TooManyConnections,
    SlotTaken,
    InvalidTransition,
    AppointmentClosed,
    CannotMerge,
    /// A whole-clinic import into an instance that already holds records.
    NotEmpty,
}

impl Code {
    /// Every code, in the order `/api/openapi.json` lists them.
    pub const ALL: [Self; 25] = [
        Self::ValidationError,
        Self::MalformedJson,
        Self::NotAuthenticated,
        Self::InvalidCredentials,
        Self::AccountInactive,
        Self::PermissionDenied,
        Self::RegistrationClosed,
        Self::NotFound,
        Self::MethodNotAllowed,
        Self::Duplicate,
        Self::LastAdmin,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::Throttled,
        Self::Busy,
        Self::BadRequest,
        Self::StorageFull,
        Self::ServerError,
        Self::PasswordChangeRequired,
        Self::TooManyConnections,
        Self::SlotTaken,
        Self::InvalidTransition,
        Self::AppointmentClosed,
        Self::CannotMerge,
        Self::NotEmpty,
    ];

    /// The name a body carries.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "validation_error",
            Self::MalformedJson => "malformed_json",
            Self::NotAuthenticated => "not_authenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountInactive => "account_inactive",
            Self::PermissionDenied => "permission_denied",
            Self::RegistrationClosed => "registration_closed",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Duplicate => "duplicate",
            Self::LastAdmin => "last_admin",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Throttled => "throttled",
            Self::Busy => "busy",
            Self::BadRequest => "bad_request",
            Self::StorageFull => "storage_full",
            Self::ServerError => "server_error",
            Self::PasswordChangeRequired => "password_change_required",
            Self::TooManyConnections => "too_many_connections",
            Self::SlotTaken => "slot_taken",
            Self::InvalidTransition => "invalid_transition",
            Self::AppointmentClosed => "appointment_closed",
            Self::CannotMerge => "cannot_merge",
            Self::NotEmpty => "not_empty",
        }
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Every code's name, for `/api/openapi.json` (a unit test in `openapi`
/// holds it and the list above together).
pub const CODES: [&str; Code::ALL.len()] = {
    let mut names = [""; Code::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = Code::ALL[i].as_str();
        i += 1;
    }
    names
};

/// Field name → every problem found with it. Sorted, so output is stable.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Some fields are invalid.")]
    Validation(FieldErrors),
    #[error("{detail}")]
    BadRequest { code: Code, detail: String },
    #[error("{detail}")]
    Unauthorized { code: Code, detail: String },
    #[error("{detail}")]
    Forbidden { code: Code, detail: String },
    #[error("Not found.")]
    NotFound,
    #[error("This method is not allowed here. Allowed: {allow}.")]
    MethodNotAllowed { allow: String },
    #[error("{detail}")]
    Conflict { code: Code, detail: String },
    /// `409 slot_taken`: the time is already taken; `conflicts` (a JSON
    /// array the resource builds) names what it clashes with.
    #[error("{detail}")]
    Taken {
        detail: String,
        conflicts: serde_json::Value,
    },
    #[error("The request body is larger than 1 MiB.")]
    PayloadTooLarge,
    /// `413` for a body with a limit of its own (an uploaded file).
    #[error("{detail}")]
    FileTooLarge { detail: String },
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
            code: Code::NotAuthenticated,
            detail: detail.into(),
        }
    }

    /// `403 permission_denied`.
    pub fn forbidden() -> Self {
        Self::Forbidden {
            code: Code::PermissionDenied,
            detail: "You do not have permission to do this.".into(),
        }
    }

    /// `409 duplicate`: a value that must be unique is already taken.
    pub fn duplicate(detail: impl Into<String>) -> Self {
        Self::Conflict {
            code: Code::Duplicate,
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
            Self::PayloadTooLarge | Self::FileTooLarge { .. } => Status::PayloadTooLarge,
            Self::UnsupportedMediaType => Status::UnsupportedMediaType,
            Self::Throttled { .. } => Status::TooManyRequests,
            Self::Busy { .. } => Status::ServiceUnavailable,
            Self::Database(_) | Self::Pool(_) | Self::Internal(_) => Status::InternalServerError,
        }
    }

    /// The machine-readable `code` of the body.
    pub fn code(&self) -> Code {
        if self.is_disk_full() {
            return Code::StorageFull;
        }
        match self {
            Self::Validation(_) => Code::ValidationError,
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. } => *code,
            Self::Taken { .. } => Code::SlotTaken,
            Self::NotFound => Code::NotFound,
            Self::MethodNotAllowed { .. } => Code::MethodNotAllowed,
            Self::PayloadTooLarge | Self::FileTooLarge { .. } => Code::PayloadTooLarge,
            Self::UnsupportedMediaType => Code::UnsupportedMediaType,
            Self::Throttled { .. } => Code::Throttled,
            Self::Busy { .. } => Code::Busy,
            Self::Database(_) | Self::Pool(_) | Self::Internal(_) => Code::ServerError,
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    detail: String,
    code: Code,
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
            code: Code::BadRequest,
            detail: "The request could not be understood.".into(),
        },
        401 => ApiError::unauthenticated("Authentication is required."),
        403 => ApiError::forbidden(),
        _ => ApiError::Internal(anyhow::anyhow!("unhandled status {status}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_in_declaration_order_and_answered_as_its_name() {
        for (position, code) in Code::ALL.into_iter().enumerate() {
            // Declaration order with no gap: a variant left out of `ALL`
            // (anywhere but last) shows here.
            assert_eq!(code as usize, position, "{code:?}");
            assert_eq!(
                serde_json::to_value(code).expect("serialises"),
                code.as_str()
            );
        }
        let mut names = CODES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len(), "two codes share a name");
    }
}
