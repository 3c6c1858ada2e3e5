//! `GET /api/health`: no auth, no patient data — for monitors and for the
//! clinic's IT person to see the server is up and its database readable.

use rocket::http::Status;
use rocket::serde::json::Json;
use rocket::{get, routes, Route, State};
use serde::Serialize;

use crate::db::Db;
use crate::standby::Replicator;

pub fn routes() -> Vec<Route> {
    routes![health]
}

/// The answer of `/api/health`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable` when the database cannot be read.
    #[schema(schema_with = state_schema)]
    pub status: &'static str,
    pub version: &'static str,
    #[schema(schema_with = state_schema)]
    pub database: &'static str,
    /// `off` (one machine), `ok` (Litestream is streaming to the replica)
    /// or `down` (configured, but Litestream is not running; it is being
    /// restarted, and the records are not reaching the standby meanwhile).
    #[schema(schema_with = replication_schema)]
    pub replication: &'static str,
}

fn replication_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&["off", "ok", "down"], false)
}

fn state_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&["ok", "unavailable"], false)
}

#[utoipa::path(tag = "service", responses((status = 200, description = "The server and its database are up", body = Health), (status = 503, description = "The database cannot be read", body = Health)))]
#[get("/health")]
async fn health(db: &State<Db>, replicator: &State<Replicator>) -> (Status, Json<Health>) {
    let readable = db
        .read(|conn| {
            Ok(conn.query_row("SELECT count(*) FROM settings", [], |row| {
                row.get::<_, i64>(0)
            })?)
        })
        .await
        .is_ok();
    let (status, word) = if readable {
        (Status::Ok, "ok")
    } else {
        (Status::ServiceUnavailable, "unavailable")
    };
    let body = Health {
        status: word,
        version: env!("CARGO_PKG_VERSION"),
        database: word,
        replication: replicator.state().as_str(),
    };
    (status, Json(body))
}
