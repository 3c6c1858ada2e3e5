//! `denied` events, recorded in one place for every route: a signed-in
//! caller who got `403`, or `404` for a record that exists (someone else's
//! patient, an archived one), tried to reach what they may not. A `404` for
//! a record that does not exist at all is just a mistyped id: not recorded.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::{Method, Status};
use rocket::{Request, Response};
use rusqlite::{Connection, OptionalExtension};

use super::{record, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::Db;
use crate::error::ApiError;

pub struct DeniedAttempts;

#[rocket::async_trait]
impl Fairing for DeniedAttempts {
    fn info(&self) -> Info {
        Info {
            name: "audit of denied attempts",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let status = res.status();
        if status != Status::Forbidden && status != Status::NotFound {
            return;
        }
        // Only routes that ran with a verified caller (the guard's cached result).
        let Some(route) = req.route() else { return };
        let Ok(caller) = req.local_cache(|| Err::<Caller, Status>(Status::Unauthorized)) else {
            return;
        };
        let caller = *caller;
        let target = target(
            req.method(),
            route.name.as_deref(),
            req.uri().path().as_str(),
        );
        let Some(db) = req.rocket().state::<Db>() else {
            return;
        };
        let forbidden = status == Status::Forbidden;
        let result = db
            .write(move |tx| {
                if !forbidden {
                    match target {
                        (Some(entity), Some(id)) if exists(tx, entity, id)? => {}
                        _ => return Ok(()),
                    }
                }
                let event = match target {
                    (Some(entity), Some(id)) => Event::new(Action::Denied).on(entity, id),
                    (Some(entity), None) => Event::new(Action::Denied).about(entity),
                    (None, _) => Event::new(Action::Denied),
                };
                record(tx, &caller, event)
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = ?err, "could not record a denied attempt in the audit log");
        }
    }
}

/// The record a path names: `/api/<resource>/<id>/…`. The one route whose
/// id is not its own resource's, `GET /api/mappings/<patient_id>/`, names a patient.
fn target(method: Method, route_name: Option<&str>, path: &str) -> (Option<Entity>, Option<i64>) {
    let mut segments = path.trim_matches('/').split('/').skip(1);
    let entity = match segments.next() {
        Some("patients") => Entity::Patient,
        Some("doctors") => Entity::Doctor,
        Some("mappings") if method == Method::Get && route_name == Some("for_patient") => {
            Entity::Patient
        }
        Some("mappings") => Entity::Mapping,
        Some("users") => Entity::User,
        Some("appointments") => Entity::Appointment,
        Some("settings") => Entity::Setting,
        Some("admin") => Entity::Backup,
        Some("audit") => Entity::Audit,
        _ => return (None, None),
    };
    let id = segments.find_map(|segment| segment.parse::<i64>().ok());
    (Some(entity), id)
}

fn exists(conn: &Connection, entity: Entity, id: i64) -> Result<bool, ApiError> {
    let table = match entity {
        Entity::Patient => "patients",
        Entity::Doctor => "doctors",
        Entity::Mapping => "mappings",
        Entity::User => "users",
        Entity::Appointment => "appointments",
        Entity::TimeOff => "doctor_time_off",
        Entity::Setting | Entity::Backup | Entity::Audit => return Ok(false),
    };
    Ok(conn
        .prepare_cached(&format!("SELECT 1 FROM {table} WHERE id = ?1"))?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_names_its_record_and_the_patient_mappings_route_names_a_patient() {
        let get = Method::Get;
        assert_eq!(
            target(get, Some("read"), "/api/patients/7/"),
            (Some(Entity::Patient), Some(7))
        );
        assert_eq!(
            target(get, Some("for_patient"), "/api/mappings/7"),
            (Some(Entity::Patient), Some(7))
        );
        assert_eq!(
            target(
                Method::Delete,
                Some("detail_remove"),
                "/api/mappings/detail/9/"
            ),
            (Some(Entity::Mapping), Some(9))
        );
        assert_eq!(
            target(get, Some("list"), "/api/users"),
            (Some(Entity::User), None)
        );
        assert_eq!(target(get, None, "/api/nothing/3"), (None, None));
    }
}
