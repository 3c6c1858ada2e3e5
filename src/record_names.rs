//! `GET /api/audit/names` (admins only): the names of the patients, doctors
//! and accounts a page of the audit trail points at, so the screen can show
//! "Patient #12 · Ada Lovelace". The trail itself stores ids, never values;
//! the names are looked up when the page is shown, archived records
//! included, one query per kind. It lives with the resources (not in
//! `audit`, which sits below them) and asks each owner for its names.
//!
//! Exact by construction: only admins may call it, and each owner applies
//! its own visibility, so no name comes back that the caller could not read
//! through that resource's own routes. A lookup of patients' names is itself
//! in the trail, as a `search` of the patients naming the field `name`
//! (doctors and accounts are not patient data, and their reads are not
//! recorded anywhere else either).

use std::collections::{BTreeMap, HashMap};

use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Admin;
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::http;
use crate::{doctors, patients, users};

/// As many ids of one kind as one page of the trail can point at (twice the
/// largest page: each row names a record and a related one).
const MAX_IDS: usize = 1000;

pub fn routes() -> Vec<Route> {
    audit::denied::about(Entity::Audit, routes![names])
}

/// Names by id (as a string key, as JSON objects have them); an id that is
/// unknown is left out.
#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct RecordNames {
    /// Patients' full names, archived patients included.
    pub patients: BTreeMap<String, String>,
    /// Doctors' names, archived doctors included.
    pub doctors: BTreeMap<String, String>,
    /// Accounts: the name, else the username, else the email.
    pub users: BTreeMap<String, String>,
}

#[utoipa::path(
    tag = "audit",
    params(
        ("patients" = Option<String>, Query, description = "Comma-separated patient ids (at most 1000)", example = "12,40"),
        ("doctors" = Option<String>, Query, description = "Comma-separated doctor ids (at most 1000)"),
        ("users" = Option<String>, Query, description = "Comma-separated account ids (at most 1000)"),
    ),
    responses((status = 200, description = "The names of the records an audit page points at (admin); looked up now, never stored in the trail", body = RecordNames)),
    security(("bearer" = []))
)]
#[get("/audit/names?<patients>&<doctors>&<users>")]
async fn names(
    patients: Option<&str>,
    doctors: Option<&str>,
    users: Option<&str>,
    admin: Admin,
    db: &State<Db>,
) -> Result<Json<RecordNames>, ApiError> {
    let mut errors = FieldErrors::new();
    let patient_ids = ids(&mut errors, "patients", patients);
    let doctor_ids = ids(&mut errors, "doctors", doctors);
    let user_ids = ids(&mut errors, "users", users);
    let (patient_ids, doctor_ids, user_ids) =
        http::checked((patient_ids, doctor_ids, user_ids), errors)?;
    let caller = admin.0;
    let names_patients = !patient_ids.is_empty();
    let found = db
        .read_and_record(
            move |conn| {
                let doctors = doctors::find_many(conn, &doctor_ids)?
                    .into_values()
                    .map(|doctor| (doctor.id, doctor.name));
                Ok(RecordNames {
                    patients: keyed(patients::names(conn, &caller, &patient_ids)?),
                    doctors: keyed(doctors.collect()),
                    users: keyed(users::sql::names(conn, &user_ids)?),
                })
            },
            move |tx| {
                if !names_patients {
                    return Ok(());
                }
                let event = Event::new(Action::Search)
                    .about(Entity::Patient)
                    .fields(["name"]);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(found))
}

/// `1,2,3` as ids; a bad one is a field error naming the parameter.
fn ids(errors: &mut FieldErrors, name: &str, raw: Option<&str>) -> Vec<i64> {
    let Some(raw) = raw.map(str::trim).filter(|raw| !raw.is_empty()) else {
        return Vec::new();
    };
    let parsed: Option<Vec<i64>> = raw
        .split(',')
        .map(|part| part.trim().parse::<i64>().ok().filter(|id| *id > 0))
        .collect();
    let message = match parsed {
        Some(mut ids) if ids.len() <= MAX_IDS => {
            ids.sort_unstable();
            ids.dedup();
            return ids;
        }
        Some(_) => format!("At most {MAX_IDS} ids."),
        None => "Must be positive whole numbers separated by commas.".to_owned(),
    };
    errors.entry(name.to_owned()).or_default().push(message);
    Vec::new()
}

fn keyed(names: HashMap<i64, String>) -> BTreeMap<String, String> {
    names
        .into_iter()
        .map(|(id, name)| (id.to_string(), name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_whole_numbers_separated_by_commas() {
        let mut errors = FieldErrors::new();
        assert_eq!(ids(&mut errors, "patients", Some(" 3, 1,3 ")), [1, 3]);
        assert!(ids(&mut errors, "doctors", None).is_empty());
        assert!(ids(&mut errors, "users", Some("")).is_empty());
        assert!(errors.is_empty());
        for bad in ["0", "1,,2", "x", "-4", "1;2"] {
            let mut errors = FieldErrors::new();
            assert!(ids(&mut errors, "patients", Some(bad)).is_empty());
            assert!(errors.contains_key("patients"), "{bad}");
        }
    }
}
