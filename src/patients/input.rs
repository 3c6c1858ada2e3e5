//! Reading patient input: the body of a create or update (field by field,
//! every bad field reported at once) and the list query.

use rocket::FromForm;
use serde_json::{Map, Value};

use super::PatientFields;
use crate::auth::Caller;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Listing};
use crate::validation::{self, Fields};

/// The stored genders.
pub const GENDERS: [&str; 4] = ["M", "F", "O", "U"];

/// The blood groups accepted and stored.
pub const BLOOD_GROUPS: [&str; 8] = ["A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"];

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
    BLOOD_GROUPS
        .into_iter()
        .find(|group| group.eq_ignore_ascii_case(value.trim()))
}

/// Reads `body` onto `record`: absent fields keep their value. With
/// `complete` (create, PUT) the required fields must be present. `today`
/// is the clinic's (a date of birth may not be after it).
pub(super) fn apply(
    body: &Map<String, Value>,
    record: &mut PatientFields,
    complete: bool,
    today: time::Date,
) -> Result<(), ApiError> {
    let mut f = Fields::new(body);
    f.person_name(&mut record.first_name, &mut record.last_name, complete);
    if let Some(date) = f.date("date_of_birth") {
        if let Some(Err(message)) = date.map(|d| validation::check_birth_date(d, today)) {
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
        if let Some(value) = f.multiline(&[name], 10_000) {
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

/// `GET /api/patients` query.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PatientQuery<'r> {
    /// Name, phone or email: a case-insensitive substring.
    #[param(max_length = 200)]
    search: Option<&'r str>,
    #[param(schema_with = gender_query_schema)]
    gender: Option<&'r str>,
    /// The city, in any case.
    city: Option<&'r str>,
    #[param(schema_with = blood_group_query_schema)]
    blood_group: Option<&'r str>,
    #[param(value_type = Option<bool>)]
    is_active: Option<&'r str>,
    /// `true`: only archived patients (admins only, else `403`).
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

/// Every spelling `normalise_gender` accepts, lower case too.
fn gender_spellings() -> Vec<&'static str> {
    let mut spellings = GENDERS.to_vec();
    spellings.extend(["male", "female", "other", "unknown"]);
    spellings
}

/// A patient's `gender` as answered: the letter, or null.
pub(super) fn gender_schema() -> utoipa::openapi::Object {
    validation::one_of_schema(&GENDERS, true)
}

/// A patient's `blood_group` as answered, or null.
pub(super) fn blood_group_schema() -> utoipa::openapi::Object {
    validation::one_of_schema(&BLOOD_GROUPS, true)
}

/// What a `gender` in a body may hold (null or blank clears it).
pub fn gender_input_schema() -> utoipa::openapi::Object {
    validation::one_of_schema(&gender_spellings(), true)
}

fn gender_query_schema() -> utoipa::openapi::Object {
    let mut schema = validation::one_of_schema(&gender_spellings(), false);
    schema.description = Some("In any case.".into());
    schema
}

fn blood_group_query_schema() -> utoipa::openapi::Object {
    validation::one_of_schema(&BLOOD_GROUPS, false)
}

/// A validated patient list request.
pub(super) struct PatientFilter {
    pub(super) listing: Listing,
    pub(super) gender: Option<&'static str>,
    pub(super) city: Option<String>,
    pub(super) blood_group: Option<&'static str>,
    pub(super) is_active: Option<bool>,
}

impl PatientFilter {
    /// Whether anything but the caller's own visibility limits the list:
    /// a search, a filter, or the archive.
    pub(super) fn narrows(&self) -> bool {
        self.listing.search.is_some() || self.filtered()
    }

    /// The search term, when it is the only thing that narrows the list.
    pub(super) fn searches_only(&self) -> Option<&str> {
        if self.filtered() {
            return None;
        }
        self.listing.search.as_deref()
    }

    /// A filter or the archive. (Destructured, so a new filter cannot be
    /// forgotten here.)
    fn filtered(&self) -> bool {
        let Self {
            listing,
            gender,
            city,
            blood_group,
            is_active,
        } = self;
        listing.archived
            || gender.is_some()
            || city.is_some()
            || blood_group.is_some()
            || is_active.is_some()
    }
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
    pub(super) fn validate(&self, caller: &Caller) -> Result<PatientFilter, ApiError> {
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
            city: http::text_param(self.city),
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
        filter.listing.allowed_for(caller)?;
        Ok(filter)
    }
}

/// A search by the person's details rather than the list's filters (FHIR's
/// Patient search): each given criterion narrows the list, within what the
/// caller sees, archived patients left out.
#[derive(Debug, Clone, Default)]
pub struct PatientCriteria {
    /// The start of the first or the last name, in any case.
    pub name: Option<String>,
    /// The start of the last name.
    pub family: Option<String>,
    /// The start of the first name.
    pub given: Option<String>,
    /// Born on or after this day (`YYYY-MM-DD`).
    pub born_from: Option<String>,
    /// Born on or before this day.
    pub born_until: Option<String>,
    /// A phone number, matched on its digits like the list's `search`.
    pub phone: Option<String>,
}

impl PatientCriteria {
    /// The list's filter these criteria start from: the phone goes through
    /// the list's own search, by id, one page.
    pub(super) fn filter(&self, paging: http::Paging) -> PatientFilter {
        let mut ignored = FieldErrors::new();
        PatientFilter {
            listing: Listing {
                search: self.phone.clone(),
                archived: false,
                ordering: http::Ordering::parse(None, ORDERING, &mut ignored),
                paging,
            },
            gender: None,
            city: None,
            blood_group: None,
            is_active: None,
        }
    }
}
