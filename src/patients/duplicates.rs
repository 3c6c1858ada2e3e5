//! Duplicate patients: the candidates for a record (typed or saved), the
//! clinic-wide list of likely pairs, and "not the same person". Merging is
//! `crate::merge`, which also moves other resources' rows.
//!
//! Candidates come from `patient_match_keys` (an index lookup on the
//! blocking keys of `matching`), never from a pass over every patient, and
//! are scored in Rust. What a caller may not see is never a candidate: the
//! visibility rule is in the lookup's `WHERE`, as in every patient read.
//!
//! The clinic-wide list is `duplicate_pairs`. A write of a patient only
//! notes its id (`pair_later`, in the write's own transaction); `keep_pairs`
//! scores the noted patients' pairs in small batches whenever the writer
//! has nothing else to do, and the list itself first scores whatever is
//! still noted, so it is never behind what was written. Scoring a record
//! against up to 200 look-alikes is most of the cost of a create, and a
//! Monday-morning burst of them should not wait for it. Rows from before
//! migration 0014 (and imported rows) are keyed and scored by `fill_in`.

use rocket::serde::json::Json;
use rocket::{get, post, State};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::tokio::sync::Notify;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;
use time::Date;

use super::matching::{Match, Person, LOWEST_THRESHOLD};
use super::{sql, Patient, PatientFields, FIELDS_ONLY};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::ClinicZone;
use crate::db::{self, Db};
use crate::error::ApiError;
use crate::http::{self, JsonBody, Page, Paging};
use crate::validation::{self, Fields};

/// At most this many records sharing a key are scored per lookup: enough
/// for any real block (one name at one birth date), and a bound on the work
/// of a key as common as a popular first and last name.
const LOOKUP_LIMIT: i64 = 200;
/// Candidates answered for one record.
const ANSWERED: usize = 10;
/// Pairs kept per patient in the clinic-wide list.
const PAIRS_KEPT: usize = 20;
/// Rows keyed and scored per transaction by `fill_in`, at most.
const FILL_BATCH: i64 = 200;
/// Noted patients scored per transaction by `keep_pairs`, at most.
const PAIR_BATCH: i64 = 32;
/// How long one background batch may keep the writer: a request's write
/// that arrives meanwhile waits about this long at most. A count alone
/// would not bound it: a patient with 200 look-alikes costs many times one
/// with none, and under a burst of creates a batch of 32 such took tens of
/// milliseconds, which every create then waited for.
const BATCH_TIME: Duration = Duration::from_millis(1);

/// A possible duplicate of one record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub patient: Patient,
    /// 0–100: how alike the two records are (see the README).
    #[schema(minimum = 0, maximum = 100)]
    pub score: i64,
    /// What matched, in words: "same date of birth", "last name sounds alike".
    pub reasons: Vec<String>,
}

/// A likely pair across the clinic; `a.id < b.id`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Pair {
    pub a: Patient,
    pub b: Patient,
    #[schema(minimum = 0, maximum = 100)]
    pub score: i64,
    pub reasons: Vec<String>,
}

/// How a created patient names its possible duplicates.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PossibleDuplicate {
    pub id: i64,
    #[schema(minimum = 0, maximum = 100)]
    pub score: i64,
}

/// The query of `duplicate-check`: a record not yet saved.
#[derive(Debug, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CheckQuery<'r> {
    first_name: Option<&'r str>,
    last_name: Option<&'r str>,
    /// `YYYY-MM-DD`.
    date_of_birth: Option<&'r str>,
    phone: Option<&'r str>,
    email: Option<&'r str>,
    /// `M`, `F`, `O` or `U` (or the words).
    gender: Option<&'r str>,
}

impl CheckQuery<'_> {
    fn person(&self) -> Result<Person, ApiError> {
        fn given(value: Option<&str>) -> Option<&str> {
            value.map(str::trim).filter(|v| !v.is_empty())
        }
        let birth = given(self.date_of_birth);
        let mut errors = crate::error::FieldErrors::new();
        if birth.is_some_and(|b| validation::parse_date(b).is_none()) {
            http::push(
                &mut errors,
                "date_of_birth",
                "Enter a real calendar date as year-month-day, like 1984-07-12.",
            );
        }
        http::checked((), errors)?;
        Ok(Person::new(
            given(self.first_name),
            given(self.last_name),
            birth,
            given(self.phone),
            given(self.email),
            given(self.gender),
        ))
    }
}

/// Whose patients a lookup may name: a caller's, or the whole clinic's
/// (for the stored pairs, which only staff and admins read).
#[derive(Clone, Copy)]
enum Scope<'a> {
    Caller(&'a Caller),
    Clinic,
}

/// The records that may be `person`, best first, scoring at least `floor`:
/// live, other than `itself`, not marked distinct from it, within `scope`;
/// their ages on `today` (the clinic's date).
fn candidates(
    conn: &Connection,
    person: &Person,
    itself: Option<i64>,
    scope: Scope<'_>,
    floor: i64,
    limit: usize,
    today: Date,
) -> Result<Vec<(Patient, Match)>, ApiError> {
    let keys = person.lookup_keys();
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (sees_all, caller_id) = match scope {
        Scope::Caller(caller) => (caller.sees_all_patients(), caller.id),
        Scope::Clinic => (true, 0),
    };
    let keys = serde_json::to_string(&keys).map_err(anyhow::Error::from)?;
    // The keys are few (a dozen at most), each a range of the primary key;
    // the patients join applies visibility, and distinct pairs are skipped.
    let ids: Vec<i64> = conn
        .prepare_cached(
            "SELECT k.patient_id FROM patient_match_keys k
               JOIN patients p ON p.id = k.patient_id
              WHERE k.key IN (SELECT value FROM json_each(?1))
                AND k.patient_id IS NOT ?2
                AND (?3 OR p.created_by = ?4)
                AND NOT EXISTS (SELECT 1 FROM distinct_patients d
                                 WHERE d.low = min(?2, k.patient_id) AND d.high = max(?2, k.patient_id))
              GROUP BY k.patient_id
              ORDER BY count(*) DESC, k.patient_id
              LIMIT ?5 + 0", // `+ 0`: see db::PAGE
        )?
        .query_map(
            params![keys, itself, sees_all, caller_id, LOOKUP_LIMIT],
            |row| row.get(0),
        )?
        .collect::<Result<_, _>>()?;
    let mut found: Vec<(Patient, Match)> = sql::find_live_many(conn, &ids, today)?
        .into_iter()
        .map(|patient| {
            let found = person.compare(&Person::of(&patient.fields));
            (patient, found)
        })
        .filter(|(_, found)| found.score >= floor)
        .collect();
    found.sort_by(|(a, x), (b, y)| y.score.cmp(&x.score).then(a.id.cmp(&b.id)));
    found.truncate(limit);
    Ok(found)
}

/// The existing patient `caller` may see who is most like `person`, at or
/// above `floor`, with the score (an imported row's possible duplicate).
pub(super) fn best_match(
    conn: &Connection,
    caller: &Caller,
    person: &Person,
    floor: i64,
    today: Date,
) -> Result<Option<(Patient, i64)>, ApiError> {
    let found = candidates(conn, person, None, Scope::Caller(caller), floor, 1, today)?;
    Ok(found.into_iter().next().map(|(p, m)| (p, m.score)))
}

/// The clinic's threshold (a setting).
pub(super) fn threshold(conn: &Connection) -> Result<i64, ApiError> {
    Ok(crate::settings::sql::load(conn)?.duplicate_threshold)
}

fn answer(found: Vec<(Patient, Match)>) -> Vec<Candidate> {
    found
        .into_iter()
        .map(|(patient, found)| Candidate {
            patient,
            score: found.score,
            reasons: found.reasons,
        })
        .collect()
}

/// Notes that patient `id` was written, so its pairs are scored again
/// (soon, by `keep_pairs`, and at the latest before the list is read).
pub fn pair_later(tx: &Transaction<'_>, id: i64) -> Result<(), ApiError> {
    tx.prepare_cached("INSERT OR IGNORE INTO duplicate_pairs_pending (patient_id) VALUES (?1)")?
        .execute([id])?;
    Ok(())
}

/// Scores the pairs of patient `id` again: clinic-wide (the stored list is
/// the whole clinic's). A patient that is not live has no pairs (the
/// archive trigger removed them).
fn refresh_pairs(tx: &Transaction<'_>, id: i64) -> Result<(), ApiError> {
    tx.prepare_cached("DELETE FROM duplicate_pairs WHERE low = ?1 OR high = ?1")?
        .execute([id])?;
    let Some(patient) = sql::find_live_many(tx, &[id], FIELDS_ONLY)?.pop() else {
        return Ok(());
    };
    let person = Person::of(&patient.fields);
    // Only ids and scores are stored: no age is needed.
    let found = candidates(
        tx,
        &person,
        Some(id),
        Scope::Clinic,
        LOWEST_THRESHOLD,
        PAIRS_KEPT,
        FIELDS_ONLY,
    )?;
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO duplicate_pairs (low, high, score, reasons) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (other, found) in &found {
        let reasons = serde_json::to_string(&found.reasons).map_err(anyhow::Error::from)?;
        insert.execute(params![
            id.min(other.id),
            id.max(other.id),
            found.score,
            reasons
        ])?;
    }
    Ok(())
}

/// The ids `select` (taking the limit as `?1`) answers for one batch of
/// background work (`+ 0`: see `db::PAGE`).
fn batch_of(tx: &Transaction<'_>, select: &str, limit: i64) -> Result<Vec<i64>, ApiError> {
    Ok(tx
        .prepare_cached(select)?
        .query_map([limit], |row| row.get(0))?
        .collect::<Result<_, _>>()?)
}

/// Scores a batch of the noted patients' pairs; how many it did (0: none
/// are left).
fn pair_batch(tx: &Transaction<'_>) -> Result<usize, ApiError> {
    let ids = batch_of(
        tx,
        "SELECT patient_id FROM duplicate_pairs_pending ORDER BY patient_id LIMIT ?1 + 0",
        PAIR_BATCH,
    )?;
    let mut done =
        tx.prepare_cached("DELETE FROM duplicate_pairs_pending WHERE patient_id = ?1")?;
    in_time(&ids, |id| {
        refresh_pairs(tx, id)?;
        done.execute([id])?;
        Ok(())
    })
}

/// Does `each` for the ids in order until `BATCH_TIME` has passed (at least
/// one); how many it did. The rest stay for the next batch.
fn in_time(
    ids: &[i64],
    mut each: impl FnMut(i64) -> Result<(), ApiError>,
) -> Result<usize, ApiError> {
    let started = Instant::now();
    for (done, &id) in ids.iter().enumerate() {
        if done > 0 && started.elapsed() >= BATCH_TIME {
            return Ok(done);
        }
        each(id)?;
    }
    Ok(ids.len())
}

/// Runs for as long as the server does: scores noted patients' pairs
/// whenever a write notes one (and once at start, for any a crash or a
/// stop left), each batch only when no request is waiting to write. A
/// batch that is turned away (a full queue, a stop) or fails is tried again
/// at the next note; meanwhile the list scores what it needs when read.
pub async fn keep_pairs(db: Db) {
    let noted = Arc::new(Notify::new());
    let wake = Arc::clone(&noted);
    db.watch(
        "duplicate_pairs_pending",
        Arc::new(move |_: &[i64]| wake.notify_one()),
    );
    loop {
        loop {
            match db.write_when_idle(pair_batch).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(ApiError::Database(e)) => {
                    tracing::warn!(error = %e, "duplicate pairs could not be scored in the background; the next change tries again");
                    break;
                }
                // A full write queue, or the server stopping.
                Err(_) => break,
            }
        }
        // Its own deletes wake it once more, to find nothing left.
        noted.notified().await;
    }
}

/// What a patient about to be created answers as `possible_duplicates`:
/// the patients `caller` may see who may be the same person, at or above
/// the threshold, as `duplicate-check` would answer for the same record.
/// Looked up on a reader before the write, so a failure here saves nothing
/// and the request can simply be sent again.
pub fn possible_duplicates(
    conn: &Connection,
    caller: &Caller,
    record: &PatientFields,
    today: Date,
) -> Result<Vec<PossibleDuplicate>, ApiError> {
    let floor = threshold(conn)?;
    let person = Person::of(record);
    let scope = Scope::Caller(caller);
    Ok(
        candidates(conn, &person, None, scope, floor, ANSWERED, today)?
            .into_iter()
            .map(|(other, found)| PossibleDuplicate {
                id: other.id,
                score: found.score,
            })
            .collect(),
    )
}

/// Indexes (blocking keys, folded search text) and scores a batch of the
/// rows from before migration 0014; how many it did (0: none are left).
fn fill_batch(tx: &Transaction<'_>) -> Result<usize, ApiError> {
    let ids = batch_of(
        tx,
        "SELECT id FROM patients WHERE match_keys IS NULL ORDER BY id LIMIT ?1 + 0",
        FILL_BATCH,
    )?;
    // Keyed before scored, in id order: a pair within the batch is found
    // when its later patient is scored, the earlier one keyed by then.
    in_time(&ids, |id| {
        sql::reindex(tx, id)?;
        refresh_pairs(tx, id)
    })
}

/// Runs after start (and after an import) until every patient has its keys
/// and pairs: one batch per write, each when no request is waiting to write.
pub async fn fill_in(db: Db) {
    let mut total = 0;
    loop {
        match db.write_when_idle(fill_batch).await {
            Ok(0) => break,
            Ok(done) => total += done,
            Err(e) => {
                tracing::warn!(error = %e, "duplicate detection could not index older patients; it will try again at the next start");
                return;
            }
        }
    }
    if total > 0 {
        tracing::info!(
            patients = total,
            "older patients indexed for duplicate detection"
        );
    }
}

#[utoipa::path(tag = "duplicates", params(CheckQuery), responses((status = 200, description = "Patients the caller may see who may be this one (not yet saved), best first, at most 10, at or above the clinic's threshold; `[]` when there is too little to match on", body = [Candidate])), security(("bearer" = [])))]
#[get("/patients/duplicate-check?<query..>")]
pub(super) async fn check(
    query: CheckQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Vec<Candidate>>, ApiError> {
    let (person, today) = (query.person()?, zone.today());
    // A search of the patients, recorded like any other.
    let found = db
        .read_and_record(
            move |conn| {
                let floor = threshold(conn)?;
                let scope = Scope::Caller(&caller);
                candidates(conn, &person, None, scope, floor, ANSWERED, today)
            },
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Patient);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(answer(found)))
}

#[utoipa::path(tag = "duplicates", params(("id" = i64, Path, description = "A patient's id")), responses((status = 200, description = "Patients the caller may see who may be this one, best first (pairs marked not the same person left out)", body = [Candidate])), security(("bearer" = [])))]
#[get("/patients/<id>/duplicates")]
pub(super) async fn of_patient(
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Json<Vec<Candidate>>, ApiError> {
    let today = zone.today();
    let found = db
        .read_and_record(
            move |conn| {
                let patient =
                    sql::find_visible(conn, &caller, id, today)?.ok_or(ApiError::NotFound)?;
                let floor = threshold(conn)?;
                let person = Person::of(&patient.fields);
                candidates(
                    conn,
                    &person,
                    Some(id),
                    Scope::Caller(&caller),
                    floor,
                    ANSWERED,
                    today,
                )
            },
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Patient, id);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Json(answer(found)))
}

/// `?page=&page_size=` of the clinic-wide list.
#[derive(Debug, rocket::FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PairQuery<'r> {
    /// 1-based.
    page: Option<&'r str>,
    /// 1–500, default 50.
    page_size: Option<&'r str>,
}

#[utoipa::path(tag = "duplicates", params(PairQuery), responses((status = 200, description = "Admin and staff: likely duplicate pairs across the clinic, best first, paged; pairs marked not the same person left out", body = [Pair]), (status = 403, description = "A `user`", body = crate::http::ErrorBody)), security(("bearer" = [])))]
#[get("/patients/duplicates?<query..>")]
pub(super) async fn pairs(
    query: PairQuery<'_>,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<Pair>, ApiError> {
    if !caller.sees_all_patients() {
        return Err(ApiError::forbidden());
    }
    let mut errors = crate::error::FieldErrors::new();
    let paging = Paging::parse(query.page, query.page_size, &mut errors);
    http::checked((), errors)?;
    // Whatever was written and not yet scored is scored first, in batches
    // that let the clinic's other writes through between them.
    while db.write(pair_batch).await? > 0 {}
    let today = zone.today();
    let (items, total) = db
        .read_and_record(
            move |conn| select_pairs(conn, paging, today),
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Patient);
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

fn select_pairs(
    conn: &Connection,
    paging: Paging,
    today: Date,
) -> Result<(Vec<Pair>, i64), ApiError> {
    let floor = threshold(conn)?;
    let total: i64 = conn
        .prepare_cached("SELECT count(*) FROM duplicate_pairs WHERE score >= ?1")?
        .query_row([floor], |row| row.get(0))?;
    let rows: Vec<(i64, i64, i64, String)> = conn
        .prepare_cached(
            "SELECT low, high, score, reasons FROM duplicate_pairs WHERE score >= ?1
              ORDER BY score DESC, low, high LIMIT ?2 + 0 OFFSET ?3", // `+ 0`: see db::PAGE
        )?
        .query_map(params![floor, paging.limit(), paging.offset()], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let ids: Vec<i64> = rows.iter().flat_map(|(a, b, _, _)| [*a, *b]).collect();
    // A patient may be in several pairs of the page, on either side.
    let patients: std::collections::HashMap<i64, Patient> = sql::find_live_many(conn, &ids, today)?
        .into_iter()
        .map(|p| (p.id, p))
        .collect();
    let items = rows
        .into_iter()
        .filter_map(|(a, b, score, reasons)| {
            Some(Pair {
                a: patients.get(&a)?.clone(),
                b: patients.get(&b)?.clone(),
                score,
                reasons: serde_json::from_str(&reasons).unwrap_or_default(),
            })
        })
        .collect();
    Ok((items, total))
}

#[utoipa::path(tag = "duplicates", params(("id" = i64, Path, description = "A patient's id")), request_body = super::schema::NotDuplicateRequest, responses((status = 204, description = "The two are never suggested as duplicates again")), security(("bearer" = [])))]
#[post("/patients/<id>/not-duplicate", data = "<body>")]
pub(super) async fn not_duplicate(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<rocket::response::status::NoContent, ApiError> {
    let mut fields = Fields::new(&body.0);
    let other = fields.integer(&["other"], 1, i64::MAX);
    let other = fields.require(&["other"], other, true);
    if other == Some(id) {
        fields.error("other", "Must be another patient.");
    }
    fields.finish()?;
    let other = other.ok_or(ApiError::NotFound)?;
    db.write(move |tx| {
        for patient in [id, other] {
            if !sql::visible(tx, &caller, patient)? {
                return Err(ApiError::NotFound);
            }
        }
        let marked = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO distinct_patients (low, high, marked_by, marked_at)
                 VALUES (?1, ?2, ?3, ?4) RETURNING low",
            )?
            .query_row(
                params![id.min(other), id.max(other), caller.id, db::now()],
                |row| row.get::<_, i64>(0),
            )
            .optional()?;
        if marked.is_some() {
            let event = Event::new(Action::NotDuplicate)
                .on(Entity::Patient, id)
                .related(other);
            audit::record(tx, &caller, event)?;
        }
        Ok(())
    })
    .await?;
    Ok(rocket::response::status::NoContent)
}
