//! How `/fhir` answers: `application/fhir+json` resources, and every error
//! (a handler's, a guard's parked one, Rocket's own 404, a wrong method) as
//! an `OperationOutcome` with the status the `/api` would give, the same
//! `WWW-Authenticate`, `Allow` and `Retry-After` headers included.

use rocket::http::{ContentType, Header, Method, Status};
use rocket::request::{FromRequest, Request};
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

/// A catcher's answer: the error, or `406` (which no `ApiError` is).
#[derive(Responder)]
enum Caught {
    Error(FhirError),
    NotAcceptable(NotAcceptable),
}

/// `406`: the client accepts no JSON (see `Accepts`).
struct NotAcceptable;

impl<'r> Responder<'r, 'static> for NotAcceptable {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let outcome = OperationOutcome {
            resource_type: "OperationOutcome",
            issue: vec![Issue {
                severity: "error",
                code: "not-supported",
                details: Details {
                    text: Code::BadRequest.as_str(),
                },
                diagnostics: "Only application/fhir+json (or application/json) is served, \
                              and the Accept header allows neither."
                    .to_owned(),
                expression: Vec::new(),
            }],
        };
        let body = serde_json::to_string(&outcome).map_err(|_| Status::InternalServerError)?;
        answer(req, Status::NotAcceptable, body)
    }
}

/// A request guard: the client accepts FHIR's JSON (no `Accept`, `*/*`,
/// `application/*`, `application/json` or `application/fhir+json`, the
/// older `application/json+fhir` too), else `406`. (`_format` asks the
/// same in the query: `search`.)
pub struct Accepts;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Accepts {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> rocket::request::Outcome<Self, ()> {
        let accepted = req.headers().get_one("Accept").is_none_or(accepts_json);
        if accepted {
            rocket::request::Outcome::Success(Accepts)
        } else {
            rocket::request::Outcome::Error((Status::NotAcceptable, ()))
        }
    }
}

/// Whether an `Accept` header allows FHIR's JSON (a range with `q=0` is refused).
fn accepts_json(accept: &str) -> bool {
    accept.split(',').any(|range| {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        !refused
            && matches!(
                media.as_str(),
                "*/*"
                    | "application/*"
                    | "application/json"
                    | "application/fhir+json"
                    | "application/json+fhir"
            )
    })
}

#[catch(default)]
fn fhir_default(status: Status, req: &Request<'_>) -> Caught {
    if status == Status::NotAcceptable {
        return Caught::NotAcceptable(NotAcceptable);
    }
    Caught::Error(FhirError(error::take_parked(req).unwrap_or_else(
        || match status.code {
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
        },
    )))
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

#[cfg(test)]
mod tests {
    use super::accepts_json;

    #[test]
    fn json_of_either_name_or_any_type_is_accepted_and_nothing_else() {
        for accept in [
            "*/*",
            "application/fhir+json",
            "application/json, text/plain",
            "text/html, application/*;q=0.5",
            "application/json+fhir",
        ] {
            assert!(accepts_json(accept), "{accept}");
        }
        for accept in ["application/fhir+xml", "text/html", "application/json;q=0"] {
            assert!(!accepts_json(accept), "{accept}");
        }
    }
}
