//! The doctors of the whole-clinic document: every record, archived ones
//! included, out as stored; back in through the same field rules as
//! `POST /api/doctors/`, with their ids, owners and times kept.

use rusqlite::{Connection, Transaction};
use serde::Serialize;
use serde_json::Value;

use super::input::apply;
use super::DoctorFields;
use crate::error::ApiError;
use crate::records::Intake;

const SECTION: &str = "doctors";

/// One doctor as the document holds it.
#[derive(Debug, Serialize)]
pub struct DoctorRecord {
    pub id: i64,
    #[serde(flatten)]
    pub fields: DoctorFields,
    /// A number with two decimals, as the API answers it.
    pub consultation_fee: Option<f64>,
    pub created_by: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When it was archived; `null` for a live record.
    pub archived_at: Option<String>,
}

/// Every doctor, archived included, by id.
pub fn export(conn: &Connection) -> Result<Vec<DoctorRecord>, ApiError> {
    let records = super::sql::select_every(conn)?
        .into_iter()
        .map(|(doctor, created_by, archived_at)| DoctorRecord {
            id: doctor.id,
            consultation_fee: doctor.consultation_fee,
            fields: doctor.fields,
            created_by,
            created_at: doctor.created_at,
            updated_at: doctor.updated_at,
            archived_at,
        })
        .collect();
    Ok(records)
}

/// Reads and stores the document's doctors; problems go to `intake`.
/// Answers how many.
pub fn import(
    tx: &Transaction<'_>,
    records: &[Value],
    intake: &mut Intake,
) -> Result<usize, ApiError> {
    let mut stored = 0;
    for (index, value) in records.iter().enumerate() {
        let Some(record) = intake.stamped(SECTION, index, value) else {
            continue;
        };
        let mut fields = DoctorFields::empty();
        let validated = apply(record.body, &mut fields, true);
        // Every record is checked; once one is refused, none is written.
        if intake.absorb(SECTION, record.id, validated)?.is_none() || !intake.is_clean() {
            continue;
        }
        match super::sql::insert_exact(tx, &record, &fields) {
            Ok(()) => stored += 1,
            // Two doctors of the document share an email or licence number.
            Err(ApiError::Conflict { detail, .. }) => {
                intake.fail(SECTION, record.id, "unique", detail);
            }
            Err(other) => return Err(other),
        }
    }
    Ok(stored)
}
