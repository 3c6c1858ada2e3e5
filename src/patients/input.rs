//! Reading patient input: the body of a create or update (field by field,
//! every bad field reported at once) and the list query.

use rocket::FromForm;
use serde_json::{Map, Value};

use super::PatientFields;
use crate::auth::Caller;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Listing};
use crate::validation::{self, Fields};

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
