//! Patients: `/api/patients`.
//!
//! A `user` sees and edits only the patients they created; `staff` and
//! `admin` see all. Someone else's patient answers `404`, exactly like one
//! that does not exist. `DELETE` archives; archived patients vanish from
//! every read except an admin's `?archived=true` list, and an admin brings
//! one back with `POST /api/patients/<id>/restore/`.
//!
//! Compatibility: `contact_number` is accepted and answered beside `phone`;
//! `name` is accepted instead of `first_name`/`last_name`.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, Route, State};
use serde::Serialize;
use time::Date;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::{Admin, Caller};
use crate::clinic_time::ClinicZone;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::download::CsvFile;
use crate::http::{JsonBody, Page};
use crate::validation;

use self::input::{apply, PatientQuery};
pub use self::input::{gender_input_schema, PatientCriteria, BLOOD_GROUPS, GENDERS};
pub use self::merging::{absorb, archive_merged, MergeConflict};

pub mod duplicates;
pub mod exchange;
pub mod import;
mod input;
pub mod matching;
mod merging;
pub mod schema;
mod sql;

pub fn routes() -> Vec<Route> {
    audit::denied::about(
        Entity::Patient,
        routes![
            list,
            export,
            create,
            read,
            replace,
            update,
            archive,
            restore,
            duplicates::check,
            duplicates::of_patient,
            duplicates::pairs,
            duplicates::not_duplicate,
            import::import,
        ],
    )
}

/// Whether the patient exists, is not archived and `caller` may see it:
/// how another resource asks whether it may name this patient (its `sql`
/// stays private, so the patients table has one owner).
pub fn visible(conn: &rusqlite::Connection, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    sql::visible(conn, caller, id)
}

/// The patient, if it exists, is not archived and `caller` may see it,
/// its age on `today` (the clinic's date).
pub fn find_visible(
    conn: &rusqlite::Connection,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<Option<Patient>, ApiError> {
    sql::find_visible(conn, caller, id, today)
}

/// A page of the patients `caller` may see that meet `criteria`, and how
/// many there are: a search by a person's details for another reader (the
/// FHIR Patient search), with the list's visibility.
pub fn find_matching(
    conn: &rusqlite::Connection,
    caller: &Caller,
    criteria: &PatientCriteria,
    paging: crate::http::Paging,
    today: Date,
) -> Result<(Vec<Patient>, i64), ApiError> {
    sql::select_matching(conn, caller, criteria, paging, today)
}

/// The patient if `caller` may see it, archived or not, with whether it is
/// archived: for a merge, which refuses an archived record with `409`
/// rather than pretending it does not exist.
pub fn find_including_archived(
    conn: &rusqlite::Connection,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<Option<(Patient, bool)>, ApiError> {
    sql::find_including_archived(conn, caller, id, today)
}

/// The full names of the patients among `ids` that `caller` may see
/// (archived ones only for an admin), by id, in one query: how the audit
/// trail's names are looked up without reading whole records.
pub fn names(
    conn: &rusqlite::Connection,
    caller: &Caller,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, ApiError> {
    sql::names(conn, caller, ids)
}

/// The fields a client writes, as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientFields {
    pub first_name: String,
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date_of_birth: Option<String>,
    /// `M`, `F`, `O` or `U`.
    #[schema(schema_with = input::gender_schema)]
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[schema(schema_with = input::blood_group_schema)]
    pub blood_group: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub medical_history: Option<String>,
    pub allergies: Option<String>,
    pub current_medications: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<String>,
    pub emergency_contact_relation: Option<String>,
    pub is_active: bool,
    /// The age given when the date of birth is unknown (answered as `age`).
    #[serde(skip)]
    pub stored_age: Option<i64>,
}

impl PatientFields {
    fn empty() -> Self {
        Self {
            first_name: String::new(),
            last_name: None,
            date_of_birth: None,
            gender: None,
            phone: None,
            email: None,
            blood_group: None,
            address: None,
            city: None,
            state: None,
            postal_code: None,
            country: None,
            medical_history: None,
            allergies: None,
            current_medications: None,
            emergency_contact_name: None,
            emergency_contact_phone: None,
            emergency_contact_relation: None,
            is_active: true,
            stored_age: None,
        }
    }
}

/// A patient as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Patient {
    pub id: i64,
    /// The full name.
    pub name: String,
    /// Whole years from `date_of_birth` when known, else the age given.
    #[schema(minimum = 0)]
    pub age: Option<i64>,
    /// The same as `phone` (for older clients).
    pub contact_number: Option<String>,
    #[serde(flatten)]
    pub fields: PatientFields,
    pub created_by: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Set on a record a merge archived: the patient it was merged into.
    pub merged_into: Option<i64>,
}

/// A created patient as `POST /api/patients/` answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NewPatient {
    #[serde(flatten)]
    pub patient: Patient,
    /// Patients the caller may see who may be this one (best first); only
    /// when there are any. See `GET /api/patients/<id>/duplicates/`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub possible_duplicates: Vec<duplicates::PossibleDuplicate>,
}

/// The date for the server's own reads that use only a record's fields
/// (scoring pairs, reindexing, the export's stored age): no age is answered.
const FIELDS_ONLY: Date = Date::MIN;

impl Patient {
    /// Reads rows of `sql::SELECT`; `today` is the clinic's date, which a
    /// date of birth gives the age on.
    fn reader(today: Date) -> impl Fn(&rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        move |row| Self::from_row(row, today)
    }

    /// Reads a row of `sql::SELECT`, column by column in its order.
    fn from_row(row: &rusqlite::Row<'_>, today: Date) -> rusqlite::Result<Self> {
        let mut column = crate::db::Columns::of(row);
        let id = column.take("id")?;
        let first_name = column.take("first_name")?;
        let last_name = column.take("last_name")?;
        let date_of_birth = column.take("date_of_birth")?;
        let stored_age = column.take("age")?;
        let fields = PatientFields {
            first_name,
            last_name,
            date_of_birth,
            stored_age,
            gender: column.take("gender")?,
            phone: column.take("phone")?,
            email: column.take("email")?,
            blood_group: column.take("blood_group")?,
            address: column.take("address")?,
            city: column.take("city")?,
            state: column.take("state")?,
            postal_code: column.take("postal_code")?,
            country: column.take("country")?,
            medical_history: column.take("medical_history")?,
            allergies: column.take("allergies")?,
            current_medications: column.take("current_medications")?,
            emergency_contact_name: column.take("emergency_contact_name")?,
            emergency_contact_phone: column.take("emergency_contact_phone")?,
            emergency_contact_relation: column.take("emergency_contact_relation")?,
            is_active: column.take("is_active")?,
        };
        let created_by = column.take("created_by")?;
        let created_at = column.take("created_at")?;
        let updated_at = column.take("updated_at")?;
        let merged_into = column.take("merged_into")?;
        let age = match fields
            .date_of_birth
            .as_deref()
            .and_then(validation::parse_date)
        {
            Some(birth) => Some(validation::age_on(birth, today)),
            None => fields.stored_age,
        };
        Ok(Self {
            id,
            name: validation::full_name(&fields.first_name, fields.last_name.as_deref()),
            age,
            contact_number: fields.phone.clone(),
            fields,
            created_by,
            created_at,
            updated_at,
            merged_into,
        })
    }
}

#[utoipa::path(tag = "patients", params(PatientQuery), responses((status = 200, description = "A page of the patients the caller may see (a `user`: the ones they created), archived ones left out; `?archived=true` (admin only, else `403`) lists only archived ones", body = [Patient])), security(("bearer" = [])))]
#[get("/patients?<query..>")]
async fn list(
    query: PatientQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<Patient>, ApiError> {
    let (filter, today) = (query.validate(&caller)?, zone.today());
    let paging = filter.listing.paging;
    let (items, total) = db
        .read_and_record(
            move |conn| sql::select_page(conn, &caller, &filter, today),
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Patient);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

/// The columns of `export.csv`, in the order a person reads a record.
const CSV_HEADER: [&str; 24] = [
    "id",
    "first_name",
    "last_name",
    "date_of_birth",
    "age",
    "gender",
    "phone",
    "email",
    "blood_group",
    "address",
    "city",
    "state",
    "postal_code",
    "country",
    "allergies",
    "current_medications",
    "medical_history",
    "emergency_contact_name",
    "emergency_contact_phone",
    "emergency_contact_relation",
    "is_active",
    "created_by",
    "created_at",
    "updated_at",
];

fn csv_row(p: Patient) -> Vec<String> {
    let f = p.fields;
    let text = Option::unwrap_or_default;
    vec![
        p.id.to_string(),
        f.first_name,
        text(f.last_name),
        text(f.date_of_birth),
        p.age.map(|a| a.to_string()).unwrap_or_default(),
        text(f.gender),
        text(f.phone),
        text(f.email),
        text(f.blood_group),
        text(f.address),
        text(f.city),
        text(f.state),
        text(f.postal_code),
        text(f.country),
        text(f.allergies),
        text(f.current_medications),
        text(f.medical_history),
        text(f.emergency_contact_name),
        text(f.emergency_contact_phone),
        text(f.emergency_contact_relation),
        f.is_active.to_string(),
        p.created_by.to_string(),
        p.created_at,
        p.updated_at,
    ]
}

#[utoipa::path(tag = "patients", params(PatientQuery), responses((status = 200, description = "The list the caller would see with these filters and ordering (every page), as CSV; over 100,000 rows is `400`. Values a spreadsheet would run as a formula are prefixed with `'`. Recorded in the audit trail as an export", content_type = "text/csv", headers(("Content-Disposition" = String, description = "`attachment` with the file name")))), security(("bearer" = [])))]
#[get("/patients/export.csv?<query..>")]
async fn export(
    query: PatientQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<CsvFile, ApiError> {
    let (filter, today) = (query.validate(&caller)?, zone.today());
    let patients = db
        .read_and_record(
            move |conn| sql::select_all(conn, &caller, &filter, today),
            move |tx| {
                let event = Event::new(Action::Export).about(Entity::Patient);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    let name = format!("clinicdesk-patients-{}.csv", zone.today());
    CsvFile::build(&name, &CSV_HEADER, patients.into_iter().map(csv_row))
}

#[utoipa::path(tag = "patients", request_body = schema::PatientInput, responses((status = 201, description = "The new patient; `created_by` is the caller; `possible_duplicates` when it may be someone already registered", body = NewPatient)), security(("bearer" = [])))]
#[post("/patients", data = "<body>")]
async fn create(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Created<Json<NewPatient>>, ApiError> {
    let (mut record, today) = (PatientFields::empty(), zone.today());
    apply(&body.0, &mut record, true, today)?;
    // On a reader, beside the writer: the writer only inserts and notes
    // the patient for the clinic-wide pairs (see `duplicates`).
    let looked_up = record.clone();
    let possible_duplicates = db
        .read(move |conn| duplicates::possible_duplicates(conn, &caller, &looked_up, today))
        .await?;
    let patient = db
        .write(move |tx| {
            let patient = sql::insert(tx, &caller, &record, today)?;
            let fields = audit::changed_fields(&PatientFields::empty(), &record);
            let event = Event::new(Action::Create).on(Entity::Patient, patient.id);
            audit::record(tx, &caller, event.fields(fields))?;
            duplicates::pair_later(tx, patient.id)?;
            Ok(patient)
        })
        .await?;
    let created = NewPatient {
        patient,
        possible_duplicates,
    };
    let location = format!("/api/patients/{}/", created.patient.id);
    Ok(Created::new(location).body(Json(created)))
}

#[utoipa::path(tag = "patients", params(("id" = i64, Path, description = "A patient's id")), responses((status = 200, description = "One patient", body = Patient)), security(("bearer" = [])))]
#[get("/patients/<id>")]
async fn read(
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Patient>, ApiError> {
    // The view is recorded, or the read is not answered.
    let today = zone.today();
    let patient = db
        .read_and_record(
            move |conn| sql::find_visible(conn, &caller, id, today)?.ok_or(ApiError::NotFound),
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Patient, id);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(patient))
}

/// PUT: required fields must be present; omitted optional fields keep their values.
#[utoipa::path(tag = "patients", params(("id" = i64, Path, description = "A patient's id")), request_body = schema::PatientInput, responses((status = 200, description = "The patient, changed (required fields must be present; omitted optional ones keep their values)", body = Patient)), security(("bearer" = [])))]
#[put("/patients/<id>", data = "<body>")]
async fn replace(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Patient>, ApiError> {
    let today = zone.today();
    db.write(move |tx| change(tx, &caller, id, &body, true, today))
        .await
        .map(Json)
}

#[utoipa::path(tag = "patients", params(("id" = i64, Path, description = "A patient's id")), request_body = schema::PatientChange, responses((status = 200, description = "The patient, with the given fields changed", body = Patient)), security(("bearer" = [])))]
#[patch("/patients/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Patient>, ApiError> {
    let today = zone.today();
    db.write(move |tx| change(tx, &caller, id, &body, false, today))
        .await
        .map(Json)
}

#[utoipa::path(tag = "patients", params(("id" = i64, Path, description = "A patient's id")), responses((status = 204, description = "Archived: gone from every list and read, except an admin's `?archived=true`")), security(("bearer" = [])))]
#[delete("/patients/<id>")]
async fn archive(id: i64, caller: Caller, db: &State<Db>) -> Result<NoContent, ApiError> {
    let archived = db.write(move |tx| sql::archive(tx, &caller, id)).await?;
    if archived {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "patients", params(("id" = i64, Path, description = "An archived patient's id")), responses((status = 200, description = "The patient, restored (admin); a live one is answered as it is", body = Patient)), security(("bearer" = [])))]
#[post("/patients/<id>/restore")]
async fn restore(
    id: i64,
    admin: Admin,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Patient>, ApiError> {
    let today = zone.today();
    let patient = db
        .write(move |tx| {
            let patient = sql::restore(tx, &admin.0, id, today)?;
            if patient.is_some() {
                duplicates::pair_later(tx, id)?;
            }
            Ok(patient)
        })
        .await?;
    patient.map(Json).ok_or(ApiError::NotFound)
}

/// PUT/PATCH in the writer's transaction: the current record (someone
/// else's patient is `404` before any validation, so errors cannot reveal
/// that it exists), the body read onto it (every bad field reported), then
/// the write and its record.
fn change(
    tx: &rusqlite::Transaction<'_>,
    caller: &Caller,
    id: i64,
    body: &JsonBody,
    complete: bool,
    today: Date,
) -> Result<Patient, ApiError> {
    let before = sql::find_visible(tx, caller, id, today)?
        .ok_or(ApiError::NotFound)?
        .fields;
    let mut record = before.clone();
    apply(&body.0, &mut record, complete, today)?;
    sql::update(tx, id, &record)?;
    let mut fields = audit::changed_fields(&before, &record);
    if before.stored_age != record.stored_age {
        fields.push("age".into());
    }
    let event = Event::new(Action::Update).on(Entity::Patient, id);
    audit::record(tx, caller, event.fields(fields))?;
    duplicates::pair_later(tx, id)?;
    sql::find_visible(tx, caller, id, today)?.ok_or(ApiError::NotFound)
}
