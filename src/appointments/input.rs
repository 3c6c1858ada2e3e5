//! Reading appointment requests into checked values: a booking, a change,
//! a status change, a list's filters. Everything a request alone can get
//! wrong is a `400` here, before the writer sees it; what needs the
//! database (does the patient exist, is the time free) is judged in
//! `booking`.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rocket::FromForm;
use serde_json::{Map, Value};

use super::{Kind, Status};
use crate::auth::Caller;
use crate::clinic_time;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Ordering, Paging};
use crate::validation::{DayEnd, Fields, Given};

/// The shortest and longest appointment, in minutes.
pub const MIN_MINUTES: i64 = 5;
pub const MAX_MINUTES: i64 = 480;

/// How long a booking lasts, as the request said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Length {
    Until(Timestamp),
    Minutes(i64),
    /// Neither given: the doctor's `appointment_minutes`.
    Usual,
}

/// A checked `POST /api/appointments/`.
#[derive(Debug, Clone)]
pub struct Booking {
    pub patient: i64,
    pub doctor: i64,
    /// `None` only for a walk-in, which starts now.
    pub start: Option<Timestamp>,
    pub length: Length,
    pub kind: Kind,
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub overrides: bool,
}

/// A checked `PATCH /api/appointments/<id>/`.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub start: Option<Timestamp>,
    pub length: Option<Length>,
    pub doctor: Option<i64>,
    pub reason: Given<String>,
    pub notes: Given<String>,
    pub overrides: bool,
}

impl Change {
    /// Whether it moves the appointment (rather than only its notes).
    pub fn moves(&self) -> bool {
        self.start.is_some() || self.length.is_some() || self.doctor.is_some()
    }
}

/// A checked `POST /api/appointments/<id>/status/`.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub status: Status,
    pub reason: Option<String>,
}

/// `override: true` is for staff and admin: a `user` gets `403` before
/// anything else is looked at.
fn overrides(f: &mut Fields<'_>, caller: &Caller) -> Result<bool, ApiError> {
    let overrides = f.boolean("override").unwrap_or(false);
    if overrides && !caller.writes_doctors() {
        return Err(ApiError::forbidden());
    }
    Ok(overrides)
}

fn id_field(f: &mut Fields<'_>, names: &[&'static str], required: bool) -> Option<i64> {
    let id = f.integer(names, 1, i64::MAX);
    f.require(names, id, required)
}

/// A time that starts an appointment: on a whole minute.
fn minute_field(f: &mut Fields<'_>, name: &'static str, zone: &TimeZone) -> Option<Timestamp> {
    let at = f.instant(name, zone, DayEnd::Neither);
    let at = f.require(&[name], at, false)?;
    if at.as_second().rem_euclid(60) != 0 || at.subsec_nanosecond() != 0 {
        f.error(
            name,
            "Choose a time on a whole minute, like 09:15 (no seconds).",
        );
        return None;
    }
    Some(at)
}

/// `end` or `duration` (not both), checked against `start` when known.
fn length_field(f: &mut Fields<'_>, start: Option<Timestamp>, zone: &TimeZone) -> Option<Length> {
    if f.has(&["end"]) && f.has(&["duration"]) {
        f.error("duration", "Give end or duration, not both.");
        return None;
    }
    if let Some(minutes) = f.integer(&["duration"], MIN_MINUTES, MAX_MINUTES) {
        return minutes.map(Length::Minutes);
    }
    let end = minute_field(f, "end", zone)?;
    if let Some(start) = start {
        if let Err(message) = check_span(start, end) {
            f.error("end", message);
            return None;
        }
    }
    Some(Length::Until(end))
}

/// An appointment's span is 5 minutes to 8 hours, end after start.
pub fn check_span(start: Timestamp, end: Timestamp) -> Result<(), &'static str> {
    let minutes = end.duration_since(start).as_mins();
    if end <= start {
        Err("Choose an end after the start.")
    } else if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) {
        Err("An appointment lasts from 5 minutes to 8 hours.")
    } else {
        Ok(())
    }
}

/// The end of `length` from `start`, given the doctor's usual minutes.
pub fn end_of(start: Timestamp, length: Length, usual: i64) -> Option<Timestamp> {
    let minutes = match length {
        Length::Until(end) => return Some(end),
        Length::Minutes(minutes) => minutes,
        Length::Usual => usual,
    };
    start.checked_add(SignedDuration::from_mins(minutes)).ok()
}

impl Booking {
    pub fn read(
        body: &Map<String, Value>,
        caller: &Caller,
        zone: &TimeZone,
    ) -> Result<Self, ApiError> {
        let mut f = Fields::new(body);
        let overrides = overrides(&mut f, caller)?;
        let patient = id_field(&mut f, &["patient", "patient_id"], true);
        let doctor = id_field(&mut f, &["doctor", "doctor_id"], true);
        let kind = f
            .choice(&["kind"], Kind::normalise, "scheduled, walk_in")
            .flatten()
            .and_then(Kind::parse)
            .unwrap_or(Kind::Scheduled);
        // A walk-in starts now: its `start` may be left out, or null.
        let blank = |v: &Value| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty());
        let start = if kind == Kind::WalkIn && body.get("start").is_some_and(blank) {
            None
        } else {
            minute_field(&mut f, "start", zone)
        };
        if start.is_none() && kind == Kind::Scheduled && !f.has(&["start"]) {
            f.error(
                "start",
                "Choose a start time (only a walk-in may leave it out: it starts now).",
            );
        }
        let length = length_field(&mut f, start, zone);
        let reason = f.text(&["reason"], 200).flatten();
        let notes = f.multiline(&["notes"], 2000).flatten();
        f.finish()?;
        match (patient, doctor) {
            (Some(patient), Some(doctor)) => Ok(Self {
                patient,
                doctor,
                start,
                length: length.unwrap_or(Length::Usual),
                kind,
                reason,
                notes,
                overrides,
            }),
            _ => Err(ApiError::field("patient", "Fill this in: it is needed.")),
        }
    }
}

impl Change {
    pub fn read(
        body: &Map<String, Value>,
        caller: &Caller,
        zone: &TimeZone,
    ) -> Result<Self, ApiError> {
        let mut f = Fields::new(body);
        let overrides = overrides(&mut f, caller)?;
        let start = minute_field(&mut f, "start", zone);
        let length = if f.has(&["end", "duration"]) {
            length_field(&mut f, start, zone)
        } else {
            None
        };
        let doctor = id_field(&mut f, &["doctor", "doctor_id"], false);
        let reason = f.text(&["reason"], 200);
        let notes = f.multiline(&["notes"], 2000);
        f.finish()?;
        Ok(Self {
            start,
            length,
            doctor,
            reason,
            notes,
            overrides,
        })
    }
}

impl StatusChange {
    pub fn read(body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(body);
        let allowed = Status::ALL.map(Status::as_str).join(", ");
        let status = f.choice(&["status"], Status::normalise, &allowed);
        let status = f.require(&["status"], status, true);
        let reason = f.text(&["reason"], 200).flatten();
        f.finish()?;
        let status = status
            .and_then(Status::parse)
            .ok_or_else(|| ApiError::field("status", "Fill this in: it is needed."))?;
        Ok(Self { status, reason })
    }
}

/// `GET /api/appointments` (and a patient's appointments) query.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AppointmentQuery<'r> {
    /// A clinic-local day (`2027-03-29`) or `today`.
    #[param(example = "today")]
    date: Option<&'r str>,
    /// From this moment or day (a date means its start), inclusive.
    from: Option<&'r str>,
    /// Until this moment or day (a date means its end), exclusive.
    to: Option<&'r str>,
    #[param(value_type = Option<i64>)]
    doctor_id: Option<&'r str>,
    #[param(value_type = Option<i64>)]
    patient_id: Option<&'r str>,
    /// One status, several separated by commas, or `active` (booked,
    /// arrived, in progress).
    #[param(example = "booked,arrived")]
    status: Option<&'r str>,
    #[param(schema_with = kind_schema)]
    kind: Option<&'r str>,
    #[param(schema_with = ordering_schema)]
    ordering: Option<&'r str>,
    /// 1-based; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<&'r str>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<&'r str>,
}

const ORDERING: &[(&str, &str)] = &[("start", "start_at"), ("created_at", "created_at")];

fn ordering_schema() -> utoipa::openapi::Object {
    http::ordering_schema(ORDERING)
}

fn kind_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&super::KINDS, false)
}

/// A checked appointment list request.
#[derive(Debug, Clone)]
pub struct Filter {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub doctor: Option<i64>,
    pub patient: Option<i64>,
    pub statuses: Option<Vec<Status>>,
    pub kind: Option<Kind>,
    pub ordering: Ordering,
    pub paging: Paging,
}

impl Filter {
    /// Every appointment, by start time, one page: what another reader's
    /// search (FHIR's Appointment search) narrows.
    pub fn by_start(paging: Paging) -> Self {
        let mut ignored = FieldErrors::new();
        Self {
            from: None,
            to: None,
            doctor: None,
            patient: None,
            statuses: None,
            kind: None,
            ordering: Ordering::parse(None, ORDERING, &mut ignored),
            paging,
        }
    }
}

impl AppointmentQuery<'_> {
    pub fn validate(&self, zone: &TimeZone) -> Result<Filter, ApiError> {
        let mut errors = FieldErrors::new();
        let (mut from, mut to) = (None, None);
        if let Some(date) = http::text_param(self.date) {
            if self.from.is_some() || self.to.is_some() {
                http::push(&mut errors, "date", "Give date, or from and to, not both.");
            }
            let day = if date.eq_ignore_ascii_case("today") {
                Some(clinic_time::local_today(zone))
            } else {
                crate::validation::parse_date(&date).and_then(clinic_time::jiff_date)
            };
            match day.and_then(|day| {
                let start = clinic_time::day_start(day, zone)?;
                let end = clinic_time::day_start(day.tomorrow().ok()?, zone)?;
                Some((start, end))
            }) {
                Some((start, end)) => (from, to) = (Some(start), Some(end)),
                None => http::push(
                    &mut errors,
                    "date",
                    "Must be a date as YYYY-MM-DD, or today.",
                ),
            }
        } else {
            // A query parameter read as a one-field body, so the time rules are one.
            let mut body = Map::new();
            for (name, value) in [("from", self.from), ("to", self.to)] {
                if let Some(value) = value {
                    body.insert(name.to_owned(), Value::String(value.to_owned()));
                }
            }
            let mut f = Fields::new(&body);
            from = f.instant("from", zone, DayEnd::Start).flatten();
            to = f.instant("to", zone, DayEnd::End).flatten();
            if let Err(ApiError::Validation(bad)) = f.finish() {
                errors.extend(bad);
            }
        }
        let id = |errors: &mut FieldErrors, name: &str, raw: Option<&str>| {
            let raw = http::text_param(raw)?;
            let id = raw.parse::<i64>().ok().filter(|id| *id > 0);
            if id.is_none() {
                http::push(errors, name, "Must be a whole number (an id).");
            }
            id
        };
        let doctor = id(&mut errors, "doctor_id", self.doctor_id);
        let patient = id(&mut errors, "patient_id", self.patient_id);
        let statuses = http::text_param(self.status).map(|raw| {
            let mut statuses = Vec::new();
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                if part.eq_ignore_ascii_case("active") {
                    statuses.extend(Status::ACTIVE);
                } else if let Some(status) = Status::parse(part) {
                    statuses.push(status);
                } else {
                    let allowed = Status::ALL.map(Status::as_str).join(", ");
                    http::push(
                        &mut errors,
                        "status",
                        format!("Each must be one of {allowed}, or active."),
                    );
                }
            }
            statuses
        });
        let kind = http::choice(
            &mut errors,
            "kind",
            self.kind,
            Kind::normalise,
            "scheduled, walk_in",
        )
        .and_then(Kind::parse);
        let ordering = Ordering::parse(self.ordering, ORDERING, &mut errors);
        let paging = Paging::parse(self.page, self.page_size, &mut errors);
        let filter = Filter {
            from,
            to,
            doctor,
            patient,
            statuses,
            kind,
            ordering,
            paging,
        };
        http::checked(filter, errors)
    }
}

/// `GET /api/doctors/<id>/slots` query, checked.
#[derive(Debug, Clone, Copy)]
pub struct SlotQuery {
    pub first: jiff::civil::Date,
    pub days: i64,
    pub minutes: Option<i64>,
}

impl SlotQuery {
    pub fn read(
        date: Option<&str>,
        days: Option<&str>,
        duration: Option<&str>,
        zone: &TimeZone,
    ) -> Result<Self, ApiError> {
        let mut errors = FieldErrors::new();
        let first = match http::text_param(date) {
            None => Some(clinic_time::local_today(zone)),
            Some(text) if text.eq_ignore_ascii_case("today") => {
                Some(clinic_time::local_today(zone))
            }
            Some(text) => crate::validation::parse_date(&text).and_then(clinic_time::jiff_date),
        };
        if first.is_none() {
            http::push(
                &mut errors,
                "date",
                "Must be a date as YYYY-MM-DD, or today.",
            );
        }
        let mut number = |name: &str, raw: Option<&str>, min: i64, max: i64| {
            let raw = http::text_param(raw)?;
            let n = raw.parse::<i64>().ok().filter(|n| (min..=max).contains(n));
            if n.is_none() {
                http::push(
                    &mut errors,
                    name,
                    format!("Must be a whole number from {min} to {max}."),
                );
            }
            n
        };
        let days = number("days", days, 1, 31).unwrap_or(1);
        let minutes = number("duration", duration, MIN_MINUTES, MAX_MINUTES);
        let query = Self {
            first: first.unwrap_or_default(),
            days,
            minutes,
        };
        http::checked(query, errors)
    }
}
