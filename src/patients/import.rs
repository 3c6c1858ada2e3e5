//! `POST /api/patients/import/`: patients from a spreadsheet's CSV file.
//!
//! Each row becomes the field map a create reads and goes through the same
//! `apply`, so a file can store nothing the API would refuse. Rows are
//! checked on a reader; the writer only inserts, all rows in one job (all
//! or nothing), recorded as one `import` event. The new rows' duplicate
//! pairs are scored afterwards by `duplicates::fill_in`, in batches when no
//! request is waiting to write, as for rows from before duplicate detection:
//! scoring 100,000 rows inside the import would hold the one writer for
//! the whole file.

use std::collections::HashMap;

use rocket::http::Status;
use rocket::{post, State};
use serde::Serialize;

use super::input::apply;
use super::matching::Person;
use super::{duplicates, sql, Patient, PatientFields};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::ClinicZone;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::upload::{self, Aliases, CsvUpload, ImportAnswer, RowError};

/// Each field the API reads, with the header spellings that mean it
/// (normalised: lower case, no spaces, `_` or `-`).
const COLUMNS: Aliases = &[
    (
        "first_name",
        &[
            "firstname",
            "first",
            "givenname",
            "given",
            "forename",
            "christianname",
        ],
    ),
    (
        "last_name",
        &["lastname", "last", "surname", "familyname", "family"],
    ),
    ("name", &["name", "fullname", "patientname", "patient"]),
    (
        "date_of_birth",
        &[
            "dateofbirth",
            "dob",
            "birthdate",
            "birthday",
            "born",
            "birth",
        ],
    ),
    ("age", &["age"]),
    ("gender", &["gender", "sex"]),
    (
        "phone",
        &[
            "phone",
            "mobile",
            "telephone",
            "tel",
            "phonenumber",
            "mobilephone",
            "cell",
            "cellphone",
        ],
    ),
    ("contact_number", &["contactnumber", "contact"]),
    ("email", &["email", "emailaddress", "mail"]),
    ("blood_group", &["bloodgroup", "bloodtype", "blood"]),
    (
        "address",
        &["address", "street", "streetaddress", "address1"],
    ),
    ("city", &["city", "town"]),
    ("state", &["state", "province", "region", "county"]),
    (
        "postal_code",
        &["postalcode", "postcode", "zip", "zipcode", "plz"],
    ),
    ("country", &["country"]),
    ("medical_history", &["medicalhistory", "history"]),
    ("allergies", &["allergies", "allergy"]),
    (
        "current_medications",
        &["currentmedications", "medications", "medication"],
    ),
    (
        "emergency_contact_name",
        &["emergencycontactname", "emergencycontact"],
    ),
    (
        "emergency_contact_phone",
        &["emergencycontactphone", "emergencyphone"],
    ),
    (
        "emergency_contact_relation",
        &["emergencycontactrelation", "relation", "relationship"],
    ),
    ("is_active", &["isactive", "active"]),
];

/// A row that may be someone already registered, or another row of the file.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowDuplicate {
    #[schema(minimum = 2)]
    pub row: u64,
    /// The existing patient (as the caller may see it); `null` when the
    /// match is another row of the file (`same_as_row`).
    pub patient: Option<Patient>,
    /// The earlier row of the same file this one may be.
    pub same_as_row: Option<u64>,
    /// 0–100, as for the duplicate check.
    #[schema(minimum = 0, maximum = 100)]
    pub score: i64,
}

/// What an import found, and (once stored) did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientImportReport {
    /// Data rows in the file (blank lines left out).
    pub rows: usize,
    pub valid: usize,
    pub invalid: usize,
    /// Patients stored: 0 for a dry run and for a refused file.
    pub created: usize,
    pub errors: Vec<RowError>,
    /// Looked for by a dry run only (a real import's pairs are scored in the
    /// background and listed at `GET /api/patients/duplicates/`).
    pub possible_duplicates: Vec<RowDuplicate>,
    /// Header cells that name no field; their cells are not read.
    pub ignored_columns: Vec<String>,
}

/// The `400` of `/api/openapi.json`: the report or the error body.
pub struct PatientImportRefused;

impl<'r> utoipa::ToResponse<'r> for PatientImportRefused {
    fn response() -> (
        &'r str,
        utoipa::openapi::RefOr<utoipa::openapi::response::Response>,
    ) {
        upload::refused_response("PatientImportRefused", "PatientImportReport")
    }
}

/// At most this many earlier rows sharing a key are compared with a row:
/// the same bound the duplicate check puts on a stored key.
const IN_FILE_LIMIT: usize = 200;

#[utoipa::path(tag = "patients", params(("dry_run" = Option<bool>, Query, description = "`true`: check the file and report, store nothing")), request_body(content = String, content_type = "text/csv", description = "A CSV file (UTF-8, with or without a BOM; `,` or `;`) with a header row; at most 100,000 rows and 20 MiB"), responses((status = 200, description = "The dry run's report, whatever the rows hold", body = PatientImportReport), (status = 201, description = "Every row stored, in one transaction; `created` counts them", body = PatientImportReport), (status = 400, response = inline(PatientImportRefused)), (status = 413, description = "The file is over 20 MiB", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/patients/import?<dry_run>", data = "<file>")]
pub(super) async fn import(
    dry_run: Option<&str>,
    file: CsvUpload,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<ImportAnswer<PatientImportReport>, ApiError> {
    if !caller.sees_all_patients() {
        return Err(ApiError::forbidden());
    }
    let dry_run = upload::dry_run(dry_run)?;
    let today = zone.today();
    if dry_run {
        let report = db
            .read_and_record(
                move |conn| Ok(check(conn, &caller, &file.0, today, true)?.0),
                move |tx| {
                    // The report names existing patients: a search of them.
                    let event = Event::new(Action::Search).about(Entity::Patient);
                    audit::record(tx, &caller, event)
                },
            )
            .await?;
        return Ok(ImportAnswer(Status::Ok, report));
    }
    let (mut report, records) = db
        .read(move |conn| check(conn, &caller, &file.0, today, false))
        .await?;
    if report.invalid > 0 {
        return Ok(ImportAnswer(Status::BadRequest, report));
    }
    report.created = db
        .write(move |tx| {
            let created = sql::insert_unkeyed(tx, &caller, &records)?;
            let event = Event::new(Action::Import).about(Entity::Patient);
            audit::record(tx, &caller, event.fields([format!("count:{created}")]))?;
            Ok(created)
        })
        .await?;
    rocket::tokio::spawn(duplicates::fill_in(db.inner().clone()));
    Ok(ImportAnswer(Status::Created, report))
}

/// Reads and validates every row of `text`; with `find_duplicates`, looks
/// each valid row up among the patients `caller` may see and the file's
/// earlier rows. Answers the report and the valid records.
fn check(
    conn: &rusqlite::Connection,
    caller: &Caller,
    text: &str,
    today: time::Date,
    find_duplicates: bool,
) -> Result<(PatientImportReport, Vec<PatientFields>), ApiError> {
    let sheet = upload::read_sheet(text, COLUMNS, &["first_name", "name"])?;
    let mut report = PatientImportReport {
        rows: sheet.rows.len(),
        valid: 0,
        invalid: 0,
        created: 0,
        errors: Vec::new(),
        possible_duplicates: Vec::new(),
        ignored_columns: sheet.ignored_columns,
    };
    let floor = if find_duplicates {
        duplicates::threshold(conn)?
    } else {
        0
    };
    let mut in_file = InFile::default();
    let mut records = Vec::with_capacity(sheet.rows.len());
    for row in sheet.rows {
        let checked = row
            .fields
            .map_err(|message| ApiError::field("row", message));
        let record = checked.and_then(|mut fields| {
            // An exported file's age is computed from the date of birth
            // (and past 130 for an old record): the date is what counts.
            if fields.contains_key("date_of_birth") {
                fields.remove("age");
            }
            let mut record = PatientFields::empty();
            apply(&fields, &mut record, true, today).map(|()| record)
        });
        let record = match record {
            Ok(record) => record,
            Err(problem) => {
                report.invalid += 1;
                upload::row_errors(row.row, Err(problem), &mut report.errors);
                continue;
            }
        };
        report.valid += 1;
        if find_duplicates {
            let person = Person::of(&record);
            if let Some((patient, score)) =
                duplicates::best_match(conn, caller, &person, floor, today)?
            {
                report.possible_duplicates.push(RowDuplicate {
                    row: row.row,
                    patient: Some(patient),
                    same_as_row: None,
                    score,
                });
            }
            if let Some((same_as_row, score)) = in_file.best(&person, floor) {
                report.possible_duplicates.push(RowDuplicate {
                    row: row.row,
                    patient: None,
                    same_as_row: Some(same_as_row),
                    score,
                });
            }
            in_file.add(row.row, person);
        }
        records.push(record);
    }
    Ok((report, records))
}

/// The file's rows read so far, by their blocking keys: the same keys and
/// score the stored patients are matched by.
#[derive(Default)]
struct InFile {
    people: Vec<(u64, Person)>,
    by_key: HashMap<String, Vec<usize>>,
}

impl InFile {
    fn add(&mut self, row: u64, person: Person) {
        let index = self.people.len();
        for key in person.keys() {
            let rows = self.by_key.entry(key).or_default();
            if rows.len() < IN_FILE_LIMIT {
                rows.push(index);
            }
        }
        self.people.push((row, person));
    }

    /// The earlier row most like `person`, at or above `floor`.
    fn best(&self, person: &Person, floor: i64) -> Option<(u64, i64)> {
        let mut seen = std::collections::HashSet::new();
        person
            .lookup_keys()
            .iter()
            .filter_map(|key| self.by_key.get(key))
            .flatten()
            .filter(|index| seen.insert(**index))
            .map(|&index| {
                let (row, other) = &self.people[index];
                (*row, person.compare(other).score)
            })
            .filter(|(_, score)| *score >= floor)
            .max_by(|(a, x), (b, y)| x.cmp(y).then(b.cmp(a)))
    }
}
