//! Patients: `/api/patients`.
//!
//! A `user` sees and edits only the patients they created; `staff` and
//! `admin` see all. Someone else's patient answers `404`, exactly like one
//! that does not exist. `DELETE` archives; archived patients vanish from
//! every read except an admin's `?archived=true` list, and an admin brings
//! one back with `POST /api/patients/<id>/restore/`.
//!
//! Compatibility: `contact_number` is accepted and answered beside `phone`;
//! `name` is accepted instead of `first_name`/`last_name`.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, put, routes, FromForm, Route, State};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::auth::{Admin, Caller};
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, JsonBody, Listing, Page};
use crate::validation::{self, Fields};

pub fn routes() -> Vec<Route> {
    routes![list, create, read, replace, update, archive, restore]
}

/// The fields a client writes, as stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PatientFields {
    pub first_name: String,
    pub last_name: Option<String>,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `M`, `F`, `O` or `U`.
    pub gender: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub blood_group: Option<String>,
    pub address: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub medical_history: Option<String>,
    pub allergies: Option<String>,
    pub current_medications: Option<String>,
    pub emergency_contact_name: Option<String>,
    pub emergency_contact_phone: Option<String>,
    pub emergency_contact_relation: Option<String>,
    pub is_active: bool,
    /// The age given when the date of birth is unknown (answered as `age`).
    #[serde(skip)]
    pub stored_age: Option<i64>,
}

impl PatientFields {
    fn empty() -> Self {
        Self {
            first_name: String::new(),
            last_name: None,
            date_of_birth: None,
            gender: None,
            phone: None,
            email: None,
            blood_group: None,
            address: None,
            city: None,
            state: None,
            postal_code: None,
            country: None,
            medical_history: None,
            allergies: None,
            current_medications: None,
            emergency_contact_name: None,
            emergency_contact_phone: None,
            emergency_contact_relation: None,
            is_active: true,
            stored_age: None,
        }
    }
}

/// A patient as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Patient {
    pub id: i64,
    /// The full name.
    pub name: String,
    /// Whole years from `date_of_birth` when known, else the age given.
    pub age: Option<i64>,
    /// The same as `phone` (for older clients).
    pub contact_number: Option<String>,
    #[serde(flatten)]
    pub fields: PatientFields,
    pub created_by: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl Patient {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        let fields = PatientFields {
            first_name: row.get("first_name")?,
            last_name: row.get("last_name")?,
            date_of_birth: row.get("date_of_birth")?,
            gender: row.get("gender")?,
            phone: row.get("phone")?,
            email: row.get("email")?,
            blood_group: row.get("blood_group")?,
            address: row.get("address")?,
            city: row.get("city")?,
            state: row.get("state")?,
            postal_code: row.get("postal_code")?,
            country: row.get("country")?,
            medical_history: row.get("medical_history")?,
            allergies: row.get("allergies")?,
            current_medications: row.get("current_medications")?,
            emergency_contact_name: row.get("emergency_contact_name")?,
            emergency_contact_phone: row.get("emergency_contact_phone")?,
            emergency_contact_relation: row.get("emergency_contact_relation")?,
            is_active: row.get("is_active")?,
            stored_age: row.get("age")?,
        };
        let age = match fields
            .date_of_birth
            .as_deref()
            .and_then(validation::parse_date)
        {
            Some(birth) => Some(validation::age_on(birth, validation::today())),
            None => fields.stored_age,
        };
        Ok(Self {
            id: row.get("id")?,
            name: validation::full_name(&fields.first_name, fields.last_name.as_deref()),
            age,
            contact_number: fields.phone.clone(),
            fields,
            created_by: row.get("created_by")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// `M/F/O/U`, or `male/female/other/unknown` in any case.
pub fn normalise_gender(value: &str) -> Option<&'static str> {
    match value.to_lowercase().as_str() {
        "m" | "male" => Some("M"),
        "f" | "female" => Some("F"),
        "o" | "other" => Some("O"),
        "u" | "unknown" => Some("U"),
        _ => None,
    }
}

fn normalise_blood_group(value: &str) -> Option<&'static str> {
    ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"]
        .into_iter()
        .find(|group| group.eq_ignore_ascii_case(value.trim()))
}

/// Reads `body` onto `record`: absent fields keep their value. With
/// `complete` (create, PUT) the required fields must be present.
fn apply(
    body: &Map<String, Value>,
    record: &mut PatientFields,
    complete: bool,
) -> Result<(), ApiError> {
    let mut f = Fields::new(body);
    // `name` stands in for first/last name only when `first_name` is absent.
    if !f.has(&["first_name"]) && f.has(&["name"]) {
        let name = f.text(&["name"], 201);
        if let Some(name) = f.require(&["name"], name, true) {
            let (first, last) = validation::split_name(&name);
            check_length(&mut f, "name", &first, 100);
            record.first_name = first;
            record.last_name = last;
        }
    } else {
        let first = f.text(&["first_name"], 100);
        if let Some(first) = f.require(&["first_name"], first, complete) {
            record.first_name = first;
        }
        if let Some(last) = f.text(&["last_name"], 100) {
            record.last_name = last;
        }
    }
    if let Some(date) = f.date("date_of_birth") {
        if let Some(Err(message)) = date.map(validation::check_birth_date) {
            f.error("date_of_birth", message);
        }
        record.date_of_birth = date.map(|d| d.to_string());
    }
    if let Some(age) = f.integer(&["age"], 0, 130) {
        record.stored_age = age;
    }
    if let Some(gender) = f.choice(
        &["gender"],
        normalise_gender,
        "M, F, O, U (or male, female, other, unknown)",
    ) {
        record.gender = gender.map(str::to_owned);
    }
    if let Some(phone) = f.phone(&["phone", "contact_number"]) {
        record.phone = phone;
    }
    if let Some(email) = f.email("email") {
        record.email = email;
    }
    if let Some(group) = f.choice(
        &["blood_group"],
        normalise_blood_group,
        "A+, A-, B+, B-, AB+, AB-, O+, O-",
    ) {
        record.blood_group = group.map(str::to_owned);
    }
    for (name, slot) in [
        ("address", &mut record.address),
        ("city", &mut record.city),
        ("state", &mut record.state),
        ("postal_code", &mut record.postal_code),
        ("country", &mut record.country),
        ("emergency_contact_name", &mut record.emergency_contact_name),
        (
            "emergency_contact_relation",
            &mut record.emergency_contact_relation,
        ),
    ] {
        if let Some(value) = f.text(&[name], 200) {
            *slot = value;
        }
    }
    for (name, slot) in [
        ("medical_history", &mut record.medical_history),
        ("allergies", &mut record.allergies),
        ("current_medications", &mut record.current_medications),
    ] {
        if let Some(value) = f.text(&[name], 10_000) {
            *slot = value;
        }
    }
    if let Some(phone) = f.phone(&["emergency_contact_phone"]) {
        record.emergency_contact_phone = phone;
    }
    if let Some(active) = f.boolean("is_active") {
        record.is_active = active;
    }
    f.finish()
}

fn check_length(f: &mut Fields<'_>, name: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        f.error(
            name,
            format!("The first name must be at most {max} characters."),
        );
    }
}

/// `GET /api/patients` query.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct PatientQuery<'r> {
    search: Option<&'r str>,
    gender: Option<&'r str>,
    city: Option<&'r str>,
    blood_group: Option<&'r str>,
    is_active: Option<&'r str>,
    archived: Option<&'r str>,
    ordering: Option<&'r str>,
    page: Option<&'r str>,
    page_size: Option<&'r str>,
}

/// A validated patient list request.
struct PatientFilter {
    listing: Listing,
    gender: Option<&'static str>,
    city: Option<String>,
    blood_group: Option<&'static str>,
    is_active: Option<bool>,
}

const ORDERING: &[(&str, &str)] = &[
    ("id", "id"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("date_of_birth", "date_of_birth"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

impl PatientQuery<'_> {
    fn validate(&self, caller: &Caller) -> Result<PatientFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let listing = Listing::parse(
            self.search,
            self.archived,
            (self.ordering, ORDERING),
            (self.page, self.page_size),
            &mut errors,
        );
        let filter = PatientFilter {
            gender: http::choice(
                &mut errors,
                "gender",
                self.gender,
                normalise_gender,
                "M, F, O, U",
            ),
            city: self
                .city
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
            blood_group: http::choice(
                &mut errors,
                "blood_group",
                self.blood_group,
                normalise_blood_group,
                "A+, A-, B+, B-, AB+, AB-, O+, O-",
            ),
            is_active: http::flag(&mut errors, "is_active", self.is_active),
            listing,
        };
        let filter = http::checked(filter, errors)?;
        if filter.listing.archived && !caller.is_admin() {
            return Err(ApiError::forbidden());
        }
        Ok(filter)
    }
}

#[utoipa::path(tag = "patients", responses((status = 200, description = "Patients the caller may see", body = [Patient])), security(("bearer" = [])))]
#[get("/patients?<query..>")]
async fn list(
    query: PatientQuery<'_>,
    caller: Caller,
    db: &State<Db>,
) -> Result<Page<Patient>, ApiError> {
    let filter = query.validate(&caller)?;
    let paging = filter.listing.paging;
    let (items, total) = db
        .run(move |conn| sql::select_page(conn, &caller, &filter))
        .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "patients", request_body = PatientFields, responses((status = 201, description = "Creates a patient", body = Patient)), security(("bearer" = [])))]
#[post("/patients", data = "<body>")]
async fn create(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Created<Json<Patient>>, ApiError> {
    let mut record = PatientFields::empty();
    apply(&body.0, &mut record, true)?;
    let patient = db
        .run(move |conn| sql::insert(conn, &caller, &record))
        .await?;
    Ok(Created::new(format!("/api/patients/{}/", patient.id)).body(Json(patient)))
}

#[utoipa::path(tag = "patients", responses((status = 200, description = "One patient", body = Patient)), security(("bearer" = [])))]
#[get("/patients/<id>")]
async fn read(id: i64, caller: Caller, db: &State<Db>) -> Result<Json<Patient>, ApiError> {
    let patient = db
        .run(move |conn| sql::find_visible(conn, &caller, id))
        .await?;
    patient.map(Json).ok_or(ApiError::NotFound)
}

/// PUT: required fields must be present; omitted optional fields keep their values.
#[utoipa::path(tag = "patients", request_body = PatientFields, responses((status = 200, description = "Replaces a patient (required fields must be present)", body = Patient)), security(("bearer" = [])))]
#[put("/patients/<id>", data = "<body>")]
async fn replace(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Patient>, ApiError> {
    db.run(move |conn| sql::change(conn, &caller, id, &body.0, true))
        .await
        .map(Json)
}

#[utoipa::path(tag = "patients", request_body = PatientFields, responses((status = 200, description = "Changes some fields of a patient", body = Patient)), security(("bearer" = [])))]
#[patch("/patients/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
) -> Result<Json<Patient>, ApiError> {
    db.run(move |conn| sql::change(conn, &caller, id, &body.0, false))
        .await
        .map(Json)
}

#[utoipa::path(tag = "patients", responses((status = 204, description = "Archives a patient")), security(("bearer" = [])))]
#[delete("/patients/<id>")]
async fn archive(id: i64, caller: Caller, db: &State<Db>) -> Result<NoContent, ApiError> {
    let archived = db.run(move |conn| sql::archive(conn, &caller, id)).await?;
    if archived {
        Ok(NoContent)
    } else {
        Err(ApiError::NotFound)
    }
}

#[utoipa::path(tag = "patients", responses((status = 200, description = "Restores an archived patient (admin)", body = Patient)), security(("bearer" = [])))]
#[post("/patients/<id>/restore")]
async fn restore(id: i64, _admin: Admin, db: &State<Db>) -> Result<Json<Patient>, ApiError> {
    let patient = db.run(move |conn| sql::restore(conn, id)).await?;
    patient.map(Json).ok_or(ApiError::NotFound)
}

/// Patient SQL. Visibility lives in the `WHERE` clause of every read, so
/// "not yours" and "missing" are the same `None`.
pub mod sql {
    use rusqlite::{named_params, params, Connection, OptionalExtension};
    use serde_json::{Map, Value};

    use super::{apply, Patient, PatientFields, PatientFilter};
    use crate::auth::Caller;
    use crate::db::{self, NamedValues};
    use crate::error::ApiError;
    use crate::validation;

    const SELECT: &str = "SELECT id, first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
            address, city, state, postal_code, country, medical_history, allergies, current_medications,
            emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
            created_by, created_at, updated_at
       FROM patients";

    /// The patient, if it exists, is not archived, and `caller` may see it.
    pub fn find_visible(
        conn: &Connection,
        caller: &Caller,
        id: i64,
    ) -> Result<Option<Patient>, ApiError> {
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} WHERE id = ?1 AND deleted_at IS NULL AND (?2 OR created_by = ?3)"
        ))?;
        Ok(stmt
            .query_row(
                params![id, caller.sees_all_patients(), caller.id],
                Patient::from_row,
            )
            .optional()?)
    }

    fn search_text(record: &PatientFields) -> String {
        validation::search_text(
            &[
                Some(&record.first_name),
                record.last_name.as_deref(),
                record.email.as_deref(),
            ],
            &[record.phone.as_deref()],
        )
    }

    /// The columns both writes set, in one place; each statement adds its own.
    fn write_params(r: &PatientFields) -> NamedValues<'_> {
        vec![
            (":first_name", Box::new(&r.first_name)),
            (":last_name", Box::new(&r.last_name)),
            (":date_of_birth", Box::new(&r.date_of_birth)),
            (":age", Box::new(r.stored_age)),
            (":gender", Box::new(&r.gender)),
            (":phone", Box::new(&r.phone)),
            (":email", Box::new(&r.email)),
            (":blood_group", Box::new(&r.blood_group)),
            (":address", Box::new(&r.address)),
            (":city", Box::new(&r.city)),
            (":state", Box::new(&r.state)),
            (":postal_code", Box::new(&r.postal_code)),
            (":country", Box::new(&r.country)),
            (":medical_history", Box::new(&r.medical_history)),
            (":allergies", Box::new(&r.allergies)),
            (":current_medications", Box::new(&r.current_medications)),
            (
                ":emergency_contact_name",
                Box::new(&r.emergency_contact_name),
            ),
            (
                ":emergency_contact_phone",
                Box::new(&r.emergency_contact_phone),
            ),
            (
                ":emergency_contact_relation",
                Box::new(&r.emergency_contact_relation),
            ),
            (":is_active", Box::new(r.is_active)),
            (":search_text", Box::new(search_text(r))),
            (":now", Box::new(db::now())),
        ]
    }

    pub fn insert(
        conn: &Connection,
        caller: &Caller,
        record: &PatientFields,
    ) -> Result<Patient, ApiError> {
        let mut values = write_params(record);
        values.push((":created_by", Box::new(caller.id)));
        let id: i64 = conn
            .prepare_cached(
                "INSERT INTO patients (first_name, last_name, date_of_birth, age, gender, phone, email, blood_group,
                        address, city, state, postal_code, country, medical_history, allergies, current_medications,
                        emergency_contact_name, emergency_contact_phone, emergency_contact_relation, is_active,
                        search_text, created_by, created_at, updated_at)
                 VALUES (:first_name, :last_name, :date_of_birth, :age, :gender, :phone, :email, :blood_group,
                        :address, :city, :state, :postal_code, :country, :medical_history, :allergies,
                        :current_medications, :emergency_contact_name, :emergency_contact_phone,
                        :emergency_contact_relation, :is_active, :search_text, :created_by, :now, :now)
                 RETURNING id",
            )?
            .query_row(db::bind(&values).as_slice(), |row| row.get(0))?;
        find_visible(conn, caller, id)?.ok_or(ApiError::NotFound)
    }

    /// PUT/PATCH in one transaction: read the current record, apply the body
    /// to it, write it whole. Someone else's patient is `404` before any
    /// validation, so errors cannot reveal that it exists.
    pub fn change(
        conn: &mut Connection,
        caller: &Caller,
        id: i64,
        body: &Map<String, Value>,
        complete: bool,
    ) -> Result<Patient, ApiError> {
        let tx = conn.transaction()?;
        let mut record = find_visible(&tx, caller, id)?
            .ok_or(ApiError::NotFound)?
            .fields;
        apply(body, &mut record, complete)?;
        let mut values = write_params(&record);
        values.push((":id", Box::new(id)));
        tx.prepare_cached(
            "UPDATE patients SET first_name = :first_name, last_name = :last_name, date_of_birth = :date_of_birth,
                    age = :age, gender = :gender, phone = :phone, email = :email, blood_group = :blood_group,
                    address = :address, city = :city, state = :state, postal_code = :postal_code,
                    country = :country, medical_history = :medical_history, allergies = :allergies,
                    current_medications = :current_medications, emergency_contact_name = :emergency_contact_name,
                    emergency_contact_phone = :emergency_contact_phone,
                    emergency_contact_relation = :emergency_contact_relation, is_active = :is_active,
                    search_text = :search_text, updated_at = :now
              WHERE id = :id",
        )?
        .execute(db::bind(&values).as_slice())?;
        let patient = find_visible(&tx, caller, id)?.ok_or(ApiError::NotFound)?;
        tx.commit()?;
        Ok(patient)
    }

    /// Archives a visible patient; `false` if there is none to archive.
    pub fn archive(conn: &Connection, caller: &Caller, id: i64) -> Result<bool, ApiError> {
        let changed = conn.execute(
            "UPDATE patients SET deleted_at = ?4, updated_at = ?4
              WHERE id = ?1 AND deleted_at IS NULL AND (?2 OR created_by = ?3)",
            params![id, caller.sees_all_patients(), caller.id, db::now()],
        )?;
        Ok(changed == 1)
    }

    /// Brings an archived patient back (admins only; a live one is left as is).
    pub fn restore(conn: &Connection, id: i64) -> Result<Option<Patient>, ApiError> {
        conn.execute(
            "UPDATE patients SET deleted_at = NULL, updated_at = ?2 WHERE id = ?1 AND deleted_at IS NOT NULL",
            params![id, db::now()],
        )?;
        let mut stmt =
            conn.prepare_cached(&format!("{SELECT} WHERE id = ?1 AND deleted_at IS NULL"))?;
        Ok(stmt.query_row([id], Patient::from_row).optional()?)
    }

    pub(super) fn select_page(
        conn: &Connection,
        caller: &Caller,
        filter: &PatientFilter,
    ) -> Result<(Vec<Patient>, i64), ApiError> {
        let where_clause =
            "WHERE (CASE WHEN :archived THEN deleted_at IS NOT NULL ELSE deleted_at IS NULL END)
              AND (:all OR created_by = :caller)
              AND (:search IS NULL OR search_text LIKE :search ESCAPE '\\')
              AND (:gender IS NULL OR gender = :gender)
              AND (:city IS NULL OR city = :city COLLATE NOCASE)
              AND (:blood_group IS NULL OR blood_group = :blood_group)
              AND (:is_active IS NULL OR is_active = :is_active)";
        let listing = &filter.listing;
        let search = listing.search.as_deref().map(validation::like_pattern);
        let params = named_params! {
            ":archived": listing.archived, ":all": caller.sees_all_patients(), ":caller": caller.id,
            ":search": search, ":gender": filter.gender, ":city": filter.city,
            ":blood_group": filter.blood_group, ":is_active": filter.is_active,
        };
        let total: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM patients {where_clause}"))?
            .query_row(params, |row| row.get(0))?;
        let (limit, offset) = (listing.paging.limit(), listing.paging.offset());
        let mut page_params = params.to_vec();
        page_params.extend(named_params! { ":limit": limit, ":offset": offset });
        let mut stmt = conn.prepare_cached(&format!(
            "{SELECT} {where_clause} ORDER BY {} LIMIT :limit OFFSET :offset",
            listing.ordering.sql("patients"),
        ))?;
        let patients = stmt
            .query_map(page_params.as_slice(), Patient::from_row)?
            .collect::<Result<_, _>>()?;
        Ok((patients, total))
    }
}
