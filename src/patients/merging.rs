//! How one patient record absorbs another in a merge (`crate::merge`
//! runs the whole merge): the survivor's empty fields filled from the
//! other, the differing ones named for a person to decide, and the other
//! archived as merged into the survivor.

use serde::Serialize;

use super::{sql, Patient};
use crate::error::ApiError;

/// A field both records of a merge hold, with different values: the
/// survivor's is kept; the other's stays readable in the archived record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MergeConflict {
    pub field: String,
    pub kept: String,
    pub other: String,
}

/// Fills the survivor's empty fields from `other` and writes it; answers
/// the names of the fields filled and the conflicts left for a person.
pub fn absorb(
    tx: &rusqlite::Transaction<'_>,
    survivor: &Patient,
    other: &Patient,
) -> Result<(Vec<String>, Vec<MergeConflict>), ApiError> {
    let mut record = survivor.fields.clone();
    let from = &other.fields;
    let mut filled = Vec::new();
    let mut conflicts = Vec::new();
    let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
    if !same(&record.first_name, &from.first_name) {
        conflicts.push(MergeConflict {
            field: "first_name".into(),
            kept: record.first_name.clone(),
            other: from.first_name.clone(),
        });
    }
    let optional: [(&str, &mut Option<String>, &Option<String>); 17] = [
        ("last_name", &mut record.last_name, &from.last_name),
        (
            "date_of_birth",
            &mut record.date_of_birth,
            &from.date_of_birth,
        ),
        ("gender", &mut record.gender, &from.gender),
        ("phone", &mut record.phone, &from.phone),
        ("email", &mut record.email, &from.email),
        ("blood_group", &mut record.blood_group, &from.blood_group),
        ("address", &mut record.address, &from.address),
        ("city", &mut record.city, &from.city),
        ("state", &mut record.state, &from.state),
        ("postal_code", &mut record.postal_code, &from.postal_code),
        ("country", &mut record.country, &from.country),
        (
            "medical_history",
            &mut record.medical_history,
            &from.medical_history,
        ),
        ("allergies", &mut record.allergies, &from.allergies),
        (
            "current_medications",
            &mut record.current_medications,
            &from.current_medications,
        ),
        (
            "emergency_contact_name",
            &mut record.emergency_contact_name,
            &from.emergency_contact_name,
        ),
        (
            "emergency_contact_phone",
            &mut record.emergency_contact_phone,
            &from.emergency_contact_phone,
        ),
        (
            "emergency_contact_relation",
            &mut record.emergency_contact_relation,
            &from.emergency_contact_relation,
        ),
    ];
    for (field, kept, theirs) in optional {
        match (kept.as_deref(), theirs.as_deref()) {
            (None, Some(value)) => {
                *kept = Some(value.to_owned());
                filled.push(field.to_owned());
            }
            (Some(ours), Some(value)) if !same(ours, value) => conflicts.push(MergeConflict {
                field: field.to_owned(),
                kept: ours.to_owned(),
                other: value.to_owned(),
            }),
            _ => {}
        }
    }
    if record.date_of_birth.is_none() && record.stored_age.is_none() && from.stored_age.is_some() {
        record.stored_age = from.stored_age;
        filled.push("age".to_owned());
    }
    sql::update(tx, survivor.id, &record)?;
    Ok((filled, conflicts))
}

/// Archives `other` as merged into `survivor`; anything merged into
/// `other` before now points at `survivor`.
pub fn archive_merged(
    tx: &rusqlite::Transaction<'_>,
    other: i64,
    survivor: i64,
) -> Result<(), ApiError> {
    sql::archive_merged(tx, other, survivor)
}
