//! `GET /api/audit/` (a page of the trail, newest first) and
//! `GET /api/audit/export` (the same filters as CSV). Admins only; both are
//! themselves recorded, since the trail says who saw which record.

use rocket::{get, routes, FromForm, Route, State};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime, UtcOffset};

use super::sql::{self, AuditFilter, Entry};
use super::{record, Action, Entity, Event};
use crate::auth::Admin;
use crate::clinic_time::{self, ClinicZone};
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::http::download::{self, CsvFile, CSV_MAX_ROWS};
use crate::http::{self, Page, Paging};
use crate::validation;

pub fn routes() -> Vec<Route> {
    super::denied::about(Entity::Audit, routes![list, export])
}

/// The filters both routes take.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct AuditQuery<'r> {
    /// Whose actions (an account id).
    #[param(value_type = Option<i64>, minimum = 1)]
    user_id: Option<&'r str>,
    /// The kind of record.
    #[param(value_type = Option<Entity>)]
    entity: Option<&'r str>,
    #[param(value_type = Option<i64>, minimum = 1)]
    entity_id: Option<&'r str>,
    #[param(schema_with = action_schema)]
    action: Option<&'r str>,
    /// Leave out one action: `exclude_action=search` hides the searches,
    /// which are most of a working day's trail.
    #[param(schema_with = action_schema)]
    exclude_action: Option<&'r str>,
    // `from` and `to`: described by `time_bound_schema` (a `schema_with`
    // parameter loses its doc comment).
    #[param(schema_with = time_bound_schema)]
    from: Option<&'r str>,
    #[param(schema_with = time_bound_schema)]
    to: Option<&'r str>,
    /// 1-based; default 1 (the list only).
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<&'r str>,
    /// Default 50 (the list only).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<&'r str>,
}

/// `from`/`to`: a date or a date and time (see `time_bound`).
fn time_bound_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        AnyOfBuilder, KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type,
    };
    let string = |format| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(format)))
    };
    Schema::AnyOf(
        AnyOfBuilder::new()
            .description(Some(
                "A date (`YYYY-MM-DD`: from its start, or to its end, on the clinic's clock) \
                 or an RFC 3339 time; both bounds are inclusive.",
            ))
            .item(string(KnownFormat::Date))
            .item(string(KnownFormat::DateTime))
            .build(),
    )
}

fn action_schema() -> utoipa::openapi::Object {
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
    validation::one_of_schema(&names, false)
}

impl AuditQuery<'_> {
    /// The filter, with a bare date read as a day on the clinic's clock
    /// (`zone`), as the screen shows every time.
    fn validate(&self, zone: &jiff::tz::TimeZone) -> Result<(AuditFilter, Paging), ApiError> {
        let mut errors = FieldErrors::new();
        let mut id = |name: &str, raw: Option<&str>| {
            let raw = raw?.trim();
            let parsed = raw.parse::<i64>().ok().filter(|n| *n > 0);
            if parsed.is_none() {
                push(&mut errors, name, "Must be a positive whole number.");
            }
            parsed
        };
        let user_id = id("user_id", self.user_id);
        let entity_id = id("entity_id", self.entity_id);
        let entity = http::choice(
            &mut errors,
            "entity",
            self.entity,
            |e| Entity::parse(e).map(Entity::as_str),
            "patient, doctor, mapping, user, setting, backup, audit",
        )
        .and_then(Entity::parse);
        let mut action = |name: &str, raw: Option<&str>| {
            let parsed = Action::parse(raw?.trim());
            if parsed.is_none() {
                push(&mut errors, name, "Is not an audited action.");
            }
            parsed
        };
        let exclude_action = action("exclude_action", self.exclude_action);
        let action = action("action", self.action);
        let from = self.from.and_then(|raw| {
            let bound = time_bound(raw, false, zone);
            if bound.is_none() {
                push(&mut errors, "from", TIME_FORMAT);
            }
            bound
        });
        let until = self.to.and_then(|raw| {
            let bound = time_bound(raw, true, zone);
            if bound.is_none() {
                push(&mut errors, "to", TIME_FORMAT);
            }
            bound
        });
        let paging = Paging::parse(self.page, self.page_size, &mut errors);
        let filter = AuditFilter {
            user_id,
            entity,
            entity_id,
            action,
            exclude_action,
            from,
            until,
        };
        http::checked((filter, paging), errors)
    }
}

const TIME_FORMAT: &str = "Must be a date (YYYY-MM-DD) or an RFC 3339 time.";

fn push(errors: &mut FieldErrors, name: &str, message: &str) {
    errors
        .entry(name.to_owned())
        .or_default()
        .push(message.to_owned());
}

/// A `from`/`to` value as a bound in the stored format (UTC, to the second).
/// `from` is inclusive; `to` is made exclusive: the day after a date, the
/// second after a time, so both forms of `to` include what they name.
fn time_bound(raw: &str, upper: bool, zone: &jiff::tz::TimeZone) -> Option<String> {
    let raw = raw.trim();
    if let Some(date) = validation::parse_date(raw) {
        // `to` takes the whole day: up to the start of the next one.
        let date = clinic_time::jiff_date(date)?;
        let day = if upper { date.tomorrow().ok()? } else { date };
        return Some(clinic_time::stored(clinic_time::day_start(day, zone)?));
    }
    let time = OffsetDateTime::parse(raw, &Rfc3339)
        .ok()?
        .to_offset(UtcOffset::UTC);
    let second = time.replace_nanosecond(0).ok()?;
    let instant = if upper {
        second + Duration::seconds(1)
    } else {
        second
    };
    instant.format(&Rfc3339).ok()
}

#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, description = "A page of the audit trail, newest first (admin)", body = [Entry])), security(("bearer" = [])))]
#[get("/audit?<query..>")]
async fn list(
    query: AuditQuery<'_>,
    admin: Admin,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<Page<Entry>, ApiError> {
    let (filter, paging) = query.validate(&zone.get())?;
    let (items, total) = db
        .read_and_record(
            move |conn| {
                let total = sql::count(conn, &filter)?;
                let items = sql::select(conn, &filter, Some(paging))?;
                Ok((items, total))
            },
            move |tx| {
                let event = Event::new(Action::Search).about(Entity::Audit);
                record(tx, &admin.0, event)
            },
        )
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "audit", params(AuditQuery), responses((status = 200, description = "The matching audit trail as CSV, newest first (admin); over 100,000 rows is `400`", content_type = "text/csv", headers(("Content-Disposition" = String, description = "`attachment` with the file name")))), security(("bearer" = [])))]
#[get("/audit/export?<query..>")]
async fn export(
    query: AuditQuery<'_>,
    admin: Admin,
    db: &State<Db>,
    zone: &State<ClinicZone>,
) -> Result<CsvFile, ApiError> {
    let (filter, _) = query.validate(&zone.get())?;
    let rows = db
        .read_and_record(
            move |conn| {
                let total = sql::count(conn, &filter)?;
                if total > CSV_MAX_ROWS {
                    return Err(download::too_many_rows(total, "`from` and `to`"));
                }
                sql::select(conn, &filter, None)
            },
            move |tx| {
                let event = Event::new(Action::Export).about(Entity::Audit);
                record(tx, &admin.0, event)
            },
        )
        .await?;
    let name = format!("clinicdesk-audit-{}.csv", zone.today());
    CsvFile::build(&name, &CSV_HEADER, rows.iter().map(csv_row))
}

const CSV_HEADER: [&str; 12] = [
    "id",
    "at",
    "actor_id",
    "actor_role",
    "action",
    "entity",
    "entity_id",
    "outcome",
    "client_ip",
    "request_id",
    "fields",
    // Added after the others, so scripts reading columns by position keep working.
    "related_id",
];

fn csv_row(row: &Entry) -> Vec<String> {
    let text = |value: Option<String>| value.unwrap_or_default();
    vec![
        row.id.to_string(),
        row.at.clone(),
        text(row.actor_id.map(|id| id.to_string())),
        text(row.actor_role.map(|r| r.as_str().to_owned())),
        row.action.clone(),
        text(row.entity.clone()),
        text(row.entity_id.map(|id| id.to_string())),
        row.outcome.clone(),
        text(row.client_ip.clone()),
        text(row.request_id.clone()),
        row.fields.join(" "),
        text(row.related_id.map(|id| id.to_string())),
    ]
}
