//! Reading a JSON object field by field, so that one answer reports every bad
//! field, and the field rules several resources share (text, phone, email,
//! dates, numbers, choices).
//!
//! A read returns `Option<Option<T>>`: `None` when the field is absent (keep
//! the stored value), `Some(None)` when it is `null` or blank (no value), and
//! `Some(Some(v))` for a value. Strings are trimmed first.

use serde_json::{Map, Value};
use time::Date;

use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::clinic_time::{self, LocalTimeError};
use crate::error::{ApiError, FieldErrors};

/// What a date alone means where a moment is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEnd {
    /// Not accepted: a time is needed.
    Neither,
    /// The start of that day.
    Start,
    /// The end of that day (the start of the next): "until 7 March" includes it.
    End,
}

/// The range of years a moment may fall in: wide enough for any booking or
/// absence, narrow enough that a typo (`20277`) is caught.
const FIRST_YEAR: i16 = 2000;
const LAST_YEAR: i16 = 2100;

/// What a field read yields: absent, cleared, or a value.
pub type Given<T> = Option<Option<T>>;

/// A request body being read; collects a message per bad field.
pub struct Fields<'a> {
    body: &'a Map<String, Value>,
    errors: FieldErrors,
}

impl<'a> Fields<'a> {
    pub fn new(body: &'a Map<String, Value>) -> Self {
        Self {
            body,
            errors: FieldErrors::new(),
        }
    }

    /// Records a problem with `field`.
    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors
            .entry(field.to_owned())
            .or_default()
            .push(message.into());
    }

    /// Whether any of `names` is in the body (even as `null`).
    pub fn has(&self, names: &[&str]) -> bool {
        names.iter().any(|name| self.body.contains_key(*name))
    }

    /// The first of `names` present in the body, with its value.
    fn raw(&self, names: &[&'a str]) -> Option<(&'a str, &'a Value)> {
        names
            .iter()
            .find_map(|name| self.body.get(*name).map(|value| (*name, value)))
    }

    /// Optional single-line text of at most `max` characters, under any of
    /// `names` (aliases): no line breaks or other control characters.
    pub fn text(&mut self, names: &[&'a str], max: usize) -> Given<String> {
        self.read_text(names, max, false)
    }

    /// Optional text that may hold line breaks and tabs (notes, medical
    /// history, a bio), else as `text`.
    pub fn multiline(&mut self, names: &[&'a str], max: usize) -> Given<String> {
        self.read_text(names, max, true)
    }

    /// Text, trimmed. Blank, or made only of invisible characters (spaces,
    /// zero-width spaces, joiners, BOMs…), is no value: `Some(None)`, which
    /// a required field refuses. Control characters (line breaks too, in a
    /// single-line field) and bidirectional controls are refused, not
    /// stripped: a U+202E makes "Ada" display as something else, and
    /// silently changing what a person typed hides that it happened.
    fn read_text(&mut self, names: &[&'a str], max: usize, multiline: bool) -> Given<String> {
        let (name, value) = self.raw(names)?;
        match value {
            Value::Null => Some(None),
            Value::String(s) => {
                let trimmed = s.trim();
                if trimmed.chars().all(is_invisible) {
                    Some(None)
                } else if trimmed.chars().any(|c| is_forbidden_control(c, multiline)) {
                    self.error(
                        name,
                        if multiline {
                            "Remove the control characters (such as pasted formatting codes); line breaks and tabs are fine here."
                        } else {
                            "Keep this to one line: remove the line breaks (and any pasted formatting codes)."
                        },
                    );
                    None
                } else if trimmed.chars().any(is_bidi_control) {
                    self.error(
                        name,
                        "Retype this text: it holds invisible text-direction characters (often pasted in with it, U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C) that make it display as something it is not.",
                    );
                    None
                } else if trimmed.chars().count() > max {
                    self.error(
                        name,
                        format!(
                            "Shorten this to {max} characters or fewer (it has {}).",
                            trimmed.chars().count()
                        ),
                    );
                    None
                } else {
                    Some(Some(trimmed.to_owned()))
                }
            }
            _ => {
                self.error(name, "Enter this as text (in quotes).");
                None
            }
        }
    }

    /// A read that may not be cleared: blank is an error, and so is absence
    /// when `required` (a create or a PUT). Yields the value if there is one.
    pub fn require<T>(&mut self, names: &[&str], given: Given<T>, required: bool) -> Option<T> {
        let name = names.first().copied().unwrap_or("body");
        match given {
            Some(Some(value)) => Some(value),
            Some(None) => {
                self.error(name, "Fill this in: it cannot be left empty.");
                None
            }
            None => {
                if required && !self.has(names) {
                    self.error(name, "Fill this in: it is needed.");
                }
                None
            }
        }
    }

    /// A string exactly as sent (not trimmed: passwords), or `Some(None)` for null.
    pub fn raw_string(&mut self, name: &'a str) -> Given<String> {
        let (name, value) = self.raw(&[name])?;
        match value {
            Value::Null => Some(None),
            Value::String(s) if s.is_empty() => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            _ => {
                self.error(name, "Must be a string.");
                None
            }
        }
    }

    /// A whole number in `min..=max`; numeric strings are accepted too.
    pub fn integer(&mut self, names: &[&'a str], min: i64, max: i64) -> Given<i64> {
        let (name, value) = self.raw(names)?;
        let number = match value {
            Value::Null => return Some(None),
            Value::String(s) if s.trim().is_empty() => return Some(None),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            Value::Number(n) => n.as_i64(),
            _ => None,
        };
        match number {
            Some(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                self.error(
                    name,
                    format!(
                        "Enter a whole number from {min} to {max}, like {}.",
                        example_number(name, min, max)
                    ),
                );
                None
            }
        }
    }

    /// `true`/`false` (also `"true"`, `"false"`, `1`, `0`). Never null.
    pub fn boolean(&mut self, name: &'a str) -> Option<bool> {
        let (name, value) = self.raw(&[name])?;
        match value {
            Value::Bool(b) => Some(*b),
            other => match parse_bool(&scalar_text(other)) {
                Some(b) => Some(b),
                None => {
                    self.error(name, "Choose yes or no (true or false).");
                    None
                }
            },
        }
    }

    /// One of a fixed set, through `normalise` (which maps accepted spellings
    /// to the stored value, or `None` if the value is not accepted).
    pub fn choice(
        &mut self,
        names: &[&'a str],
        normalise: impl Fn(&str) -> Option<&'static str>,
        allowed: &str,
    ) -> Given<&'static str> {
        let name = self.raw(names)?.0;
        let text = self.text(names, 100)?;
        match text {
            None => Some(None),
            Some(text) => match normalise(&text) {
                Some(value) => Some(Some(value)),
                None => {
                    self.error(name, format!("Choose one of: {allowed}."));
                    None
                }
            },
        }
    }

    /// A phone number (see `is_phone`).
    pub fn phone(&mut self, names: &[&'a str]) -> Given<String> {
        let name = self.raw(names)?.0;
        let text = self.text(names, 20)?;
        match text {
            Some(phone) if !is_phone(&phone) => {
                self.error(
                    name,
                    "Enter a phone number like +49 30 1234567: at least 7 digits, with spaces, dashes or brackets if you like, and + only at the start (20 characters at most).",
                );
                None
            }
            other => Some(other),
        }
    }

    /// An email address (see `is_email`), lower-cased.
    pub fn email(&mut self, name: &'a str) -> Given<String> {
        let text = self.text(&[name], 254)?;
        match text {
            Some(email) if !is_email(&email) => {
                self.error(name, "Enter an email address like name@example.com.");
                None
            }
            other => Some(other.map(|e| e.to_lowercase())),
        }
    }

    /// A `YYYY-MM-DD` date.
    pub fn date(&mut self, name: &'a str) -> Given<Date> {
        let text = self.text(&[name], 10)?;
        match text {
            None => Some(None),
            Some(text) => match parse_date(&text) {
                Some(date) => Some(Some(date)),
                None => {
                    self.error(
                        name,
                        "Enter a real calendar date as year-month-day, like 1984-07-12.",
                    );
                    None
                }
            },
        }
    }

    /// A moment in time (see `clinic_time::parse_instant`): with an offset
    /// or `Z` as given, without one in the clinic's `zone`. A date alone
    /// (`2027-03-29`) is refused unless `day` says which end of that day it
    /// means. Between the years 2000 and 2100.
    pub fn instant(&mut self, name: &'a str, zone: &TimeZone, day: DayEnd) -> Given<Timestamp> {
        let text = self.text(&[name], 64)?;
        let Some(text) = text else {
            return Some(None);
        };
        let read = match (parse_date(&text), day) {
            (Some(date), DayEnd::Start | DayEnd::End) => {
                let date = clinic_time::jiff_date(date);
                let date = if day == DayEnd::End {
                    date.and_then(|d| d.tomorrow().ok())
                } else {
                    date
                };
                date.and_then(|d| clinic_time::day_start(d, zone))
                    .ok_or(LocalTimeError::Malformed)
            }
            _ => clinic_time::parse_instant(&text, zone),
        };
        let message = match read {
            Ok(at) if (FIRST_YEAR..=LAST_YEAR).contains(&at.to_zoned_datetime(zone.clone()).year()) => {
                return Some(Some(at));
            }
            Ok(_) => format!("Enter a date between the years {FIRST_YEAR} and {LAST_YEAR}: check the year for a typo."),
            Err(LocalTimeError::Skipped) => format!(
                "This local time does not exist in {}: the clocks skip it (a daylight saving change).",
                zone.iana_name().unwrap_or("the clinic's time zone")
            ),
            Err(LocalTimeError::Malformed) if day == DayEnd::Neither => {
                "Enter a date and time like 2027-03-29T09:00 (clinic time) or 2027-03-29T07:00:00Z.".to_owned()
            }
            Err(LocalTimeError::Malformed) => {
                "Enter a date like 2027-03-29, or a date and time like 2027-03-29T09:00.".to_owned()
            }
        };
        self.error(name, message);
        None
    }

    /// A person's name: `first_name` (required when `complete`) and
    /// `last_name`, each at most 100 characters; or, when `first_name` is
    /// absent, `name`, split at its first space. Writes onto `first`/`last`.
    pub fn person_name(&mut self, first: &mut String, last: &mut Option<String>, complete: bool) {
        const MAX: usize = 100;
        if !self.has(&["first_name"]) && self.has(&["name"]) {
            let name = self.text(&["name"], 2 * MAX + 1);
            if let Some(name) = self.require(&["name"], name, true) {
                let (first_part, last_part) = split_name(&name);
                let too_long = |part: &str| part.chars().count() > MAX;
                if too_long(&first_part) || last_part.as_deref().is_some_and(too_long) {
                    self.error(
                        "name",
                        format!("Shorten the name: the first and the last name may have {MAX} characters each."),
                    );
                } else {
                    (*first, *last) = (first_part, last_part);
                }
            }
            return;
        }
        let given_first = self.text(&["first_name"], MAX);
        if let Some(value) = self.require(&["first_name"], given_first, complete) {
            *first = value;
        }
        if let Some(value) = self.text(&["last_name"], MAX) {
            *last = value;
        }
    }

    /// An amount of money (number or numeric string, at most two decimals,
    /// 0 to 1,000,000) as whole cents.
    pub fn money(&mut self, names: &[&'a str]) -> Given<i64> {
        let (name, value) = self.raw(names)?;
        let text = match value {
            Value::Null => return Some(None),
            Value::String(s) if s.trim().is_empty() => return Some(None),
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => String::new(),
        };
        match parse_cents(&text) {
            Some(cents) if cents <= 100_000_000 => Some(Some(cents)),
            _ => {
                self.error(
                    name,
                    "Enter an amount from 0 to 1000000 with at most two decimals, like 80 or 80.50.",
                );
                None
            }
        }
    }

    /// Everything read so far was valid, or a `400` naming each bad field.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// A number inside `min..=max` to show in a message, so the example is
/// always one the rule accepts: an age of 42 reads better than 0.
fn example_number(name: &str, min: i64, max: i64) -> i64 {
    let wanted = match name {
        "age" => 42,
        _ => min.saturating_add(max) / 2,
    };
    wanted.clamp(min, max)
}

/// Control characters, but line breaks and tabs where text may be
/// multi-line. None other belongs in a clinic record, and NUL would cut the
/// text short inside `SQLite`.
fn is_forbidden_control(c: char, multiline: bool) -> bool {
    c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))
}

/// Characters that reorder how text displays (embeddings, overrides,
/// isolates, and the implicit marks).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Characters that show nothing: white space, and the format characters
/// that render as nothing by themselves (zero-width space, joiners, word
/// joiner, invisible operators, BOM, soft hyphen, variation selectors, the
/// Hangul fillers, tags). A value made only of these looks empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{115F}'
                | '\u{1160}'
                | '\u{17B4}'
                | '\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200D}'
                | '\u{2060}'..='\u{2064}'
                | '\u{206A}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{E0000}'..='\u{E007F}'
        )
}

mod values;

use values::scalar_text;
pub use values::*;

#[cfg(test)]
mod tests;
