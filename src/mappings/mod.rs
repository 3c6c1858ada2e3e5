//! Patient–doctor mappings: `/api/mappings` — which doctor looks after which
//! patient.
//!
//! A mapping is visible exactly when its patient is (a `user`: the patients
//! they created; `staff`/`admin`: all live patients), so the patient's
//! visibility rule is the only one. A pair has at most one `ACTIVE` mapping.
//!
//! Compatibility paths of the seed projects: `GET /api/mappings/<patient_id>/`
//! lists a patient's mappings, while `PATCH`/`PUT`/`DELETE` on
//! `/api/mappings/<id>/` take a mapping id; `/api/mappings/detail/<id>/` and
//! `DELETE /api/mappings/delete/<id>/` also take a mapping id. The body accepts
//! `patient_id`/`doctor_id` for `patient`/`doctor`.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::Db;
use crate::doctors::{self, Doctor};
use crate::error::ApiError;
use crate::http::{JsonBody, Page};
use crate::patients;
use crate::records::Table;

pub use self::input::STATUS_VALUES;
use self::input::{status_schema, MappingFields, MappingQuery, NewMapping};

mod input;
pub mod schema;
mod sql;

/// The mappings as the whole-clinic document holds them: as stored.
pub const EXCHANGE: Table = Table {
    section: "mappings",
    table: "mappings",
    columns: &[
        "id",
        "patient_id",
        "doctor_id",
        "reason",
        "notes",
        "status",
        "created_by",
        "created_at",
        "updated_at",
    ],
    accounts: &["created_by"],
};

/// Moves every mapping of patient `from` to patient `to` (a merge, whose
/// caller checked both); answers how many moved.
pub fn move_patient(tx: &rusqlite::Transaction<'_>, from: i64, to: i64) -> Result<usize, ApiError> {
    sql::move_patient(tx, from, to)
}

pub fn routes() -> Vec<Route> {
    let mut routes = audit::denied::about(
        Entity::Mapping,
        routes![
            list,
            create,
            update,
            replace,
            remove,
            detail,
            detail_update,
            detail_replace,
            detail_remove,
            delete_alias
        ],
    );
    // Its id is a patient's: an attempt on it is an attempt on the patient.
    routes.extend(audit::denied::about(Entity::Patient, routes![for_patient]));
    routes
}

/// The patient's id and name, as a mapping shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientSummary {
    pub id: i64,
    pub name: String,
}

/// A mapping as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Mapping {
    pub id: i64,
    pub patient: i64,
    pub doctor: i64,
    pub reason: Option<String>,
    pub notes: Option<String>,
    /// `ACTIVE`, `INACTIVE` or `COMPLETED`.
    #[schema(schema_with = status_schema)]
    pub status: String,
    pub created_by: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    pub patient_details: PatientSummary,
    pub doctor_details: Option<Doctor>,
}

#[utoipa::path(tag = "mappings", params(MappingQuery), responses((status = 200, description = "A page of the mappings of the patients the caller may see", body = [Mapping])), security(("bearer" = [])))]
#[get("/mappings?<query..>")]
async fn list(
    query: MappingQuery<'_>,
    caller: Caller,
    db: &State<Db>,
) -> Result<Page<Mapping>, ApiError> {
    let filter = query.validate()?;
    let paging = filter.paging;
    let (items, total) = db
        .read_and_record(
            move |conn| sql::select_page(conn, &caller, &filter),
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Mapping);
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

#[utoipa::path(tag = "mappings", request_body = schema::MappingInput, responses((status = 201, description = "The new mapping (a patient the caller cannot see, or an archived or unknown doctor, is `400` with `errors.patient`/`errors.doctor`)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has an `ACTIVE` mapping")), security(("bearer" = [])))]
#[post("/mappings", data = "<body>")]
async fn create(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Created<Json<Mapping>>, ApiError> {
    let mapping = db
        .write(move |tx| {
            let new = NewMapping::read(
                &body.0,
                |id| patients::visible(tx, &caller, id),
                |id| Ok(doctors::find_live(tx, id)?.is_some()),
            )?;
            let id = sql::insert(tx, &caller, &new)?;
            let event = Event::new(Action::Create).on(Entity::Mapping, id);
            audit::record(tx, &caller, event.fields(new.given()))?;
            sql::find_visible(tx, &caller, id)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(Created::new(format!("/api/mappings/detail/{}/", mapping.id)).body(Json(mapping)))
}

/// The mappings of one patient (`404` if the patient is not visible).
/// The path parameter is `id` because PATCH, PUT and DELETE share this
/// path, where it is a mapping's id: one templated path, one name.
#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "Here a **patient's** id: the mappings of that patient (compatibility). PATCH, PUT and DELETE on this path take a mapping's id."), MappingQuery), responses((status = 200, description = "A page of that patient's mappings, each with `doctor_details`", body = [Mapping])), security(("bearer" = [])))]
#[get("/mappings/<id>?<query..>")]
async fn for_patient(
    id: i64,
    query: MappingQuery<'_>,
    caller: Caller,
    db: &State<Db>,
) -> Result<Page<Mapping>, ApiError> {
    let mut filter = query.validate()?;
    filter.patient_ids = Some(vec![id]);
    let paging = filter.paging;
    let (items, total) = db
        .read_and_record(
            move |conn| {
                if !patients::visible(conn, &caller, id)? {
                    return Err(ApiError::NotFound);
                }
                sql::select_page(conn, &caller, &filter)
            },
            move |tx| {
                // Who looks after a patient is part of that patient's record.
                let event = Event::new(Action::View).on(Entity::Patient, id);
                audit::record(tx, &caller, event.fields(["mappings"]))
            },
        )
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

async fn read_one(id: i64, caller: Caller, db: &Db) -> Result<Json<Mapping>, ApiError> {
    let mapping = db
        .read_and_record(
            move |conn| sql::find_visible(conn, &caller, id)?.ok_or(ApiError::NotFound),
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Mapping, id);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(mapping))
}

async fn change(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &Db,
) -> Result<Json<Mapping>, ApiError> {
    let mapping = db
        .write(move |tx| {
            let current = sql::find_visible(tx, &caller, id)?.ok_or(ApiError::NotFound)?;
            let before = MappingFields {
                reason: current.reason,
                notes: current.notes,
                status: current.status,
            };
            let record = before.apply(&body.0)?;
            let event = Event::new(Action::Update).on(Entity::Mapping, id);
            audit::record(tx, &caller, event.fields(record.changed_from(&before)))?;
            sql::update(tx, id, &record)?;
            sql::find_visible(tx, &caller, id)?.ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(Json(mapping))
}

async fn delete_one(id: i64, caller: Caller, db: &Db) -> Result<NoContent, ApiError> {
    let deleted = db
        .write(move |tx| {
            let deleted = sql::delete(tx, &caller, id)?;
            if deleted {
                let event = Event::new(Action::Delete).on(Entity::Mapping, id);
                audit::record(tx, &caller, event)?;
            }
            Ok(deleted)
        })
        .await?;
    if deleted {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id (a GET on this path takes a patient's id)")), request_body = schema::MappingChange, responses((status = 200, description = "The mapping, with `status`, `reason` or `notes` changed", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
#[patch("/mappings/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Mapping>, ApiError> {
    change(id, body, caller, db).await
}

/// PUT takes the same fields as PATCH: `status`, `reason` and `notes` are
/// the only writable ones, and none is required.
#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id (a GET on this path takes a patient's id)")), request_body = schema::MappingChange, responses((status = 200, description = "The same as PATCH: none of the fields is required", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
#[put("/mappings/<id>", data = "<body>")]
async fn replace(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Mapping>, ApiError> {
    change(id, body, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id (a GET on this path takes a patient's id)")), responses((status = 204, description = "The mapping is removed (the doctor from the patient)")), security(("bearer" = [])))]
#[delete("/mappings/<id>")]
async fn remove(id: i64, caller: Caller, db: &State<Db>) -> Result<NoContent, ApiError> {
    delete_one(id, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), responses((status = 200, description = "One mapping (compatibility path)", body = Mapping)), security(("bearer" = [])))]
#[get("/mappings/detail/<id>")]
async fn detail(id: i64, caller: Caller, db: &State<Db>) -> Result<Json<Mapping>, ApiError> {
    read_one(id, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), request_body = schema::MappingChange, responses((status = 200, description = "The same as PATCH `/api/mappings/{id}` (compatibility path)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
#[patch("/mappings/detail/<id>", data = "<body>")]
async fn detail_update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Mapping>, ApiError> {
    change(id, body, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), request_body = schema::MappingChange, responses((status = 200, description = "The same as PATCH `/api/mappings/{id}` (compatibility path)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
#[put("/mappings/detail/<id>", data = "<body>")]
async fn detail_replace(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Mapping>, ApiError> {
    change(id, body, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), responses((status = 204, description = "The mapping is removed (compatibility path)")), security(("bearer" = [])))]
#[delete("/mappings/detail/<id>")]
async fn detail_remove(id: i64, caller: Caller, db: &State<Db>) -> Result<NoContent, ApiError> {
    delete_one(id, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), responses((status = 204, description = "The mapping is removed (compatibility path)")), security(("bearer" = [])))]
#[delete("/mappings/delete/<id>")]
async fn delete_alias(id: i64, caller: Caller, db: &State<Db>) -> Result<NoContent, ApiError> {
    delete_one(id, caller, db).await
}
