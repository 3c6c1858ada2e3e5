//! Clinic-wide settings: `/api/settings` (admin only), and the few every
//! signed-in account needs to show the clinic's pages (its name, how dates
//! are written) at `/api/settings/clinic`.
//!
//! Stored in the database (one row), so a change takes effect at once and
//! survives restarts; `CLINICDESK_REGISTRATION` / the config file only set the
//! value a new database starts with. `time_zone` (an IANA name) starts as
//! the server machine's zone, else `UTC`; see `clinic_time`. The daily
//! backup's `backup_time` (clinic-local `HH:MM`, or `off`) and `backup_keep`
//! start as the config file's values and are then the clinic's to change
//! here; the scheduler is woken by `Changes` and reads them again.

use std::sync::Arc;

use rocket::serde::json::Json;
use rocket::tokio::sync::Notify;
use rocket::{get, patch, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::{Admin, Caller};
use crate::clinic_time::{self, ClinicZone};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::validation::Fields;

pub fn routes() -> Vec<Route> {
    audit::denied::about(Entity::Setting, routes![read, update, read_clinic])
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
    /// The daily backup: `HH:MM` on the clinic's clock (`time_zone`), or `off`.
    #[schema(example = "02:00")]
    pub backup_time: String,
    /// How many backups the backup folder keeps (daily and manual together).
    #[schema(minimum = 1, maximum = 365)]
    pub backup_keep: i64,
    /// How the browser UI types and shows dates: `browser` (the signed-in
    /// computer's language decides the order) or a fixed pattern. The API
    /// always speaks `YYYY-MM-DD`.
    #[schema(schema_with = date_format_schema)]
    pub date_format: String,
}

/// Rings whenever the settings change; managed by Rocket. The backup
/// scheduler waits on it, so a new schedule takes effect without a restart.
#[derive(Debug, Default, Clone)]
pub struct Changes(Arc<Notify>);

impl Changes {
    /// What the scheduler waits on.
    pub fn watch(&self) -> Arc<Notify> {
        Arc::clone(&self.0)
    }

    pub fn ring(&self) {
        // One stored permit: a change made while nobody waits is not lost.
        self.0.notify_one();
    }
}

/// `HH:MM` (24-hour, two digits each) or `off`, as stored; `None` otherwise.
pub fn backup_time(text: &str) -> Option<String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") {
        return Some("off".to_owned());
    }
    let (hours, minutes) = text.split_once(':')?;
    let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
    if !two_digits(hours) || !two_digits(minutes) {
        return None;
    }
    let (hours, minutes): (u8, u8) = (hours.parse().ok()?, minutes.parse().ok()?);
    (hours < 24 && minutes < 60).then(|| format!("{hours:02}:{minutes:02}"))
}

/// What every signed-in account may read: the clinic's name for the page
/// header and printouts, and the date format the forms use.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClinicSettings {
    pub clinic_name: Option<String>,
    #[schema(schema_with = date_format_schema)]
    pub date_format: String,
    /// The clinic's IANA time zone: the screens show moments (a record's
    /// creation, the audit trail) on the clinic's clock.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
}

/// The date formats a clinic may choose; `browser` leaves it to each computer.
pub const DATE_FORMATS: [&str; 5] = [
    "browser",
    "YYYY-MM-DD",
    "DD.MM.YYYY",
    "DD/MM/YYYY",
    "MM/DD/YYYY",
];

/// One of `DATE_FORMATS`.
pub fn date_format_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&DATE_FORMATS, false)
}

fn normalise_date_format(value: &str) -> Option<&'static str> {
    DATE_FORMATS
        .into_iter()
        .find(|format| format.eq_ignore_ascii_case(value.trim()))
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

// Not audited, like `read`: a name and a date pattern are no one's record.
/// The clinic's name and date format, which every signed-in account may read.
#[utoipa::path(tag = "settings", responses((status = 200, description = "Any signed-in account: the clinic's name and date format, which every screen shows", body = ClinicSettings)), security(("bearer" = [])))]
#[get("/settings/clinic")]
async fn read_clinic(_caller: Caller, db: &State<Db>) -> Result<Json<ClinicSettings>, ApiError> {
    let settings = db.read(sql::load).await?;
    Ok(Json(ClinicSettings {
        clinic_name: settings.clinic_name,
        date_format: settings.date_format,
        time_zone: settings.time_zone,
    }))
}

#[utoipa::path(tag = "settings", request_body = schema::SettingsChangeRequest, responses((status = 200, description = "The settings, changed (admin); in effect at once", body = Settings)), security(("bearer" = [])))]
#[patch("/settings", data = "<body>")]
async fn update(
    body: JsonBody,
    admin: Admin,
    db: &State<Db>,
    clinic_zone: &State<ClinicZone>,
    schedule_watch: &State<Changes>,
) -> Result<Json<Settings>, ApiError> {
    let change = SettingsChange::read(&body.0)?;
    let zone = change.zone.clone();
    let settings = db.write(move |tx| change.write(tx, &admin.0)).await?;
    if let Some(zone) = zone {
        clinic_zone.set(zone);
    }
    schedule_watch.ring();
    Ok(Json(settings))
}

/// A checked change of the settings; `None` keeps a value.
pub struct SettingsChange {
    registration: Option<&'static str>,
    clinic_name: Option<Option<String>>,
    time_zone: Option<String>,
    threshold: Option<i64>,
    backup_time: Option<String>,
    backup_keep: Option<i64>,
    date_format: Option<&'static str>,
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
            backup_time: None,
            backup_keep: None,
            date_format: None,
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
        let time = fields.text(&["backup_time"], 10);
        let time = fields.require(&["backup_time"], time, false);
        let time = time.and_then(|text| {
            let parsed = backup_time(&text);
            if parsed.is_none() {
                fields.error(
                    "backup_time",
                    "Must be a time as HH:MM (24-hour clock, such as 02:00), or off.",
                );
            }
            parsed
        });
        let keep = fields.integer(&["backup_keep"], 1, 365);
        let keep = fields.require(&["backup_keep"], keep, false);
        let date_format = fields.choice(
            &["date_format"],
            normalise_date_format,
            &DATE_FORMATS.join(", "),
        );
        let date_format = fields.require(&["date_format"], date_format, false);
        let zone = match time_zone
            .as_deref()
            .map(|name| (name, clinic_time::zone(name)))
        {
            Some((_, None)) => {
                fields.error(
                    "time_zone",
                    "Enter the time zone by its IANA name, like Europe/Berlin or Asia/Kolkata.",
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
            backup_time: time,
            backup_keep: keep,
            date_format,
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
            &sql::Update {
                registration: self.registration,
                clinic_name: self.clinic_name.clone(),
                time_zone: self.time_zone.as_deref(),
                duplicate_threshold: self.threshold,
                backup_time: self.backup_time.as_deref(),
                backup_keep: self.backup_keep,
                date_format: self.date_format,
            },
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

    /// The values a new database starts with (the config file's, the
    /// machine's zone).
    pub struct Initial<'a> {
        pub registration: Registration,
        pub time_zone: &'a str,
        /// As the config file has it (`2:00` is read as `02:00`).
        pub backup_time: &'a str,
        pub backup_keep: u32,
    }

    /// Writes the starting values unless the database has settings already
    /// (and fills in a value a database from before that setting lacks).
    pub fn initialise(conn: &Connection, initial: &Initial<'_>) -> Result<(), ApiError> {
        let backup_time = super::backup_time(initial.backup_time)
            .or_else(|| {
                let (hours, minutes) = initial.backup_time.trim().split_once(':')?;
                super::backup_time(&format!("{hours:0>2}:{minutes:0>2}"))
            })
            .unwrap_or_else(|| "off".to_owned());
        let backup_keep = initial.backup_keep.clamp(1, 365);
        conn.execute(
            "INSERT OR IGNORE INTO settings (id, registration, time_zone, updated_at) VALUES (1, ?1, ?2, ?3)",
            params![initial.registration.as_str(), initial.time_zone, db::now()],
        )?;
        conn.execute(
            "UPDATE settings
                SET time_zone = coalesce(time_zone, ?1),
                    backup_time = coalesce(backup_time, ?2),
                    backup_keep = coalesce(backup_keep, ?3)
              WHERE id = 1",
            params![initial.time_zone, backup_time, backup_keep],
        )?;
        Ok(())
    }

    pub fn load(conn: &Connection) -> Result<Settings, ApiError> {
        let mut stmt = conn.prepare_cached(
            "SELECT registration, clinic_name, coalesce(time_zone, 'UTC') AS time_zone,
                    duplicate_threshold, coalesce(backup_time, 'off') AS backup_time,
                    coalesce(backup_keep, 7) AS backup_keep, date_format
               FROM settings WHERE id = 1",
        )?;
        Ok(stmt.query_row([], |row| {
            Ok(Settings {
                registration: row.get("registration")?,
                clinic_name: row.get("clinic_name")?,
                time_zone: row.get("time_zone")?,
                duplicate_threshold: row.get("duplicate_threshold")?,
                backup_time: row.get("backup_time")?,
                backup_keep: row.get("backup_keep")?,
                date_format: row.get("date_format")?,
            })
        })?)
    }

    /// The clinic's time zone alone, readable in every schema since 0011
    /// (a backup before an upgrade reads it from the old schema, whose
    /// settings row lacks later columns).
    pub fn time_zone(conn: &Connection) -> Result<String, ApiError> {
        Ok(conn.query_row(
            "SELECT coalesce(time_zone, 'UTC') FROM settings WHERE id = 1",
            [],
            |row| row.get(0),
        )?)
    }

    pub fn registration_open(conn: &Connection) -> Result<bool, ApiError> {
        Ok(load(conn)?.registration == Registration::Open.as_str())
    }

    /// A validated change: `None` keeps a value; `clinic_name: Some(None)`
    /// clears the clinic name.
    pub(super) struct Update<'a> {
        pub registration: Option<&'a str>,
        pub clinic_name: Option<Option<String>>,
        pub time_zone: Option<&'a str>,
        pub duplicate_threshold: Option<i64>,
        pub backup_time: Option<&'a str>,
        pub backup_keep: Option<i64>,
        pub date_format: Option<&'a str>,
    }

    pub(super) fn update(conn: &Connection, changes: &Update<'_>) -> Result<(), ApiError> {
        conn.execute(
            "UPDATE settings
                SET registration = coalesce(?1, registration),
                    clinic_name = CASE WHEN ?2 THEN clinic_name ELSE ?3 END,
                    time_zone = coalesce(?5, time_zone),
                    duplicate_threshold = coalesce(?6, duplicate_threshold),
                    backup_time = coalesce(?7, backup_time),
                    backup_keep = coalesce(?8, backup_keep),
                    date_format = coalesce(?9, date_format),
                    updated_at = ?4
              WHERE id = 1",
            params![
                changes.registration,
                changes.clinic_name.is_none(),
                changes.clinic_name.clone().flatten(),
                db::now(),
                changes.time_zone,
                changes.duplicate_threshold,
                changes.backup_time,
                changes.backup_keep,
                changes.date_format
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

    use super::{date_format_schema, registration_schema};

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
        /// The daily backup: `HH:MM` (24-hour clock, the clinic's time zone) or `off`.
        #[schema(
            nullable = false,
            example = "02:00",
            pattern = "^(off|([01][0-9]|2[0-3]):[0-5][0-9])$"
        )]
        backup_time: Option<String>,
        /// How many backups to keep, 1–365.
        #[schema(nullable = false, minimum = 1, maximum = 365)]
        backup_keep: Option<i64>,
        /// How the browser UI types and shows dates.
        #[schema(nullable = false, schema_with = date_format_schema)]
        date_format: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::backup_time;

    #[test]
    fn a_backup_time_is_two_digit_hours_and_minutes_or_off() {
        assert_eq!(backup_time("02:00").as_deref(), Some("02:00"));
        assert_eq!(backup_time(" 23:59 ").as_deref(), Some("23:59"));
        assert_eq!(backup_time("OFF").as_deref(), Some("off"));
        for bad in [
            "24:00", "2:00", "02:60", "0200", "", "noon", "02:00:00", "-1:00",
        ] {
            assert_eq!(backup_time(bad), None, "{bad}");
        }
    }
}
