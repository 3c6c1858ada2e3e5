//! `denied` events, recorded in one place for every route: a signed-in
//! caller who got `403`, or `404` for a record that exists (someone else's
//! patient, an archived one), tried to reach what they may not. A `404` for
//! a record that does not exist at all is just a mistyped id: not recorded.
//!
//! What an attempt was on is said by the route, not read back from its URL:
//! each resource lists its routes through `about` (`about(Entity::Patient,
//! routes![…])`), which notes the entity and the route's `<id>` on the
//! request before the handler's guards run, so a guard's `403` is recorded
//! against it too. Who made it is the caller the `Caller` guard verified.

use std::sync::{Mutex, PoisonError};

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Status;
use rocket::route::{self, Handler, Route};
use rocket::{Data, Request, Response};
use rusqlite::{Connection, OptionalExtension};

use super::{record, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::Db;
use crate::error::ApiError;

/// The record a request was about: its entity and, on a route with an
/// `<id>`, which one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub entity: Entity,
    pub id: Option<i64>,
}

impl Target {
    /// What the route that answered `req` said it was about (`None` on a
    /// route listed without `about`: sign-in, setup, health).
    pub fn of(req: &Request<'_>) -> Option<Self> {
        *Reached::of(req)
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// One attempt: who made it and on what.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    pub caller: Caller,
    pub target: Option<Target>,
}

impl Attempt {
    /// The attempt `req` made, if its caller was verified.
    pub fn of(req: &Request<'_>) -> Option<Self> {
        Some(Self {
            caller: Caller::verified(req)?,
            target: Target::of(req),
        })
    }
}

/// Where a route leaves its `Target` on the request.
struct Reached(Mutex<Option<Target>>);

impl Reached {
    fn of<'r>(req: &'r Request<'_>) -> &'r Mutex<Option<Target>> {
        &req.local_cache(|| Self(Mutex::new(None))).0
    }
}

/// `routes`, each noting on its requests that they are about `entity`: the
/// record with the id in the route's first path parameter (`<id>`), or the
/// kind as a whole on a route without one (a list, a create).
pub fn about(entity: Entity, routes: Vec<Route>) -> Vec<Route> {
    routes
        .into_iter()
        .map(|mut route| {
            let segments = |path: &str| -> Vec<String> {
                path.split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            };
            // Counted after the mount point, as `Request::param` counts.
            let mounted = segments(route.uri.base()).len();
            let id_segment = segments(route.uri.path())
                .iter()
                .position(|segment| segment.starts_with('<'))
                .and_then(|n| n.checked_sub(mounted));
            route.handler = Box::new(About {
                entity,
                id_segment,
                handler: route.handler.clone(),
            });
            route
        })
        .collect()
}

/// A route's own handler, after noting its `Target`.
#[derive(Clone)]
struct About {
    entity: Entity,
    id_segment: Option<usize>,
    handler: Box<dyn Handler>,
}

#[rocket::async_trait]
impl Handler for About {
    async fn handle<'r>(&self, req: &'r Request<'_>, data: Data<'r>) -> route::Outcome<'r> {
        let id = self
            .id_segment
            .and_then(|n| req.param::<i64>(n))
            .and_then(Result::ok);
        let target = Target {
            entity: self.entity,
            id,
        };
        *Reached::of(req)
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(target);
        let outcome = self.handler.handle(req, data).await;
        if outcome.is_forward() {
            // The next route that matches says what it is about.
            *Reached::of(req)
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = None;
        }
        outcome
    }
}

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
        // Only requests whose caller the guard verified.
        let Some(Attempt { caller, target }) = Attempt::of(req) else {
            return;
        };
        let Some(db) = req.rocket().state::<Db>() else {
            return;
        };
        let forbidden = status == Status::Forbidden;
        let result = db
            .write(move |tx| {
                let event = match target {
                    Some(Target {
                        entity,
                        id: Some(id),
                    }) => {
                        if !forbidden && !exists(tx, entity, id)? {
                            return Ok(());
                        }
                        Event::new(Action::Denied).on(entity, id)
                    }
                    _ if !forbidden => return Ok(()),
                    Some(Target { entity, id: None }) => Event::new(Action::Denied).about(entity),
                    None => Event::new(Action::Denied),
                };
                record(tx, &caller, event)
            })
            .await;
        if let Err(err) = result {
            tracing::error!(error = ?err, "could not record a denied attempt in the audit log");
        }
    }
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
    use rocket::http::Method;
    use rocket::local::asynchronous::Client;

    use super::*;

    /// Answers with the target its route noted.
    fn echo<'r>(req: &'r Request<'_>, _data: Data<'r>) -> route::BoxFuture<'r> {
        Box::pin(async move { route::Outcome::from(req, format!("{:?}", Target::of(req))) })
    }

    fn declines<'r>(_req: &'r Request<'_>, data: Data<'r>) -> route::BoxFuture<'r> {
        Box::pin(async move { route::Outcome::Forward((data, Status::NotFound)) })
    }

    #[rocket::async_test]
    async fn a_route_names_its_record_and_the_patient_mappings_route_names_a_patient() {
        let get = Method::Get;
        let routes = [
            about(
                Entity::Patient,
                vec![Route::new(get, "/patients/<id>", echo)],
            ),
            // `GET /api/mappings/<id>/` takes a patient's id (`for_patient`).
            about(
                Entity::Patient,
                vec![Route::new(get, "/mappings/<id>", echo)],
            ),
            about(
                Entity::Mapping,
                vec![Route::new(Method::Delete, "/mappings/detail/<id>", echo)],
            ),
            about(Entity::User, vec![Route::new(get, "/users", echo)]),
            about(
                Entity::Doctor,
                vec![Route::new(get, "/doctors/<id>", declines)],
            ),
            vec![
                Route::new(get, "/nothing/<id>", echo),
                Route::ranked(5, get, "/doctors/<id>", echo),
            ],
        ]
        .concat();
        let client = Client::untracked(rocket::build().mount("/api", routes))
            .await
            .expect("client");
        let answer = |method: Method, uri: &'static str| {
            let client = &client;
            async move {
                let response = client.req(method, uri).dispatch().await;
                response.into_string().await.unwrap_or_default()
            }
        };

        let patient = "Some(Target { entity: Patient, id: Some(7) })";
        assert_eq!(answer(get, "/api/patients/7/").await, patient);
        assert_eq!(answer(get, "/api/mappings/7").await, patient);
        assert_eq!(
            answer(Method::Delete, "/api/mappings/detail/9/").await,
            "Some(Target { entity: Mapping, id: Some(9) })"
        );
        assert_eq!(
            answer(get, "/api/users").await,
            "Some(Target { entity: User, id: None })"
        );
        assert_eq!(answer(get, "/api/nothing/3").await, "None");
        assert_eq!(
            answer(get, "/api/doctors/4").await,
            "None",
            "a route that declined leaves no target for the next"
        );
    }
}
