//! FHIR R4 read access: `/fhir/metadata`, and `Patient`, `Practitioner`
//! and `Appointment` read and search, as `application/fhir+json`.
//!
//! The same bearer tokens, visibility and audit as `/api`: a `user` sees
//! only the patients they created (and their appointments), someone
//! else's record or an archived one is `404`, a read is recorded as a view
//! and a search as a search, as their `/api` equivalents are (doctors are
//! read unrecorded there, so here too). Records come through each
//! resource's root functions, so a FHIR answer and an `/api` answer of the
//! same record cannot disagree about who may see it. Errors are
//! `OperationOutcome`s (`answer`). `/fhir/metadata` needs no token.

use rocket::http::uri::Origin;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{get, routes, Catcher, Route, State};

use crate::appointments;
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Caller;
use crate::clinic_time::{self, ClinicZone};
use crate::db::Db;
use crate::doctors;
use crate::error::{ApiError, FieldErrors};
use crate::http;
use crate::patients::{self, PatientCriteria};
use crate::tls::Transport;

use self::answer::{Accepts, Fhir, FhirError};
use self::capability::{APPOINTMENT_PARAMS, PATIENT_PARAMS, PRACTITIONER_PARAMS};
use self::search::{Bundle, Query};

mod answer;
mod capability;
pub mod resources;
mod search;

pub fn routes() -> Vec<Route> {
    let mut routes = routes![metadata];
    routes.extend(audit::denied::about(
        Entity::Patient,
        routes![read_patient, search_patients],
    ));
    routes.extend(audit::denied::about(
        Entity::Doctor,
        routes![read_practitioner, search_practitioners],
    ));
    routes.extend(audit::denied::about(
        Entity::Appointment,
        routes![read_appointment, search_appointments],
    ));
    routes.extend(answer::fallback_routes());
    routes
}

/// The catchers mounted at `/fhir`: every error is an `OperationOutcome`.
pub fn catchers() -> Vec<Catcher> {
    answer::catchers()
}

/// The FHIR base URL as the client reached it (`https://host:port/fhir`),
/// for the `fullUrl`s and links of a Bundle.
pub struct Base(String);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Base {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let tls = req
            .rocket()
            .state::<Transport>()
            .is_some_and(Transport::is_tls);
        let scheme = if tls { "https" } else { "http" };
        // The Host header is the client's to send: only a plain host[:port]
        // is echoed back; anything else gives a relative base.
        let host = req.headers().get_one("Host").filter(|host| {
            !host.is_empty()
                && host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        });
        Outcome::Success(Base(match host {
            Some(host) => format!("{scheme}://{host}/fhir"),
            None => "/fhir".to_owned(),
        }))
    }
}

#[get("/metadata")]
fn metadata(_accepts: Accepts, base: Base) -> Fhir<serde_json::Value> {
    Fhir(capability::statement(&base.0, &crate::db::now()))
}

#[get("/Patient/<id>")]
async fn read_patient(
    _accepts: Accepts,
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Fhir<resources::Patient>, FhirError> {
    let today = zone.today();
    let patient = db
        .read_and_record(
            move |conn| patients::find_visible(conn, &caller, id, today)?.ok_or(ApiError::NotFound),
            move |tx| {
                audit::record(
                    tx,
                    &caller,
                    Event::new(Action::View).on(Entity::Patient, id),
                )
            },
        )
        .await?;
    Ok(Fhir(resources::Patient::from(&patient)))
}

#[get("/Patient")]
async fn search_patients(
    _accepts: Accepts,
    uri: &Origin<'_>,
    base: Base,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Fhir<Bundle<resources::Patient>>, FhirError> {
    let today = zone.today();
    let query = Query::parse(
        uri.query().map(|q| q.as_str()),
        &capability::names(&PATIENT_PARAMS),
    )?;
    let mut errors = FieldErrors::new();
    let paging = query.paging(&mut errors);
    let (born_from, born_until) =
        search::date_range(query.all("birthdate"), "birthdate", &mut errors);
    let phone = query.one("phone").map(str::to_owned);
    if phone.as_deref().is_some_and(|p| !is_phone_like(p)) {
        http::push(
            &mut errors,
            "phone",
            "Must be a phone number (digits, spaces, -, (), +).",
        );
    }
    let criteria = PatientCriteria {
        name: query.one("name").map(str::to_owned),
        family: query.one("family").map(str::to_owned),
        given: query.one("given").map(str::to_owned),
        born_from: born_from.map(|d| d.to_string()),
        born_until: born_until.map(|d| d.to_string()),
        phone,
    };
    let criteria = http::checked(criteria, errors)?;
    let (found, total) = db
        .read_and_record(
            move |conn| patients::find_matching(conn, &caller, &criteria, paging, today),
            move |tx| {
                audit::record(
                    tx,
                    &caller,
                    Event::new(Action::Search).about(Entity::Patient),
                )
            },
        )
        .await?;
    let items = found
        .iter()
        .map(|p| (p.id, resources::Patient::from(p)))
        .collect();
    Ok(Fhir(Bundle::searchset(
        &base.0, "Patient", &query, paging, items, total,
    )))
}

/// Whether `text` reads as a phone number: at least three digits, and
/// only the punctuation phones are written with.
fn is_phone_like(text: &str) -> bool {
    text.chars().filter(char::is_ascii_digit).count() >= 3
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+' | '/'))
}

#[get("/Practitioner/<id>")]
async fn read_practitioner(
    _accepts: Accepts,
    id: i64,
    _caller: Caller,
    db: &State<Db>,
) -> Result<Fhir<resources::Practitioner>, FhirError> {
    let doctor = db
        .read(move |conn| doctors::find_live(conn, id)?.ok_or(ApiError::NotFound))
        .await?;
    Ok(Fhir(resources::Practitioner::from(&doctor)))
}

#[get("/Practitioner")]
async fn search_practitioners(
    _accepts: Accepts,
    uri: &Origin<'_>,
    base: Base,
    _caller: Caller,
    db: &State<Db>,
) -> Result<Fhir<Bundle<resources::Practitioner>>, FhirError> {
    let query = Query::parse(
        uri.query().map(|q| q.as_str()),
        &capability::names(&PRACTITIONER_PARAMS),
    )?;
    let mut errors = FieldErrors::new();
    let paging = query.paging(&mut errors);
    let name = http::checked(query.one("name").map(str::to_owned), errors)?;
    let (found, total) = db
        .read(move |conn| doctors::find_named(conn, name.as_deref(), paging))
        .await?;
    let items = found
        .iter()
        .map(|d| (d.id, resources::Practitioner::from(d)))
        .collect();
    Ok(Fhir(Bundle::searchset(
        &base.0,
        "Practitioner",
        &query,
        paging,
        items,
        total,
    )))
}

#[get("/Appointment/<id>")]
async fn read_appointment(
    _accepts: Accepts,
    id: i64,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Fhir<resources::Appointment>, FhirError> {
    let zone = zone.get();
    let appointment = db
        .read_and_record(
            move |conn| {
                appointments::find_visible(conn, &caller, id, &zone)?.ok_or(ApiError::NotFound)
            },
            move |tx| {
                let event = Event::new(Action::View).on(Entity::Appointment, id);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    Ok(Fhir(resources::Appointment::from(&appointment)))
}

#[get("/Appointment")]
async fn search_appointments(
    _accepts: Accepts,
    uri: &Origin<'_>,
    base: Base,
    caller: Caller,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Fhir<Bundle<resources::Appointment>>, FhirError> {
    let zone = zone.get();
    let query = Query::parse(
        uri.query().map(|q| q.as_str()),
        &capability::names(&APPOINTMENT_PARAMS),
    )?;
    let mut errors = FieldErrors::new();
    let mut filter = appointments::Filter::by_start(query.paging(&mut errors));
    filter.patient = reference(&query, "patient", "Patient", &mut errors);
    filter.doctor = reference(&query, "practitioner", "Practitioner", &mut errors);
    let (from, until) = search::date_range(query.all("date"), "date", &mut errors);
    // Days in the clinic's zone: from the start of the first to the start
    // of the day after the last.
    let day_start = |day: time::Date| {
        clinic_time::jiff_date(day).and_then(|d| clinic_time::day_start(d, &zone))
    };
    filter.from = from.and_then(day_start);
    filter.to = until.and_then(time::Date::next_day).and_then(day_start);
    let filter = http::checked(filter, errors)?;
    let paging = filter.paging;
    let (found, total) = db
        .read_and_record(
            move |conn| appointments::find_page(conn, &caller, &filter, &zone),
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Appointment);
                audit::record(tx, &caller, event)
            },
        )
        .await?;
    let items = found
        .iter()
        .map(|a| (a.id, resources::Appointment::from(a)))
        .collect();
    Ok(Fhir(Bundle::searchset(
        &base.0,
        "Appointment",
        &query,
        paging,
        items,
        total,
    )))
}

/// A reference parameter (`Patient/12` or `12`) as the id it names.
fn reference(query: &Query, name: &str, kind: &str, errors: &mut FieldErrors) -> Option<i64> {
    let raw = query.one(name)?;
    let id = raw.strip_prefix(&format!("{kind}/")).unwrap_or(raw);
    let id = id.parse::<i64>().ok().filter(|id| *id > 0);
    if id.is_none() {
        http::push(errors, name, format!("Must be {kind}/<id> or the id."));
    }
    id
}
