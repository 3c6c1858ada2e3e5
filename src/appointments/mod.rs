//! Appointments: `/api/appointments`, a patient's appointments, and a
//! doctor's free slots.
//!
//! An appointment belongs to a patient and a doctor. A `user` sees (and
//! books, moves, checks in) only appointments of the patients they created;
//! `staff` and `admin` see all. One they may not see is `404`, like one
//! that does not exist. Appointments are never erased: `DELETE` cancels.
//!
//! **No double booking is a database guarantee.** An active appointment
//! (booked, arrived, in progress) may not overlap another active one of the
//! same doctor or the same patient. `booking` checks it inside the
//! writer's transaction, so the check and the insert are one step for
//! every request (the writer runs one job at a time), and names the
//! clashes; the triggers of migration 0012 hold the same rule for any
//! other write. Staff may book over it on purpose (`override`), audited.
//!
//! Times are stored in UTC and answered with the clinic's offset (see
//! `clinic_time`).

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::{self, ClinicZone};
use crate::db::Db;
use crate::error::ApiError;
use crate::http::{JsonBody, Page};
use crate::records::Table;

pub use self::input::Filter;
use self::input::{AppointmentQuery, Booking, Change, SlotQuery, StatusChange};

mod booking;
mod input;
pub mod schema;
mod sql;

/// The appointments as the whole-clinic document holds them: as stored
/// (times in UTC), their whole status history included.
pub const EXCHANGE: Table = Table {
    section: "appointments",
    table: "appointments",
    columns: &[
        "id",
        "patient_id",
        "doctor_id",
        "start_at",
        "end_at",
        "kind",
        "status",
        "overbooked",
        "reason",
        "notes",
        "cancel_reason",
        "created_by",
        "created_at",
        "updated_at",
        "arrived_at",
        "started_at",
        "completed_at",
        "cancelled_at",
        "no_show_at",
        "status_changed_at",
        "status_changed_by",
    ],
    accounts: &["created_by", "status_changed_by"],
};

/// Moves every appointment of patient `from` to patient `to` (a merge,
/// whose caller checked both); `409 slot_taken` if two would overlap.
pub fn move_patient(tx: &rusqlite::Transaction<'_>, from: i64, to: i64) -> Result<usize, ApiError> {
    sql::move_patient(tx, from, to)
}

/// The appointment, if `caller` may see it (its patient is theirs), times
/// in `zone`: how another reader (FHIR) asks.
pub fn find_visible(
    conn: &rusqlite::Connection,
    caller: &Caller,
    id: i64,
    zone: &jiff::tz::TimeZone,
) -> Result<Option<Appointment>, ApiError> {
    sql::find_visible(conn, caller, id, zone)
}

/// A page of the appointments `caller` may see that meet `filter`, and how
/// many there are: the list's query, for another reader (FHIR).
pub fn find_page(
    conn: &rusqlite::Connection,
    caller: &Caller,
    filter: &Filter,
    zone: &jiff::tz::TimeZone,
) -> Result<(Vec<Appointment>, i64), ApiError> {
    sql::select_page(conn, caller, filter, zone)
}

pub fn routes() -> Vec<Route> {
    let mut routes = audit::denied::about(
        Entity::Appointment,
        routes![list, create, read, update, change_status, cancel],
    );
    // `/patients/<id>/appointments` and `/doctors/<id>/slots` are about the
    // patient and the doctor their id names.
    routes.extend(audit::denied::about(Entity::Patient, routes![for_patient]));
    routes.extend(audit::denied::about(Entity::Doctor, routes![slots]));
    routes
}

/// What kind of visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Scheduled,
    /// Came in without a booking: starts now, already arrived.
    WalkIn,
}

pub const KINDS: [&str; 2] = ["scheduled", "walk_in"];

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::WalkIn => "walk_in",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Scheduled, Self::WalkIn]
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The stored spelling of `text`, for the field readers.
    pub fn normalise(text: &str) -> Option<&'static str> {
        Self::parse(text).map(Self::as_str)
    }
}

/// Where an appointment is in the clinic's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Booked,
    Arrived,
    InProgress,
    Completed,
    Cancelled,
    NoShow,
}

pub const STATUSES: [&str; 6] = [
    "booked",
    "arrived",
    "in_progress",
    "completed",
    "cancelled",
    "no_show",
];

impl Status {
    pub const ALL: [Self; 6] = [
        Self::Booked,
        Self::Arrived,
        Self::InProgress,
        Self::Completed,
        Self::Cancelled,
        Self::NoShow,
    ];

    /// The statuses that occupy a doctor and a patient.
    pub const ACTIVE: [Self; 3] = [Self::Booked, Self::Arrived, Self::InProgress];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Arrived => "arrived",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "no_show",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn normalise(text: &str) -> Option<&'static str> {
        Self::parse(text).map(Self::as_str)
    }

    pub fn is_active(self) -> bool {
        Self::ACTIVE.contains(&self)
    }

    /// The forward-only flow: booked → arrived, cancelled, no-show;
    /// arrived → in progress, cancelled; in progress → completed.
    pub fn can_become(self, next: Self) -> bool {
        use Status::{Arrived, Booked, Cancelled, Completed, InProgress, NoShow};
        matches!(
            (self, next),
            (Booked, Arrived | Cancelled | NoShow)
                | (Arrived, InProgress | Cancelled)
                | (InProgress, Completed)
        )
    }

    /// The statuses this one may become, for an error message.
    pub fn next(self) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|next| self.can_become(*next))
            .collect()
    }

    /// The column a transition to this status stamps.
    pub fn stamp_column(self) -> Option<&'static str> {
        match self {
            Self::Arrived => Some("arrived_at"),
            Self::InProgress => Some("started_at"),
            Self::Completed => Some("completed_at"),
            Self::Cancelled => Some("cancelled_at"),
            Self::NoShow => Some("no_show_at"),
            Self::Booked => None,
        }
    }

    /// For people: "in progress", "no-show".
    pub fn words(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Arrived => "arrived",
            Self::InProgress => "in progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
            Self::NoShow => "a no-show",
        }
    }
}

/// A patient or doctor named on an appointment.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Party {
    pub id: i64,
    pub name: String,
}

/// An active appointment a booking would overlap.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Conflict {
    pub id: i64,
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    /// The doctor's id.
    pub doctor: i64,
}

/// A free start time of a doctor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Slot {
    #[schema(format = DateTime)]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
}

/// An appointment as the API answers it. Times of the day (`start`, `end`
/// and the status stamps) carry the clinic's offset; `created_at` and
/// `updated_at` are UTC like every record's.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Appointment {
    pub id: i64,
    pub patient: i64,
    pub doctor: i64,
    #[schema(format = DateTime, example = "2027-03-29T09:00:00+02:00")]
    pub start: String,
    #[schema(format = DateTime)]
    pub end: String,
    pub duration_minutes: i64,
    #[schema(schema_with = kind_schema)]
    pub kind: String,
    #[schema(schema_with = status_schema)]
    pub status: String,
    /// Booked over a clash or outside hours on purpose (`override`).
    pub overbooked: bool,
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub cancel_reason: Option<String>,
    pub created_by: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    #[schema(format = DateTime)]
    pub arrived_at: Option<String>,
    #[schema(format = DateTime)]
    pub started_at: Option<String>,
    #[schema(format = DateTime)]
    pub completed_at: Option<String>,
    #[schema(format = DateTime)]
    pub cancelled_at: Option<String>,
    #[schema(format = DateTime)]
    pub no_show_at: Option<String>,
    /// When the status last changed, and by which account.
    #[schema(format = DateTime)]
    pub status_changed_at: Option<String>,
    pub status_changed_by: Option<i64>,
    /// Minutes from arrival to the start of the visit, or to now while
    /// the patient is still waiting; `null` before arrival.
    pub wait_minutes: Option<i64>,
    pub patient_details: Party,
    pub doctor_details: Party,
}

fn kind_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&KINDS, false)
}

fn status_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&STATUSES, false)
}

#[utoipa::path(tag = "appointments", params(AppointmentQuery), responses((status = 200, description = "A page of the appointments the caller may see (a `user`: those of the patients they created), by start time", body = [Appointment])), security(("bearer" = [])))]
#[get("/appointments?<query..>")]
async fn list(
    query: AppointmentQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<Appointment>, ApiError> {
    let zone = zone.get();
    let filter = query.validate(&zone)?;
    let paging = filter.paging;
    let (items, total) = db
        .read_and_record(
            move |conn| sql::select_page(conn, &caller, &filter, &zone),
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Appointment);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "appointments", request_body = schema::AppointmentInput, responses((status = 201, description = "Booked (a `walk_in`: arrived)", body = Appointment), (status = 409, description = "`slot_taken`: it would overlap an active appointment of the doctor or of the patient; `conflicts` names them", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/appointments", data = "<body>")]
async fn create(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Created<Json<Appointment>>, ApiError> {
    let zone = zone.get();
    let booking = Booking::read(&body.0, &caller, &zone)?;
    let appointment = db
        .write(move |tx| booking::book(tx, &caller, &booking, &zone))
        .await?;
    Ok(Created::new(format!("/api/appointments/{}/", appointment.id)).body(Json(appointment)))
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "An appointment's id")), responses((status = 200, description = "One appointment", body = Appointment)), security(("bearer" = [])))]
#[get("/appointments/<id>")]
async fn read(
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Appointment>, ApiError> {
    let zone = zone.get();
    let appointment = db
        .read_and_record(
            move |conn| sql::find_visible(conn, &caller, id, &zone)?.ok_or(ApiError::NotFound),
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Appointment, id);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(appointment))
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "An appointment's id")), request_body = schema::AppointmentChange, responses((status = 200, description = "Changed; a move is checked like a booking (it never clashes with itself)", body = Appointment), (status = 409, description = "`slot_taken` (see booking), or `appointment_closed`: only an active appointment can be moved", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[patch("/appointments/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Appointment>, ApiError> {
    let zone = zone.get();
    let change = Change::read(&body.0, &caller, &zone)?;
    db.write(move |tx| booking::change(tx, &caller, id, &change, &zone))
        .await
        .map(Json)
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "An appointment's id")), request_body = schema::StatusChangeRequest, responses((status = 200, description = "The appointment in its new status, the transition's time stamped. Allowed: booked → arrived, cancelled, no_show; arrived → in_progress, cancelled; in_progress → completed.", body = Appointment), (status = 409, description = "`invalid_transition`: not allowed from the current status", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[post("/appointments/<id>/status", data = "<body>")]
async fn change_status(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Appointment>, ApiError> {
    let zone = zone.get();
    let change = StatusChange::read(&body.0)?;
    db.write(move |tx| booking::transition(tx, &caller, id, &change, &zone))
        .await
        .map(Json)
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "An appointment's id")), responses((status = 204, description = "Cancelled (appointments are never erased); one already cancelled is left as it is"), (status = 409, description = "`invalid_transition`: a completed visit or a no-show cannot be cancelled", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[delete("/appointments/<id>")]
async fn cancel(
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<NoContent, ApiError> {
    let zone = zone.get();
    db.write(move |tx| booking::cancel(tx, &caller, id, &zone))
        .await?;
    Ok(NoContent)
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "A patient's id"), AppointmentQuery), responses((status = 200, description = "The patient's appointments (`404` if the patient is not visible), with the list's filters", body = [Appointment])), security(("bearer" = [])))]
#[get("/patients/<id>/appointments?<query..>")]
async fn for_patient(
    id: i64,
    query: AppointmentQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<Appointment>, ApiError> {
    let zone = zone.get();
    let mut filter = query.validate(&zone)?;
    filter.patient = Some(id);
    let paging = filter.paging;
    let (items, total) = db
        .read_and_record(
            move |conn| {
                if !crate::patients::visible(conn, &caller, id)? {
                    return Err(ApiError::NotFound);
                }
                sql::select_page(conn, &caller, &filter, &zone)
            },
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Patient, id);
                audit::record(tx, &caller, event.fields(["appointments"]))
            },
        )
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "appointments", params(("id" = i64, Path, description = "A doctor's id"), ("date" = Option<String>, Query, description = "The first clinic-local day (`YYYY-MM-DD` or `today`, the default)"), ("days" = Option<i64>, Query, description = "How many days, 1–31 (default 1)", minimum = 1, maximum = 31), ("duration" = Option<i64>, Query, description = "Minutes, 5–480 (default the doctor's `appointment_minutes`)", minimum = 5, maximum = 480)), responses((status = 200, description = "Free start times: inside the doctor's hours, outside time off, clear of active appointments, not in the past; stepping by the duration from the start of each block", body = [Slot])), security(("bearer" = [])))]
#[get("/doctors/<id>/slots?<date>&<days>&<duration>")]
async fn slots(
    id: i64,
    date: Option<&str>,
    days: Option<&str>,
    duration: Option<&str>,
    _caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Vec<Slot>>, ApiError> {
    let zone = zone.get();
    let query = SlotQuery::read(date, days, duration, &zone)?;
    let free = db
        .read(move |conn| booking::free_slots(conn, id, query, &zone))
        .await?;
    Ok(Json(free))
}

/// `text` (a stored instant) in the clinic's zone.
fn local(text: &str, zone: &jiff::tz::TimeZone) -> String {
    clinic_time::answered_stored(text, zone)
}
