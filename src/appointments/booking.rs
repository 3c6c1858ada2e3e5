//! The booking rules, run inside the writer's transaction so that what is
//! checked is what is written: the patient and doctor exist and may be
//! booked, the time is inside the doctor's hours and clear of time off,
//! and no active appointment of the doctor or the patient overlaps it.
//! Each change is recorded in the audit trail in the same transaction.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{Connection, Transaction};

use super::input::{self, Booking, Change, Length, SlotQuery, StatusChange};
use super::sql::{self, NewAppointment};
use super::{Appointment, Kind, Slot, Status};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time;
use crate::doctors::{self, Doctor};
use crate::error::{ApiError, Code, FieldErrors};
use crate::http;
use crate::patients;
use crate::schedule::availability::{self, Closed, Span};
use crate::schedule::sql as schedule;

/// The patient (visible to `caller`, not archived) and the doctor (not
/// archived), or a `400` naming whichever is not.
fn parties(
    conn: &Connection,
    caller: &Caller,
    patient: i64,
    doctor: i64,
) -> Result<Doctor, ApiError> {
    let mut errors = FieldErrors::new();
    if !patients::visible(conn, caller, patient)? {
        http::push(&mut errors, "patient", "No such patient.");
    }
    let found = doctors::find_live(conn, doctor)?;
    if found.is_none() {
        http::push(
            &mut errors,
            "doctor",
            "No such doctor (unknown or archived).",
        );
    }
    let found = http::checked(found, errors)?;
    found.ok_or_else(|| ApiError::field("doctor", "No such doctor (unknown or archived)."))
}

/// The doctor's hours and time off allow `span`, else a `400` on `start`
/// that says why in words.
fn check_open(
    conn: &Connection,
    doctor: &Doctor,
    span: Span,
    zone: &TimeZone,
) -> Result<(), ApiError> {
    let blocks = schedule::hours_of(conn, doctor.id)?;
    let time_off = schedule::time_off_between(conn, doctor.id, span.start, span.end)?;
    let closed = match availability::check(span, &blocks, &time_off, zone) {
        Ok(()) => return Ok(()),
        Err(closed) => closed,
    };
    let name = &doctor.name;
    let message = match closed {
        Closed::NoHours => format!(
            "{name} has no working hours set. Set them on the doctor's page first (staff may book anyway with override)."
        ),
        Closed::OutsideHours => {
            let day = clinic_time::local_date(span.start, zone);
            let open: Vec<String> = availability::open_on(day, &blocks, zone)
                .iter()
                .map(|open| format!("{}–{}", clock(open.start, zone), clock(open.end, zone)))
                .collect();
            if open.is_empty() {
                format!("{name} does not work on {}.", day.strftime("%A %-d %B"))
            } else {
                format!(
                    "Outside {name}'s hours on {} ({}).",
                    day.strftime("%A %-d %B"),
                    open.join(", ")
                )
            }
        }
        Closed::TimeOff => format!("{name} is away then (time off)."),
    };
    Err(ApiError::field("start", message))
}

/// `HH:MM` of `at` in the clinic.
fn clock(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned_datetime(zone.clone())
        .strftime("%H:%M")
        .to_string()
}

/// No active appointment of the doctor or the patient overlaps `span`,
/// else `409 slot_taken` naming the clashes.
fn check_free(
    conn: &Connection,
    doctor: &Doctor,
    patient: i64,
    span: Span,
    except: Option<i64>,
    zone: &TimeZone,
) -> Result<(), ApiError> {
    let clashes = sql::conflicts(conn, doctor.id, patient, span, except, zone)?;
    let Some((first, same_doctor)) = clashes.first() else {
        return Ok(());
    };
    let when = |text: &str| text.get(11..16).unwrap_or(text).to_owned();
    let (from, to) = (when(&first.start), when(&first.end));
    let detail = if *same_doctor {
        format!(
            "{} already has an appointment from {from} to {to}.",
            doctor.name
        )
    } else {
        format!(
            "This patient already has an appointment from {from} to {to} (with another doctor)."
        )
    };
    let others = clashes.len() - 1;
    let detail = match others {
        0 => detail,
        1 => format!("{detail} It also overlaps one other appointment."),
        n => format!("{detail} It also overlaps {n} other appointments."),
    };
    let conflicts: Vec<_> = clashes.into_iter().map(|(conflict, _)| conflict).collect();
    Err(ApiError::Taken {
        detail,
        conflicts: serde_json::to_value(conflicts).unwrap_or_default(),
    })
}

fn span_of(start: Timestamp, length: Length, usual: i64) -> Result<Span, ApiError> {
    let end = input::end_of(start, length, usual)
        .ok_or_else(|| ApiError::field("end", "Choose an end after the start."))?;
    input::check_span(start, end).map_err(|message| ApiError::field("end", message))?;
    Ok(Span { start, end })
}

pub fn book(
    tx: &Transaction<'_>,
    caller: &Caller,
    booking: &Booking,
    zone: &TimeZone,
) -> Result<Appointment, ApiError> {
    let doctor = parties(tx, caller, booking.patient, booking.doctor)?;
    let now = clinic_time::this_minute();
    let start = booking.start.unwrap_or(now);
    let span = span_of(start, booking.length, doctor.fields.appointment_minutes)?;
    if !booking.overrides {
        if booking.kind == Kind::Scheduled && span.start < now {
            return Err(ApiError::field("start", "Is in the past."));
        }
        check_open(tx, &doctor, span, zone)?;
        check_free(tx, &doctor, booking.patient, span, None, zone)?;
    }
    let status = match booking.kind {
        Kind::Scheduled => Status::Booked,
        Kind::WalkIn => Status::Arrived,
    };
    let id = sql::insert(
        tx,
        caller,
        &NewAppointment {
            patient: booking.patient,
            doctor: doctor.id,
            span,
            kind: booking.kind,
            status,
            overbooked: booking.overrides,
            reason: booking.reason.as_deref(),
            notes: booking.notes.as_deref(),
        },
    )?;
    let mut fields = vec!["patient", "doctor", "start", "end", "kind", "status"];
    fields.extend(booking.reason.as_ref().map(|_| "reason"));
    fields.extend(booking.notes.as_ref().map(|_| "notes"));
    audit::record(
        tx,
        caller,
        Event::new(Action::Create)
            .on(Entity::Appointment, id)
            .fields(fields),
    )?;
    saved(tx, caller, id, booking.overrides, zone)
}

/// The end of a booking or a move: the override, if one was used, in the
/// trail beside the change, and the appointment as it now stands.
fn saved(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    overrode: bool,
    zone: &TimeZone,
) -> Result<Appointment, ApiError> {
    if overrode {
        let event = Event::new(Action::Override).on(Entity::Appointment, id);
        audit::record(tx, caller, event)?;
    }
    sql::find_visible(tx, caller, id, zone)?.ok_or(ApiError::NotFound)
}

pub fn change(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    change: &Change,
    zone: &TimeZone,
) -> Result<Appointment, ApiError> {
    let before = sql::find_visible(tx, caller, id, zone)?.ok_or(ApiError::NotFound)?;
    let status = Status::parse(&before.status).unwrap_or(Status::Cancelled);
    let stored = |text: &str| {
        clinic_time::parse_instant(text, zone)
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("a stored time could not be read")))
    };
    let (old_start, old_end) = (stored(&before.start)?, stored(&before.end)?);
    let mut fields: Vec<&str> = Vec::new();
    let (mut doctor_id, mut span, mut overbooked) = (
        before.doctor,
        Span {
            start: old_start,
            end: old_end,
        },
        before.overbooked,
    );
    if change.moves() {
        if !status.is_active() {
            return Err(ApiError::Conflict {
                code: Code::AppointmentClosed,
                detail: format!(
                    "This appointment is {}: only a booked, arrived or in-progress one can be moved.",
                    status.words()
                ),
            });
        }
        let doctor = parties(
            tx,
            caller,
            before.patient,
            change.doctor.unwrap_or(before.doctor),
        )?;
        let start = change.start.unwrap_or(old_start);
        // A new start alone keeps the duration; a new doctor alone keeps both.
        let length = change
            .length
            .unwrap_or(Length::Minutes(old_end.duration_since(old_start).as_mins()));
        span = span_of(start, length, doctor.fields.appointment_minutes)?;
        if !change.overrides {
            if status == Status::Booked
                && span.start != old_start
                && span.start < clinic_time::this_minute()
            {
                return Err(ApiError::field("start", "Is in the past."));
            }
            check_open(tx, &doctor, span, zone)?;
            check_free(tx, &doctor, before.patient, span, Some(id), zone)?;
        }
        overbooked = change.overrides;
        fields.extend((doctor.id != before.doctor).then_some("doctor"));
        fields.extend((span.start != old_start).then_some("start"));
        fields.extend((span.end != old_end).then_some("end"));
        doctor_id = doctor.id;
    }
    let reason = match &change.reason {
        Some(reason) => reason.clone(),
        None => before.reason.clone(),
    };
    let notes = match &change.notes {
        Some(notes) => notes.clone(),
        None => before.notes.clone(),
    };
    fields.extend((reason != before.reason).then_some("reason"));
    fields.extend((notes != before.notes).then_some("notes"));
    sql::update(
        tx,
        id,
        doctor_id,
        span,
        overbooked,
        reason.as_deref(),
        notes.as_deref(),
    )?;
    audit::record(
        tx,
        caller,
        Event::new(Action::Update)
            .on(Entity::Appointment, id)
            .fields(fields),
    )?;
    saved(tx, caller, id, change.overrides && change.moves(), zone)
}

pub fn transition(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    change: &StatusChange,
    zone: &TimeZone,
) -> Result<Appointment, ApiError> {
    let current = sql::status_of(tx, caller, id)?.ok_or(ApiError::NotFound)?;
    if !current.can_become(change.status) {
        let next: Vec<&str> = current.next().into_iter().map(Status::as_str).collect();
        let allowed = if next.is_empty() {
            "it is final".to_owned()
        } else {
            format!("it can become {}", next.join(", "))
        };
        return Err(ApiError::Conflict {
            code: Code::InvalidTransition,
            detail: format!(
                "This appointment is {}, so it cannot become {}: {allowed}.",
                current.words(),
                change.status.as_str()
            ),
        });
    }
    let reason = (change.status == Status::Cancelled)
        .then_some(change.reason.as_deref())
        .flatten();
    sql::set_status(tx, caller, id, change.status, reason)?;
    let mut fields = vec!["status"];
    fields.extend(reason.map(|_| "cancel_reason"));
    audit::record(
        tx,
        caller,
        Event::new(Action::StatusChange)
            .on(Entity::Appointment, id)
            .fields(fields),
    )?;
    sql::find_visible(tx, caller, id, zone)?.ok_or(ApiError::NotFound)
}

/// `DELETE`: cancel, unless already cancelled (then nothing changes).
pub fn cancel(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    zone: &TimeZone,
) -> Result<(), ApiError> {
    let current = sql::status_of(tx, caller, id)?.ok_or(ApiError::NotFound)?;
    if current == Status::Cancelled {
        return Ok(());
    }
    let change = StatusChange {
        status: Status::Cancelled,
        reason: None,
    };
    transition(tx, caller, id, &change, zone).map(|_| ())
}

/// The doctor's free slots (see `availability::free_slots`).
pub fn free_slots(
    conn: &Connection,
    doctor: i64,
    query: SlotQuery,
    zone: &TimeZone,
) -> Result<Vec<Slot>, ApiError> {
    let doctor = doctors::find_live(conn, doctor)?.ok_or(ApiError::NotFound)?;
    let minutes = query.minutes.unwrap_or(doctor.fields.appointment_minutes);
    let last = query
        .first
        .checked_add(jiff::Span::new().days(query.days))
        .map_err(|_| ApiError::field("date", "Too far in the future."))?;
    let (Some(from), Some(to)) = (
        clinic_time::day_start(query.first, zone),
        clinic_time::day_start(last, zone),
    ) else {
        return Err(ApiError::field(
            "date",
            "Must be a date the clinic's calendar has.",
        ));
    };
    let blocks = schedule::hours_of(conn, doctor.id)?;
    let mut busy = schedule::time_off_between(conn, doctor.id, from, to)?;
    busy.extend(sql::busy(conn, doctor.id, from, to)?);
    let free = availability::free_slots(
        query.first,
        query.days,
        SignedDuration::from_mins(minutes),
        &blocks,
        &busy,
        Timestamp::now(),
        zone,
    );
    Ok(free
        .into_iter()
        .map(|slot| Slot {
            start: clinic_time::answered(slot.start, zone),
            end: clinic_time::answered(slot.end, zone),
        })
        .collect())
}
