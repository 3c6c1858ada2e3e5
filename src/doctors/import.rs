//! `POST /api/doctors/import/`: doctors from a spreadsheet's CSV file, read
//! as `patients::import` reads patients (the same upload rules, the create's
//! own `apply` per row, one writer job, one `import` event). A doctor's
//! email and license number are unique: one another doctor holds, or an
//! earlier row of the file, is a row error like any other.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::{post, State};
use serde::Serialize;

use super::input::apply;
use super::{sql, DoctorFields, Writer};
use crate::audit::{self, Action, Entity, Event};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::upload::{self, Aliases, CsvUpload, ImportAnswer, RowError};

/// Each field the API reads, with the header spellings that mean it
/// (normalised: lower case, no spaces, `_` or `-`).
const COLUMNS: Aliases = &[
    (
        "first_name",
        &["firstname", "first", "givenname", "given", "forename"],
    ),
    (
        "last_name",
        &["lastname", "last", "surname", "familyname", "family"],
    ),
    ("name", &["name", "fullname", "doctorname", "doctor"]),
    (
        "specialization",
        &[
            "specialization",
            "specialisation",
            "specialty",
            "speciality",
        ],
    ),
    (
        "years_of_experience",
        &["yearsofexperience", "experience", "years"],
    ),
    ("experience_years", &["experienceyears"]),
    (
        "phone",
        &["phone", "mobile", "telephone", "tel", "phonenumber", "cell"],
    ),
    ("contact_number", &["contactnumber", "contact"]),
    ("email", &["email", "emailaddress", "mail"]),
    (
        "qualification",
        &["qualification", "qualifications", "degree"],
    ),
    (
        "license_number",
        &["licensenumber", "license", "licence", "licencenumber"],
    ),
    ("consultation_fee", &["consultationfee", "fee"]),
    ("available_days", &["availabledays", "days"]),
    ("available_time", &["availabletime", "hours"]),
    ("languages_spoken", &["languagesspoken", "languages"]),
    ("city", &["city", "town"]),
    ("bio", &["bio", "biography", "about"]),
    ("is_available", &["isavailable", "available"]),
    (
        "appointment_minutes",
        &["appointmentminutes", "slotminutes"],
    ),
];

/// What a doctors import found, and (once stored) did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorImportReport {
    /// Data rows in the file (blank lines left out).
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    /// Doctors stored: 0 for a dry run and for a refused file.
    pub created: usize,
    pub errors: Vec<RowError>,
    /// Header cells that name no field; their cells are not read.
    pub ignored_columns: Vec<String>,
}

/// The `400` of `/api/openapi.json`: the report or the error body.
pub struct DoctorImportRefused;

impl<'r> utoipa::ToResponse<'r> for DoctorImportRefused {
    fn response() -> (
        &'r str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        upload::refused_response("DoctorImportRefused", "DoctorImportReport")
    }
}

#[utoipa::path(tag = "doctors", params(("dry_run" = Option<bool>, Query, description = "`true`: check the file and report, store nothing")), request_body(content = String, content_type = "text/csv", description = "A CSV file (UTF-8, with or without a BOM; `,` or `;`) with a header row; at most 100,000 rows and 20 MiB"), responses((status = 200, description = "The dry run's report, whatever the rows hold (staff, admin; a `user` gets `403`)", body = DoctorImportReport), (status = 201, description = "Every row stored, in one transaction; `created` counts them", body = DoctorImportReport), (status = 400, response = inline(DoctorImportRefused)), (status = 409, description = "`duplicate`: a doctor with a row's email or license number was added while the file was being checked"), (status = 413, description = "The file is over 20 MiB", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/doctors/import?<dry_run>", data = "<file>")]
pub(super) async fn import(
    dry_run: Option<&str>,
    writer: Writer,
    file: CsvUpload,
    db: &State<Db>,
) -> Result<ImportAnswer<DoctorImportReport>, ApiError> {
    let dry_run = upload::dry_run(dry_run)?;
    let (mut report, records) = db.read(move |conn| check(conn, &file.0)).await?;
    if dry_run {
        return Ok(ImportAnswer(Status::Ok, report));
    }
    if report.invalid > 0 {
        return Ok(ImportAnswer(Status::BadRequest, report));
    }
    report.created = db
        .write(move |tx| {
            for record in &records {
                sql::insert(tx, &writer.0, record)?;
            }
            let event = Event::new(Action::Import).about(Entity::Doctor);
            let count = format!("count:{}", records.len());
            audit::record(tx, &writer.0, event.fields([count]))?;
            Ok(records.len())
        })
        .await?;
    Ok(ImportAnswer(Status::Created, report))
}

/// Reads and validates every row, the unique values included; answers the
/// report and the valid records.
fn check(
    conn: &rusqlite::Connection,
    text: &str,
) -> Result<(DoctorImportReport, Vec<DoctorFields>), ApiError> {
    let sheet = upload::read_sheet(text, COLUMNS, &["first_name", "name"])?;
    let mut report = DoctorImportReport {
        rows: sheet.rows.len(),
        valid: 0,
        invalid: 0,
        created: 0,
        errors: Vec::new(),
        ignored_columns: sheet.ignored_columns,
    };
    // Lower-cased unique value → the row that holds it.
    let mut seen: HashMap<(&str, String), u64> = HashMap::new();
    let mut records = Vec::with_capacity(sheet.rows.len());
    for row in sheet.rows {
        let checked = row
            .fields
            .map_err(|message| ApiError::field("row", message));
        let record = checked.and_then(|fields| {
            let mut record = DoctorFields::empty();
            apply(&fields, &mut record, true).map(|()| record)
        });
        let record = record.and_then(|record| {
            let mut errors = crate::error::FieldErrors::new();
            for (field, value) in [
                ("email", record.email.as_deref()),
                ("license_number", record.license_number.as_deref()),
            ] {
                let Some(value) = value else { continue };
                let message = if let Some(earlier) = seen.get(&(field, value.to_lowercase())) {
                    format!("Row {earlier} has the same {}.", field.replace('_', " "))
                } else if sql::holds(conn, field, value)? {
                    format!(
                        "A doctor with this {} already exists.",
                        field.replace('_', " ")
                    )
                } else {
                    seen.insert((field, value.to_lowercase()), row.row);
                    continue;
                };
                crate::http::push(&mut errors, field, message);
            }
            crate::http::checked(record, errors)
        });
        match record {
            Ok(record) => {
                report.valid += 1;
                records.push(record);
            }
            Err(problem) => {
                report.invalid += 1;
                upload::row_errors(row.row, Err(problem), &mut report.errors);
            }
        }
    }
    Ok((report, records))
}
