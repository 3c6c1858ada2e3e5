//! The patients of the whole-clinic document: every record, archived ones
//! included, out as they are stored; back in through the same field rules
//! as `POST /api/patients/`, so an import stores nothing the API would
//! refuse, with their ids, owners, times and merge links kept.

use rusqlite::{Connection, Transaction};
use serde::Serialize;
use serde_json::Value;

use super::input::apply;
use super::{duplicates, PatientFields};
use crate::error::ApiError;
use crate::records::Intake;

const SECTION: &str = "patients";

/// One patient as the document holds it.
#[derive(Debug, Serialize)]
pub struct PatientRecord {
    pub id: i64,
    #[serde(flatten)]
    pub fields: PatientFields,
    /// The age given when the date of birth is unknown (not computed).
    pub age: Option<i64>,
    pub created_by: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When it was archived; `null` for a live record.
    pub archived_at: Option<String>,
    pub merged_into: Option<i64>,
}

/// Every patient, archived included, by id.
pub fn export(conn: &Connection) -> Result<Vec<PatientRecord>, ApiError> {
    // The export keeps the stored age, not one computed for a day.
    let records = super::sql::select_every(conn, super::FIELDS_ONLY)?
        .into_iter()
        .map(|(patient, archived_at)| PatientRecord {
            id: patient.id,
            age: patient.fields.stored_age,
            fields: patient.fields,
            created_by: patient.created_by,
            created_at: patient.created_at,
            updated_at: patient.updated_at,
            archived_at,
            merged_into: patient.merged_into,
        })
        .collect();
    Ok(records)
}

/// Reads and stores the document's patients; problems go to `intake`
/// (nothing is written once there is one; the caller rolls back).
/// `today` is the clinic's, for the birth-date rule. Answers how many.
pub fn import(
    tx: &Transaction<'_>,
    records: &[Value],
    intake: &mut Intake,
    today: time::Date,
) -> Result<usize, ApiError> {
    let mut stored = Vec::new();
    for (index, value) in records.iter().enumerate() {
        let Some(record) = intake.stamped(SECTION, index, value) else {
            continue;
        };
        let mut fields = PatientFields::empty();
        let validated = apply(record.body, &mut fields, true, today);
        // Every record is checked; once one is refused, none is written.
        if intake.absorb(SECTION, record.id, validated)?.is_none() || !intake.is_clean() {
            continue;
        }
        let merged_into = record.body.get("merged_into").and_then(Value::as_i64);
        super::sql::insert_exact(tx, &record, &fields)?;
        stored.push((record.id, merged_into));
    }
    if !intake.is_clean() {
        return Ok(0);
    }
    // Merge links point at other records of the document: set once all are in.
    for (id, merged_into) in &stored {
        if let Some(survivor) = merged_into {
            if !super::sql::link_merged(tx, *id, *survivor)? {
                intake.fail(
                    SECTION,
                    *id,
                    "merged_into",
                    "Names a patient the document lacks.",
                );
            }
        }
    }
    for (id, _) in &stored {
        duplicates::pair_later(tx, *id)?;
    }
    Ok(stored.len())
}
