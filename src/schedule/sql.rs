//! Hours and time-off SQL. Both belong to a doctor; the handlers check the
//! doctor exists (and is not archived) before calling these.

use jiff::tz::TimeZone;
use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::availability::{Span, WeeklyBlock};
use super::TimeOff;
use crate::auth::Caller;
use crate::clinic_time;
use crate::db;
use crate::error::ApiError;
use crate::http::Paging;

fn clock(text: &str) -> (i8, i8) {
    let (hour, minute) = text.split_once(':').unwrap_or(("0", "0"));
    (hour.parse().unwrap_or(0), minute.parse().unwrap_or(0))
}

pub fn clock_text((hour, minute): (i8, i8)) -> String {
    format!("{hour:02}:{minute:02}")
}

/// The doctor's weekly blocks, Monday first, each day in time order.
pub fn hours_of(conn: &Connection, doctor: i64) -> Result<Vec<WeeklyBlock>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT weekday, start_time, end_time FROM doctor_hours
          WHERE doctor_id = ?1 ORDER BY weekday, start_time",
    )?;
    let blocks = stmt
        .query_map([doctor], |row| {
            Ok(WeeklyBlock {
                weekday: row.get(0)?,
                start: clock(&row.get::<_, String>(1)?),
                end: clock(&row.get::<_, String>(2)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(blocks)
}

/// Replaces the doctor's whole week with `blocks` (already checked).
pub fn replace_hours(
    tx: &Transaction<'_>,
    doctor: i64,
    blocks: &[WeeklyBlock],
) -> Result<(), ApiError> {
    tx.execute("DELETE FROM doctor_hours WHERE doctor_id = ?1", [doctor])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO doctor_hours (doctor_id, weekday, start_time, end_time) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for block in blocks {
        insert.execute(params![
            doctor,
            block.weekday,
            clock_text(block.start),
            clock_text(block.end)
        ])?;
    }
    Ok(())
}

/// The doctor's time off that overlaps `[from, to)`.
pub fn time_off_between(
    conn: &Connection,
    doctor: i64,
    from: Timestamp,
    to: Timestamp,
) -> Result<Vec<Span>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT start_at, end_at FROM doctor_time_off
          WHERE doctor_id = ?1 AND end_at > ?2 AND start_at < ?3",
    )?;
    let spans = stmt
        .query_map(
            params![doctor, clinic_time::stored(from), clinic_time::stored(to)],
            |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)),
        )?
        .filter_map(|row| {
            row.map(|(start, end)| {
                Some(Span {
                    start: clinic_time::from_stored(&start)?,
                    end: clinic_time::from_stored(&end)?,
                })
            })
            .transpose()
        })
        .collect::<Result<_, _>>()?;
    Ok(spans)
}

const SELECT_TIME_OFF: &str =
    "SELECT id, doctor_id, start_at, end_at, reason, created_by, created_at FROM doctor_time_off";

fn time_off_from_row(row: &rusqlite::Row<'_>, zone: &TimeZone) -> rusqlite::Result<TimeOff> {
    Ok(TimeOff {
        id: row.get("id")?,
        doctor: row.get("doctor_id")?,
        start: clinic_time::answered_stored(&row.get::<_, String>("start_at")?, zone),
        end: clinic_time::answered_stored(&row.get::<_, String>("end_at")?, zone),
        reason: row.get("reason")?,
        created_by: row.get("created_by")?,
        created_at: row.get("created_at")?,
    })
}

/// A page of the doctor's time off, soonest first.
pub fn time_off_page(
    conn: &Connection,
    doctor: i64,
    paging: Paging,
    zone: &TimeZone,
) -> Result<(Vec<TimeOff>, i64), ApiError> {
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM doctor_time_off WHERE doctor_id = ?1")?
        .query_row([doctor], |row| row.get(0))?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT_TIME_OFF} WHERE doctor_id = ?1 ORDER BY start_at, id LIMIT ?2 + 0 OFFSET ?3" // `+ 0`: see db::PAGE
    ))?;
    let items = stmt
        .query_map(params![doctor, paging.limit(), paging.offset()], |row| {
            time_off_from_row(row, zone)
        })?
        .collect::<Result<_, _>>()?;
    Ok((items, total))
}

pub fn insert_time_off(
    tx: &Transaction<'_>,
    caller: &Caller,
    doctor: i64,
    span: Span,
    reason: Option<&str>,
    zone: &TimeZone,
) -> Result<TimeOff, ApiError> {
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO doctor_time_off (doctor_id, start_at, end_at, reason, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )?
        .query_row(
            params![
                doctor,
                clinic_time::stored(span.start),
                clinic_time::stored(span.end),
                reason,
                caller.id,
                db::now()
            ],
            |row| row.get(0),
        )?;
    let mut stmt = tx.prepare_cached(&format!("{SELECT_TIME_OFF} WHERE id = ?1"))?;
    Ok(stmt.query_row([id], |row| time_off_from_row(row, zone))?)
}

/// Removes one time off of `doctor`; `false` if there is no such one.
pub fn delete_time_off(tx: &Transaction<'_>, doctor: i64, id: i64) -> Result<bool, ApiError> {
    let found = tx
        .prepare_cached("SELECT 1 FROM doctor_time_off WHERE id = ?1 AND doctor_id = ?2")?
        .query_row([id, doctor], |_| Ok(()))
        .optional()?;
    if found.is_none() {
        return Ok(false);
    }
    tx.execute("DELETE FROM doctor_time_off WHERE id = ?1", [id])?;
    Ok(true)
}
