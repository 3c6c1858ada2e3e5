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
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::Db;
use crate::doctors::Doctor;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, JsonBody, Ordering, Page, Paging};

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

const STATUSES: &str = "ACTIVE, INACTIVE, COMPLETED";

/// The stored statuses (accepted in any case).
pub const STATUS_VALUES: [&str; 3] = ["ACTIVE", "INACTIVE", "COMPLETED"];

fn normalise_status(value: &str) -> Option<&'static str> {
    STATUS_VALUES
        .into_iter()
        .find(|status| status.eq_ignore_ascii_case(value.trim()))
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

/// `GET /api/mappings` query (also paging for `/api/mappings/<patient_id>/`).
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct MappingQuery<'r> {
    /// A patient's id, or up to 500 of them separated by commas.
    #[param(pattern = r"^[0-9]+(,[0-9]+)*$")]
    patient_id: Option<&'r str>,
    #[param(value_type = Option<i64>)]
    doctor_id: Option<&'r str>,
    #[param(schema_with = status_schema)]
    status: Option<&'r str>,
    /// `id` (default), `patient`, `doctor`, `status`, `created_at` or
    /// `updated_at`; a leading `-` for descending.
    #[param(schema_with = ordering_schema)]
    ordering: Option<&'r str>,
    /// 1-based; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<&'r str>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<&'r str>,
}

/// What mapping lists may be ordered by (API name → column).
const ORDERING: &[(&str, &str)] = &[
    ("id", "id"),
    ("patient", "patient_id"),
    ("patient_id", "patient_id"),
    ("doctor", "doctor_id"),
    ("doctor_id", "doctor_id"),
    ("status", "status"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

fn ordering_schema() -> utoipa::openapi::Object {
    http::ordering_schema(ORDERING)
}

fn status_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&STATUS_VALUES, false)
}

/// A validated mapping list request.
struct MappingFilter {
    /// One or more patients (`patient_id=7` or `patient_id=7,8,9`: a page
    /// of patients' doctors in one request).
    patient_ids: Option<Vec<i64>>,
    doctor_id: Option<i64>,
    status: Option<&'static str>,
    ordering: Ordering,
    paging: Paging,
}

impl MappingQuery<'_> {
    fn validate(&self) -> Result<MappingFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let mut id = |name: &str, raw: Option<&str>| {
            let parsed = raw.map(|r| r.trim().parse::<i64>());
            if matches!(parsed, Some(Err(_))) {
                errors
                    .entry(name.to_owned())
                    .or_default()
                    .push("Must be a whole number.".into());
            }
            parsed.and_then(Result::ok)
        };
        let doctor_id = id("doctor_id", self.doctor_id);
        let patient_ids = self.patient_id.map(|raw| {
            let ids: Option<Vec<i64>> = raw
                .split(',')
                .map(|part| part.trim().parse().ok())
                .collect();
            match ids {
                Some(ids) if (1..=500).contains(&ids.len()) => ids,
                _ => {
                    errors.entry("patient_id".into()).or_default().push(
                        "Must be a whole number, or up to 500 of them separated by commas.".into(),
                    );
                    Vec::new()
                }
            }
        });
        let filter = MappingFilter {
            patient_ids,
            doctor_id,
            status: http::choice(
                &mut errors,
                "status",
                self.status,
                normalise_status,
                STATUSES,
            ),
            ordering: Ordering::parse(self.ordering, ORDERING, &mut errors),
            paging: Paging::parse(self.page, self.page_size, &mut errors),
        };
        http::checked(filter, errors)
    }
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

#[utoipa::path(tag = "mappings", request_body = crate::body_schemas::MappingInput, responses((status = 201, description = "The new mapping (a patient the caller cannot see, or an archived or unknown doctor, is `400` with `errors.patient`/`errors.doctor`)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has an `ACTIVE` mapping")), security(("bearer" = [])))]
#[post("/mappings", data = "<body>")]
async fn create(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Created<Json<Mapping>>, ApiError> {
    let mapping = db
        .write(move |tx| sql::insert(tx, &caller, &body.0))
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
                crate::patients::sql::find_visible(conn, &caller, id)?.ok_or(ApiError::NotFound)?;
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
    db.write(move |tx| sql::change(tx, &caller, id, &body.0))
        .await
        .map(Json)
}

async fn delete_one(id: i64, caller: Caller, db: &Db) -> Result<NoContent, ApiError> {
    let deleted = db.write(move |tx| sql::delete(tx, &caller, id)).await?;
    if deleted {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id (a GET on this path takes a patient's id)")), request_body = crate::body_schemas::MappingChange, responses((status = 200, description = "The mapping, with `status`, `reason` or `notes` changed", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
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
#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id (a GET on this path takes a patient's id)")), request_body = crate::body_schemas::MappingChange, responses((status = 200, description = "The same as PATCH: none of the fields is required", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
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

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), request_body = crate::body_schemas::MappingChange, responses((status = 200, description = "The same as PATCH `/api/mappings/{id}` (compatibility path)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
#[patch("/mappings/detail/<id>", data = "<body>")]
async fn detail_update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Mapping>, ApiError> {
    change(id, body, caller, db).await
}

#[utoipa::path(tag = "mappings", params(("id" = i64, Path, description = "A mapping's id")), request_body = crate::body_schemas::MappingChange, responses((status = 200, description = "The same as PATCH `/api/mappings/{id}` (compatibility path)", body = Mapping), (status = 409, description = "`duplicate`: the pair already has another `ACTIVE` mapping")), security(("bearer" = [])))]
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

/// Mapping SQL. Every query joins the patient and applies its visibility.
mod sql {
    use rusqlite::{named_params, params, Connection, Transaction};
    use serde_json::{Map, Value};

    use super::{normalise_status, Mapping, MappingFilter, PatientSummary, STATUSES};
    use crate::audit::{self, Action, Entity, Event};
    use crate::auth::Caller;
    use crate::db::{self, ResultExt};
    use crate::error::ApiError;
    use crate::search::Conditions;
    use crate::validation::{self, Fields};
    use crate::{doctors, patients};

    const SELECT: &str =
        "SELECT m.id, m.patient_id, m.doctor_id, m.reason, m.notes, m.status, m.created_by,
            m.created_at, m.updated_at, p.first_name, p.last_name
       FROM mappings m JOIN patients p ON p.id = m.patient_id";
    const VISIBLE: &str = "p.deleted_at IS NULL AND (:all OR p.created_by = :caller)";

    /// A row plus its doctor (archived doctors still show on old mappings).
    fn load(conn: &Connection, row: &rusqlite::Row<'_>) -> Result<Mapping, ApiError> {
        let first: String = row.get("first_name")?;
        let last: Option<String> = row.get("last_name")?;
        let doctor: i64 = row.get("doctor_id")?;
        Ok(Mapping {
            id: row.get("id")?,
            patient: row.get("patient_id")?,
            doctor,
            reason: row.get("reason")?,
            notes: row.get("notes")?,
            status: row.get("status")?,
            created_by: row.get("created_by")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
            patient_details: PatientSummary {
                id: row.get("patient_id")?,
                name: validation::full_name(&first, last.as_deref()),
            },
            doctor_details: doctors::sql::find_any(conn, doctor)?,
        })
    }

    pub fn find_visible(
        conn: &Connection,
        caller: &Caller,
        id: i64,
    ) -> Result<Option<Mapping>, ApiError> {
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE m.id = :id AND {VISIBLE}"))?;
        let mut rows = stmt.query(named_params! {
            ":id": id, ":all": caller.sees_all_patients(), ":caller": caller.id,
        })?;
        match rows.next()? {
            Some(row) => Ok(Some(load(conn, row)?)),
            None => Ok(None),
        }
    }

    fn duplicate_active<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
        result.on_unique("mappings.patient_id", || {
            ApiError::duplicate("This doctor already has an active mapping to this patient.")
        })
    }

    /// Validates the body against what the caller may see, then inserts.
    pub fn insert(
        tx: &Transaction<'_>,
        caller: &Caller,
        body: &Map<String, Value>,
    ) -> Result<Mapping, ApiError> {
        let mut f = Fields::new(body);
        let patient = f.integer(&["patient", "patient_id"], 1, i64::MAX);
        let patient = f.require(&["patient", "patient_id"], patient, true);
        let doctor = f.integer(&["doctor", "doctor_id"], 1, i64::MAX);
        let doctor = f.require(&["doctor", "doctor_id"], doctor, true);
        let reason = f.text(&["reason"], 500).flatten();
        let notes = f.multiline(&["notes"], 10_000).flatten();
        let status = f
            .choice(&["status"], normalise_status, STATUSES)
            .flatten()
            .unwrap_or("ACTIVE");
        if let Some(id) = patient {
            if patients::sql::find_visible(tx, caller, id)?.is_none() {
                f.error("patient", "No such patient.");
            }
        }
        if let Some(id) = doctor {
            if doctors::sql::find(tx, id)?.is_none() {
                f.error("doctor", "No such doctor (or the doctor is archived).");
            }
        }
        f.finish()?;
        let now = db::now();
        let inserted = tx.query_row(
            "INSERT INTO mappings (patient_id, doctor_id, reason, notes, status, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
            params![patient, doctor, reason, notes, status, caller.id, now],
            |row| row.get::<_, i64>(0),
        );
        let id = duplicate_active(inserted.map_err(ApiError::from))?;
        let mapping = find_visible(tx, caller, id)?.ok_or(ApiError::NotFound)?;
        let given = [
            ("patient", true),
            ("doctor", true),
            ("reason", reason.is_some()),
            ("notes", notes.is_some()),
            ("status", true),
        ];
        let fields = given
            .into_iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| name);
        let event = Event::new(Action::Create).on(Entity::Mapping, id);
        audit::record(tx, caller, event.fields(fields))?;
        Ok(mapping)
    }

    /// Updates `status`, `reason`, `notes` of a visible mapping.
    pub fn change(
        tx: &Transaction<'_>,
        caller: &Caller,
        id: i64,
        body: &Map<String, Value>,
    ) -> Result<Mapping, ApiError> {
        let current = find_visible(tx, caller, id)?.ok_or(ApiError::NotFound)?;
        let mut f = Fields::new(body);
        let reason = f.text(&["reason"], 500).unwrap_or(current.reason.clone());
        let notes = f
            .multiline(&["notes"], 10_000)
            .unwrap_or(current.notes.clone());
        let status = f.choice(&["status"], normalise_status, STATUSES);
        let status = f
            .require(&["status"], status, false)
            .map_or(current.status.clone(), str::to_owned);
        f.finish()?;
        let changed = [
            ("reason", reason != current.reason),
            ("notes", notes != current.notes),
            ("status", status != current.status),
        ];
        let fields = changed
            .into_iter()
            .filter(|(_, c)| *c)
            .map(|(name, _)| name);
        let event = Event::new(Action::Update).on(Entity::Mapping, id);
        audit::record(tx, caller, event.fields(fields))?;
        let updated = tx.execute(
            "UPDATE mappings SET reason = ?2, notes = ?3, status = ?4, updated_at = ?5 WHERE id = ?1",
            params![id, reason, notes, status, db::now()],
        );
        duplicate_active(updated.map_err(ApiError::from))?;
        let mapping = find_visible(tx, caller, id)?.ok_or(ApiError::NotFound)?;
        Ok(mapping)
    }

    /// Removes a visible mapping; `false` if there is none.
    pub fn delete(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<bool, ApiError> {
        let deleted = tx.execute(
            "DELETE FROM mappings WHERE id = ?1 AND patient_id IN
                (SELECT id FROM patients WHERE deleted_at IS NULL AND (?2 OR created_by = ?3))",
            params![id, caller.sees_all_patients(), caller.id],
        )?;
        if deleted == 1 {
            audit::record(
                tx,
                caller,
                Event::new(Action::Delete).on(Entity::Mapping, id),
            )?;
        }
        Ok(deleted == 1)
    }

    pub(super) fn select_page(
        conn: &Connection,
        caller: &Caller,
        filter: &MappingFilter,
    ) -> Result<(Vec<Mapping>, i64), ApiError> {
        let mut conditions = Conditions::with("mappings", "p.deleted_at IS NULL");
        if !caller.sees_all_patients() {
            conditions.filter("p.created_by = :caller", ":caller", Some(caller.id));
        }
        match filter.patient_ids.as_deref() {
            // One patient (their page, `/api/mappings/<patient_id>/`): an index lookup.
            Some([one]) => conditions.filter("m.patient_id = :patient", ":patient", Some(*one)),
            // Several (a list page's doctors): a JSON array, which json_each turns into rows.
            ids => conditions.filter(
                "m.patient_id IN (SELECT value FROM json_each(:patients))",
                ":patients",
                ids.map(|ids| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())),
            ),
        };
        conditions
            .filter("m.doctor_id = :doctor", ":doctor", filter.doctor_id)
            .filter("m.status = :status", ":status", filter.status);
        let where_clause = conditions.sql();
        let values = conditions.values();
        let total: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM mappings m JOIN patients p ON p.id = m.patient_id {where_clause}"))?
            .query_row(values.as_slice(), |row| row.get(0))?;
        let (limit, offset) = (filter.paging.limit(), filter.paging.offset());
        let mut page_values = values.clone();
        page_values.extend(named_params! { ":limit": limit, ":offset": offset });
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} {where_clause} ORDER BY {} LIMIT :limit OFFSET :offset",
            filter.ordering.sql("m")
        ))?;
        let mut rows = stmt.query(page_values.as_slice())?;
        let mut mappings = Vec::new();
        while let Some(row) = rows.next()? {
            mappings.push(load(conn, row)?);
        }
        Ok((mappings, total))
    }
}
