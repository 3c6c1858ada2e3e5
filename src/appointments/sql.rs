//! Appointment SQL. Visibility lives in the `WHERE` clause of every read
//! (a `user` sees the appointments of the patients they created), so "not
//! yours" and "missing" are the same `None`.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{named_params, params, Connection, OptionalExtension, Transaction};

use super::input::{Filter, MAX_MINUTES};
use super::{local, Appointment, Conflict, Kind, Party, Status};
use crate::auth::Caller;
use crate::clinic_time;
use crate::db;
use crate::error::ApiError;
use crate::schedule::availability::Span;
use crate::search::Conditions;
use crate::validation;

const SELECT: &str =
    "SELECT a.id, a.patient_id, a.doctor_id, a.start_at, a.end_at, a.kind, a.status,
        a.overbooked, a.reason, a.notes, a.cancel_reason, a.created_by, a.created_at, a.updated_at,
        a.arrived_at, a.started_at, a.completed_at, a.cancelled_at, a.no_show_at,
        a.status_changed_at, a.status_changed_by,
        p.first_name AS patient_first, p.last_name AS patient_last,
        d.first_name AS doctor_first, d.last_name AS doctor_last
   FROM appointments a
   JOIN patients p ON p.id = a.patient_id
   JOIN doctors d ON d.id = a.doctor_id";

/// The statuses that occupy a slot, as SQL (a constant list).
const ACTIVE_SQL: &str = "('booked', 'arrived', 'in_progress')";

fn from_row(
    row: &rusqlite::Row<'_>,
    zone: &TimeZone,
    now: Timestamp,
) -> rusqlite::Result<Appointment> {
    let start: String = row.get("start_at")?;
    let end: String = row.get("end_at")?;
    let stamp = |name: &str| -> rusqlite::Result<Option<String>> {
        Ok(row
            .get::<_, Option<String>>(name)?
            .map(|at| local(&at, zone)))
    };
    let arrived = row
        .get::<_, Option<String>>("arrived_at")?
        .and_then(|at| clinic_time::from_stored(&at));
    let started = row
        .get::<_, Option<String>>("started_at")?
        .and_then(|at| clinic_time::from_stored(&at));
    let status: String = row.get("status")?;
    let wait_minutes = arrived.and_then(|arrived| {
        let until = match (started, status.as_str()) {
            (Some(started), _) => started,
            (None, "arrived") => now,
            _ => return None,
        };
        Some(until.duration_since(arrived).as_mins().max(0))
    });
    let duration_minutes = match (
        clinic_time::from_stored(&start),
        clinic_time::from_stored(&end),
    ) {
        (Some(start), Some(end)) => end.duration_since(start).as_mins(),
        _ => 0,
    };
    Ok(Appointment {
        id: row.get("id")?,
        patient: row.get("patient_id")?,
        doctor: row.get("doctor_id")?,
        start: local(&start, zone),
        end: local(&end, zone),
        duration_minutes,
        kind: row.get("kind")?,
        status,
        overbooked: row.get("overbooked")?,
        reason: row.get("reason")?,
        notes: row.get("notes")?,
        cancel_reason: row.get("cancel_reason")?,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
        updated_at: row.get("updated_at")?,
        arrived_at: stamp("arrived_at")?,
        started_at: stamp("started_at")?,
        completed_at: stamp("completed_at")?,
        cancelled_at: stamp("cancelled_at")?,
        no_show_at: stamp("no_show_at")?,
        status_changed_at: stamp("status_changed_at")?,
        status_changed_by: row.get("status_changed_by")?,
        wait_minutes,
        patient_details: Party {
            id: row.get("patient_id")?,
            name: validation::full_name(
                &row.get::<_, String>("patient_first")?,
                row.get::<_, Option<String>>("patient_last")?.as_deref(),
            ),
        },
        doctor_details: Party {
            id: row.get("doctor_id")?,
            name: validation::full_name(
                &row.get::<_, String>("doctor_first")?,
                row.get::<_, Option<String>>("doctor_last")?.as_deref(),
            ),
        },
    })
}

/// The appointment, if `caller` may see it.
pub fn find_visible(
    conn: &Connection,
    caller: &Caller,
    id: i64,
    zone: &TimeZone,
) -> Result<Option<Appointment>, ApiError> {
    let now = Timestamp::now();
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE a.id = ?1 AND (?2 OR p.created_by = ?3)"
    ))?;
    Ok(stmt
        .query_row(params![id, caller.sees_all_patients(), caller.id], |row| {
            from_row(row, zone, now)
        })
        .optional()?)
}

/// The status of an appointment `caller` may see.
pub fn status_of(conn: &Connection, caller: &Caller, id: i64) -> Result<Option<Status>, ApiError> {
    let status: Option<String> = conn
        .prepare_cached(
            "SELECT a.status FROM appointments a JOIN patients p ON p.id = a.patient_id
              WHERE a.id = ?1 AND (?2 OR p.created_by = ?3)",
        )?
        .query_row(params![id, caller.sees_all_patients(), caller.id], |row| {
            row.get(0)
        })
        .optional()?;
    Ok(status.as_deref().and_then(Status::parse))
}

/// A page of the appointments `caller` may see that meet `filter`.
pub fn select_page(
    conn: &Connection,
    caller: &Caller,
    filter: &Filter,
    zone: &TimeZone,
) -> Result<(Vec<Appointment>, i64), ApiError> {
    let mut conditions = Conditions::with("a", "1 = 1");
    if !caller.sees_all_patients() {
        conditions.filter("p.created_by = :me", ":me", Some(caller.id));
    }
    let statuses = filter.statuses.as_ref().map(|statuses| {
        statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    });
    conditions
        .filter(
            "a.start_at >= :from",
            ":from",
            filter.from.map(clinic_time::stored),
        )
        .filter(
            "a.start_at < :to",
            ":to",
            filter.to.map(clinic_time::stored),
        )
        .filter("a.doctor_id = :doctor", ":doctor", filter.doctor)
        .filter("a.patient_id = :patient", ":patient", filter.patient)
        .filter(
            // A comma list bound as one value, split by SQLite: no SQL is built from it.
            "instr(',' || :statuses || ',', ',' || a.status || ',') > 0",
            ":statuses",
            statuses,
        )
        .filter("a.kind = :kind", ":kind", filter.kind.map(Kind::as_str));
    let where_clause = conditions.sql();
    let values = conditions.values();
    let mut page_values = values.clone();
    let (limit, offset) = (filter.paging.limit(), filter.paging.offset());
    page_values.extend(named_params! { ":limit": limit, ":offset": offset });
    let now = Timestamp::now();
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} {}",
        filter.ordering.sql("a"),
        db::PAGE,
    ))?;
    let items: Vec<Appointment> = stmt
        .query_map(page_values.as_slice(), |row| from_row(row, zone, now))?
        .collect::<Result<_, _>>()?;
    // A first page shorter than the page size is the whole list (the Today
    // board: a day's appointments, asked for 500 at a time), so its length
    // is the total; otherwise count. Staff's count needs no patient row.
    let fits = offset == 0 && i64::try_from(items.len()).is_ok_and(|n| n < limit);
    let total = if fits {
        i64::try_from(items.len()).unwrap_or(i64::MAX)
    } else {
        let join = if caller.sees_all_patients() {
            ""
        } else {
            "JOIN patients p ON p.id = a.patient_id"
        };
        conn.prepare_cached(&format!(
            "SELECT count(*) FROM appointments a {join} {where_clause}"
        ))?
        .query_row(values.as_slice(), |row| row.get(0))?
    };
    Ok((items, total))
}

/// The earliest start an appointment overlapping `span` can have: the
/// longest appointment before it. This bounds every overlap scan.
fn scan_floor(span: Span) -> String {
    let floor = span
        .start
        .checked_sub(SignedDuration::from_mins(MAX_MINUTES))
        .unwrap_or(span.start);
    clinic_time::stored(floor)
}

/// The active appointments of `doctor` or of `patient` that overlap
/// `span`, other than `except`, soonest first.
pub fn conflicts(
    conn: &Connection,
    doctor: i64,
    patient: i64,
    span: Span,
    except: Option<i64>,
    zone: &TimeZone,
) -> Result<Vec<(Conflict, bool)>, ApiError> {
    let sql = format!(
        "SELECT id, start_at, end_at, doctor_id, doctor_id = :doctor AS same_doctor FROM appointments
          WHERE doctor_id = :doctor AND start_at > :floor AND start_at < :end AND end_at > :start
            AND status IN {ACTIVE_SQL} AND id <> :except
         UNION
         SELECT id, start_at, end_at, doctor_id, doctor_id = :doctor FROM appointments
          WHERE patient_id = :patient AND start_at > :floor AND start_at < :end AND end_at > :start
            AND status IN {ACTIVE_SQL} AND id <> :except
         ORDER BY start_at, id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(
            named_params! {
                ":doctor": doctor,
                ":patient": patient,
                ":floor": scan_floor(span),
                ":start": clinic_time::stored(span.start),
                ":end": clinic_time::stored(span.end),
                ":except": except.unwrap_or(0),
            },
            |row| {
                Ok((
                    Conflict {
                        id: row.get(0)?,
                        start: local(&row.get::<_, String>(1)?, zone),
                        end: local(&row.get::<_, String>(2)?, zone),
                        doctor: row.get(3)?,
                    },
                    row.get::<_, bool>(4)?,
                ))
            },
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The active appointments of `doctor` that overlap `[from, to)`.
pub fn busy(
    conn: &Connection,
    doctor: i64,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Span>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT start_at, end_at FROM appointments
          WHERE doctor_id = :doctor AND start_at > :floor AND start_at < :to AND end_at > :from
            AND status IN {ACTIVE_SQL}"
    ))?;
    let rows: Vec<(String, String)> = stmt
        .query_map(
            named_params! {
                ":doctor": doctor,
                ":floor": scan_floor(Span { start: from, end: to }),
                ":from": clinic_time::stored(from),
                ":to": clinic_time::stored(to),
            },
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?
        .collect::<Result<_, _>>()?;
    Ok(rows
        .iter()
        .filter_map(|(start, end)| {
            Some(Span {
                start: clinic_time::from_stored(start)?,
                end: clinic_time::from_stored(end)?,
            })
        })
        .collect())
}

/// What an insert writes.
pub struct NewAppointment<'a> {
    pub patient: i64,
    pub doctor: i64,
    pub span: Span,
    pub kind: Kind,
    pub status: Status,
    pub overbooked: bool,
    pub reason: Option<&'a str>,
    pub notes: Option<&'a str>,
}

/// Stores a new appointment; a walk-in (`status` arrived) is stamped as
/// arrived now.
pub fn insert(
    tx: &Transaction<'_>,
    caller: &Caller,
    new: &NewAppointment<'_>,
) -> Result<i64, ApiError> {
    let now = db::now();
    let arrived = (new.status == Status::Arrived).then_some(now.as_str());
    let id = tx
        .prepare_cached(
            "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, kind, status, overbooked,
                    reason, notes, created_by, created_at, updated_at, arrived_at, status_changed_at,
                    status_changed_by)
             VALUES (:patient, :doctor, :start, :end, :kind, :status, :overbooked, :reason, :notes,
                    :created_by, :now, :now, :arrived, :arrived, :changed_by)
             RETURNING id",
        )?
        .query_row(
            named_params! {
                ":patient": new.patient,
                ":doctor": new.doctor,
                ":start": clinic_time::stored(new.span.start),
                ":end": clinic_time::stored(new.span.end),
                ":kind": new.kind.as_str(),
                ":status": new.status.as_str(),
                ":overbooked": new.overbooked,
                ":reason": new.reason,
                ":notes": new.notes,
                ":created_by": caller.id,
                ":now": now,
                ":arrived": arrived,
                ":changed_by": arrived.map(|_| caller.id),
            },
            |row| row.get(0),
        )
        .map_err(slot_taken)?;
    Ok(id)
}

/// The no-overlap triggers' refusal as the API's `409`. The booking rules
/// check first and name the clashes, so this is the backstop's wording.
fn slot_taken(err: rusqlite::Error) -> ApiError {
    let refused =
        matches!(&err, rusqlite::Error::SqliteFailure(_, Some(message)) if message == "slot_taken");
    if refused {
        ApiError::Taken {
            detail: "This time overlaps another active appointment of the doctor or the patient."
                .into(),
            conflicts: serde_json::Value::Array(Vec::new()),
        }
    } else {
        ApiError::from(err)
    }
}

/// Moves an appointment and/or changes its reason and notes.
pub fn update(
    tx: &Transaction<'_>,
    id: i64,
    doctor: i64,
    span: Span,
    overbooked: bool,
    reason: Option<&str>,
    notes: Option<&str>,
) -> Result<(), ApiError> {
    tx.prepare_cached(
        "UPDATE appointments SET doctor_id = :doctor, start_at = :start, end_at = :end,
                overbooked = :overbooked, reason = :reason, notes = :notes, updated_at = :now
          WHERE id = :id",
    )?
    .execute(named_params! {
        ":id": id,
        ":doctor": doctor,
        ":start": clinic_time::stored(span.start),
        ":end": clinic_time::stored(span.end),
        ":overbooked": overbooked,
        ":reason": reason,
        ":notes": notes,
        ":now": db::now(),
    })
    .map_err(slot_taken)?;
    Ok(())
}

/// Sets the status and stamps its time (and who changed it).
pub fn set_status(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    status: Status,
    cancel_reason: Option<&str>,
) -> Result<(), ApiError> {
    let stamp = status.stamp_column().unwrap_or("status_changed_at");
    // `stamp` comes from the closed list above, never from the request.
    tx.prepare_cached(&format!(
        "UPDATE appointments SET status = :status, {stamp} = :now, status_changed_at = :now,
                status_changed_by = :by, updated_at = :now,
                cancel_reason = CASE WHEN :status = 'cancelled' THEN :reason ELSE cancel_reason END
          WHERE id = :id"
    ))?
    .execute(named_params! {
        ":id": id,
        ":status": status.as_str(),
        ":now": db::now(),
        ":by": caller.id,
        ":reason": cancel_reason,
    })?;
    Ok(())
}

/// Moves every appointment of patient `from` to `to` (a merge). An active
/// one that would overlap an active one of `to` is refused by the schema's
/// no-overlap trigger: `409 slot_taken`, and the merge changes nothing.
pub fn move_patient(tx: &Transaction<'_>, from: i64, to: i64) -> Result<usize, ApiError> {
    tx.prepare_cached("UPDATE appointments SET patient_id = ?2, updated_at = ?3 WHERE patient_id = ?1")?
        .execute(params![from, to, db::now()])
        .map_err(|err| match slot_taken(err) {
            ApiError::Taken { conflicts, .. } => ApiError::Taken {
                detail: "An appointment of the record being merged overlaps one of this patient's; cancel or move one of them first.".into(),
                conflicts,
            },
            other => other,
        })
}
