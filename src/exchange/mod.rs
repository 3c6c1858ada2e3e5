//! The whole clinic as one JSON document, out and back in:
//! `GET /api/admin/export` and `POST /api/admin/import` (admin), and
//! `clinicdesk export` / `clinicdesk import` on the server's computer.
//!
//! The document holds every record (archived ones too) with its id, owner
//! and times, and no secret: no password hash, token or key. Each resource
//! writes and reads its own section (its table has one owner); this module
//! puts the sections together, and loads a document only into an instance
//! that holds no patients, doctors or appointments, all in one transaction.
//! The audit trail stays behind: it is the old instance's history (a backup
//! keeps it), and the import is one event in the new one's.

use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use rusqlite::{Connection, Transaction};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::audit::{self, Action, Actor, Event};
use crate::auth::password::Hasher;
use crate::auth::Admin;
use crate::clinic_time::ClinicZone;
use crate::db::{self, Db};
use crate::doctors::exchange::DoctorRecord;
use crate::error::{ApiError, Code};
use crate::http::download::JsonFile;
use crate::http::JsonDocument;
use crate::patients::exchange::PatientRecord;
use crate::records::Intake;
use crate::settings::{Settings, SettingsChange};
use crate::users::User;
use crate::{appointments, doctors, mappings, patients, schedule, settings, users};

pub mod django;

/// What the document's `format` says.
pub const FORMAT: &str = "clinicdesk-export";

/// The document version this release writes. It reads this one; a newer
/// one is refused with a message (see `check_version`).
pub const VERSION: i64 = 1;

/// The events of these routes name no record: they are about the whole
/// clinic.
pub fn routes() -> Vec<Route> {
    routes![export, import]
}

/// The whole clinic.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Document {
    /// Always `clinicdesk-export`.
    pub format: &'static str,
    pub version: i64,
    #[schema(format = DateTime)]
    pub exported_at: String,
    pub settings: Settings,
    /// Every account, without password hashes.
    pub users: Vec<User>,
    /// Every patient, archived ones too (`archived_at`).
    #[schema(value_type = Vec<Object>)]
    pub patients: Vec<PatientRecord>,
    #[schema(value_type = Vec<Object>)]
    pub doctors: Vec<DoctorRecord>,
    /// Doctors' weekly hours, as stored.
    #[schema(value_type = Vec<Object>)]
    pub hours: Vec<Map<String, Value>>,
    #[schema(value_type = Vec<Object>)]
    pub time_off: Vec<Map<String, Value>>,
    #[schema(value_type = Vec<Object>)]
    pub mappings: Vec<Map<String, Value>>,
    /// Appointments with times in UTC and their whole status history.
    #[schema(value_type = Vec<Object>)]
    pub appointments: Vec<Map<String, Value>>,
}

/// Reads the whole clinic in one snapshot.
pub fn export_document(conn: &Connection) -> Result<Document, ApiError> {
    Ok(Document {
        format: FORMAT,
        version: VERSION,
        exported_at: db::now(),
        settings: settings::sql::load(conn)?,
        users: users::exchange::export(conn)?,
        patients: patients::exchange::export(conn)?,
        doctors: doctors::exchange::export(conn)?,
        hours: schedule::HOURS_EXCHANGE.dump(conn)?,
        time_off: schedule::TIME_OFF_EXCHANGE.dump(conn)?,
        mappings: mappings::EXCHANGE.dump(conn)?,
        appointments: appointments::EXCHANGE.dump(conn)?,
    })
}

/// What an import stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub users: usize,
    pub patients: usize,
    pub doctors: usize,
    pub hours: usize,
    pub time_off: usize,
    pub mappings: usize,
    pub appointments: usize,
    /// The accounts created (ids on this instance). Each must be given a
    /// temporary password by an admin (`PATCH /api/users/<id>/` with a `password`)
    /// and then choose their own at their first sign-in.
    pub accounts_needing_password: Vec<i64>,
}

/// A document to load, with what loading it needs that is not in it.
pub struct Import {
    pub document: Value,
    /// The hash of a secret nobody keeps: the imported accounts' password
    /// until an admin gives them a temporary one.
    pub password_hash: String,
    /// The clinic's today (no date of birth may be after it).
    pub today: time::Date,
    /// This instance's id of the admin running the import, for records
    /// the document gives to [`django::IMPORTING_ADMIN`].
    pub importing_admin: Option<i64>,
}

impl Import {
    /// `document` with a fresh unknowable password hash (argon2; blocking).
    pub fn prepare(
        document: Value,
        today: time::Date,
        importing_admin: Option<i64>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            document,
            password_hash: unknowable_password_hash()?,
            today,
            importing_admin,
        })
    }

    /// Loads the document in `tx` (the writer's; a failure rolls all of it
    /// back). Answers what was stored and the clinic's new time zone.
    pub fn load(
        &self,
        tx: &Transaction<'_>,
        actor: impl Into<Actor> + Copy,
    ) -> Result<(ImportReport, SettingsChange), ApiError> {
        let document = self
            .document
            .as_object()
            .ok_or_else(|| bad("The document must be a JSON object."))?;
        check_version(document)?;
        ensure_empty(tx)?;
        let section = |name: &str| -> Result<&[Value], ApiError> {
            match document.get(name) {
                None | Some(Value::Null) => Ok(&[]),
                Some(Value::Array(records)) => Ok(records),
                Some(_) => Err(bad(format!("`{name}` must be a list."))),
            }
        };
        let mut intake = Intake::default();
        let settings = match document.get("settings") {
            None | Some(Value::Null) => Some(SettingsChange::none()),
            Some(Value::Object(given)) => {
                intake.absorb("settings", 1, SettingsChange::read(given))?
            }
            Some(_) => return Err(bad("`settings` must be an object.")),
        };
        let accounts =
            users::exchange::import(tx, section("users")?, &self.password_hash, &mut intake)?;
        let mut ids = accounts.ids.clone();
        if let Some(admin) = self.importing_admin {
            ids.insert(django::IMPORTING_ADMIN, admin);
        }
        intake.set_accounts(ids);
        let doctors = doctors::exchange::import(tx, section("doctors")?, &mut intake)?;
        users::exchange::link_doctors(tx, &accounts, &mut intake)?;
        let patients =
            patients::exchange::import(tx, section("patients")?, &mut intake, self.today)?;
        let hours = schedule::HOURS_EXCHANGE.load(tx, section("hours")?, &mut intake)?;
        let time_off = schedule::TIME_OFF_EXCHANGE.load(tx, section("time_off")?, &mut intake)?;
        let mappings = mappings::EXCHANGE.load(tx, section("mappings")?, &mut intake)?;
        let appointments =
            appointments::EXCHANGE.load(tx, section("appointments")?, &mut intake)?;
        intake.finish()?;
        let settings = settings.unwrap_or_else(SettingsChange::none);
        settings.write(tx, actor)?;
        let report = ImportReport {
            users: accounts.ids.len(),
            patients,
            doctors,
            hours,
            time_off,
            mappings,
            appointments,
            accounts_needing_password: accounts.created,
        };
        let event = Event::new(Action::Import);
        audit::record(tx, actor, event.fields(imported_sections(&report)))?;
        Ok((report, settings))
    }
}

/// The sections that brought records, for the audit event (which names
/// what changed, never values).
fn imported_sections(report: &ImportReport) -> Vec<&'static str> {
    [
        ("users", report.users),
        ("patients", report.patients),
        ("doctors", report.doctors),
        ("hours", report.hours),
        ("time_off", report.time_off),
        ("mappings", report.mappings),
        ("appointments", report.appointments),
    ]
    .into_iter()
    .filter(|(_, count)| *count > 0)
    .map(|(name, _)| name)
    .collect()
}

fn bad(detail: impl Into<String>) -> ApiError {
    ApiError::BadRequest {
        code: Code::BadRequest,
        detail: detail.into(),
    }
}

/// The document is a clinicdesk export of a version this release reads.
fn check_version(document: &Map<String, Value>) -> Result<(), ApiError> {
    if document.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(bad(format!(
            "This is not a clinicdesk export (its `format` is not \"{FORMAT}\")."
        )));
    }
    match document.get("version").and_then(Value::as_i64) {
        Some(VERSION) => Ok(()),
        Some(newer) if newer > VERSION => Err(bad(format!(
            "This export is format version {newer}, written by a newer clinicdesk; this one reads version {VERSION}. Update clinicdesk, then import it."
        ))),
        _ => Err(bad(format!(
            "This export has no format version this clinicdesk reads (it reads version {VERSION})."
        ))),
    }
}

/// `409 not_empty` unless the instance holds no patients, doctors or
/// appointments, archived ones included (ids are kept, so they could clash,
/// and merging two clinics' records is a different job).
fn ensure_empty(conn: &Connection) -> Result<(), ApiError> {
    let held: i64 = conn.query_row(
        "SELECT (SELECT count(*) FROM patients) + (SELECT count(*) FROM doctors)
              + (SELECT count(*) FROM appointments)",
        [],
        |row| row.get(0),
    )?;
    if held > 0 {
        return Err(ApiError::Conflict {
            code: Code::NotEmpty,
            detail: "This clinicdesk already holds patients, doctors or appointments; a whole-clinic import goes only into a new one.".into(),
        });
    }
    Ok(())
}

/// The hash of 32 random bytes that are then forgotten: no password
/// matches it, and checking one against it costs what any other does.
fn unknowable_password_hash() -> Result<String, ApiError> {
    Ok(crate::auth::password::hash(&random_secret()?)?)
}

#[utoipa::path(tag = "admin", responses((status = 200, description = "The whole clinic as one JSON document (admin), as an attachment: settings, accounts (no password hashes), patients and doctors (archived ones too), hours, time off, mappings and appointments. Recorded in the audit trail as an export", body = Document, headers(("Content-Disposition" = String, description = "`attachment` with the file name")))), security(("bearer" = [])))]
#[get("/admin/export")]
async fn export(
    admin: Admin,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<JsonFile, ApiError> {
    let document = db
        .read_and_record(export_document, move |tx| {
            let event = Event::new(Action::Export);
            audit::record(tx, &admin.0, event)
        })
        .await?;
    JsonFile::build(
        &format!("clinicdesk-export-{}.json", zone.today()),
        &document,
    )
}

#[utoipa::path(tag = "admin", request_body(content = Document, description = "A document from `GET /api/admin/export` (up to 256 MiB)"), responses((status = 201, description = "Imported, all of it in one transaction (admin); accounts are matched by email: an existing one is kept as it is, the others are created and need a temporary password from an admin", body = ImportReport), (status = 400, description = "Not a document this clinicdesk reads, or records it refuses (every one named as `section[id].field`); nothing was stored", body = crate::http::ErrorBody), (status = 409, description = "`not_empty`: this instance already holds patients, doctors or appointments", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/admin/import", data = "<document>")]
async fn import(
    document: JsonDocument,
    admin: Admin,
    db: &State<Db>,
    zone: &State<ClinicZone>,
    hasher: &State<Hasher>,
    settings_changed: &State<settings::Changes>,
) -> Result<rocket::response::status::Created<Json<ImportReport>>, ApiError> {
    // The argon2 hash runs on the hashing threads, never an async worker.
    let password_hash = hasher.hash(random_secret()?).await?;
    let import = Import {
        document: document.0,
        password_hash,
        today: zone.today(),
        importing_admin: None,
    };
    let (report, settings) = db.write(move |tx| import.load(tx, &admin.0)).await?;
    if let Some(new_zone) = settings.zone {
        zone.set(new_zone);
    }
    // The backup schedule may have come with the document.
    settings_changed.ring();
    Ok(rocket::response::status::Created::new("/api/patients/").body(Json(report)))
}

/// 32 random bytes as hex: a password nobody is told.
fn random_secret() -> Result<String, ApiError> {
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(hex::encode(secret))
}
