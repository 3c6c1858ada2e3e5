//! Lists: the paging, ordering and filter parameters every list reads, and
//! the page it answers (a JSON array with `X-Total-Count` and `Link`).

use rocket::http::Header;
use rocket::request::Request;
use rocket::response::{self, Responder, Response};
use rocket::serde::json::Json;
use serde::Serialize;

use crate::error::{ApiError, FieldErrors};

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
        self.sql_keyed(table, &format!("{table}.id"))
    }

    /// The same, with `key` standing for `table`'s id: a column that holds
    /// the same number, such as a joined search index's `rowid`, which lets
    /// `SQLite` walk that index in order instead of sorting what it finds.
    pub fn sql_keyed(self, table: &str, key: &str) -> String {
        let direction = if self.descending { "DESC" } else { "ASC" };
        if self.column == "id" {
            format!("{key} {direction}")
        } else {
            format!("{table}.{} {direction}, {key} {direction}", self.column)
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
