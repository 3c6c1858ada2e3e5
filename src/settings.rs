//! Clinic-wide settings: `/api/settings` (admin only).
//!
//! Stored in the database (one row), so a change takes effect at once and
//! survives restarts; `CLINICDESK_REGISTRATION` / the config file only set the
//! value a new database starts with. `time_zone` (an IANA name) starts as
//! the server machine's zone, else `UTC`; see `clinic_time`.

use rocket::serde::json::Json;
use rocket::{get, patch, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::Admin;
use crate::clinic_time::{self, ClinicZone};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::validation::Fields;

pub fn routes() -> Vec<Route> {
    audit::denied::about(Entity::Setting, routes![read, update])
}

/// The settings as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Settings {
    /// `open`: anyone who can reach the server may create a `user` account.
    #[schema(schema_with = registration_schema)]
    pub registration: String,
    pub clinic_name: Option<String>,
    /// The clinic's IANA time zone (`Europe/Berlin`): "today" for dates of
    /// birth, local times of appointments.
    pub time_zone: String,
    /// How alike two patient records must be (0–100) to be suggested as
    /// duplicates; see the README for the score.
    #[schema(minimum = 30, maximum = 100)]
    pub duplicate_threshold: i64,
}

/// `open` or `closed`.
pub fn registration_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&["open", "closed"], false)
}

#[utoipa::path(tag = "settings", responses((status = 200, description = "The clinic's settings (admin)", body = Settings)), security(("bearer" = [])))]
#[get("/settings")]
async fn read(_admin: Admin, db: &State<Db>) -> Result<Json<Settings>, ApiError> {
    Ok(Json(db.read(sql::load).await?))
}

#[utoipa::path(tag = "settings", request_body = schema::SettingsChangeRequest, responses((status = 200, description = "The settings, changed (admin); in effect at once", body = Settings)), security(("bearer" = [])))]
#[patch("/settings", data = "<body>")]
async fn update(
    body: JsonBody,
    admin: Admin,
    db: &State<Db>,
    clinic_zone: &State<ClinicZone>,
) -> Result<Json<Settings>, ApiError> {
    let change = SettingsChange::read(&body.0)?;
    let zone = change.zone.clone();
    let settings = db.write(move |tx| change.write(tx, &admin.0)).await?;
    if let Some(zone) = zone {
        clinic_zone.set(zone);
    }
    Ok(Json(settings))
}

/// A checked change of the settings; `None` keeps a value.
pub struct SettingsChange {
    registration: Option<&'static str>,
    clinic_name: Option<Option<String>>,
    time_zone: Option<String>,
    threshold: Option<i64>,
    /// The new time zone, for the running server's `ClinicZone`.
    pub zone: Option<jiff::tz::TimeZone>,
}

impl SettingsChange {
    /// No change.
    pub fn none() -> Self {
        Self {
            registration: None,
            clinic_name: None,
            time_zone: None,
            threshold: None,
            zone: None,
        }
    }

    /// Reads `body` by `PATCH /api/settings/`'s rules (the whole-clinic
    /// import reads its document's settings by them too).
    pub fn read(body: &serde_json::Map<String, serde_json::Value>) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body);
        let registration = fields.choice(
            &["registration"],
            |value| match value.to_lowercase().as_str() {
                "open" => Some("open"),
                "closed" => Some("closed"),
                _ => None,
            },
            "open, closed",
        );
        let registration = fields.require(&["registration"], registration, false);
        let clinic_name = fields.text(&["clinic_name"], 200);
        let time_zone = fields.text(&["time_zone"], 64);
        let time_zone = fields.require(&["time_zone"], time_zone, false);
        let threshold = fields.integer(&["duplicate_threshold"], 30, 100);
        let threshold = fields.require(&["duplicate_threshold"], threshold, false);
        let zone = match time_zone
            .as_deref()
            .map(|name| (name, clinic_time::zone(name)))
        {
            Some((_, None)) => {
                fields.error(
                    "time_zone",
                    "Must be an IANA time zone name, such as Europe/Berlin or Asia/Kolkata.",
                );
                None
            }
            Some((_, zone)) => zone,
            None => None,
        };
        fields.finish()?;
        Ok(Self {
            registration,
            clinic_name,
            time_zone,
            threshold,
            zone,
        })
    }

    /// Writes the change, recorded as done by `actor` when it changed anything.
    pub fn write(
        &self,
        tx: &rusqlite::Transaction<'_>,
        actor: impl Into<Actor>,
    ) -> Result<Settings, ApiError> {
        let before = sql::load(tx)?;
        sql::update(
            tx,
            self.registration,
            self.clinic_name.clone(),
            self.time_zone.as_deref(),
            self.threshold,
        )?;
        let settings = sql::load(tx)?;
        let changed = audit::changed_fields(&before, &settings);
        if !changed.is_empty() {
            let event = Event::new(Action::SettingChange).about(Entity::Setting);
            audit::record(tx, actor, event.fields(changed))?;
        }
        Ok(settings)
    }
}

/// Settings SQL; `registration_open` is also used by `account::register`.
pub mod sql {
    use rusqlite::{params, Connection};

    use super::Settings;
    use crate::config::Registration;
    use crate::db;
    use crate::error::ApiError;

    /// Writes the starting values unless the database has settings already
    /// (and a time zone, for a database from before there was one).
    pub fn initialise(
        conn: &Connection,
        registration: Registration,
        time_zone: &str,
    ) -> Result<(), ApiError> {
        conn.execute(
            "INSERT OR IGNORE INTO settings (id, registration, time_zone, updated_at) VALUES (1, ?1, ?2, ?3)",
            params![registration.as_str(), time_zone, db::now()],
        )?;
        conn.execute(
            "UPDATE settings SET time_zone = ?1 WHERE id = 1 AND time_zone IS NULL",
            [time_zone],
        )?;
        Ok(())
    }

    pub fn load(conn: &Connection) -> Result<Settings, ApiError> {
        let mut stmt = conn.prepare_cached(
            "SELECT registration, clinic_name, coalesce(time_zone, 'UTC') AS time_zone,
                    duplicate_threshold
               FROM settings WHERE id = 1",
        )?;
        Ok(stmt.query_row([], |row| {
            Ok(Settings {
                registration: row.get("registration")?,
                clinic_name: row.get("clinic_name")?,
                time_zone: row.get("time_zone")?,
                duplicate_threshold: row.get("duplicate_threshold")?,
            })
        })?)
    }

    pub fn registration_open(conn: &Connection) -> Result<bool, ApiError> {
        Ok(load(conn)?.registration == Registration::Open.as_str())
    }

    /// `None` keeps a value; `Some(None)` clears the clinic name.
    pub(super) fn update(
        conn: &Connection,
        registration: Option<&str>,
        clinic_name: Option<Option<String>>,
        time_zone: Option<&str>,
        duplicate_threshold: Option<i64>,
    ) -> Result<(), ApiError> {
        let keep_name = clinic_name.is_none();
        conn.execute(
            "UPDATE settings
                SET registration = coalesce(?1, registration),
                    clinic_name = CASE WHEN ?2 THEN clinic_name ELSE ?3 END,
                    time_zone = coalesce(?5, time_zone),
                    duplicate_threshold = coalesce(?6, duplicate_threshold),
                    updated_at = ?4
              WHERE id = 1",
            params![
                registration,
                keep_name,
                clinic_name.flatten(),
                db::now(),
                time_zone,
                duplicate_threshold
            ],
        )?;
        Ok(())
    }
}

/// The request body of this endpoint as `/api/openapi.json` describes it
/// (read field by field, so the type is never constructed).
pub mod schema {
    #![allow(dead_code)]

    use utoipa::ToSchema;

    use super::registration_schema;

    /// `PATCH /api/settings/`.
    #[derive(ToSchema)]
    pub struct SettingsChangeRequest {
        /// `open`: anyone who can reach the server may create a `user` account.
        #[schema(nullable = false, schema_with = registration_schema)]
        registration: Option<String>,
        #[schema(max_length = 200)]
        clinic_name: Option<String>,
        /// An IANA time zone name, such as `Europe/Berlin`.
        #[schema(nullable = false, max_length = 64)]
        time_zone: Option<String>,
        /// How alike two patient records must be to be suggested as duplicates.
        #[schema(nullable = false, minimum = 30, maximum = 100)]
        duplicate_threshold: Option<i64>,
    }
}
