//! HTTP plumbing shared by every resource: the JSON body guards
//! (400/413/415), the query check, the 405 fallback Rocket lacks, and the
//! security headers on every response. List paging, ordering and pages are
//! in `lists` (re-exported here: `http::Page`, `http::Paging`, …).

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method};
use rocket::request::Request;
use rocket::response::Response;
use rocket::route::{Handler, Outcome, Route};
use serde_json::{Map, Value};

use crate::error::{self, ApiError, Code, FieldErrors};

pub mod download;
mod lists;
pub mod schemas;
pub mod upload;

pub use self::lists::*;
pub use self::schemas::ErrorBody;

/// The largest request body accepted (the contract's 1 MiB).
const BODY_LIMIT_MIB: u64 = 1;

/// The largest whole-clinic document an import takes over HTTP (a clinic
/// of 100,000 patients writes about 100 MiB); `clinicdesk import` reads
/// any size from a file.
pub const DOCUMENT_LIMIT_MIB: u64 = 256;

/// A request body that is a JSON object. Fails with the contract's errors:
/// `415` for another content type, `413` over 1 MiB, `400 malformed_json`
/// for anything that is not a JSON object. Fields are read one by one (see
/// `validation::Fields`) so every bad field is reported at once.
pub struct JsonBody(pub Map<String, Value>);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonBody {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        let body = read_json(req, data).await.and_then(|value| match value {
            Value::Object(map) => Ok(JsonBody(map)),
            _ => Err(malformed("The request body must be a JSON object.")),
        });
        match body {
            Ok(body) => data::Outcome::Success(body),
            Err(err) => data::Outcome::Error((error::park(req, err), ())),
        }
    }
}

/// A request body that is any JSON value (a whole list a route replaces,
/// such as a doctor's weekly hours), with `JsonBody`'s other rules.
pub struct JsonValue(pub Value);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonValue {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read_json(req, data).await {
            Ok(value) => data::Outcome::Success(JsonValue(value)),
            Err(err) => data::Outcome::Error((error::park(req, err), ())),
        }
    }
}

/// A whole JSON document (the clinic's export) as a request body, up to
/// [`DOCUMENT_LIMIT_MIB`], with `JsonBody`'s other rules.
pub struct JsonDocument(pub Value);

#[rocket::async_trait]
impl<'r> FromData<'r> for JsonDocument {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read_json_up_to(req, data, DOCUMENT_LIMIT_MIB).await {
            Ok(value) => data::Outcome::Success(JsonDocument(value)),
            Err(err) => data::Outcome::Error((error::park(req, err), ())),
        }
    }
}

fn malformed(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: Code::MalformedJson,
        detail: detail.into(),
    }
}

async fn read_json(req: &Request<'_>, data: Data<'_>) -> Result<Value, ApiError> {
    read_json_up_to(req, data, BODY_LIMIT_MIB).await
}

async fn read_json_up_to(
    req: &Request<'_>,
    data: Data<'_>,
    limit_mib: u64,
) -> Result<Value, ApiError> {
    let content_type = req.content_type();
    let is_json =
        content_type.is_some_and(|ct| ct.is_json() || ct.sub().as_str().ends_with("+json"));
    if content_type.is_some() && !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = data
        .open(limit_mib.mebibytes())
        .into_bytes()
        .await
        .map_err(|_| malformed("The request body could not be read."))?;
    if !bytes.is_complete() {
        return Err(if limit_mib == BODY_LIMIT_MIB {
            ApiError::PayloadTooLarge
        } else {
            ApiError::FileTooLarge {
                detail: format!("The file is larger than {limit_mib} MiB; nothing was read."),
            }
        });
    }
    if bytes.is_empty() {
        return Err(malformed("A JSON body is required."));
    }
    if !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    // Syntax errors name a line and column, never the input itself.
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let parsed = serde::de::DeserializeSeed::deserialize(UniqueKeys, &mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(e) => Err(malformed(format!(
            "The request body is not valid JSON: {e}."
        ))),
    }
}

/// Reads a JSON value like `serde_json::Value` does, but refuses an object
/// that names a key twice, at any depth. Parsers disagree on which of two
/// `"role"`s counts (serde keeps the last, others the first), and that
/// disagreement between a proxy, a log and the server is a smuggling route.
#[derive(Clone, Copy)]
struct UniqueKeys;

impl<'de> serde::de::DeserializeSeed<'de> for UniqueKeys {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                // The key's name is client text; the position comes with the error.
                return Err(serde::de::Error::custom(
                    "a key appears twice in one object",
                ));
            }
            let value = map.next_value_seed(self)?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// Where `QueryCheck` sends a request whose query it refused; the fallback
/// answers it with the parked error. (Not a route: nothing else gets here.)
const REFUSED_QUERY: &str = "/api/refused-query";

/// Refuses, for every `/api` request and in this one place, a query
/// parameter holding a control character (NUL, `\x1f`, DEL, CR, LF…) or a
/// percent-escape that is not UTF-8: `400 validation_error` naming the
/// parameter, before any handler (and so any SQL or FTS5 query) sees it.
/// No filter, search or paging value has a use for them, and NUL inside
/// an FTS5 query was a 500.
pub struct QueryCheck;

#[rocket::async_trait]
impl Fairing for QueryCheck {
    fn info(&self) -> Info {
        Info {
            name: "query parameter check",
            kind: Kind::Request,
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _data: &mut Data<'_>) {
        if !req.uri().path().starts_with("/api") {
            return;
        }
        let Some(query) = req.uri().query() else {
            return;
        };
        let errors = refused_parameters(query.as_str());
        if errors.is_empty() {
            return;
        }
        error::park(req, ApiError::Validation(errors));
        req.set_method(Method::Get);
        req.set_uri(rocket::http::uri::Origin::const_new(REFUSED_QUERY, None));
    }
}

/// A message per query parameter whose name or value, once
/// percent-decoded, is not clean text.
fn refused_parameters(query: &str) -> FieldErrors {
    fn clean(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
        rocket::http::RawStr::new(raw)
            .url_decode()
            .ok()
            .filter(|text| !text.chars().any(char::is_control))
    }
    let mut errors = FieldErrors::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let shown = clean(name).map_or_else(|| "query".to_owned(), std::borrow::Cow::into_owned);
        if clean(name).is_none() || clean(value).is_none() {
            let message = "May not contain control characters (such as NUL or a line break) or bytes that are not UTF-8.";
            let messages = errors.entry(shown).or_default();
            if messages.is_empty() {
                messages.push(message.to_owned());
            }
        }
    }
    errors
}

/// Answers what no API route claimed: `405` with `Allow` when the path exists
/// for other methods, else the JSON `404`. Rocket itself answers 404 to a
/// wrong method (rwf2/Rocket#1224).
#[derive(Clone)]
struct MethodFallback;

/// Rank of the fallback routes: after every real route (Rocket's default
/// ranks are negative), before the UI's catch-all (rank 20).
pub const FALLBACK_RANK: isize = 10;

#[rocket::async_trait]
impl Handler for MethodFallback {
    async fn handle<'r>(&self, req: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        if req.uri().path() == REFUSED_QUERY {
            if let Some(err) = error::take_parked(req) {
                return Outcome::from(req, err);
            }
        }
        Outcome::from(req, unmatched(req))
    }
}

/// What a request no route claimed is answered: `405` naming the methods
/// the path has, or `404` (also when the method exists but the route
/// declined, e.g. `/patients/abc`: no such record). For every fallback
/// (the `/api` one here, and `/fhir`'s, which answers it in its own shape).
pub fn unmatched(req: &Request<'_>) -> ApiError {
    let requested: Vec<&str> = req.uri().path().segments().collect();
    let mut allowed: Vec<&str> = req
        .rocket()
        .routes()
        .filter(|route| route.rank < FALLBACK_RANK && path_matches(route, &requested))
        .map(|route| route.method.as_str())
        .collect();
    allowed.sort_unstable();
    allowed.dedup();
    if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
        ApiError::NotFound
    } else {
        ApiError::MethodNotAllowed {
            allow: allowed.join(", "),
        }
    }
}

/// Whether the route's path pattern (`/api/patients/<id>`) matches these segments.
fn path_matches(route: &Route, requested: &[&str]) -> bool {
    let pattern: Vec<&str> = route
        .uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let mut i = 0;
    for segment in &pattern {
        if segment.starts_with('<') && segment.ends_with("..>") {
            return true;
        }
        match requested.get(i) {
            Some(actual) if segment.starts_with('<') || segment == actual => i += 1,
            _ => return false,
        }
    }
    i == requested.len()
}

/// The fallback routes, one per method, mounted at `/api`.
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
    .map(|method| Route::ranked(FALLBACK_RANK, method, "/<_..>", MethodFallback))
    .collect()
}

/// Security headers on every response; `no-store` on the API, whose answers
/// hold patient data that must not linger in a browser cache; HSTS when the
/// server speaks HTTPS, so browsers never fall back to clear text.
pub struct SecurityHeaders {
    pub hsts: bool,
}

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let path = req.uri().path();
        // Swagger UI (the API docs page) sets inline styles; nothing else may.
        let style = if path.starts_with("/api/docs") {
            "style-src 'self' 'unsafe-inline'"
        } else {
            "style-src 'self'"
        };
        res.set_header(Header::new(
            "Content-Security-Policy",
            format!(
                "default-src 'self'; img-src 'self' data:; {style}; object-src 'none'; \
                 base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
            ),
        ));
        res.set_header(Header::new("X-Content-Type-Options", "nosniff"));
        res.set_header(Header::new("Referrer-Policy", "same-origin"));
        res.set_header(Header::new("X-Frame-Options", "DENY"));
        if path.starts_with("/api") {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
        if self.hsts {
            res.set_header(Header::new("Strict-Transport-Security", "max-age=31536000"));
        }
    }
}
