//! Doctors: `/api/doctors`.
//!
//! Every authenticated user reads doctors; only `staff` and `admin` write
//! them (`user` → `403`), checked once, by the `Writer` guard. `DELETE`
//! archives the doctor and turns their `ACTIVE` mappings `INACTIVE`; an
//! admin lists archived doctors with `?archived=true` and restores one with
//! `POST /api/doctors/<id>/restore/`.
//!
//! Compatibility: `experience_years` is accepted and answered beside
//! `years_of_experience`, `contact_number` beside `phone`, `name` instead of
//! `first_name`/`last_name`.

use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::audit::{self, Action, Entity, Event};
use crate::auth::{Admin, Caller};
use crate::db::Db;
use crate::error::{self, ApiError, FieldErrors};
use crate::http::{self, JsonBody, Listing, Page};
use crate::validation::{self, Fields};

pub fn routes() -> Vec<Route> {
    routes![list, create, read, replace, update, archive, restore]
}

/// A caller allowed to write doctors (staff or admin).
pub struct Writer(Caller);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Writer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let caller = rocket::outcome::try_outcome!(req.guard::<Caller>().await);
        if caller.writes_doctors() {
            Outcome::Success(Writer(caller))
        } else {
            Outcome::Error((error::park(req, ApiError::forbidden()), ()))
        }
    }
}

/// The fields a client writes, as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DoctorFields {
    pub first_name: String,
    pub last_name: Option<String>,
    pub specialization: String,
    pub years_of_experience: Option<i64>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub qualification: Option<String>,
    pub license_number: Option<String>,
    pub available_days: Option<String>,
    pub available_time: Option<String>,
    pub bio: Option<String>,
    pub languages_spoken: Option<String>,
    pub city: Option<String>,
    pub is_available: bool,
    /// Answered as `consultation_fee`, a number with two decimals.
    #[serde(skip)]
    pub fee_cents: Option<i64>,
}

impl DoctorFields {
    fn empty() -> Self {
        Self {
            first_name: String::new(),
            last_name: None,
            specialization: String::new(),
            years_of_experience: None,
            phone: None,
            email: None,
            qualification: None,
            license_number: None,
            available_days: None,
            available_time: None,
            bio: None,
            languages_spoken: None,
            city: None,
            is_available: true,
            fee_cents: None,
        }
    }
}

/// A doctor as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Doctor {
    pub id: i64,
    pub name: String,
    /// The same as `years_of_experience` (for older clients).
    pub experience_years: Option<i64>,
    /// The same as `phone` (for older clients).
    pub contact_number: Option<String>,
    #[schema(minimum = 0)]
    pub consultation_fee: Option<f64>,
    #[serde(flatten)]
    pub fields: DoctorFields,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl Doctor {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let fields = DoctorFields {
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            specialization: row.get("specialization")?,
            years_of_experience: row.get("years_of_experience")?,
            phone: row.get("phone")?,
            email: row.get("email")?,
            qualification: row.get("qualification")?,
            license_number: row.get("license_number")?,
            available_days: row.get("available_days")?,
            available_time: row.get("available_time")?,
            bio: row.get("bio")?,
            languages_spoken: row.get("languages_spoken")?,
            city: row.get("city")?,
            is_available: row.get("is_available")?,
            fee_cents: row.get("consultation_fee_cents")?,
        };
        Ok(Self {
            id: row.get("id")?,
            name: validation::full_name(&fields.first_name, fields.last_name.as_deref()),
            experience_years: fields.years_of_experience,
            contact_number: fields.phone.clone(),
            // Cents below 10^11 are exact in an f64.
            #[allow(clippy::cast_precision_loss)]
            consultation_fee: fields.fee_cents.map(|cents| cents as f64 / 100.0),
            fields,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// Reads `body` onto `record`; with `complete` (create, PUT) the required
/// fields must be present.
fn apply(
    body: &Map<String, Value>,
    record: &mut DoctorFields,
    complete: bool,
) -> Result<(), ApiError> {
    let mut f = Fields::new(body);
    f.person_name(&mut record.first_name, &mut record.last_name, complete);
    let specialization = f.text(&["specialization"], 100);
    if let Some(specialization) = f.require(&["specialization"], specialization, complete) {
        record.specialization = specialization;
    }
    if let Some(years) = f.integer(&["years_of_experience", "experience_years"], 0, 70) {
        record.years_of_experience = years;
    }
    if let Some(phone) = f.phone(&["phone", "contact_number"]) {
        record.phone = phone;
    }
    if let Some(email) = f.email("email") {
        record.email = email;
    }
    if let Some(fee) = f.money(&["consultation_fee"]) {
        record.fee_cents = fee;
    }
    for (name, slot, max) in [
        ("qualification", &mut record.qualification, 200),
        ("license_number", &mut record.license_number, 100),
        ("available_days", &mut record.available_days, 200),
        ("available_time", &mut record.available_time, 200),
        ("languages_spoken", &mut record.languages_spoken, 200),
        ("city", &mut record.city, 200),
    ] {
        if let Some(value) = f.text(&[name], max) {
            *slot = value;
        }
    }
    if let Some(value) = f.multiline(&["bio"], 10_000) {
        record.bio = value;
    }
    if let Some(available) = f.boolean("is_available") {
        record.is_available = available;
    }
    f.finish()
}

/// `GET /api/doctors` query.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DoctorQuery<'r> {
    /// Name, specialization or city: a case-insensitive substring.
    #[param(max_length = 200)]
    search: Option<&'r str>,
    /// The specialization, in any case.
    specialization: Option<&'r str>,
    /// The city, in any case.
    city: Option<&'r str>,
    #[param(value_type = Option<bool>)]
    is_available: Option<&'r str>,
    /// At least this many years of experience.
    #[param(value_type = Option<i64>)]
    min_experience: Option<&'r str>,
    /// A consultation fee of at most this (at most two decimals).
    #[param(value_type = Option<f64>, minimum = 0)]
    max_fee: Option<&'r str>,
    /// `true`: only archived doctors (admins only, else `403`).
    #[param(value_type = Option<bool>)]
    archived: Option<&'r str>,
    #[param(schema_with = ordering_schema)]
    ordering: Option<&'r str>,
    /// 1-based; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<&'r str>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<&'r str>,
}

fn ordering_schema() -> utoipa::openapi::Object {
    http::ordering_schema(ORDERING)
}

/// A validated doctor list request.
struct DoctorFilter {
    listing: Listing,
    specialization: Option<String>,
    city: Option<String>,
    is_available: Option<bool>,
    min_experience: Option<i64>,
    max_fee_cents: Option<i64>,
}

const ORDERING: &[(&str, &str)] = &[
    ("id", "id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("specialization", "specialization"),
    ("years_of_experience", "years_of_experience"),
    ("consultation_fee", "consultation_fee_cents"),
    ("created_at", "created_at"),
];

impl DoctorQuery<'_> {
    fn validate(&self, caller: &Caller) -> Result<DoctorFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let listing = Listing::parse(
            self.search,
            self.archived,
            (self.ordering, ORDERING),
            (self.page, self.page_size),
            &mut errors,
        );
        let min_experience = self.min_experience.map(|raw| raw.trim().parse::<i64>());
        if matches!(min_experience, Some(Err(_))) {
            errors
                .entry("min_experience".into())
                .or_default()
                .push("Must be a whole number.".into());
        }
        let max_fee = self.max_fee.map(|raw| validation::parse_cents(raw.trim()));
        if matches!(max_fee, Some(None)) {
            errors
                .entry("max_fee".into())
                .or_default()
                .push("Must be an amount with at most two decimals.".into());
        }
        let filter = DoctorFilter {
            specialization: http::text_param(self.specialization),
            city: http::text_param(self.city),
            is_available: http::flag(&mut errors, "is_available", self.is_available),
            min_experience: min_experience.and_then(Result::ok),
            max_fee_cents: max_fee.flatten(),
            listing,
        };
        let filter = http::checked(filter, errors)?;
        filter.listing.allowed_for(caller)?;
        Ok(filter)
    }
}

#[utoipa::path(tag = "doctors", params(DoctorQuery), responses((status = 200, description = "A page of the doctors, archived ones left out; `?archived=true` (admin only, else `403`) lists only archived ones", body = [Doctor])), security(("bearer" = [])))]
#[get("/doctors?<query..>")]
async fn list(
    query: DoctorQuery<'_>,
    caller: Caller,
    db: &State<Db>,
) -> Result<Page<Doctor>, ApiError> {
    let filter = query.validate(&caller)?;
    let paging = filter.listing.paging;
    let (items, total) = db.read(move |conn| sql::select_page(conn, &filter)).await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "doctors", request_body = crate::request_bodies::DoctorInput, responses((status = 201, description = "The new doctor (staff, admin; a `user` gets `403`)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[post("/doctors", data = "<body>")]
async fn create(
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Created<Json<Doctor>>, ApiError> {
    let mut record = DoctorFields::empty();
    apply(&body.0, &mut record, true)?;
    let doctor = db
        .write(move |tx| {
            let doctor = sql::insert(tx, &writer.0, &record)?;
            let fields = audit::changed_fields(&DoctorFields::empty(), &record);
            let event = Event::new(Action::Create).on(Entity::Doctor, doctor.id);
            audit::record(tx, &writer.0, event.fields(fields))?;
            Ok(doctor)
        })
        .await?;
    Ok(Created::new(format!("/api/doctors/{}/", doctor.id)).body(Json(doctor)))
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), responses((status = 200, description = "One doctor", body = Doctor)), security(("bearer" = [])))]
#[get("/doctors/<id>")]
async fn read(id: i64, _caller: Caller, db: &State<Db>) -> Result<Json<Doctor>, ApiError> {
    let doctor = db.read(move |conn| sql::find(conn, id)).await?;
    doctor.map(Json).ok_or(ApiError::NotFound)
}

/// PUT: required fields must be present; omitted optional fields keep their values.
#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), request_body = crate::request_bodies::DoctorInput, responses((status = 200, description = "The doctor, changed (staff, admin; required fields must be present, omitted optional ones keep their values)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[put("/doctors/<id>", data = "<body>")]
async fn replace(
    id: i64,
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Json<Doctor>, ApiError> {
    db.write(move |tx| sql::change(tx, &writer.0, id, &body.0, true))
        .await
        .map(Json)
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), request_body = crate::request_bodies::DoctorChange, responses((status = 200, description = "The doctor, with the given fields changed (staff, admin)", body = Doctor), (status = 409, description = "`duplicate`: another doctor has this email or license number")), security(("bearer" = [])))]
#[patch("/doctors/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    writer: Writer,
    db: &State<Db>,
) -> Result<Json<Doctor>, ApiError> {
    db.write(move |tx| sql::change(tx, &writer.0, id, &body.0, false))
        .await
        .map(Json)
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "A doctor's id")), responses((status = 204, description = "Archived, and their `ACTIVE` mappings made `INACTIVE` (staff, admin)")), security(("bearer" = [])))]
#[delete("/doctors/<id>")]
async fn archive(id: i64, writer: Writer, db: &State<Db>) -> Result<NoContent, ApiError> {
    let archived = db.write(move |tx| sql::archive(tx, &writer.0, id)).await?;
    if archived {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "doctors", params(("id" = i64, Path, description = "An archived doctor's id")), responses((status = 200, description = "The doctor, restored (admin); a live one is answered as it is", body = Doctor)), security(("bearer" = [])))]
#[post("/doctors/<id>/restore")]
async fn restore(id: i64, admin: Admin, db: &State<Db>) -> Result<Json<Doctor>, ApiError> {
    let doctor = db.write(move |tx| sql::restore(tx, &admin.0, id)).await?;
    doctor.map(Json).ok_or(ApiError::NotFound)
}

/// Doctor SQL; `find_any` is also used by `mappings` for `doctor_details`.
pub mod sql {
    use rusqlite::{named_params, params, Connection, OptionalExtension, Transaction};
    use serde_json::{Map, Value};

    use super::{apply, Doctor, DoctorFields, DoctorFilter};
    use crate::audit::{self, Action, Entity, Event};
    use crate::auth::Caller;
    use crate::db::{self, NamedValues, ResultExt};
    use crate::error::ApiError;
    use crate::search::Conditions;
    use crate::validation;

    const SELECT: &str = "SELECT id, first_name, last_name, specialization, years_of_experience, phone, email,
            qualification, license_number, consultation_fee_cents, available_days, available_time, bio,
            languages_spoken, city, is_available, created_at, updated_at
       FROM doctors";

    /// A doctor that is not archived.
    pub fn find(conn: &Connection, id: i64) -> Result<Option<Doctor>, ApiError> {
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT} WHERE id = ?1 AND deleted_at IS NULL"))?;
        Ok(stmt.query_row([id], Doctor::from_row).optional()?)
    }

    /// A doctor, archived or not (an old mapping still names its doctor).
    pub fn find_any(conn: &Connection, id: i64) -> Result<Option<Doctor>, ApiError> {
        let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?;
        Ok(stmt.query_row([id], Doctor::from_row).optional()?)
    }

    fn search_text(r: &DoctorFields) -> String {
        validation::search_text(
            &[
                Some(&r.first_name),
                r.last_name.as_deref(),
                Some(&r.specialization),
                r.city.as_deref(),
            ],
            &[],
        )
    }

    fn unique_errors<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
        result
            .on_unique("doctors.email", || {
                ApiError::duplicate("A doctor with this email already exists.")
            })
            .on_unique("doctors.license_number", || {
                ApiError::duplicate("A doctor with this license number already exists.")
            })
    }

    /// The columns both writes set, in one place; `:id`/`:created_by` are added per statement.
    fn write_params(r: &DoctorFields) -> NamedValues<'_> {
        vec![
            (":first_name", Box::new(&r.first_name)),
            (":last_name", Box::new(&r.last_name)),
            (":specialization", Box::new(&r.specialization)),
            (":years", Box::new(r.years_of_experience)),
            (":phone", Box::new(&r.phone)),
            (":email", Box::new(&r.email)),
            (":qualification", Box::new(&r.qualification)),
            (":license_number", Box::new(&r.license_number)),
            (":fee", Box::new(r.fee_cents)),
            (":days", Box::new(&r.available_days)),
            (":time", Box::new(&r.available_time)),
            (":bio", Box::new(&r.bio)),
            (":languages", Box::new(&r.languages_spoken)),
            (":city", Box::new(&r.city)),
            (":available", Box::new(r.is_available)),
            (":search_text", Box::new(search_text(r))),
            (":now", Box::new(db::now())),
        ]
    }

    pub fn insert(
        conn: &Connection,
        caller: &Caller,
        record: &DoctorFields,
    ) -> Result<Doctor, ApiError> {
        let mut values = write_params(record);
        values.push((":created_by", Box::new(caller.id)));
        let inserted = conn
            .prepare_cached(
                "INSERT INTO doctors (first_name, last_name, specialization, years_of_experience, phone, email,
                        qualification, license_number, consultation_fee_cents, available_days, available_time, bio,
                        languages_spoken, city, is_available, search_text, created_by, created_at, updated_at)
                 VALUES (:first_name, :last_name, :specialization, :years, :phone, :email, :qualification,
                        :license_number, :fee, :days, :time, :bio, :languages, :city, :available, :search_text,
                        :created_by, :now, :now)
                 RETURNING id",
            )?
            .query_row(db::bind(&values).as_slice(), |row| row.get::<_, i64>(0));
        let id = unique_errors(inserted.map_err(ApiError::from))?;
        find_any(conn, id)?.ok_or(ApiError::NotFound)
    }

    /// PUT/PATCH in one transaction: read, apply the body, write whole.
    pub fn change(
        tx: &Transaction<'_>,
        caller: &Caller,
        id: i64,
        body: &Map<String, Value>,
        complete: bool,
    ) -> Result<Doctor, ApiError> {
        let before = find(tx, id)?.ok_or(ApiError::NotFound)?.fields;
        let mut record = before.clone();
        apply(body, &mut record, complete)?;
        let mut values = write_params(&record);
        values.push((":id", Box::new(id)));
        let updated = tx
            .prepare_cached(
                "UPDATE doctors SET first_name = :first_name, last_name = :last_name,
                        specialization = :specialization, years_of_experience = :years, phone = :phone,
                        email = :email, qualification = :qualification, license_number = :license_number,
                        consultation_fee_cents = :fee, available_days = :days, available_time = :time,
                        bio = :bio, languages_spoken = :languages, city = :city, is_available = :available,
                        search_text = :search_text, updated_at = :now
                  WHERE id = :id",
            )?
            .execute(db::bind(&values).as_slice());
        unique_errors(updated.map_err(ApiError::from))?;
        let doctor = find(tx, id)?.ok_or(ApiError::NotFound)?;
        let event = Event::new(Action::Update).on(Entity::Doctor, id);
        audit::record(
            tx,
            caller,
            event.fields(audit::changed_fields(&before, &record)),
        )?;
        Ok(doctor)
    }

    /// Archives a doctor and ends their active mappings; `false` if none.
    pub fn archive(tx: &Transaction<'_>, caller: &Caller, id: i64) -> Result<bool, ApiError> {
        let now = db::now();
        let changed = tx.execute(
            "UPDATE doctors SET deleted_at = ?2, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, now],
        )?;
        tx.execute(
            "UPDATE mappings SET status = 'INACTIVE', updated_at = ?2 WHERE doctor_id = ?1 AND status = 'ACTIVE'",
            params![id, now],
        )?;
        if changed == 1 {
            audit::record(
                tx,
                caller,
                Event::new(Action::Archive).on(Entity::Doctor, id),
            )?;
        }
        Ok(changed == 1)
    }

    /// Brings an archived doctor back (a live one is left as is).
    pub fn restore(
        tx: &Transaction<'_>,
        caller: &Caller,
        id: i64,
    ) -> Result<Option<Doctor>, ApiError> {
        let changed = tx.execute(
            "UPDATE doctors SET deleted_at = NULL, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NOT NULL",
            params![id, db::now()],
        )?;
        if changed == 1 {
            audit::record(
                tx,
                caller,
                Event::new(Action::Restore).on(Entity::Doctor, id),
            )?;
        }
        let doctor = find(tx, id)?;
        Ok(doctor)
    }

    pub(super) fn select_page(
        conn: &Connection,
        filter: &DoctorFilter,
    ) -> Result<(Vec<Doctor>, i64), ApiError> {
        let listing = &filter.listing;
        let mut conditions = Conditions::new("doctors", listing.archived);
        conditions
            .search(listing.search.as_deref())
            .filter(
                "specialization = :specialization COLLATE NOCASE",
                ":specialization",
                filter.specialization.as_deref(),
            )
            .filter(
                "city = :city COLLATE NOCASE",
                ":city",
                filter.city.as_deref(),
            )
            .filter(
                "is_available = :available",
                ":available",
                filter.is_available,
            )
            .filter(
                "years_of_experience >= :min_experience",
                ":min_experience",
                filter.min_experience,
            )
            .filter(
                "consultation_fee_cents <= :max_fee",
                ":max_fee",
                filter.max_fee_cents,
            );
        let where_clause = conditions.sql();
        let values = conditions.values();
        let total: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM doctors {where_clause}"))?
            .query_row(values.as_slice(), |row| row.get(0))?;
        let (limit, offset) = (listing.paging.limit(), listing.paging.offset());
        let mut page_values = values.clone();
        page_values.extend(named_params! { ":limit": limit, ":offset": offset });
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} {where_clause} ORDER BY {} LIMIT :limit OFFSET :offset",
            listing.ordering.sql("doctors")
        ))?;
        let doctors = stmt
            .query_map(page_values.as_slice(), Doctor::from_row)?
            .collect::<Result<_, _>>()?;
        Ok((doctors, total))
    }
}
