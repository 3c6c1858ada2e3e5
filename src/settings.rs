//! Clinic-wide settings: `/api/settings` (admin only).
//!
//! Stored in the database (one row), so a change takes effect at once and
//! survives restarts; `CLINICDESK_REGISTRATION` / the config file only set the
//! value a new database starts with.

use rocket::serde::json::Json;
use rocket::{get, patch, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Admin;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::validation::Fields;

pub fn routes() -> Vec<Route> {
    routes![read, update]
}

/// The settings as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Settings {
    /// `open`: anyone who can reach the server may create a `user` account.
    #[schema(schema_with = registration_schema)]
    pub registration: String,
    pub clinic_name: Option<String>,
}

/// `open` or `closed`.
pub fn registration_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&["open", "closed"], false)
}

#[utoipa::path(tag = "settings", responses((status = 200, description = "The clinic's settings (admin)", body = Settings)), security(("bearer" = [])))]
#[get("/settings")]
async fn read(_admin: Admin, db: &State<Db>) -> Result<Json<Settings>, ApiError> {
    Ok(Json(db.run(|conn| sql::load(conn)).await?))
}

#[utoipa::path(tag = "settings", request_body = crate::openapi::SettingsChangeRequest, responses((status = 200, description = "The settings, changed (admin); in effect at once", body = Settings)), security(("bearer" = [])))]
#[patch("/settings", data = "<body>")]
async fn update(body: JsonBody, admin: Admin, db: &State<Db>) -> Result<Json<Settings>, ApiError> {
    let mut fields = Fields::new(&body.0);
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
    fields.finish()?;

    let settings = db
        .run(move |conn| {
            let tx = conn.transaction()?;
            let before = sql::load(&tx)?;
            sql::update(&tx, registration, clinic_name)?;
            let settings = sql::load(&tx)?;
            let changed = audit::changed_fields(&before, &settings);
            if !changed.is_empty() {
                let event = Event::new(Action::SettingChange).about(Entity::Setting);
                audit::record(&tx, &admin.0, event.fields(changed))?;
            }
            tx.commit()?;
            Ok(settings)
        })
        .await?;
    Ok(Json(settings))
}

/// Settings SQL; `registration_open` is also used by `auth::routes::register`.
pub mod sql {
    use rusqlite::{params, Connection};

    use super::Settings;
    use crate::config::Registration;
    use crate::db;
    use crate::error::ApiError;

    /// Writes the starting values unless the database has settings already.
    pub fn initialise(conn: &Connection, registration: Registration) -> Result<(), ApiError> {
        conn.execute(
            "INSERT OR IGNORE INTO settings (id, registration, updated_at) VALUES (1, ?1, ?2)",
            params![registration.as_str(), db::now()],
        )?;
        Ok(())
    }

    pub fn load(conn: &Connection) -> Result<Settings, ApiError> {
        let mut stmt =
            conn.prepare_cached("SELECT registration, clinic_name FROM settings WHERE id = 1")?;
        Ok(stmt.query_row([], |row| {
            Ok(Settings {
                registration: row.get("registration")?,
                clinic_name: row.get("clinic_name")?,
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
    ) -> Result<(), ApiError> {
        let keep_name = clinic_name.is_none();
        conn.execute(
            "UPDATE settings
                SET registration = coalesce(?1, registration),
                    clinic_name = CASE WHEN ?2 THEN clinic_name ELSE ?3 END,
                    updated_at = ?4
              WHERE id = 1",
            params![registration, keep_name, clinic_name.flatten(), db::now()],
        )?;
        Ok(())
    }
}
