//! Patient SQL. Visibility lives in the `WHERE` clause of every read, so
//! "not yours" and "missing" are the same `None`.

use rusqlite::{named_params, params, Connection, OptionalExtension, Transaction};
use time::Date;

use super::input::{PatientCriteria, PatientFilter};
use super::{Patient, PatientFields};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::{self, NamedValues};
use crate::error::ApiError;
use crate::http::download::{self, CSV_MAX_ROWS};
use crate::http::Paging;
use crate::records::Stamped;
use crate::search::{self, Conditions};
use crate::validation;

const SELECT: &str =
    "SELECT id, first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
        address, city, state, postal_code, country, medical_history, allergies, current_medications,
        emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
        created_by, created_at, updated_at, merged_into, deleted_at IS NOT NULL AS archived
   FROM patients";

/// The patient, if it exists, is not archived, and `caller` may see it.
pub fn find_visible(
    conn: &Connection,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<Option<Patient>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE id = ?1 AND deleted_at IS NULL AND (?2 OR created_by = ?3)"
    ))?;
    Ok(stmt
        .query_row(
            params![id, caller.sees_all_patients(), caller.id],
            Patient::reader(today),
        )
        .optional()?)
}

/// Whether the patient exists, is not archived, and `caller` may see it.
pub fn visible(conn: &Connection, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM patients
          WHERE id = ?1 AND deleted_at IS NULL AND (?2 OR created_by = ?3))",
    )?;
    Ok(
        stmt.query_row(params![id, caller.sees_all_patients(), caller.id], |row| {
            row.get(0)
        })?,
    )
}

/// The live patients among `ids` (any owner: callers apply their own
/// visibility), in no particular order.
pub fn find_live_many(
    conn: &Connection,
    ids: &[i64],
    today: Date,
) -> Result<Vec<Patient>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE id IN (SELECT value FROM json_each(?1)) AND deleted_at IS NULL"
    ))?;
    let patients = stmt
        .query_map([ids], Patient::reader(today))?
        .collect::<Result<_, _>>()?;
    Ok(patients)
}

/// The full names of the patients among `ids` that `caller` may see, with
/// archived ones only for an admin (who alone can list them), in one query.
pub fn names(
    conn: &Connection,
    caller: &Caller,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, ApiError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let ids = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, first_name, last_name FROM patients
          WHERE id IN (SELECT value FROM json_each(?1))
            AND (?2 OR created_by = ?3) AND (?4 OR deleted_at IS NULL)",
    )?;
    let admin = caller.role == crate::auth::Role::Admin;
    let names = stmt
        .query_map(
            params![ids, caller.sees_all_patients(), caller.id, admin],
            |row| {
                let first: String = row.get("first_name")?;
                let last: Option<String> = row.get("last_name")?;
                Ok((
                    row.get("id")?,
                    crate::validation::full_name(&first, last.as_deref()),
                ))
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// Indexes a row written by a release before duplicate detection and
/// folded search: its blocking keys, and its search text as this release
/// folds it. Not a change of the record: `updated_at` stays.
pub fn reindex(tx: &Transaction<'_>, id: i64) -> Result<(), ApiError> {
    let record = tx
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], Patient::reader(super::FIELDS_ONLY))
        .optional()?;
    if let Some(patient) = record {
        tx.prepare_cached("UPDATE patients SET match_keys = ?2, search_text = ?3 WHERE id = ?1")?
            .execute(params![
                id,
                match_keys(&patient.fields),
                search_text(&patient.fields)
            ])?;
    }
    Ok(())
}

/// Archives `id` as merged into `survivor` (the merge checked both first).
pub fn archive_merged(tx: &Transaction<'_>, id: i64, survivor: i64) -> Result<(), ApiError> {
    tx.prepare_cached(
        "UPDATE patients SET deleted_at = ?3, updated_at = ?3, merged_into = ?2
          WHERE id = ?1 AND deleted_at IS NULL",
    )?
    .execute(params![id, survivor, db::now()])?;
    tx.prepare_cached("UPDATE patients SET merged_into = ?2 WHERE merged_into = ?1")?
        .execute(params![id, survivor])?;
    Ok(())
}

/// The patient if `caller` may see it, with whether it is archived.
pub fn find_including_archived(
    conn: &Connection,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<Option<(Patient, bool)>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE id = ?1 AND (?2 OR created_by = ?3)"
    ))?;
    Ok(stmt
        .query_row(params![id, caller.sees_all_patients(), caller.id], |row| {
            Ok((
                Patient::from_row(row, today)?,
                row.get::<_, bool>("archived")?,
            ))
        })
        .optional()?)
}

fn search_text(record: &PatientFields) -> String {
    validation::search_text(
        &[
            Some(&record.first_name),
            record.last_name.as_deref(),
            record.email.as_deref(),
        ],
        &[record.phone.as_deref()],
    )
}

/// The blocking keys duplicate detection looks the record up by (a JSON
/// array; the triggers of migration 0014 index them).
pub(super) fn match_keys(record: &PatientFields) -> String {
    let keys = super::matching::Person::of(record).keys();
    serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into())
}

/// The columns both writes set, in one place; each statement adds its own.
fn write_params(r: &PatientFields) -> NamedValues<'_> {
    write_params_keyed(r, Some(match_keys(r)))
}

/// `write_params` with the match keys given: `None` leaves the row for
/// `duplicates::fill_in` to key and score.
fn write_params_keyed(r: &PatientFields, keys: Option<String>) -> NamedValues<'_> {
    vec![
        (":first_name", Box::new(&r.first_name)),
        (":last_name", Box::new(&r.last_name)),
        (":date_of_birth", Box::new(&r.date_of_birth)),
        (":age", Box::new(r.stored_age)),
        (":gender", Box::new(&r.gender)),
        (":phone", Box::new(&r.phone)),
        (":email", Box::new(&r.email)),
        (":blood_group", Box::new(&r.blood_group)),
        (":address", Box::new(&r.address)),
        (":city", Box::new(&r.city)),
        (":state", Box::new(&r.state)),
        (":postal_code", Box::new(&r.postal_code)),
        (":country", Box::new(&r.country)),
        (":medical_history", Box::new(&r.medical_history)),
        (":allergies", Box::new(&r.allergies)),
        (":current_medications", Box::new(&r.current_medications)),
        (
            ":emergency_contact_name",
            Box::new(&r.emergency_contact_name),
        ),
        (
            ":emergency_contact_phone",
            Box::new(&r.emergency_contact_phone),
        ),
        (
            ":emergency_contact_relation",
            Box::new(&r.emergency_contact_relation),
        ),
        (":is_active", Box::new(r.is_active)),
        (":search_text", Box::new(search_text(r))),
        (":match_keys", Box::new(keys)),
        (":now", Box::new(db::now())),
    ]
}

pub fn insert(
    conn: &Connection,
    caller: &Caller,
    record: &PatientFields,
    today: Date,
) -> Result<Patient, ApiError> {
    let mut values = write_params(record);
    values.push((":created_by", Box::new(caller.id)));
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO patients (first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
                    address, city, state, postal_code, country, medical_history, allergies, current_medications,
                    emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
                    search_text, match_keys, created_by, created_at, updated_at)
             VALUES (:first_name, :last_name, :date_of_birth, :age, :gender, :phone, :email, :blood_group,
                    :address, :city, :state, :postal_code, :country, :medical_history, :allergies,
                    :current_medications, :emergency_contact_name, :emergency_contact_phone,
                    :emergency_contact_relation, :is_active, :search_text, :match_keys, :created_by, :now, :now)
             RETURNING id",
        )?
        .query_row(db::bind(&values).as_slice(), |row| row.get(0))?;
    find_visible(conn, caller, id, today)?.ok_or(ApiError::NotFound)
}

/// Every patient, archived included, by id, with when it was archived.
pub fn select_every(
    conn: &Connection,
    today: Date,
) -> Result<Vec<(Patient, Option<String>)>, ApiError> {
    let mut stmt = conn.prepare(&format!(
        "{} ORDER BY id",
        SELECT.replace(" FROM patients", ", deleted_at FROM patients")
    ))?;
    let rows = stmt.query_map([], |row| {
        Ok((Patient::from_row(row, today)?, row.get("deleted_at")?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores an imported record as it was: its id, owner, times and archive
/// state (the triggers index it and count it like any other).
pub fn insert_exact(
    tx: &Transaction<'_>,
    stamps: &Stamped<'_>,
    record: &PatientFields,
) -> Result<(), ApiError> {
    let mut values = write_params(record);
    values.retain(|(name, _)| *name != ":now");
    values.extend(stamps.params());
    tx.prepare_cached(
        "INSERT INTO patients (id, first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
                address, city, state, postal_code, country, medical_history, allergies, current_medications,
                emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
                search_text, match_keys, created_by, created_at, updated_at, deleted_at)
         VALUES (:id, :first_name, :last_name, :date_of_birth, :age, :gender, :phone, :email, :blood_group,
                :address, :city, :state, :postal_code, :country, :medical_history, :allergies,
                :current_medications, :emergency_contact_name, :emergency_contact_phone,
                :emergency_contact_relation, :is_active, :search_text, :match_keys, :created_by,
                :created_at, :updated_at, :deleted_at)",
    )?
    .execute(db::bind(&values).as_slice())?;
    Ok(())
}

/// Points an imported archived record at the one it was merged into;
/// `false` when that one is not there.
pub fn link_merged(tx: &Transaction<'_>, id: i64, survivor: i64) -> Result<bool, ApiError> {
    let linked = tx
        .prepare_cached(
            "UPDATE patients SET merged_into = ?2
              WHERE id = ?1 AND EXISTS (SELECT 1 FROM patients WHERE id = ?2)",
        )?
        .execute([id, survivor])?;
    Ok(linked == 1)
}

/// Inserts validated imported records for `caller`, unkeyed: scoring each
/// one's duplicates here would hold the writer for the whole file, so
/// `duplicates::fill_in` keys and scores them afterwards, in batches.
pub fn insert_unkeyed(
    tx: &Transaction<'_>,
    caller: &Caller,
    records: &[PatientFields],
) -> Result<usize, ApiError> {
    let mut insert = tx.prepare_cached(
        "INSERT INTO patients (first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
                address, city, state, postal_code, country, medical_history, allergies, current_medications,
                emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
                search_text, match_keys, created_by, created_at, updated_at)
         VALUES (:first_name, :last_name, :date_of_birth, :age, :gender, :phone, :email, :blood_group,
                :address, :city, :state, :postal_code, :country, :medical_history, :allergies,
                :current_medications, :emergency_contact_name, :emergency_contact_phone,
                :emergency_contact_relation, :is_active, :search_text, :match_keys, :created_by, :now, :now)",
    )?;
    for record in records {
        let mut values = write_params_keyed(record, None);
        values.push((":created_by", Box::new(caller.id)));
        insert.execute(db::bind(&values).as_slice())?;
    }
    Ok(records.len())
}

/// Writes a validated record over the patient's current one. The handler
/// has already read the patient through `find_visible`, so this is only
/// ever reached for a patient the caller may change.
pub fn update(tx: &Transaction<'_>, id: i64, record: &PatientFields) -> Result<(), ApiError> {
    let mut values = write_params(record);
    values.push((":id", Box::new(id)));
    tx.prepare_cached(
        "UPDATE patients SET first_name = :first_name, last_name = :last_name, date_of_birth = :date_of_birth,
                age = :age, gender = :gender, phone = :phone, email = :email, blood_group = :blood_group,
                address = :address, city = :city, state = :state, postal_code = :postal_code,
                country = :country, medical_history = :medical_history, allergies = :allergies,
                current_medications = :current_medications, emergency_contact_name = :emergency_contact_name,
                emergency_contact_phone = :emergency_contact_phone,
                emergency_contact_relation = :emergency_contact_relation, is_active = :is_active,
                search_text = :search_text, match_keys = :match_keys, updated_at = :now
          WHERE id = :id",
    )?
    .execute(db::bind(&values).as_slice())?;
    Ok(())
}

/// Archives a visible patient; `false` if there is none to archive.
pub fn archive(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    let changed = tx.execute(
        "UPDATE patients SET deleted_at = ?4, updated_at = ?4
          WHERE id = ?1 AND deleted_at IS NULL AND (?2 OR created_by = ?3)",
        params![id, caller.sees_all_patients(), caller.id, db::now()],
    )?;
    if changed == 1 {
        audit::record(
            tx,
            caller,
            Event::new(Action::Archive).on(Entity::Patient, id),
        )?;
    }
    Ok(changed == 1)
}

/// Brings an archived patient back (admins only; a live one is left as is).
/// A merged record comes back as a patient of its own (`merged_into` cleared).
pub fn restore(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    today: Date,
) -> Result<Option<Patient>, ApiError> {
    let changed = tx.execute(
        "UPDATE patients SET deleted_at = NULL, merged_into = NULL, updated_at = ?2
          WHERE id = ?1 AND deleted_at IS NOT NULL",
        params![id, db::now()],
    )?;
    if changed == 1 {
        audit::record(
            tx,
            caller,
            Event::new(Action::Restore).on(Entity::Patient, id),
        )?;
    }
    let patient = tx
        .prepare_cached(&format!("{SELECT} WHERE id = ?1 AND deleted_at IS NULL"))?
        .query_row([id], Patient::reader(today))
        .optional()?;
    Ok(patient)
}

/// How many live patients `caller` sees, from the counts the triggers of
/// migration 0009 keep: what an unfiltered list's total is.
fn live_count(conn: &Connection, caller: &Caller) -> Result<i64, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT coalesce(sum(live), 0) FROM patient_counts WHERE ?1 OR created_by = ?2",
    )?;
    Ok(
        stmt.query_row(params![caller.sees_all_patients(), caller.id], |row| {
            row.get(0)
        })?,
    )
}

/// What a list with `filter` holds for `caller`, as SQL conditions.
fn conditions<'a>(caller: &Caller, filter: &'a PatientFilter) -> Conditions<'a> {
    let listing = &filter.listing;
    let mut conditions = Conditions::new("patients", listing.archived);
    if !caller.sees_all_patients() {
        conditions.filter("created_by = :caller", ":caller", Some(caller.id));
    }
    conditions
        .search(listing.search.as_deref())
        .filter("gender = :gender", ":gender", filter.gender)
        .filter(
            "city = :city COLLATE NOCASE",
            ":city",
            filter.city.as_deref(),
        )
        .filter(
            "blood_group = :blood_group",
            ":blood_group",
            filter.blood_group,
        )
        .filter("is_active = :is_active", ":is_active", filter.is_active);
    conditions
}

/// Every patient of the list (an export), in the list's order; `400` past
/// the most one CSV file holds.
pub(super) fn select_all(
    conn: &Connection,
    caller: &Caller,
    filter: &PatientFilter,
    today: Date,
) -> Result<Vec<Patient>, ApiError> {
    let conditions = conditions(caller, filter);
    let (where_clause, values) = (conditions.sql(), conditions.values());
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM patients {where_clause}"))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    if total > CSV_MAX_ROWS {
        return Err(download::too_many_rows(
            total,
            "the list's filters (search, city, gender, …)",
        ));
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {}",
        conditions.order_by(filter.listing.ordering),
    ))?;
    let patients = stmt
        .query_map(values.as_slice(), Patient::reader(today))?
        .collect::<Result<_, _>>()?;
    Ok(patients)
}

pub(super) fn select_page(
    conn: &Connection,
    caller: &Caller,
    filter: &PatientFilter,
    today: Date,
) -> Result<(Vec<Patient>, i64), ApiError> {
    let listing = &filter.listing;
    let conditions = conditions(caller, filter);
    let where_clause = conditions.sql();
    let values = conditions.values();
    let indexed_total = match filter.searches_only() {
        Some(term) if caller.sees_all_patients() => search::count_matches(conn, "patients", term)?,
        _ => None,
    };
    let total = match indexed_total {
        Some(total) => total,
        None if !filter.narrows() => live_count(conn, caller)?,
        None => conn
            .prepare_cached(&format!("SELECT count(*) FROM patients {where_clause}"))?
            .query_row(values.as_slice(), |row| row.get(0))?,
    };
    let (limit, offset) = (listing.paging.limit(), listing.paging.offset());
    let mut page_values = values.clone();
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let order = conditions.order_by(listing.ordering);
    let page = db::PAGE;
    // A list's page: its ids first, then only their rows, so stepping over
    // the records before the page walks an index where one serves the
    // order (`patients_live_by_id`, the name and birth-date indexes,
    // `patients_by_creator`), not the rows. A search's page already walks
    // the trigram index.
    let sql = if conditions.joined() {
        format!("{SELECT} {where_clause} ORDER BY {order} {page}")
    } else {
        let outer = listing.ordering.sql("patients");
        format!("{SELECT} WHERE id IN (SELECT id FROM patients {where_clause} ORDER BY {order} {page}) ORDER BY {outer}")
    };
    let mut stmt = conn.prepare_cached(&sql)?;
    let patients = stmt
        .query_map(page_values.as_slice(), Patient::reader(today))?
        .collect::<Result<_, _>>()?;
    Ok((patients, total))
}

/// A page of the patients `caller` sees that meet `criteria`, by id, and
/// how many there are: the list's conditions (visibility, archive, the
/// phone through its search) with the name and birth date added.
pub(super) fn select_matching(
    conn: &Connection,
    caller: &Caller,
    criteria: &PatientCriteria,
    paging: Paging,
    today: Date,
) -> Result<(Vec<Patient>, i64), ApiError> {
    let filter = criteria.filter(paging);
    let prefix = |term: &Option<String>| {
        term.as_deref()
            .map(|t| validation::like_pattern(t).split_off(1))
    };
    let mut conditions = conditions(caller, &filter);
    conditions
        .filter(
            "(first_name LIKE :name ESCAPE '\\' OR last_name LIKE :name ESCAPE '\\')",
            ":name",
            prefix(&criteria.name),
        )
        .filter(
            "last_name LIKE :family ESCAPE '\\'",
            ":family",
            prefix(&criteria.family),
        )
        .filter(
            "first_name LIKE :given ESCAPE '\\'",
            ":given",
            prefix(&criteria.given),
        )
        .filter(
            "date_of_birth >= :born_from",
            ":born_from",
            criteria.born_from.as_deref(),
        )
        .filter(
            "date_of_birth <= :born_until",
            ":born_until",
            criteria.born_until.as_deref(),
        );
    let where_clause = conditions.sql();
    let values = conditions.values();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM patients {where_clause}"))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    let mut page_values = values.clone();
    let (limit, offset) = (paging.limit(), paging.offset());
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} {}",
        conditions.order_by(filter.listing.ordering),
        db::PAGE,
    ))?;
    let patients = stmt
        .query_map(page_values.as_slice(), Patient::reader(today))?
        .collect::<Result<_, _>>()?;
    Ok((patients, total))
}
