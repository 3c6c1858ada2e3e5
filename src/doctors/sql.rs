//! Doctor SQL, private to `doctors`: other resources use the functions
//! the module's root exports.

use std::collections::HashMap;

use rusqlite::{named_params, params, Connection, OptionalExtension, Transaction};

use super::input::DoctorFilter;
use super::{Doctor, DoctorFields};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::db::{self, NamedValues, ResultExt};
use crate::error::ApiError;
use crate::http::download::{self, CSV_MAX_ROWS};
use crate::http::Paging;
use crate::records::Stamped;
use crate::search::Conditions;
use crate::validation;

const SELECT: &str =
    "SELECT id, first_name, last_name, specialization, years_of_experience, phone, email,
        qualification, license_number, consultation_fee_cents, available_days, available_time, bio,
        languages_spoken, city, is_available, appointment_minutes, created_at, updated_at
   FROM doctors";

/// A doctor that is not archived.
pub fn find(conn: &Connection, id: i64) -> Result<Option<Doctor>, ApiError> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} WHERE id = ?1 AND deleted_at IS NULL"))?;
    Ok(stmt.query_row([id], Doctor::from_row).optional()?)
}

/// Doctors by id, archived or not (an old mapping still names its doctor),
/// in one query however many are asked for.
pub fn find_many(conn: &Connection, ids: &[i64]) -> Result<HashMap<i64, Doctor>, ApiError> {
    let ids = serde_json::Value::from(ids.to_vec()).to_string();
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE id IN (SELECT value FROM json_each(?1))"
    ))?;
    let doctors = stmt
        .query_map([ids], Doctor::from_row)?
        .map(|doctor| doctor.map(|d| (d.id, d)))
        .collect::<Result<_, _>>()?;
    Ok(doctors)
}

/// Brings every doctor's search text up to how this release folds it
/// (after an upgrade); a row already up to date is left alone, so after
/// the first start this writes nothing. Answers how many changed.
pub fn reindex(tx: &Transaction<'_>) -> Result<usize, ApiError> {
    let doctors: Vec<(Doctor, String)> = tx
        .prepare_cached(&format!(
            "SELECT * FROM ({SELECT}) JOIN (SELECT id AS rid, search_text AS stored FROM doctors) ON rid = id"
        ))?
        .query_map([], |row| Ok((Doctor::from_row(row)?, row.get("stored")?)))?
        .collect::<Result<_, _>>()?;
    let mut update = tx.prepare_cached("UPDATE doctors SET search_text = ?2 WHERE id = ?1")?;
    let mut changed = 0;
    for (doctor, stored) in doctors {
        let wanted = search_text(&doctor.fields);
        if wanted != stored {
            update.execute(params![doctor.id, wanted])?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn search_text(r: &DoctorFields) -> String {
    validation::search_text(
        &[
            Some(&r.first_name),
            r.last_name.as_deref(),
            Some(&r.specialization),
            r.city.as_deref(),
        ],
        &[],
    )
}

fn unique_errors<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    result
        .on_unique("doctors.email", || {
            ApiError::duplicate("A doctor with this email already exists.")
        })
        .on_unique("doctors.license_number", || {
            ApiError::duplicate("A doctor with this license number already exists.")
        })
}

/// The columns both writes set, in one place; `:id`/`:created_by` are added per statement.
fn write_params(r: &DoctorFields) -> NamedValues<'_> {
    vec![
        (":first_name", Box::new(&r.first_name)),
        (":last_name", Box::new(&r.last_name)),
        (":specialization", Box::new(&r.specialization)),
        (":years", Box::new(r.years_of_experience)),
        (":phone", Box::new(&r.phone)),
        (":email", Box::new(&r.email)),
        (":qualification", Box::new(&r.qualification)),
        (":license_number", Box::new(&r.license_number)),
        (":fee", Box::new(r.fee_cents)),
        (":days", Box::new(&r.available_days)),
        (":time", Box::new(&r.available_time)),
        (":bio", Box::new(&r.bio)),
        (":languages", Box::new(&r.languages_spoken)),
        (":city", Box::new(&r.city)),
        (":available", Box::new(r.is_available)),
        (":minutes", Box::new(r.appointment_minutes)),
        (":search_text", Box::new(search_text(r))),
        (":now", Box::new(db::now())),
    ]
}

pub fn insert(
    conn: &Connection,
    caller: &Caller,
    record: &DoctorFields,
) -> Result<Doctor, ApiError> {
    let mut values = write_params(record);
    values.push((":created_by", Box::new(caller.id)));
    let inserted = conn
        .prepare_cached(
            "INSERT INTO doctors (first_name, last_name, specialization, years_of_experience, phone, email,
                    qualification, license_number, consultation_fee_cents, available_days, available_time, bio,
                    languages_spoken, city, is_available, appointment_minutes, search_text, created_by,
                    created_at, updated_at)
             VALUES (:first_name, :last_name, :specialization, :years, :phone, :email, :qualification,
                    :license_number, :fee, :days, :time, :bio, :languages, :city, :available, :minutes,
                    :search_text, :created_by, :now, :now)
             RETURNING id",
        )?
        .query_row(db::bind(&values).as_slice(), |row| row.get::<_, i64>(0));
    let id = unique_errors(inserted.map_err(ApiError::from))?;
    find(conn, id)?.ok_or(ApiError::NotFound)
}

/// Every doctor, archived included, by id, with its owner and when it was
/// archived.
pub fn select_every(conn: &Connection) -> Result<Vec<(Doctor, i64, Option<String>)>, ApiError> {
    let mut stmt = conn.prepare(&format!(
        "{} ORDER BY id",
        SELECT.replace(" FROM doctors", ", created_by, deleted_at FROM doctors")
    ))?;
    let rows = stmt.query_map([], |row| {
        Ok((
            Doctor::from_row(row)?,
            row.get("created_by")?,
            row.get("deleted_at")?,
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stores an imported doctor as it was: its id, owner, times and archive state.
pub fn insert_exact(
    tx: &Transaction<'_>,
    stamps: &Stamped<'_>,
    record: &DoctorFields,
) -> Result<(), ApiError> {
    let mut values = write_params(record);
    values.retain(|(name, _)| *name != ":now");
    values.extend(stamps.params());
    let inserted = tx
        .prepare_cached(
            "INSERT INTO doctors (id, first_name, last_name, specialization, years_of_experience, phone, email,
                    qualification, license_number, consultation_fee_cents, available_days, available_time, bio,
                    languages_spoken, city, is_available, appointment_minutes, search_text, created_by,
                    created_at, updated_at, deleted_at)
             VALUES (:id, :first_name, :last_name, :specialization, :years, :phone, :email, :qualification,
                    :license_number, :fee, :days, :time, :bio, :languages, :city, :available, :minutes,
                    :search_text, :created_by, :created_at, :updated_at, :deleted_at)",
        )?
        .execute(db::bind(&values).as_slice());
    unique_errors(inserted.map_err(ApiError::from))?;
    Ok(())
}

/// Whether a doctor (archived ones too: the values stay unique) holds
/// `value` as their `email` or `license_number`, in any case.
pub fn holds(conn: &Connection, field: &str, value: &str) -> Result<bool, ApiError> {
    let query = match field {
        "email" => "SELECT EXISTS (SELECT 1 FROM doctors WHERE email = ?1)",
        _ => "SELECT EXISTS (SELECT 1 FROM doctors WHERE license_number = ?1)",
    };
    Ok(conn
        .prepare_cached(query)?
        .query_row([value], |row| row.get(0))?)
}

/// Writes a validated record over doctor `id`.
pub fn update(tx: &Transaction<'_>, id: i64, record: &DoctorFields) -> Result<Doctor, ApiError> {
    let mut values = write_params(record);
    values.push((":id", Box::new(id)));
    let updated = tx
        .prepare_cached(
            "UPDATE doctors SET first_name = :first_name, last_name = :last_name,
                    specialization = :specialization, years_of_experience = :years, phone = :phone,
                    email = :email, qualification = :qualification, license_number = :license_number,
                    consultation_fee_cents = :fee, available_days = :days, available_time = :time,
                    bio = :bio, languages_spoken = :languages, city = :city, is_available = :available,
                    appointment_minutes = :minutes, search_text = :search_text, updated_at = :now
              WHERE id = :id",
        )?
        .execute(db::bind(&values).as_slice());
    unique_errors(updated.map_err(ApiError::from))?;
    find(tx, id)?.ok_or(ApiError::NotFound)
}

/// Archives a doctor; `false` if none. Their active mappings end with
/// them, by a trigger of the mappings table (migration 0013), so the
/// doctors table is all this writes.
pub fn archive(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<bool, ApiError> {
    let changed = tx.execute(
        "UPDATE doctors SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
        params![id, db::now()],
    )?;
    if changed == 1 {
        audit::record(
            tx,
            caller,
            Event::new(Action::Archive).on(Entity::Doctor, id),
        )?;
    }
    Ok(changed == 1)
}

/// Brings an archived doctor back (a live one is left as is).
pub fn restore(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<Option<Doctor>, ApiError> {
    let changed = tx.execute(
        "UPDATE doctors SET deleted_at = NULL, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NOT NULL",
        params![id, db::now()],
    )?;
    if changed == 1 {
        audit::record(
            tx,
            caller,
            Event::new(Action::Restore).on(Entity::Doctor, id),
        )?;
    }
    let doctor = find(tx, id)?;
    Ok(doctor)
}

/// What a list with `filter` holds, as SQL conditions.
fn conditions(filter: &DoctorFilter) -> Conditions<'_> {
    let mut conditions = Conditions::new("doctors", filter.listing.archived);
    conditions
        .search(filter.listing.search.as_deref())
        .filter(
            "specialization = :specialization COLLATE NOCASE",
            ":specialization",
            filter.specialization.as_deref(),
        )
        .filter(
            "city = :city COLLATE NOCASE",
            ":city",
            filter.city.as_deref(),
        )
        .filter(
            "is_available = :available",
            ":available",
            filter.is_available,
        )
        .filter(
            "years_of_experience >= :min_experience",
            ":min_experience",
            filter.min_experience,
        )
        .filter(
            "consultation_fee_cents <= :max_fee",
            ":max_fee",
            filter.max_fee_cents,
        );
    conditions
}

/// Every doctor of the list (an export), in the list's order; `400` past
/// the most one CSV file holds.
pub(super) fn select_all(
    conn: &Connection,
    filter: &DoctorFilter,
) -> Result<Vec<Doctor>, ApiError> {
    let conditions = conditions(filter);
    let (where_clause, values) = (conditions.sql(), conditions.values());
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM doctors {where_clause}"))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    if total > CSV_MAX_ROWS {
        return Err(download::too_many_rows(total, "the list's filters"));
    }
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {}",
        conditions.order_by(filter.listing.ordering),
    ))?;
    let doctors = stmt
        .query_map(values.as_slice(), Doctor::from_row)?
        .collect::<Result<_, _>>()?;
    Ok(doctors)
}

pub(super) fn select_page(
    conn: &Connection,
    filter: &DoctorFilter,
) -> Result<(Vec<Doctor>, i64), ApiError> {
    let listing = &filter.listing;
    let conditions = conditions(filter);
    let where_clause = conditions.sql();
    let values = conditions.values();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM doctors {where_clause}"))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    let (limit, offset) = (listing.paging.limit(), listing.paging.offset());
    let mut page_values = values.clone();
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} {}",
        conditions.order_by(listing.ordering),
        db::PAGE,
    ))?;
    let doctors = stmt
        .query_map(page_values.as_slice(), Doctor::from_row)?
        .collect::<Result<_, _>>()?;
    Ok((doctors, total))
}

/// A page of the live doctors whose first or last name starts with `name`
/// (any doctor without one), by id, and how many there are.
pub(super) fn select_named(
    conn: &Connection,
    name: Option<&str>,
    paging: Paging,
) -> Result<(Vec<Doctor>, i64), ApiError> {
    let filter = DoctorFilter::everyone(paging);
    let mut conditions = conditions(&filter);
    conditions.filter(
        "(first_name LIKE :name ESCAPE '\\' OR last_name LIKE :name ESCAPE '\\')",
        ":name",
        name.map(|t| validation::like_pattern(t).split_off(1)),
    );
    let where_clause = conditions.sql();
    let values = conditions.values();
    let total: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM doctors {where_clause}"))?
        .query_row(values.as_slice(), |row| row.get(0))?;
    let mut page_values = values.clone();
    let (limit, offset) = (paging.limit(), paging.offset());
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} {}",
        conditions.order_by(filter.listing.ordering),
        db::PAGE,
    ))?;
    let doctors = stmt
        .query_map(page_values.as_slice(), Doctor::from_row)?
        .collect::<Result<_, _>>()?;
    Ok((doctors, total))
}
