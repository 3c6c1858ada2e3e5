//! The value rules several resources share: booleans, money, dates and
//! ages, phones, emails, choices, names, and the text the search index holds.

use serde_json::Value;
use time::Date;

pub(super) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

/// `true`/`false`/`1`/`0`/`yes`/`no`, in any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// `"150"`, `"150.5"`, `"150.50"` → cents; negative, exponent or more than
/// two decimals → `None`. (A JSON `150.0` arrives as `"150.0"`.)
pub fn parse_cents(text: &str) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole)
        || (!fraction.is_empty() && !digits(fraction))
        || fraction.len() > 2
        || whole.len() > 12
    {
        return None;
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents)
}

/// A calendar date written `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, &format).ok()
}

/// A date of birth is plausible: not after `today` (the clinic's, see
/// `clinic_time`), not over 130 years before it.
pub fn check_birth_date(date: Date, today: Date) -> Result<(), &'static str> {
    if date > today {
        Err("Enter a date that is not after today: a birth date cannot be in the future.")
    } else if date.year() < today.year() - 130 {
        Err("Check the year: this date is more than 130 years ago.")
    } else {
        Ok(())
    }
}

/// Whole years from `birth` to `on`.
pub fn age_on(birth: Date, on: Date) -> i64 {
    let mut years = i64::from(on.year() - birth.year());
    if (on.month() as u8, on.day()) < (birth.month() as u8, birth.day()) {
        years -= 1;
    }
    years.max(0)
}

/// 7–20 characters of digits, spaces, `-`, `(`, `)`, an optional leading `+`,
/// at least 7 of them digits.
pub fn is_phone(phone: &str) -> bool {
    let length = phone.chars().count();
    let body = phone.strip_prefix('+').unwrap_or(phone);
    (7..=20).contains(&length)
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '(' | ')'))
        && phone.chars().filter(char::is_ascii_digit).count() >= 7
}

/// A plausible address: `local@domain.tld`, no spaces, sane lengths. Whether
/// it really receives mail only sending one can tell, so no more is checked.
pub fn is_email(email: &str) -> bool {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

/// How `/api/openapi.json` describes a text field that holds one of `values` (or null,
/// when `nullable`): the lists the field rules read, so the document and the
/// check cannot disagree.
pub fn one_of_schema(values: &[&str], nullable: bool) -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut allowed: Vec<Value> = values.iter().map(|v| Value::from(*v)).collect();
    let types: SchemaType = if nullable {
        allowed.push(Value::Null);
        [Type::String, Type::Null].into_iter().collect()
    } else {
        Type::String.into()
    };
    ObjectBuilder::new()
        .schema_type(types)
        .enum_values(Some(allowed))
        .build()
}

/// The phone rule as far as a pattern can say it; "at least 7 digits" is
/// in the description.
pub fn phone_schema() -> utoipa::openapi::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(
            [
                utoipa::openapi::schema::Type::String,
                utoipa::openapi::schema::Type::Null,
            ]
            .into_iter()
            .collect::<utoipa::openapi::schema::SchemaType>(),
        )
        .min_length(Some(7))
        .max_length(Some(20))
        .pattern(Some(r"^\+?[0-9 ()-]+$"))
        .build()
}

/// Text as search compares it: transliterated to plain letters and
/// lower-cased, so "hernan" finds "Hernández", "müller" finds "Mueller"'s
/// neighbour "Müller", and a name typed in another script meets its Latin
/// spelling ("Иванов" and "Ivanov"). The index and every query go through
/// this one function, so they always agree.
pub fn fold(text: &str) -> String {
    deunicode::deunicode(text).to_lowercase()
}

/// The text a search term is matched against: each word folded, plus each
/// phone's digits alone, so "555-0177" finds "5550177" and the other way round.
pub fn search_text(words: &[Option<&str>], phones: &[Option<&str>]) -> String {
    let mut parts: Vec<String> = words.iter().flatten().map(|w| fold(w)).collect();
    for phone in phones.iter().flatten() {
        parts.push(fold(phone));
        parts.push(phone.chars().filter(char::is_ascii_digit).collect());
    }
    parts.join(" ")
}

/// A search term as it is matched against `search_text`: a term that reads
/// as a phone number (digits with spaces, dashes, dots, brackets or a
/// leading `+`) by its digits alone, whatever punctuation either side used;
/// anything else folded like the index.
pub fn search_term(term: &str) -> String {
    let term = term.trim();
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let phone_like = digits.len() >= 3
        && term
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '/'));
    if phone_like {
        digits
    } else {
        fold(term)
    }
}

/// A search term as a `LIKE` pattern over `search_text`: lower-cased, with
/// `%`, `_` and `\` escaped (use `ESCAPE '\'`), so they match themselves.
pub fn like_pattern(term: &str) -> String {
    let mut pattern = String::from("%");
    for c in term.trim().to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// Splits a full name at its first space: `"Ada King Lovelace"` →
/// (`"Ada"`, `Some("King Lovelace")`).
pub fn split_name(name: &str) -> (String, Option<String>) {
    match name.trim().split_once(char::is_whitespace) {
        Some((first, last)) if !last.trim().is_empty() => {
            (first.to_owned(), Some(last.trim().to_owned()))
        }
        _ => (name.trim().to_owned(), None),
    }
}

/// `first` and `last` joined as a display name.
pub fn full_name(first: &str, last: Option<&str>) -> String {
    match last {
        Some(last) if !last.is_empty() => format!("{first} {last}"),
        _ => first.to_owned(),
    }
}
