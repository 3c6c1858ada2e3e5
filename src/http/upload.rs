//! CSV files sent to be imported: the body (up to 20 MiB), its encoding,
//! its separator, and its header matched to a resource's field names. What
//! each row means is the resource's business (`patients::import`, …): here
//! a row is only the field map the API's own validation reads.

use rocket::data::{self, Data, FromData, ToByteUnit};
use rocket::request::Request;
use serde_json::{Map, Value};

use crate::error::{self, ApiError, Code};

/// The largest file accepted.
pub const UPLOAD_LIMIT_MIB: u64 = 20;
/// The most data rows one file may hold.
pub const UPLOAD_MAX_ROWS: usize = 100_000;

/// What a spreadsheet needs to write a file this reads.
const SAVE_AS: &str = "Save the file as \"CSV UTF-8\" (in Excel: File, Save As, \"CSV UTF-8 (Comma delimited)\"; in LibreOffice: Text CSV with the character set \"Unicode (UTF-8)\") and send it again.";

/// An uploaded CSV file as text: at most 20 MiB (else `413`), UTF-8 with
/// or without a byte-order mark (else `400` saying how to save it so).
/// Any content type is read as CSV: spreadsheets and browsers label the
/// same file `text/csv`, `application/vnd.ms-excel` or nothing.
pub struct CsvUpload(pub String);

#[rocket::async_trait]
impl<'r> FromData<'r> for CsvUpload {
    type Error = ();

    async fn from_data(req: &'r Request<'_>, data: Data<'r>) -> data::Outcome<'r, Self> {
        match read(data).await {
            Ok(text) => data::Outcome::Success(CsvUpload(text)),
            Err(err) => data::Outcome::Error((error::park(req, err), ())),
        }
    }
}

async fn read(data: Data<'_>) -> Result<String, ApiError> {
    let bytes = data
        .open(UPLOAD_LIMIT_MIB.mebibytes())
        .into_bytes()
        .await
        .map_err(|_| bad_request("The file could not be read."))?;
    if !bytes.is_complete() {
        return Err(ApiError::FileTooLarge {
            detail: format!(
                "The file is larger than {UPLOAD_LIMIT_MIB} MiB. Split it into smaller files."
            ),
        });
    }
    decode(bytes.into_inner())
}

fn bad_request(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: Code::BadRequest,
        detail: detail.into(),
    }
}

/// The file's text: a UTF-8 byte-order mark dropped, any other encoding
/// refused with the way to fix it (a UTF-16 mark names itself; other bytes,
/// such as Latin-1 or Windows-1252 accents, are invalid UTF-8).
pub fn decode(mut bytes: Vec<u8>) -> Result<String, ApiError> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(bad_request(format!(
            "The file is in UTF-16 (\"Unicode text\"), which is not read here. {SAVE_AS}"
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        bad_request(format!(
            "The file is not UTF-8 text (byte {at} is not; it may be Latin-1, Windows-1252 or another older encoding). {SAVE_AS}"
        ))
    })
}

/// A resource's column names: each field name the API reads, with the
/// spellings of a header that mean it, already normalised (see [`normalise`]).
pub type Aliases = &'static [(&'static str, &'static [&'static str])];

/// A header cell as compared: lower case, without spaces, `_` and `-`
/// (`Given name`, `given_name` and `GIVEN-NAME` are one column).
pub fn normalise(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// One data row: its number as a spreadsheet shows it (the header is 1),
/// and its cells as the field map the API reads, or why it could not be read.
pub struct SheetRow {
    pub row: u64,
    pub fields: Result<Map<String, Value>, String>,
}

/// A file read against a resource's columns.
pub struct Sheet {
    /// Header cells that match no field (or a field an earlier column took).
    pub ignored_columns: Vec<String>,
    pub rows: Vec<SheetRow>,
}

/// Reads `text` as CSV: the separator (`;` or `,`) from the header line,
/// the header matched through `aliases`, each row a field map of its
/// non-blank cells. `400` for a file without a header, with more than
/// [`UPLOAD_MAX_ROWS`] rows, or without any of the `required` fields (one
/// of them suffices: `first_name` or `name`) among its columns.
pub fn read_sheet(text: &str, aliases: Aliases, required: &[&str]) -> Result<Sheet, ApiError> {
    let first_line = text.lines().next().unwrap_or_default();
    let separator = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let Some(Ok(header)) = records.next() else {
        return Err(bad_request(
            "The file is empty: its first line must name the columns.",
        ));
    };
    let mut columns: Vec<Option<&'static str>> = Vec::with_capacity(header.len());
    let mut ignored_columns = Vec::new();
    for name in &header {
        let normalised = normalise(name);
        let field = aliases
            .iter()
            .find(|(_, spellings)| spellings.contains(&normalised.as_str()))
            .map(|(field, _)| *field)
            .filter(|field| !columns.contains(&Some(*field)));
        if field.is_none() && !name.trim().is_empty() {
            ignored_columns.push(name.trim().to_owned());
        }
        columns.push(field);
    }
    if !required.iter().any(|field| columns.contains(&Some(*field))) {
        return Err(bad_request(format!(
            "No column names the {}: the first line must name the columns (such as first_name, last_name, date_of_birth).",
            required.join(" or ")
        )));
    }
    let mut rows = Vec::new();
    for (index, record) in records.enumerate() {
        if rows.len() == UPLOAD_MAX_ROWS {
            return Err(bad_request(format!(
                "The file holds more than {UPLOAD_MAX_ROWS} rows. Split it into smaller files."
            )));
        }
        // Row numbers count records, as a spreadsheet does: a quoted cell
        // holding a line break is one row.
        let row = index as u64 + 2;
        let fields = match record {
            Err(_) => Err("This row could not be read as CSV (a quote is not closed?).".to_owned()),
            Ok(record) if record.len() != header.len() && !is_blank(&record) => Err(format!(
                "This row has {} cells; the header has {}.",
                record.len(),
                header.len()
            )),
            Ok(record) if is_blank(&record) => continue,
            Ok(record) => Ok(field_map(&columns, &record)),
        };
        rows.push(SheetRow { row, fields });
    }
    Ok(Sheet {
        ignored_columns,
        rows,
    })
}

fn is_blank(record: &csv::StringRecord) -> bool {
    record.iter().all(|cell| cell.trim().is_empty())
}

fn field_map(columns: &[Option<&'static str>], record: &csv::StringRecord) -> Map<String, Value> {
    columns
        .iter()
        .zip(record)
        .filter_map(|(field, cell)| Some((field.as_ref()?, cell)))
        .filter(|(_, cell)| !cell.trim().is_empty())
        .map(|(field, cell)| ((*field).to_owned(), Value::String(uncell(cell).to_owned())))
        .collect()
}

/// A cell as it was before `download::cell` guarded it against running as
/// a formula: `'+49 30 …` is `+49 30 …` again, so an export imports back
/// as it was.
fn uncell(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => value,
    }
}

/// A row that cannot be stored, and why: one per bad field.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row as a spreadsheet numbers it (the header is row 1).
    #[schema(minimum = 2)]
    pub row: u64,
    /// The API's name of the field (`row` when the row could not be read).
    pub field: String,
    pub message: String,
}

/// The row errors of `row`: each message of a validation error, or the
/// reason the row could not be read.
pub fn row_errors(row: u64, problem: Result<(), ApiError>, out: &mut Vec<RowError>) {
    match problem {
        Ok(()) => {}
        Err(ApiError::Validation(fields)) => {
            for (field, messages) in fields {
                for message in messages {
                    out.push(RowError {
                        row,
                        field: field.clone(),
                        message,
                    });
                }
            }
        }
        Err(other) => out.push(RowError {
            row,
            field: "row".into(),
            message: other.to_string(),
        }),
    }
}

/// The answer of an import: `200` for a dry run, `201` once stored, `400`
/// (nothing stored) when a row is invalid, each with the resource's report.
pub struct ImportAnswer<T>(pub rocket::http::Status, pub T);

impl<'r, T: serde::Serialize> rocket::response::Responder<'r, 'static> for ImportAnswer<T> {
    fn respond_to(self, req: &'r Request<'_>) -> rocket::response::Result<'static> {
        rocket::response::Response::build_from(rocket::serde::json::Json(self.1).respond_to(req)?)
            .status(self.0)
            .ok()
    }
}

/// How `/api/openapi.json` describes an import's `400`: the resource's
/// report `report` (a row is invalid, nothing stored) or the error body (the
/// file itself cannot be read, or `?dry_run=` is not a boolean).
pub fn refused_response(
    name: &'static str,
    report: &str,
) -> (
    &'static str,
    utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
) {
    use utoipa::openapi::schema::{OneOfBuilder, Schema};
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let either = OneOfBuilder::new()
        .item(Ref::from_schema_name(report))
        .item(Ref::from_schema_name("ErrorBody"))
        .build();
    let response = ResponseBuilder::new()
        .description("A row is invalid: the report names each and nothing is stored. Or the file cannot be read (not UTF-8, no name column, over 100,000 rows), or a query parameter is bad: the error body")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Schema::OneOf(either))).build(),
        )
        .build();
    (name, response.into())
}

/// `?dry_run=`: `true` checks the file and stores nothing.
pub fn dry_run(raw: Option<&str>) -> Result<bool, ApiError> {
    let mut errors = crate::error::FieldErrors::new();
    let flag = super::flag(&mut errors, "dry_run", raw);
    super::checked(flag.unwrap_or(false), errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALIASES: Aliases = &[
        ("first_name", &["firstname", "givenname", "given"]),
        ("phone", &["phone", "mobile"]),
    ];

    #[test]
    fn headers_match_in_any_case_and_without_spaces_or_punctuation() {
        let sheet = read_sheet(
            "Given name;MOBILE;Shoe size\nAda;+44 20 7946 0000;6\n",
            ALIASES,
            &["first_name"],
        )
        .unwrap();
        assert_eq!(sheet.ignored_columns, ["Shoe size"]);
        let fields = sheet.rows[0].fields.as_ref().unwrap();
        assert_eq!(fields["first_name"], "Ada");
        assert_eq!(fields["phone"], "+44 20 7946 0000");
        assert_eq!(sheet.rows[0].row, 2);
    }

    #[test]
    fn a_multi_line_cell_is_one_row_and_a_short_row_is_reported() {
        let sheet = read_sheet(
            "first_name,phone\n\"Ada\nLovelace\",1\nBob\n",
            ALIASES,
            &["first_name"],
        )
        .unwrap();
        assert_eq!(sheet.rows[1].row, 3);
        assert!(sheet.rows[1].fields.is_err());
    }

    #[test]
    fn the_export_guard_comes_off() {
        assert_eq!(uncell("'+49 30 1234567"), "+49 30 1234567");
        assert_eq!(uncell("'tis"), "'tis");
    }

    #[test]
    fn only_utf8_is_read() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b".to_vec()).unwrap(), "a,b");
        assert!(decode(b"\xFF\xFEa\0".to_vec()).is_err());
        assert!(decode(b"Jos\xE9".to_vec()).is_err());
    }
}
