//! How `/fhir` answers: `application/fhir+json` resources, and every error
//! (a handler's, a guard's parked one, Rocket's own 404, a wrong method) as
//! an `OperationOutcome` with the status the `/api` would give, the same
//! `WWW-Authenticate`, `Allow` and `Retry-After` headers included.

use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::route::{Handler, Outcome, Route};
use rocket::{catch, catchers, Catcher, Data};
use serde::Serialize;

use crate::error::{self, ApiError, Code};
use crate::http;

/// FHIR's JSON media type (`application/fhir+json; fhirVersion=4.0`).
fn fhir_json() -> ContentType {
    ContentType::new("application", "fhir+json").with_params(("fhirVersion", "4.0"))
}

/// A FHIR resource (or Bundle) as the body of a `200`.
pub struct Fhir<T>(pub T);

impl<'r, T: Serialize> Responder<'r, 'static> for Fhir<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = serde_json::to_string(&self.0).map_err(|e| {
            tracing::error!(error = %e, "a FHIR resource could not be serialised");
            Status::InternalServerError
        })?;
        answer(req, Status::Ok, body)
    }
}

fn answer(req: &Request<'_>, status: Status, body: String) -> response::Result<'static> {
    Response::build_from(body.respond_to(req)?)
        .status(status)
        .header(fhir_json())
        // Patient data must not linger in a browser cache (as on `/api`).
        .header(Header::new("Cache-Control", "no-store"))
        .ok()
}

/// An `ApiError` answered as an `OperationOutcome`.
#[derive(Debug)]
pub struct FhirError(pub ApiError);

impl From<ApiError> for FhirError {
    fn from(err: ApiError) -> Self {
        Self(err)
    }
}

#[derive(Serialize)]
struct OperationOutcome {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    issue: Vec<Issue>,
}

#[derive(Serialize)]
struct Issue {
    severity: &'static str,
    code: &'static str,
    details: Details,
    diagnostics: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    expression: Vec<String>,
}

#[derive(Serialize)]
struct Details {
    /// clinicdesk's own error code (the `/api`'s `code`).
    text: &'static str,
}

/// FHIR's issue type for an error.
fn issue_type(err: &ApiError) -> &'static str {
    match err.status().code {
        400 => "invalid",
        401 => "login",
        403 => "forbidden",
        404 => "not-found",
        405 | 406 | 415 => "not-supported",
        409 => "conflict",
        413 => "too-long",
        429 => "throttled",
        503 => "transient",
        _ => "exception",
    }
}

impl<'r> Responder<'r, 'static> for FhirError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let err = self.0;
        let issue = match &err {
            ApiError::Validation(fields) => fields
                .iter()
                .flat_map(|(field, messages)| {
                    messages.iter().map(move |message| Issue {
                        severity: "error",
                        code: "invalid",
                        details: Details {
                            text: Code::ValidationError.as_str(),
                        },
                        diagnostics: format!("{field}: {message}"),
                        expression: vec![field.clone()],
                    })
                })
                .collect(),
            _ => vec![Issue {
                severity: "error",
                code: issue_type(&err),
                details: Details {
                    text: err.code().as_str(),
                },
                diagnostics: diagnostics(&err),
                expression: Vec::new(),
            }],
        };
        let outcome = OperationOutcome {
            resource_type: "OperationOutcome",
            issue,
        };
        let body = serde_json::to_string(&outcome).map_err(|_| Status::InternalServerError)?;
        // The `/api`'s own answer gives the status and headers (and logs a
        // server error, whose cause never reaches the body).
        let api = err.respond_to(req)?;
        let mut response = answer(req, api.status(), body)?;
        for name in ["WWW-Authenticate", "Allow", "Retry-After"] {
            if let Some(value) = api.headers().get_one(name) {
                response.set_header(Header::new(name, value.to_owned()));
            }
        }
        Ok(response)
    }
}

/// The human sentence: never a server error's cause (it may quote patient data).
fn diagnostics(err: &ApiError) -> String {
    match err {
        ApiError::Database(_) | ApiError::Pool(_) | ApiError::Internal(_) => {
            "Something went wrong on the server. The error has been logged.".to_owned()
        }
        other => other.to_string(),
    }
}

/// The catchers mounted at `/fhir`: every status Rocket produces there is
/// an `OperationOutcome` (a guard's parked error when there is one).
pub fn catchers() -> Vec<Catcher> {
    catchers![fhir_default]
}

#[catch(default)]
fn fhir_default(status: Status, req: &Request<'_>) -> FhirError {
    FhirError(
        error::take_parked(req).unwrap_or_else(|| match status.code {
            404 | 422 => ApiError::NotFound,
            400 => ApiError::BadRequest {
                code: Code::BadRequest,
                detail: "The request could not be understood.".into(),
            },
            401 => ApiError::unauthenticated("Authentication is required."),
            403 => ApiError::forbidden(),
            413 => ApiError::PayloadTooLarge,
            415 => ApiError::UnsupportedMediaType,
            _ => ApiError::Internal(anyhow::anyhow!("unhandled status {status}")),
        }),
    )
}

/// Answers what no `/fhir` route claimed: `405` with `Allow` for a path
/// that exists (every FHIR route here is a read), else `404`.
#[derive(Clone)]
struct Fallback;

#[rocket::async_trait]
impl Handler for Fallback {
    async fn handle<'r>(&self, req: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        Outcome::from(req, FhirError(http::unmatched(req)))
    }
}

/// The fallback routes, one per method, mounted at `/fhir`.
pub fn fallback_routes() -> Vec<Route> {
    [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
        Method::Trace,
    ]
    .into_iter()
    .map(|method| Route::ranked(http::FALLBACK_RANK, method, "/<_..>", Fallback))
    .collect()
}
