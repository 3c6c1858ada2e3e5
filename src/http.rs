//! HTTP plumbing shared by every resource: the JSON body guard (400/413/415),
//! list pages (`X-Total-Count` + `Link`), paging and ordering parameters, the
//! 405 fallback Rocket lacks, and the security headers on every response.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Header, Method};
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::route::{Handler, Outcome, Route};
use rocket::serde::json::Json;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{self, ApiError, Code, FieldErrors};

/// The largest request body accepted (the contract's 1 MiB).
const BODY_LIMIT_MIB: u64 = 1;

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

fn malformed(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: Code::MalformedJson,
        detail: detail.into(),
    }
}

async fn read_json(req: &Request<'_>, data: Data<'_>) -> Result<Value, ApiError> {
    let content_type = req.content_type();
    let is_json =
        content_type.is_some_and(|ct| ct.is_json() || ct.sub().as_str().ends_with("+json"));
    if content_type.is_some() && !is_json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = data
        .open(BODY_LIMIT_MIB.mebibytes())
        .into_bytes()
        .await
        .map_err(|_| malformed("The request body could not be read."))?;
    if !bytes.is_complete() {
        return Err(ApiError::PayloadTooLarge);
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

/// Which page of a list: `page` (1-based) and `page_size` (1–500, default 50).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: u32,
    pub page_size: u32,
}

impl Paging {
    const DEFAULT_SIZE: u32 = 50;
    const MAX_SIZE: u32 = 500;

    /// Reads the query values, adding a message per bad one to `errors`.
    pub fn parse(page: Option<&str>, page_size: Option<&str>, errors: &mut FieldErrors) -> Self {
        let mut number = |name: &str, raw: Option<&str>, default: u32, max: u32| match raw {
            None => default,
            Some(raw) => match raw.trim().parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    push(
                        errors,
                        name,
                        format!("Must be a whole number from 1 to {max}."),
                    );
                    default
                }
            },
        };
        Self {
            page: number("page", page, 1, u32::MAX),
            page_size: number("page_size", page_size, Self::DEFAULT_SIZE, Self::MAX_SIZE),
        }
    }

    /// SQL `LIMIT`.
    pub fn limit(self) -> i64 {
        i64::from(self.page_size)
    }

    /// SQL `OFFSET`.
    pub fn offset(self) -> i64 {
        (i64::from(self.page) - 1) * i64::from(self.page_size)
    }
}

/// A validated `ordering=field` / `ordering=-field`: the SQL column it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ordering {
    column: &'static str,
    descending: bool,
}

impl Ordering {
    /// Parses `raw` against `allowed` (API field name → SQL column). Unknown
    /// fields add an error; no value means the first allowed field, ascending.
    pub fn parse(
        raw: Option<&str>,
        allowed: &[(&str, &'static str)],
        errors: &mut FieldErrors,
    ) -> Self {
        let default = Self {
            column: allowed.first().map_or("id", |(_, column)| column),
            descending: false,
        };
        let Some(raw) = raw.map(str::trim) else {
            return default;
        };
        let (descending, name) = match raw.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, raw),
        };
        match allowed.iter().find(|(field, _)| *field == name) {
            Some((_, column)) => Self { column, descending },
            None => {
                let names: Vec<&str> = allowed.iter().map(|(field, _)| *field).collect();
                let message = format!(
                    "Must be one of {}, optionally with a leading '-'.",
                    names.join(", ")
                );
                push(errors, "ordering", message);
                default
            }
        }
    }

    /// The `ORDER BY` clause body; `id` breaks ties so pages never overlap.
    /// Only ever built from the static allow-list, so safe to splice into SQL.
    pub fn sql(self, table: &str) -> String {
        let direction = if self.descending { "DESC" } else { "ASC" };
        if self.column == "id" {
            format!("{table}.id {direction}")
        } else {
            format!(
                "{table}.{} {direction}, {table}.id {direction}",
                self.column
            )
        }
    }
}

/// How `/api/openapi.json` describes an `ordering` parameter over `allowed`: each
/// field, and each with a leading `-`.
pub fn ordering_schema(allowed: &[(&str, &'static str)]) -> utoipa::openapi::Object {
    let mut values: Vec<String> = Vec::new();
    for (field, _) in allowed {
        values.push((*field).to_owned());
        values.push(format!("-{field}"));
    }
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let mut schema = crate::validation::one_of_schema(&values, false);
    // A `schema_with` parameter loses its doc comment: the schema says it.
    schema.description = Some("A field, `-` before it for descending order.".into());
    schema
}

/// The query parameters every archivable list shares: `search`, `archived`,
/// `ordering`, `page`, `page_size`.
#[derive(Debug, Clone)]
pub struct Listing {
    /// Trimmed, never empty.
    pub search: Option<String>,
    /// `?archived=true`: list only archived records (admins only).
    pub archived: bool,
    pub ordering: Ordering,
    pub paging: Paging,
}

/// Whoever may list archived records. Identity answers it for its callers
/// (admins only): these plumbing types know no roles.
pub trait SeesArchived {
    fn sees_archived(&self) -> bool;
}

impl Listing {
    /// `?archived=true` is for those who see archived records; everyone
    /// else gets `403`.
    pub fn allowed_for(&self, reader: &impl SeesArchived) -> Result<(), ApiError> {
        if self.archived && !reader.sees_archived() {
            return Err(ApiError::forbidden());
        }
        Ok(())
    }

    /// Longest search term accepted, in characters.
    const MAX_SEARCH: usize = 200;

    /// Reads the shared parameters, adding a message per bad one to `errors`.
    pub fn parse(
        search: Option<&str>,
        archived: Option<&str>,
        ordering: (Option<&str>, &[(&str, &'static str)]),
        paging: (Option<&str>, Option<&str>),
        errors: &mut FieldErrors,
    ) -> Self {
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > Self::MAX_SEARCH) {
            push(
                errors,
                "search",
                format!("Must be at most {} characters.", Self::MAX_SEARCH),
            );
        }
        Self {
            search: search.map(str::to_owned),
            archived: flag(errors, "archived", archived).unwrap_or(false),
            ordering: Ordering::parse(ordering.0, ordering.1, errors),
            paging: Paging::parse(paging.0, paging.1, errors),
        }
    }
}

/// A free-text query parameter, trimmed; blank counts as absent.
pub fn text_param(raw: Option<&str>) -> Option<String> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A `true`/`false` query parameter; a bad value adds an error.
pub fn flag(errors: &mut FieldErrors, name: &str, raw: Option<&str>) -> Option<bool> {
    let raw = raw?;
    let parsed = crate::validation::parse_bool(raw);
    if parsed.is_none() {
        push(errors, name, "Must be true or false.".to_owned());
    }
    parsed
}

/// A query parameter that must be one of a set (through `normalise`).
pub fn choice(
    errors: &mut FieldErrors,
    name: &str,
    raw: Option<&str>,
    normalise: impl Fn(&str) -> Option<&'static str>,
    allowed: &str,
) -> Option<&'static str> {
    let raw = raw?.trim();
    let parsed = normalise(raw);
    if parsed.is_none() {
        push(errors, name, format!("Must be one of {allowed}."));
    }
    parsed
}

/// Adds `message` to the errors of `name`.
pub fn push(errors: &mut FieldErrors, name: &str, message: impl Into<String>) {
    errors
        .entry(name.to_owned())
        .or_default()
        .push(message.into());
}

/// `Ok(value)` if no query parameter was bad, else a `400` naming each.
pub fn checked<T>(value: T, errors: FieldErrors) -> Result<T, ApiError> {
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(ApiError::Validation(errors))
    }
}

/// One page of a list: a JSON array, with `X-Total-Count` and an RFC 8288 `Link`.
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub paging: Paging,
}

impl<'r, T: Serialize> Responder<'r, 'static> for Page<T> {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let link = link_header(req, self.paging, self.total);
        Response::build_from(Json(self.items).respond_to(req)?)
            .header(Header::new("X-Total-Count", self.total.to_string()))
            .header(Header::new("Link", link))
            .ok()
    }
}

/// `first` and `last` always; `prev`/`next` where they exist. Every other
/// query parameter is kept as the client sent it.
fn link_header(req: &Request<'_>, paging: Paging, total: i64) -> String {
    let size = i64::from(paging.page_size);
    let last = ((total + size - 1) / size).max(1);
    let page = i64::from(paging.page);
    let path = req.uri().path().as_str();
    let kept: Vec<&str> = req
        .uri()
        .query()
        .map(|q| q.as_str().split('&'))
        .into_iter()
        .flatten()
        .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
        .collect();
    let url = |n: i64| {
        let mut query = kept.clone();
        let page_param = format!("page={n}");
        query.push(&page_param);
        format!("<{path}?{}>", query.join("&"))
    };

    let mut links = vec![format!("{}; rel=\"first\"", url(1))];
    if page > 1 {
        links.push(format!("{}; rel=\"prev\"", url((page - 1).min(last))));
    }
    if page < last {
        links.push(format!("{}; rel=\"next\"", url(page + 1)));
    }
    links.push(format!("{}; rel=\"last\"", url(last)));
    links.join(", ")
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
const FALLBACK_RANK: isize = 10;

#[rocket::async_trait]
impl Handler for MethodFallback {
    async fn handle<'r>(&self, req: &'r Request<'_>, _data: Data<'r>) -> Outcome<'r> {
        if req.uri().path() == REFUSED_QUERY {
            if let Some(err) = error::take_parked(req) {
                return Outcome::from(req, err);
            }
        }
        let requested: Vec<&str> = req.uri().path().segments().collect();
        let mut allowed: Vec<&str> = req
            .rocket()
            .routes()
            .filter(|route| route.rank < FALLBACK_RANK && path_matches(route, &requested))
            .map(|route| route.method.as_str())
            .collect();
        allowed.sort_unstable();
        allowed.dedup();
        // The method exists but the route declined (e.g. `/patients/abc`): no such record.
        let err = if allowed.is_empty() || allowed.contains(&req.method().as_str()) {
            ApiError::NotFound
        } else {
            ApiError::MethodNotAllowed {
                allow: allowed.join(", "),
            }
        };
        Outcome::from(req, err)
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
