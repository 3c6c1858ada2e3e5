//! Doctors: `/api/doctors`.
//!
//! Every authenticated user reads doctors; only `staff` and `admin` write
//! them (`user` → `403`), checked once, by the `Writer` guard. `DELETE`
//! archives the doctor and turns their `ACTIVE` mappings `INACTIVE`; an
//! admin lists archived doctors with `?archived=true` and restores one with
//! `POST /api/doctors/<id>/restore/`.
//!
//! Compatibility: `experience_years` is accepted and answered beside
//! `years_of_experience`, `contact_number` beside `phone`, `name` instead of
//! `first_name`/`last_name`.

use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::{Admin, Caller};
use crate::clinic_time::ClinicZone;
use crate::db::Db;
use crate::error::{self, ApiError};
use crate::http::download::CsvFile;
use crate::http::{JsonBody, Page};
use crate::validation;

use self::input::{apply, DoctorQuery};

pub mod exchange;
pub mod import;
mod input;
pub mod schema;
mod sql;

pub fn routes() -> Vec<Route> {
    audit::denied::about(
        Entity::Doctor,
        routes![
            list,
            export,
            create,
            read,
            replace,
            update,
            archive,
            restore,
            import::import
        ],
    )
}

/// A caller allowed to write doctors (staff or admin).
pub struct Writer(pub Caller);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Writer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let caller = rocket::outcome::try_outcome!(req.guard::<Caller>().await);
        if caller.writes_doctors() {
            Outcome::Success(Writer(caller))
        } else {
            Outcome::Error((error::park(req, ApiError::forbidden()), ()))
        }
    }
}

/// The fields a client writes, as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorFields {
    pub first_name: String,
    pub last_name: Option<String>,
    pub specialization: String,
    pub years_of_experience: Option<i64>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub qualification: Option<String>,
    pub license_number: Option<String>,
    pub available_days: Option<String>,
    pub available_time: Option<String>,
    pub bio: Option<String>,
    pub languages_spoken: Option<String>,
    pub city: Option<String>,
    pub is_available: bool,
    /// The length of this doctor's usual appointment, in minutes (5–240):
    /// the default duration of a booking and the step of their free slots.
    #[schema(minimum = 5, maximum = 240)]
    pub appointment_minutes: i64,
    /// Answered as `consultation_fee`, a number with two decimals.
    #[serde(skip)]
    pub fee_cents: Option<i64>,
}

impl DoctorFields {
    pub(crate) fn empty() -> Self {
        Self {
            first_name: String::new(),
            last_name: None,
            specialization: String::new(),
            years_of_experience: None,
            phone: None,
            email: None,
            qualification: None,
            license_number: None,
            available_days: None,
            available_time: None,
            bio: None,
            languages_spoken: None,
            city: None,
            is_available: true,
            appointment_minutes: 15,
            fee_cents: None,
        }
    }
}

/// Brings the doctors' search text up to this release's folding (after an
/// upgrade; a no-op once done). Answers how many changed.
pub fn reindex(tx: &rusqlite::Transaction<'_>) -> Result<usize, ApiError> {
    sql::reindex(tx)
}

/// A doctor that is not archived: how another resource checks the doctor
/// it is given (the doctors table's SQL stays private to this module).
pub fn find_live(conn: &rusqlite::Connection, id: i64) -> Result<Option<Doctor>, ApiError> {
    sql::find(conn, id)
}

/// Doctors by id, archived included, in one query.
pub fn find_many(
    conn: &rusqlite::Connection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, Doctor>, ApiError> {
    sql::find_many(conn, ids)
}

/// A page of the live doctors whose first or last name starts with `name`
/// (all of them without one), by id, and how many there are: the FHIR
/// Practitioner search.
pub fn find_named(
    conn: &rusqlite::Connection,
    name: Option<&str>,
    paging: crate::http::Paging,
) -> Result<(Vec<Doctor>, i64), ApiError> {
    sql::select_named(conn, name, paging)
}

/// A doctor as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Doctor {
    pub id: i64,
    pub name: String,
    /// The same as `years_of_experience` (for older clients).
    pub experience_years: Option<i64>,
    /// The same as `phone` (for older clients).
    pub contact_number: Option<String>,
    #[schema(minimum = 0)]
    pub consultation_fee: Option<f64>,
    #[serde(flatten)]
    pub fields: DoctorFields,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl Doctor {
    pub(crate) fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let fields = DoctorFields {
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            specialization: row.get("specialization")?,
            years_of_experience: row.get("years_of_experience")?,
            phone: row.get("phone")?,
            email: row.get("email")?,
            qualification: row.get("qualification")?,
            license_number: row.get("license_number")?,
            available_days: row.get("available_days")?,
            available_time: row.get("available_time")?,
            bio: row.get("bio")?,
            languages_spoken: row.get("languages_spoken")?,
            city: row.get("city")?,
            is_available: row.get("is_available")?,
            appointment_minutes: row.get("appointment_minutes")?,
            fee_cents: row.get("consultation_fee_cents")?,
        };
        Ok(Self {
            id: row.get("id")?,
            name: validation::full_name(&fields.first_name, fields.last_name.as_deref()),
            experience_years: fields.years_of_experience,
            contact_number: fields.phone.clone(),
            // Cents below 10^11 are exact in an f64.
            #[allow(clippy::cast_precision_loss)]
            consultation_fee: fields.fee_cents.map(|cents| cents as f64 / 100.0),
            fields,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

#[utoipa::path(tag = "doctors", params(DoctorQuery), responses((status = 200, description = "A page of the doctors, archived ones left out; `?archived=true` (admin only, else `403`) lists only archived ones", body = [Doctor])), security(("bearer" = [])))]
#[get("/doctors?<query..>")]
async fn list(
    query: DoctorQuery<'_>,
    caller: Caller,
    db: &State<Db>,
) -> Result<Page<Doctor>, ApiError> {
    let filter = query.validate(&caller)?;
    let paging = filter.listing.paging;
    let (items, total) = db.read(move |conn| sql::select_page(conn, &filter)).await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

/// The columns of `export.csv`.
const CSV_HEADER: [&str; 19] = [
    "id",
    "first_name",
    "last_name",
    "specialization",
    "qualification",
    "license_number",
    "years_of_experience",
    "phone",
    "email",
    "city",
    "languages_spoken",
    "available_days",
    "available_time",
    "appointment_minutes",
    "consultation_fee",
    "is_available",
    "bio",
    "created_at",
    "updated_at",
];

fn csv_row(d: Doctor) -> Vec<String> {
    let f = d.fields;
    let text = Option::unwrap_or_default;
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    vec![
        d.id.to_string(),
        f.first_name,
        text(f.last_name),
        f.specialization,
        text(f.qualification),
        text(f.license_number),
        number(f.years_of_experience),
        text(f.phone),
        text(f.email),
        text(f.city),
        text(f.languages_spoken),
        text(f.available_days),
        text(f.available_time),
        f.appointment_minutes.to_string(),
        f.fee_cents
            .map(|c| format!("{}.{:02}", c / 100, c % 100))
            .unwrap_or_default(),
        f.is_available.to_string(),
        text(f.bio),
        d.created_at,
        d.updated_at,
    ]
}

#[utoipa::path(tag = "doctors", params(DoctorQuery), responses((status = 200, description = "The doctors with these filters and ordering (every page), as CSV; over 100,000 rows is `400`. Values a spreadsheet would run as a formula are prefixed with `'`. Recorded in the audit trail as an export", content_type = "text/csv", headers(("Content-Disposition" = String, description = "`attachment` with the file name")))), security(("bearer" = [])))]
#[get("/doctors/export.csv?<query..>")]
async fn export(
    query: DoctorQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<CsvFile, ApiError> {
    let filter = query.validate(&caller)?;
    let doctors = db
        .read_and_record(
            move |conn| sql::select_all(conn, &filter),
            move |tx| {
                let event = Event::new(Action::Export).about(Entity::Doctor);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    let name = format!("clinicdesk-doctors-{}.csv", zone.today());
    CsvFile::build(&name, &CSV_HEADER, doctors.into_iter().map(csv_row))
}

#[utoipa::path(tag = "doctors", request_body = schema::DoctorInput, responses((status = 201, description = "The new doctor (staff, admin; a `user` gets `403`)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[post("/doctors", data = "<body>")]
async fn create(
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Created<Json<Doctor>>, ApiError> {
    let mut record = DoctorFields::empty();
    apply(&body.0, &mut record, true)?;
    let doctor = db
        .write(move |tx| {
            let doctor = sql::insert(tx, &writer.0, &record)?;
            let fields = audit::changed_fields(&DoctorFields::empty(), &record);
            let event = Event::new(Action::Create).on(Entity::Doctor, doctor.id);
            audit::record(tx, &writer.0, event.fields(fields))?;
            Ok(doctor)
        })
        .await?;
    Ok(Created::new(format!("/api/doctors/{}/", doctor.id)).body(Json(doctor)))
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), responses((status = 200, description = "One doctor", body = Doctor)), security(("bearer" = [])))]
#[get("/doctors/<id>")]
async fn read(id: i64, _caller: Caller, db: &State<Db>) -> Result<Json<Doctor>, ApiError> {
    let doctor = db.read(move |conn| sql::find(conn, id)).await?;
    doctor.map(Json).ok_or(ApiError::NotFound)
}

/// PUT: required fields must be present; omitted optional fields keep their values.
#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), request_body = schema::DoctorInput, responses((status = 200, description = "The doctor, changed (staff, admin; required fields must be present, omitted optional ones keep their values)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[put("/doctors/<id>", data = "<body>")]
async fn replace(
    id: i64,
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Json<Doctor>, ApiError> {
    db.write(move |tx| change(tx, &writer.0, id, &body, true))
        .await
        .map(Json)
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), request_body = schema::DoctorChange, responses((status = 200, description = "The doctor, with the given fields changed (staff, admin)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[patch("/doctors/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Json<Doctor>, ApiError> {
    db.write(move |tx| change(tx, &writer.0, id, &body, false))
        .await
        .map(Json)
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), responses((status = 204, description = "Archived, and their `ACTIVE` mappings made `INACTIVE` (staff, admin)")), security(("bearer" = [])))]
#[delete("/doctors/<id>")]
async fn archive(id: i64, writer: Writer, db: &State<Db>) -> Result<NoContent, ApiError> {
    let archived = db.write(move |tx| sql::archive(tx, &writer.0, id)).await?;
    if archived {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "An archived doctor's id")), responses((status = 200, description = "The doctor, restored (admin); a live one is answered as it is", body = Doctor)), security(("bearer" = [])))]
#[post("/doctors/<id>/restore")]
async fn restore(id: i64, admin: Admin, db: &State<Db>) -> Result<Json<Doctor>, ApiError> {
    let doctor = db.write(move |tx| sql::restore(tx, &admin.0, id)).await?;
    doctor.map(Json).ok_or(ApiError::NotFound)
}

/// PUT/PATCH in the writer's transaction: the current record, the body
/// read onto it (every bad field reported), then the write and its record.
fn change(
    tx: &rusqlite::Transaction<'_>,
    caller: &Caller,
    id: i64,
    body: &JsonBody,
    complete: bool,
) -> Result<Doctor, ApiError> {
    let before = sql::find(tx, id)?.ok_or(ApiError::NotFound)?.fields;
    let mut record = before.clone();
    apply(&body.0, &mut record, complete)?;
    let doctor = sql::update(tx, id, &record)?;
    let event = Event::new(Action::Update).on(Entity::Doctor, id);
    audit::record(
        tx,
        caller,
        event.fields(audit::changed_fields(&before, &record)),
    )?;
    Ok(doctor)
}
