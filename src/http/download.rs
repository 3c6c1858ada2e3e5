//! Files offered for download: CSV (the audit trail, patient and doctor
//! lists) and JSON (the whole-clinic export).

use rocket::http::Header;
use rocket::Responder;

use crate::error::{ApiError, Code};

/// At most this many rows go into one CSV file (an export is built in
/// memory); a larger one is refused with a request to narrow it.
pub const CSV_MAX_ROWS: i64 = 100_000;

/// A CSV file, offered as an attachment named for what it holds.
#[derive(Responder)]
#[response(content_type = "text/csv")]
pub struct CsvFile(Vec<u8>, Header<'static>);

impl CsvFile {
    /// `header` and `rows` as CSV (quoted by the `csv` crate), every cell
    /// guarded by [`cell`], named `name`.
    pub fn build(
        name: &str,
        header: &[&str],
        rows: impl IntoIterator<Item = Vec<String>>,
    ) -> Result<Self, ApiError> {
        let mut out = csv::Writer::from_writer(Vec::new());
        out.write_record(header).map_err(anyhow::Error::from)?;
        for row in rows {
            out.write_record(row.iter().map(|value| cell(value).into_owned()))
                .map_err(anyhow::Error::from)?;
        }
        let body = out.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
        let disposition = format!("attachment; filename=\"{name}\"");
        Ok(Self(body, Header::new("Content-Disposition", disposition)))
    }
}

/// A JSON document offered as an attachment named for what it holds.
#[derive(Responder)]
#[response(content_type = "json")]
pub struct JsonFile(Vec<u8>, Header<'static>);

impl JsonFile {
    /// `value` as pretty-printed JSON, named `name`.
    pub fn build(name: &str, value: &impl serde::Serialize) -> Result<Self, ApiError> {
        let body = serde_json::to_vec_pretty(value).map_err(anyhow::Error::from)?;
        let disposition = format!("attachment; filename=\"{name}\"");
        Ok(Self(body, Header::new("Content-Disposition", disposition)))
    }
}

/// A value as a spreadsheet may safely open it: one that starts like a
/// formula (`=`, `+`, `-`, `@`, or a tab or carriage return before one) is
/// prefixed with `'`, so `=HYPERLINK(…)` typed into a name is shown as text,
/// never run (OWASP's advice on CSV injection). A phone `+49 30 …` reads
/// `'+49 30 …` in the file and `+49 30 …` in the spreadsheet.
pub fn cell(value: &str) -> std::borrow::Cow<'_, str> {
    match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{value}").into(),
        _ => value.into(),
    }
}

/// `400` for an export larger than [`CSV_MAX_ROWS`].
pub fn too_many_rows(total: i64, narrow_with: &str) -> ApiError {
    ApiError::BadRequest {
        code: Code::BadRequest,
        detail: format!(
            "The export would hold {total} rows; at most {CSV_MAX_ROWS} fit in one. Narrow it with {narrow_with}."
        ),
    }
}
