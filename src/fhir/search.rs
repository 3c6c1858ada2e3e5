//! FHIR searches: the query read strictly (an unknown parameter is `400`,
//! not silently ignored, so a client never takes an unfiltered list for a
//! filtered one), the date prefixes, and the `searchset` Bundle with its
//! `total` and paging links.

use rocket::http::RawStr;
use serde::Serialize;

use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Paging};

/// The parameters every search takes besides its own: `_count` (page size,
/// 1–500, default 50), `page` (1-based, what the `next` link carries) and
/// `_format` (JSON only).
const COMMON: [&str; 3] = ["_count", "page", "_format"];

/// A search's query, decoded, in the order sent.
pub struct Query {
    raw: String,
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Reads `raw` (the URL's query), allowing `own` parameters (`date`
    /// ones may repeat, for a range) beside the common ones.
    pub fn parse(raw: Option<&str>, own: &[&str]) -> Result<Self, ApiError> {
        let raw = raw.unwrap_or_default();
        let mut errors = FieldErrors::new();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pair in raw.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |text: &str| {
                RawStr::new(text)
                    .url_decode()
                    .ok()
                    .filter(|t| !t.chars().any(char::is_control))
                    .map(|t| t.trim().to_owned())
            };
            let (Some(name), Some(value)) = (decode(name), decode(value)) else {
                http::push(
                    &mut errors,
                    "query",
                    "May not contain control characters or bytes that are not UTF-8.",
                );
                continue;
            };
            if !own.contains(&name.as_str()) && !COMMON.contains(&name.as_str()) {
                let mut known: Vec<&str> = own.to_vec();
                known.extend(COMMON);
                http::push(
                    &mut errors,
                    &name,
                    format!(
                        "Not a search parameter here; these are: {}.",
                        known.join(", ")
                    ),
                );
                continue;
            }
            let repeats = name.ends_with("date");
            if !repeats && pairs.iter().any(|(seen, _)| *seen == name) {
                http::push(&mut errors, &name, "Give this parameter once.");
                continue;
            }
            pairs.push((name, value));
        }
        if let Some(format) = Self::find(&pairs, "_format") {
            if !matches!(
                format,
                "json" | "application/json" | "application/fhir+json"
            ) {
                http::push(&mut errors, "_format", "Only json is served.");
            }
        }
        http::checked(
            Self {
                raw: raw.to_owned(),
                pairs,
            },
            errors,
        )
    }

    fn find<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `name`; blank counts as absent.
    pub fn one(&self, name: &str) -> Option<&str> {
        Self::find(&self.pairs, name).filter(|v| !v.is_empty())
    }

    /// Every non-blank value of a repeatable parameter.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// `_count` and `page`, a message per bad one in `errors`.
    pub fn paging(&self, errors: &mut FieldErrors) -> Paging {
        let mut number = |name: &str, default: u32, max: u32| match self.one(name) {
            None => default,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    http::push(
                        errors,
                        name,
                        format!("Must be a whole number from 1 to {max}."),
                    );
                    default
                }
            },
        };
        Paging {
            page: number("page", 1, u32::MAX),
            page_size: number("_count", 50, 500),
        }
    }
}

/// A date search's comparison (FHIR's prefixes; none means `eq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ge,
    Le,
    Gt,
    Lt,
}

/// `ge2027-03-29` → (`Ge`, the day); `None` for anything else.
pub fn date_param(value: &str) -> Option<(Prefix, time::Date)> {
    let prefixes = [
        ("eq", Prefix::Eq),
        ("ge", Prefix::Ge),
        ("le", Prefix::Le),
        ("gt", Prefix::Gt),
        ("lt", Prefix::Lt),
    ];
    let (prefix, day) = prefixes
        .into_iter()
        .find_map(|(text, prefix)| value.strip_prefix(text).map(|day| (prefix, day)))
        .unwrap_or((Prefix::Eq, value));
    Some((prefix, crate::validation::parse_date(day)?))
}

/// The days a set of date parameters allows, both ends included: `(from,
/// until)`; a message in `errors` for a bad one.
pub fn date_range<'a>(
    values: impl Iterator<Item = &'a str>,
    name: &str,
    errors: &mut FieldErrors,
) -> (Option<time::Date>, Option<time::Date>) {
    let (mut from, mut until): (Option<time::Date>, Option<time::Date>) = (None, None);
    for value in values {
        let Some((prefix, day)) = date_param(value) else {
            http::push(
                errors,
                name,
                "Must be a date as YYYY-MM-DD, optionally after eq, ge, le, gt or lt.",
            );
            continue;
        };
        let (low, high) = match prefix {
            Prefix::Eq => (Some(day), Some(day)),
            Prefix::Ge => (Some(day), None),
            Prefix::Le => (None, Some(day)),
            Prefix::Gt => (day.next_day(), None),
            Prefix::Lt => (None, day.previous_day()),
        };
        // Several parameters all hold: the narrowest range.
        from = from.max(low);
        until = match (until, high) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    (from, until)
}

/// A `searchset` Bundle.
#[derive(Serialize)]
pub struct Bundle<T> {
    #[serde(rename = "resourceType")]
    resource_type: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    total: i64,
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry<T>>,
}

#[derive(Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Entry<T> {
    #[serde(rename = "fullUrl")]
    full_url: String,
    resource: T,
    search: SearchMode,
}

#[derive(Serialize)]
struct SearchMode {
    mode: &'static str,
}

impl<T> Bundle<T> {
    /// One page of matches: `items` as `(id, resource)`, `total` in all;
    /// `base` is the FHIR base URL and `kind` the resource type, as in
    /// `<base>/<kind>?<query>`.
    pub fn searchset(
        base: &str,
        kind: &str,
        query: &Query,
        paging: Paging,
        items: Vec<(i64, T)>,
        total: i64,
    ) -> Self {
        let kept: Vec<&str> = query
            .raw
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("page="))
            .collect();
        let url = |page: i64| {
            let page = format!("page={page}");
            let mut pairs = kept.clone();
            pairs.push(&page);
            format!("{base}/{kind}?{}", pairs.join("&"))
        };
        let size = i64::from(paging.page_size);
        let last = ((total + size - 1) / size).max(1);
        let page = i64::from(paging.page);
        let mut link = vec![Link {
            relation: "self",
            url: url(page),
        }];
        if page < last {
            link.push(Link {
                relation: "next",
                url: url(page + 1),
            });
        }
        if page > 1 {
            link.push(Link {
                relation: "previous",
                url: url((page - 1).min(last)),
            });
        }
        Self {
            resource_type: "Bundle",
            kind: "searchset",
            total,
            link,
            entry: items
                .into_iter()
                .map(|(id, resource)| Entry {
                    full_url: format!("{base}/{kind}/{id}"),
                    resource,
                    search: SearchMode { mode: "match" },
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_prefixes_narrow_to_one_range() {
        let day = |text| crate::validation::parse_date(text).expect("date");
        let mut errors = FieldErrors::new();
        let range = date_range(
            ["ge2027-03-01", "lt2027-04-01", "le2027-03-15"].into_iter(),
            "date",
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(range, (Some(day("2027-03-01")), Some(day("2027-03-15"))));
        assert_eq!(
            date_range(["2027-03-29"].into_iter(), "date", &mut errors),
            (Some(day("2027-03-29")), Some(day("2027-03-29")))
        );
        date_range(["sa2027-03-29"].into_iter(), "date", &mut errors);
        assert!(errors.contains_key("date"));
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused() {
        assert!(Query::parse(Some("name=ada&_count=5"), &["name"]).is_ok());
        assert!(Query::parse(Some("nmae=ada"), &["name"]).is_err());
        assert!(Query::parse(Some("name=ada&name=bob"), &["name"]).is_err());
        assert!(Query::parse(Some("date=ge2027-01-01&date=le2027-02-01"), &["date"]).is_ok());
        assert!(Query::parse(Some("name=a%00"), &["name"]).is_err());
        assert!(Query::parse(Some("_format=xml"), &["name"]).is_err());
    }
}
