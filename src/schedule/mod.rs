//! A doctor's schedule: weekly hours and time off,
//! `/api/doctors/<id>/hours/` and `/api/doctors/<id>/time-off/`.
//!
//! Every signed-in role reads them (they say when a doctor works, nothing
//! about patients); staff and admin change them (`user` → `403`, by the
//! doctors' `Writer` guard). An archived or unknown doctor is `404`.
//! Free slots, which also need the bookings, live with appointments.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, post, put, routes, Route, State};
use serde::Serialize;
use serde_json::Value;

use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::ClinicZone;
use crate::db::Db;
use crate::doctors::{self, Writer};
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, JsonBody, JsonValue, Page, Paging};
use crate::records::Table;
use crate::validation::{DayEnd, Fields};

use self::availability::{Span, WeeklyBlock};

pub mod availability;
pub mod schema;
pub mod sql;

/// Doctors' weekly hours as the whole-clinic document holds them.
pub const HOURS_EXCHANGE: Table = Table {
    section: "hours",
    table: "doctor_hours",
    columns: &["id", "doctor_id", "weekday", "start_time", "end_time"],
    accounts: &[],
};

/// Doctors' time off as the whole-clinic document holds it.
pub const TIME_OFF_EXCHANGE: Table = Table {
    section: "time_off",
    table: "doctor_time_off",
    columns: &[
        "id",
        "doctor_id",
        "start_at",
        "end_at",
        "reason",
        "created_by",
        "created_at",
    ],
    accounts: &["created_by"],
};

pub fn routes() -> Vec<Route> {
    // A doctor's hours and time off: an attempt on them is on the doctor
    // (`/doctors/<id>/…`).
    audit::denied::about(
        Entity::Doctor,
        routes![
            read_hours,
            replace_hours,
            list_time_off,
            add_time_off,
            remove_time_off
        ],
    )
}

/// One weekly block of a doctor's hours, in the clinic's local time.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hours {
    /// ISO weekday: Monday = 1 … Sunday = 7.
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: i8,
    /// `HH:MM`, local.
    #[schema(example = "09:00", pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub start: String,
    /// `HH:MM`, local, after `start`.
    #[schema(example = "13:00", pattern = "^[0-2][0-9]:[0-5][0-9]$")]
    pub end: String,
}

impl Hours {
    fn of(block: &WeeklyBlock) -> Self {
        Self {
            weekday: block.weekday,
            start: sql::clock_text(block.start),
            end: sql::clock_text(block.end),
        }
    }
}

/// An absence of a doctor.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeOff {
    pub id: i64,
    pub doctor: i64,
    /// With the clinic's offset.
    #[schema(format = DateTime)]
    pub start: String,
    /// With the clinic's offset.
    #[schema(format = DateTime)]
    pub end: String,
    pub reason: Option<String>,
    pub created_by: i64,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The most blocks a week may have (a dozen a day is already unusual).
const MAX_BLOCKS: usize = 70;
/// The longest single time off: a year.
const MAX_TIME_OFF_DAYS: i64 = 366;

/// The doctor, if it exists and is not archived, else `404`.
fn live_doctor(conn: &rusqlite::Connection, id: i64) -> Result<doctors::Doctor, ApiError> {
    doctors::find_live(conn, id)?.ok_or(ApiError::NotFound)
}

#[utoipa::path(tag = "schedule", params(("id" = i64, Path, description = "A doctor's id")), responses((status = 200, description = "The doctor's weekly hours, Monday first, in clinic time", body = [Hours])), security(("bearer" = [])))]
#[get("/doctors/<id>/hours")]
async fn read_hours(
    id: i64,
    _caller: Caller,
    db: &State<Db>,
) -> Result<Json<Vec<Hours>>, ApiError> {
    let blocks = db
        .read(move |conn| {
            live_doctor(conn, id)?;
            sql::hours_of(conn, id)
        })
        .await?;
    Ok(Json(blocks.iter().map(Hours::of).collect()))
}

#[utoipa::path(tag = "schedule", params(("id" = i64, Path, description = "A doctor's id")), request_body(content = [schema::HoursInput], description = "The whole week (an array; `{\"hours\": [...]}` is accepted too). Overlapping or inverted blocks are a `400` naming the block."), responses((status = 200, description = "The doctor's new weekly hours (staff, admin)", body = [Hours])), security(("bearer" = [])))]
#[put("/doctors/<id>/hours", data = "<body>")]
async fn replace_hours(
    id: i64,
    body: JsonValue,
    writer: Writer,
    db: &State<Db>,
) -> Result<Json<Vec<Hours>>, ApiError> {
    let blocks = read_week(&body.0)?;
    let saved = db
        .write(move |tx| {
            live_doctor(tx, id)?;
            sql::replace_hours(tx, id, &blocks)?;
            let event = Event::new(Action::Update).on(Entity::Doctor, id);
            audit::record(tx, &writer.0, event.fields(["hours"]))?;
            sql::hours_of(tx, id)
        })
        .await?;
    Ok(Json(saved.iter().map(Hours::of).collect()))
}

/// `HH:MM` from 00:00 to 23:59.
fn parse_clock(text: &str) -> Option<(i8, i8)> {
    let (hour, minute) = text.split_once(':')?;
    if hour.len() != 2 || minute.len() != 2 {
        return None;
    }
    let (hour, minute): (i8, i8) = (hour.parse().ok()?, minute.parse().ok()?);
    ((0..24).contains(&hour) && (0..60).contains(&minute)).then_some((hour, minute))
}

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

fn describe(block: &WeeklyBlock) -> String {
    let day = WEEKDAYS
        .get(usize::try_from(block.weekday - 1).unwrap_or(0))
        .copied()
        .unwrap_or("?");
    format!(
        "{day} {}–{}",
        sql::clock_text(block.start),
        sql::clock_text(block.end)
    )
}

/// Reads and checks a whole week: every block valid, none inverted, none
/// overlapping another of its day. Errors name the block as `hours[i]`.
fn read_week(body: &Value) -> Result<Vec<WeeklyBlock>, ApiError> {
    let items = match body {
        Value::Array(items) => items,
        Value::Object(map) => match map.get("hours") {
            Some(Value::Array(items)) => items,
            _ => {
                return Err(ApiError::field(
                    "hours",
                    "Must be a list of {weekday, start, end}.",
                ))
            }
        },
        _ => {
            return Err(ApiError::field(
                "hours",
                "Must be a list of {weekday, start, end}.",
            ))
        }
    };
    if items.len() > MAX_BLOCKS {
        return Err(ApiError::field(
            "hours",
            format!("At most {MAX_BLOCKS} blocks a week."),
        ));
    }
    let mut errors = FieldErrors::new();
    let mut blocks = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let name = format!("hours[{index}]");
        let Value::Object(fields) = item else {
            http::push(
                &mut errors,
                &name,
                "Must be an object {weekday, start, end}.",
            );
            continue;
        };
        let mut f = Fields::new(fields);
        let weekday = f.integer(&["weekday"], 1, 7);
        let weekday = f.require(&["weekday"], weekday, true);
        let clock = |f: &mut Fields<'_>, field: &'static str| {
            let text = f.text(&[field], 5);
            let text = f.require(&[field], text, true)?;
            let parsed = parse_clock(&text);
            if parsed.is_none() {
                f.error(
                    field,
                    "Enter a time on the 24-hour clock, like 09:00 or 17:30.",
                );
            }
            parsed
        };
        let (start, end) = (clock(&mut f, "start"), clock(&mut f, "end"));
        if let Err(ApiError::Validation(field_errors)) = f.finish() {
            for (field, messages) in field_errors {
                for message in messages {
                    http::push(&mut errors, &format!("{name}.{field}"), message);
                }
            }
            continue;
        }
        let (Some(weekday), Some(start), Some(end)) = (weekday, start, end) else {
            continue;
        };
        let block = WeeklyBlock {
            weekday: i8::try_from(weekday).unwrap_or(1),
            start,
            end,
        };
        if block.start >= block.end {
            http::push(
                &mut errors,
                &name,
                format!("{}: the end must be after the start.", describe(&block)),
            );
            continue;
        }
        if let Some((other, earlier)) =
            blocks
                .iter()
                .enumerate()
                .find(|(_, b): &(usize, &WeeklyBlock)| {
                    b.weekday == block.weekday && b.start < block.end && block.start < b.end
                })
        {
            http::push(
                &mut errors,
                &name,
                format!(
                    "{} overlaps hours[{other}] ({}).",
                    describe(&block),
                    describe(earlier)
                ),
            );
            continue;
        }
        blocks.push(block);
    }
    http::checked(blocks, errors)
}

#[utoipa::path(tag = "schedule", params(("id" = i64, Path, description = "A doctor's id"), ("page" = Option<u32>, Query, description = "1-based; default 1", minimum = 1), ("page_size" = Option<u32>, Query, description = "Default 50", minimum = 1, maximum = 500)), responses((status = 200, description = "A page of the doctor's time off, soonest first", body = [TimeOff])), security(("bearer" = [])))]
#[get("/doctors/<id>/time-off?<page>&<page_size>")]
async fn list_time_off(
    id: i64,
    page: Option<&str>,
    page_size: Option<&str>,
    _caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<TimeOff>, ApiError> {
    let mut errors = FieldErrors::new();
    let paging = http::checked(Paging::parse(page, page_size, &mut errors), errors)?;
    let zone = zone.get();
    let (items, total) = db
        .read(move |conn| {
            live_doctor(conn, id)?;
            sql::time_off_page(conn, id, paging, &zone)
        })
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "schedule", params(("id" = i64, Path, description = "A doctor's id")), request_body = schema::TimeOffInput, responses((status = 201, description = "The new time off (staff, admin). A date alone means the whole day: `start: 2027-03-03, end: 2027-03-07` is off from the morning of the 3rd to the evening of the 7th.", body = TimeOff)), security(("bearer" = [])))]
#[post("/doctors/<id>/time-off", data = "<body>")]
async fn add_time_off(
    id: i64,
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Created<Json<TimeOff>>, ApiError> {
    let zone = zone.get();
    let mut f = Fields::new(&body.0);
    let start = f.instant("start", &zone, DayEnd::Start);
    let start = f.require(&["start"], start, true);
    let end = f.instant("end", &zone, DayEnd::End);
    let end = f.require(&["end"], end, true);
    let reason = f.text(&["reason"], 200).flatten();
    if let (Some(start), Some(end)) = (start, end) {
        let days = end.duration_since(start).as_hours() / 24;
        if end <= start {
            f.error("end", "Choose an end after the start.");
        } else if days > MAX_TIME_OFF_DAYS {
            f.error(
                "end",
                format!("A time off may last at most {MAX_TIME_OFF_DAYS} days."),
            );
        }
    }
    f.finish()?;
    let (Some(start), Some(end)) = (start, end) else {
        return Err(ApiError::field("start", "Fill this in: it is needed."));
    };
    let time_off = db
        .write(move |tx| {
            live_doctor(tx, id)?;
            let span = Span { start, end };
            let time_off = sql::insert_time_off(tx, &writer.0, id, span, reason.as_deref(), &zone)?;
            let event = Event::new(Action::Create).on(Entity::TimeOff, time_off.id);
            audit::record(
                tx,
                &writer.0,
                event.fields(["doctor", "start", "end", "reason"]),
            )?;
            Ok(time_off)
        })
        .await?;
    Ok(Created::new(format!("/api/doctors/{id}/time-off/{}/", time_off.id)).body(Json(time_off)))
}

#[utoipa::path(tag = "schedule", params(("id" = i64, Path, description = "A doctor's id"), ("tid" = i64, Path, description = "A time off's id")), responses((status = 204, description = "Removed (staff, admin)")), security(("bearer" = [])))]
#[delete("/doctors/<id>/time-off/<tid>")]
async fn remove_time_off(
    id: i64,
    tid: i64,
    writer: Writer,
    db: &State<Db>,
) -> Result<NoContent, ApiError> {
    db.write(move |tx| {
        live_doctor(tx, id)?;
        if !sql::delete_time_off(tx, id, tid)? {
            return Err(ApiError::NotFound);
        }
        let event = Event::new(Action::Delete).on(Entity::TimeOff, tid);
        audit::record(tx, &writer.0, event)
    })
    .await?;
    Ok(NoContent)
}
