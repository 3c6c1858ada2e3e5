//! The clinic's day for the `board` and `book` scenarios: doctors' weekly
//! hours and appointments written straight into the real tables (the
//! server is stopped, as for `seed`), and the plan `book` follows so that
//! every booking asks for a slot that is free.
//!
//! Appointments go in through the `appointments` table, so the schema's
//! CHECKs and the no-overlap triggers judge every row: the seed places them
//! on a grid of quarter-hours, one per doctor and cell and one a day per
//! patient, so none overlaps. Times are the clinic's wall-clock times
//! (`clinic_time`), stored in UTC as the API stores them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Instant;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{named_params, CachedStatement, Connection, Transaction};
use serde_json::json;

use clinicdesk::clinic_time;

use crate::http;
use crate::seed::{Rng, DOCTORS};
use crate::wrk::BOARD_PATH;

/// The clinic's zone for the run, set through `/api/settings/`: "today" and
/// the offsets answered do not depend on the machine's zone, and a zone
/// with DST costs what it costs a real clinic.
pub const ZONE: &str = "Europe/Berlin";

/// Appointments at every size; the smoke run seeds fewer past days (the
/// same density, so its board is as full).
pub const APPOINTMENTS: i64 = 100_000;
pub const SMOKE_APPOINTMENTS: i64 = 10_000;

/// A doctor's usual appointment (the schema's default `appointment_minutes`).
const SLOT: i16 = 15;
/// Appointments on today's board, and on an ordinary weekday.
const TODAY: usize = 300;
/// Days ahead that already hold bookings (thinning out towards the last).
const FUTURE_DAYS: i64 = 28;
/// How far back the seed may go to place its appointments.
const MAX_PAST_DAYS: i64 = 3_650;

/// Weekly hours as minutes after midnight, `[start, end)`: every doctor
/// works 08:00–12:00 and 13:00–17:00 on weekdays (32 quarter-hours, the
/// grid `book` uses); half also Saturday mornings, a quarter Sunday mornings.
fn blocks(doctor: i64, weekday: i8) -> &'static [(i16, i16)] {
    match weekday {
        1..=5 => &[(8 * 60, 12 * 60), (13 * 60, 17 * 60)],
        6 if doctor % 2 == 0 => &[(8 * 60, 13 * 60)],
        7 if doctor % 4 == 1 => &[(9 * 60, 13 * 60)],
        _ => &[],
    }
}

/// Quarter-hours in a weekday, and where the afternoon block starts.
const WEEKDAY_CELLS: i64 = 32;
const MORNING_CELLS: i64 = 16;

/// Appointments on a day of this weekday (before jitter).
fn density(weekday: i8) -> usize {
    match weekday {
        1..=5 => TODAY,
        6 => TODAY / 2,
        _ => TODAY / 5,
    }
}

const REASONS: &[&str] = &[
    "Check-up",
    "Follow-up",
    "Blood test results",
    "Vaccination",
    "Back pain",
    "Prescription renewal",
    "Headache",
    "Skin rash",
    "Blood pressure",
    "Pre-operative assessment",
];
const CANCEL_REASONS: &[&str] = &[
    "Patient called to cancel",
    "Doctor unavailable",
    "Feeling better",
    "Rebooked",
];

/// What the seed wrote, and where `book` may start.
pub struct Seeded {
    pub appointments: i64,
    /// Of them, on today's date in the clinic's zone.
    pub today: i64,
    pub seconds: f64,
    pub plan: BookingPlan,
    /// Today's date when seeded, in the clinic's zone.
    date: Date,
    zone: TimeZone,
}

/// Who books: staff, or the `user` account for its own patients (every
/// tenth, as `seed` assigns them).
#[derive(Clone, Copy)]
pub struct Owners {
    pub staff: i64,
    pub user: i64,
}

/// One appointment as the API would have left it by now.
struct Visit {
    patient: i64,
    doctor: i64,
    start: Timestamp,
    end: Timestamp,
    walk_in: bool,
    status: &'static str,
    created_at: Timestamp,
    arrived: Option<Timestamp>,
    started: Option<Timestamp>,
    completed: Option<Timestamp>,
    cancelled: Option<Timestamp>,
    no_show: Option<Timestamp>,
}

/// Weekly hours for every doctor, then `count` appointments: today's
/// board, four weeks of bookings ahead, and the rest in the past.
pub fn seed(db_path: &Path, count: i64, patients: i64, owners: Owners) -> anyhow::Result<Seeded> {
    let began = Instant::now();
    let mut conn = Connection::open(db_path)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    let zone_name: String = conn.query_row(
        "SELECT coalesce(time_zone, 'UTC') FROM settings WHERE id = 1",
        [],
        |row| row.get(0),
    )?;
    let zone = clinic_time::zone(&zone_name)
        .ok_or_else(|| anyhow::anyhow!("the clinic's zone {zone_name} is unknown here"))?;
    seed_hours(&mut conn)?;
    let mut rng = Rng::new(0x00A9_901E_7DA7);
    let now = Timestamp::now();
    let today = clinic_time::local_today(&zone);
    // Today first, then the weeks ahead, then back in time until the count
    // is reached; rows go in by date, as a clinic's would.
    let mut days: Vec<(Date, usize)> = vec![(today, TODAY)];
    for ahead in 1..=FUTURE_DAYS {
        let date = shift(today, ahead)?;
        let thinning = 1.0 - 0.6 * f64_of(ahead) / f64_of(FUTURE_DAYS);
        days.push((date, scaled(density(weekday(date)), thinning)));
    }
    let planned: usize = days.iter().map(|d| d.1).sum();
    let mut left = usize::try_from(count)?.saturating_sub(planned);
    for back in 1..=MAX_PAST_DAYS {
        if left == 0 {
            break;
        }
        let date = shift(today, -back)?;
        let jitter = 0.85 + 0.3 * f64_of(rng.int(1000)) / 1000.0;
        let n = scaled(density(weekday(date)), jitter).min(left);
        days.push((date, n));
        left -= n;
    }
    days.sort_by_key(|d| d.0);
    let (mut written, mut on_today) = (0, 0);
    let tx = conn.transaction()?;
    {
        let mut insert = insert_statement(&tx)?;
        for (date, n) in days {
            let visits = plan_day(&mut rng, date, n, patients, now, &zone);
            for visit in &visits {
                write_visit(&mut insert, &mut rng, visit, owners)?;
            }
            let n = i64::try_from(visits.len())?;
            written += n;
            if date == today {
                on_today = n;
            }
        }
    }
    tx.commit()?;
    conn.pragma_update(None, "optimize", true).ok();
    Ok(Seeded {
        appointments: written,
        today: on_today,
        seconds: began.elapsed().as_secs_f64(),
        plan: BookingPlan::after(shift(today, FUTURE_DAYS)?, patients)?,
        date: today,
        zone,
    })
}

fn f64_of(n: i64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let n = n as f64;
    n
}

fn scaled(n: usize, factor: f64) -> usize {
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let n = (n as f64 * factor).round().max(0.0) as usize;
    n
}

fn shift(date: Date, days: i64) -> anyhow::Result<Date> {
    Ok(date.checked_add(jiff::Span::new().days(days))?)
}

fn weekday(date: Date) -> i8 {
    date.weekday().to_monday_one_offset()
}

fn seed_hours(conn: &mut Connection) -> anyhow::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut insert = tx.prepare(
            "INSERT INTO doctor_hours (doctor_id, weekday, start_time, end_time)
             VALUES (?1, ?2, ?3, ?4)",
        )?;
        let clock = |minutes: i16| format!("{:02}:{:02}", minutes / 60, minutes % 60);
        for doctor in 1..=DOCTORS {
            for day in 1..=7 {
                for &(start, end) in blocks(doctor, day) {
                    insert.execute(rusqlite::params![doctor, day, clock(start), clock(end)])?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// `n` appointments on `date`: random doctors working that day and random
/// free quarter-hours of theirs (a fifth of them half an hour long), each
/// patient at most once that day. Sorted by start.
fn plan_day(
    rng: &mut Rng,
    date: Date,
    n: usize,
    patients: i64,
    now: Timestamp,
    zone: &TimeZone,
) -> Vec<Visit> {
    let day = weekday(date);
    let working: Vec<i64> = (1..=DOCTORS)
        .filter(|&d| !blocks(d, day).is_empty())
        .collect();
    let mut taken: HashSet<(i64, i16)> = HashSet::new();
    let mut seen: HashSet<i64> = HashSet::new();
    let mut visits = Vec::with_capacity(n);
    // Clocks change at night: between 08:00 and 17:00 a day has one
    // offset, so one conversion (noon) places every appointment of the day.
    let noon = clinic_time::at_wall_clock(date, 12, 0, zone);
    let mut attempts = 0;
    while visits.len() < n && !working.is_empty() && attempts < 20 * n {
        attempts += 1;
        let doctor = working[usize::try_from(rng.below(working.len() as u64)).unwrap_or(0)];
        let (open, close) = {
            let day_blocks = blocks(doctor, day);
            day_blocks[usize::try_from(rng.below(day_blocks.len() as u64)).unwrap_or(0)]
        };
        let cells = i64::from((close - open) / SLOT);
        let at = open + SLOT * i16::try_from(rng.int(cells)).unwrap_or(0);
        let cells_long = if rng.chance(20) && at + 2 * SLOT <= close {
            2
        } else {
            1
        };
        let wanted: Vec<(i64, i16)> = (0..cells_long).map(|k| (doctor, at + k * SLOT)).collect();
        if wanted.iter().any(|cell| taken.contains(cell)) {
            continue;
        }
        let patient = 1 + rng.int(patients);
        if !seen.insert(patient) {
            continue;
        }
        let Some(noon) = noon else {
            break;
        };
        let from_noon = |minute: i16| noon.checked_add(mins(i64::from(minute) - 12 * 60));
        let (Ok(start), Ok(end)) = (from_noon(at), from_noon(at + cells_long * SLOT)) else {
            continue;
        };
        taken.extend(wanted);
        visits.push(outcome(rng, patient, doctor, (start, end), now));
    }
    visits.sort_by_key(|v| (v.start, v.doctor));
    visits
}

fn mins(n: i64) -> SignedDuration {
    SignedDuration::from_mins(n)
}

/// Where the desk has got with an appointment by `now`: closed in the
/// past (mostly completed; some cancelled, no-shows, a few never closed),
/// under way or waiting now, booked ahead (a few cancelled).
fn outcome(
    rng: &mut Rng,
    patient: i64,
    doctor: i64,
    (start, end): (Timestamp, Timestamp),
    now: Timestamp,
) -> Visit {
    let at = |t: Timestamp, m: i64| t.checked_add(mins(m)).unwrap_or(t);
    let lead = 60 + rng.int(30 * 24 * 60);
    let booked_at = at(start, -lead).min(at(now, -1));
    let mut v = Visit {
        patient,
        doctor,
        start,
        end,
        walk_in: false,
        status: "booked",
        created_at: booked_at,
        arrived: None,
        started: None,
        completed: None,
        cancelled: None,
        no_show: None,
    };
    let r = rng.int(100);
    if end <= now {
        match r {
            0..=7 => {
                v.status = "cancelled";
                v.cancelled = Some(at(booked_at, (lead * (1 + rng.int(9)) / 10).max(1)));
            }
            8..=13 => {
                v.status = "no_show";
                v.no_show = Some(at(end, 30));
            }
            14..=16 => {}
            _ => {
                v.walk_in = r >= 92;
                if v.walk_in {
                    v.created_at = start;
                }
                v.status = "completed";
                let arrived = if v.walk_in {
                    start
                } else {
                    at(start, -rng.int(15))
                };
                let started = at(start, rng.int(15));
                v.arrived = Some(arrived);
                v.started = Some(started);
                v.completed = Some(at(started, 5 + rng.int(20)));
            }
        }
    } else if start <= now {
        v.status = if r < 70 { "in_progress" } else { "arrived" };
        v.arrived = Some(at(start, -rng.int(15)));
        v.started = (r < 70).then(|| at(start, rng.int(5)));
    } else if start <= at(now, 60) && r < 30 {
        v.status = "arrived";
        v.arrived = Some(at(now, -rng.int(20)));
    } else if r < 8 {
        v.status = "cancelled";
        v.cancelled = Some(at(booked_at, 1 + rng.int(60)).min(now));
    }
    v
}

fn insert_statement<'t>(tx: &'t Transaction<'_>) -> rusqlite::Result<CachedStatement<'t>> {
    tx.prepare_cached(
        "INSERT INTO appointments (patient_id, doctor_id, start_at, end_at, kind, status, reason,
                notes, cancel_reason, created_by, created_at, updated_at, arrived_at, started_at,
                completed_at, cancelled_at, no_show_at, status_changed_at, status_changed_by)
         VALUES (:patient, :doctor, :start, :end, :kind, :status, :reason, :notes, :cancel_reason,
                :created_by, :created_at, :updated_at, :arrived, :started, :completed, :cancelled,
                :no_show, :changed_at, :changed_by)",
    )
}

fn write_visit(
    insert: &mut CachedStatement<'_>,
    rng: &mut Rng,
    v: &Visit,
    owners: Owners,
) -> anyhow::Result<()> {
    let by = if v.patient % 10 == 0 && rng.chance(50) {
        owners.user
    } else {
        owners.staff
    };
    let stored = |t: Option<Timestamp>| t.map(clinic_time::stored);
    // The last status change is the latest stamp; a booking never changed has none.
    let changed = [v.arrived, v.started, v.completed, v.cancelled, v.no_show]
        .into_iter()
        .flatten()
        .max();
    let notes = rng
        .chance(15)
        .then_some("Bring the previous results and the list of current medicines.");
    insert.execute(named_params! {
        ":patient": v.patient,
        ":doctor": v.doctor,
        ":start": clinic_time::stored(v.start),
        ":end": clinic_time::stored(v.end),
        ":kind": if v.walk_in { "walk_in" } else { "scheduled" },
        ":status": v.status,
        ":reason": rng.pick(REASONS),
        ":notes": notes,
        ":cancel_reason": v.cancelled.map(|_| rng.pick(CANCEL_REASONS)),
        ":created_by": by,
        ":created_at": clinic_time::stored(v.created_at),
        ":updated_at": clinic_time::stored(changed.unwrap_or(v.created_at)),
        ":arrived": stored(v.arrived),
        ":started": stored(v.started),
        ":completed": stored(v.completed),
        ":cancelled": stored(v.cancelled),
        ":no_show": stored(v.no_show),
        ":changed_at": stored(changed),
        ":changed_by": changed.map(|_| owners.staff),
    })?;
    Ok(())
}

/// The slots `book` asks for, one per request and none twice in a run:
/// booking `k` is weekday `k / (doctors × 32)` from the first Monday after
/// the seeded bookings, quarter-hour `k / doctors % 32` of the weekday grid
/// (08:00–12:00, 13:00–17:00 clinic time) and doctor `k % doctors + 1`. The
/// patient comes from that doctor's own share of the patients, so two
/// bookings at the same time never share one. The wrk script computes the
/// same (`wrk::BOOK`); the harness moves `next` past what each run used.
pub struct BookingPlan {
    first_monday: Date,
    doctors: i64,
    patients: i64,
    next: i64,
}

impl BookingPlan {
    fn after(last_booked: Date, patients: i64) -> anyhow::Result<Self> {
        let mut first_monday = shift(last_booked, 1)?;
        while weekday(first_monday) != 1 {
            first_monday = shift(first_monday, 1)?;
        }
        Ok(Self {
            first_monday,
            doctors: DOCTORS.min(patients),
            patients,
            next: 0,
        })
    }

    /// Booking `k`: doctor, patient and the start as clinic time.
    fn slot(&self, k: i64) -> anyhow::Result<(i64, i64, String)> {
        let per_day = self.doctors * WEEKDAY_CELLS;
        let (day, within) = (k / per_day, k % per_day);
        let (cell, doctor) = (within / self.doctors, within % self.doctors + 1);
        let share = self.patients / self.doctors;
        let patient = (doctor - 1) * share + (day * WEEKDAY_CELLS + cell) % share + 1;
        let date = shift(self.first_monday, day / 5 * 7 + day % 5)?;
        let minute = if cell < MORNING_CELLS {
            8 * 60 + 15 * cell
        } else {
            13 * 60 + 15 * (cell - MORNING_CELLS)
        };
        let start = format!("{date}T{:02}:{:02}", minute / 60, minute % 60);
        Ok((doctor, patient, start))
    }

    /// The next booking's body, taken (the check request books it).
    pub fn take(&mut self) -> anyhow::Result<serde_json::Value> {
        let (doctor, patient, start) = self.slot(self.next)?;
        self.next += 1;
        Ok(json!({"patient": patient, "doctor": doctor, "start": start, "reason": "Check-up"}))
    }

    /// The script's arguments for a run with `threads` wrk threads: the
    /// first booking, the thread count, the doctors, and the first Monday
    /// (its UTC midnight, in seconds: the script does only date arithmetic).
    pub fn args(&self, threads: u32) -> anyhow::Result<Vec<String>> {
        let monday = self
            .first_monday
            .to_zoned_datetime(TimeZone::UTC)?
            .timestamp();
        Ok(vec![
            self.next.to_string(),
            threads.to_string(),
            self.doctors.to_string(),
            monday.as_second().to_string(),
        ])
    }

    /// After a run in which each of `threads` threads made at most `made`
    /// bookings: thread `t`'s `i`-th was `next + i × threads + t`.
    pub fn used(&mut self, threads: u32, made: u64) -> anyhow::Result<()> {
        self.next += i64::from(threads) * i64::try_from(made)?;
        Ok(())
    }
}

/// The board as staff: `200`, and today's appointments, every one seeded
/// for the clinic's today (unless its date has turned since the seed).
pub fn check_board(addr: SocketAddr, token: &str, day: &Seeded) -> anyhow::Result<()> {
    let resp = http::request(addr, "GET", BOARD_PATH, Some(token), None)?;
    anyhow::ensure!(
        resp.status == 200,
        "board: GET {BOARD_PATH} answered {}: {}",
        resp.status,
        resp.body
    );
    let items = resp.json()?.as_array().map_or(0, Vec::len);
    let same_day = clinic_time::local_today(&day.zone) == day.date;
    anyhow::ensure!(
        items > 0 && (!same_day || i64::try_from(items)? == day.today),
        "board returned {items} appointments; {} were seeded for today",
        day.today
    );
    Ok(())
}

/// One booking of the plan as staff: `201`, booked.
pub fn check_book(addr: SocketAddr, token: &str, plan: &mut BookingPlan) -> anyhow::Result<()> {
    let body = plan.take()?;
    let resp = http::request(addr, "POST", "/api/appointments/", Some(token), Some(&body))?;
    anyhow::ensure!(
        resp.status == 201 && resp.json()?["status"] == "booked",
        "book: POST /api/appointments/ {body} answered {}: {}",
        resp.status,
        resp.body
    );
    Ok(())
}
