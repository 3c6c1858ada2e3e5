//! Mapping SQL. Every query joins the patient and applies its visibility;
//! a page's doctors are read in one query by `doctors`, which owns them.

use rusqlite::{named_params, params, Connection, Transaction};

use super::input::{MappingFields, MappingFilter, NewMapping};
use super::{Mapping, PatientSummary};
use crate::auth::Caller;
use crate::db::{self, ResultExt};
use crate::doctors;
use crate::error::ApiError;
use crate::search::Conditions;
use crate::validation;

const SELECT: &str =
    "SELECT m.id, m.patient_id, m.doctor_id, m.reason, m.notes, m.status, m.created_by,
        m.created_at, m.updated_at, p.first_name, p.last_name
   FROM mappings m JOIN patients p ON p.id = m.patient_id";
const VISIBLE: &str = "p.deleted_at IS NULL AND (:all OR p.created_by = :caller)";

/// A row, without its doctor (`with_doctors` adds them).
fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Mapping> {
    let first: String = row.get("first_name")?;
    let last: Option<String> = row.get("last_name")?;
    Ok(Mapping {
        id: row.get("id")?,
        patient: row.get("patient_id")?,
        doctor: row.get("doctor_id")?,
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
        doctor_details: None,
    })
}

/// Fills in each mapping's doctor (archived doctors still show on old
/// mappings), all of them in one query.
fn with_doctors(conn: &Connection, mut mappings: Vec<Mapping>) -> Result<Vec<Mapping>, ApiError> {
    let mut ids: Vec<i64> = mappings.iter().map(|m| m.doctor).collect();
    ids.sort_unstable();
    ids.dedup();
    let doctors = doctors::find_many(conn, &ids)?;
    for mapping in &mut mappings {
        mapping.doctor_details = doctors.get(&mapping.doctor).cloned();
    }
    Ok(mappings)
}

pub fn find_visible(
    conn: &Connection,
    caller: &Caller,
    id: i64,
) -> Result<Option<Mapping>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE m.id = :id AND {VISIBLE}"))?;
    let found = stmt
        .query_map(
            named_params! { ":id": id, ":all": caller.sees_all_patients(), ":caller": caller.id },
            from_row,
        )?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(with_doctors(conn, found)?.pop())
}

fn duplicate_active<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    result.on_unique("mappings.patient_id", || {
        ApiError::duplicate("This doctor already has an active mapping to this patient.")
    })
}

/// Inserts a validated mapping; its id.
pub fn insert(tx: &Transaction<'_>, caller: &Caller, new: &NewMapping) -> Result<i64, ApiError> {
    let inserted = tx.query_row(
        "INSERT INTO mappings (patient_id, doctor_id, reason, notes, status, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
        params![new.patient, new.doctor, new.reason, new.notes, new.status, caller.id, db::now()],
        |row| row.get::<_, i64>(0),
    );
    duplicate_active(inserted.map_err(ApiError::from))
}

/// Writes a mapping's changeable fields (the handler has read it as visible).
pub fn update(tx: &Transaction<'_>, id: i64, record: &MappingFields) -> Result<(), ApiError> {
    let updated = tx.execute(
        "UPDATE mappings SET reason = ?2, notes = ?3, status = ?4, updated_at = ?5 WHERE id = ?1",
        params![id, record.reason, record.notes, record.status, db::now()],
    );
    duplicate_active(updated.map_err(ApiError::from)).map(drop)
}

/// Removes a visible mapping; `false` if there is none.
pub fn delete(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    let deleted = tx.execute(
        "DELETE FROM mappings WHERE id = ?1 AND patient_id IN
            (SELECT id FROM patients WHERE deleted_at IS NULL AND (?2 OR created_by = ?3))",
        params![id, caller.sees_all_patients(), caller.id],
    )?;
    Ok(deleted == 1)
}

pub fn select_page(
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
        .prepare_cached(&format!(
            "SELECT count(*) FROM mappings m JOIN patients p ON p.id = m.patient_id {where_clause}"
        ))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    let (limit, offset) = (filter.paging.limit(), filter.paging.offset());
    let mut page_values = values.clone();
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} {}",
        filter.ordering.sql("m"),
        db::PAGE,
    ))?;
    let mappings = stmt
        .query_map(page_values.as_slice(), from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((with_doctors(conn, mappings)?, total))
}

/// Moves every mapping of patient `from` to `to` (a merge). Where both had
/// an active assignment to the same doctor, `from`'s ends first (it would
/// be a second active pair, which the schema forbids); its reason and notes
/// stay on it. Answers how many moved.
pub fn move_patient(tx: &Transaction<'_>, from: i64, to: i64) -> Result<usize, ApiError> {
    let now = db::now();
    tx.prepare_cached(
        "UPDATE mappings SET status = 'INACTIVE', updated_at = ?3
          WHERE patient_id = ?1 AND status = 'ACTIVE'
            AND doctor_id IN (SELECT doctor_id FROM mappings WHERE patient_id = ?2 AND status = 'ACTIVE')",
    )?
    .execute(params![from, to, now])?;
    Ok(tx
        .prepare_cached(
            "UPDATE mappings SET patient_id = ?2, updated_at = ?3 WHERE patient_id = ?1",
        )?
        .execute(params![from, to, now])?)
}
