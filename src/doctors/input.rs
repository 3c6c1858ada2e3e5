//! Reading a doctor from a request: the body's fields and the list's query.

use rocket::FromForm;
use serde_json::{Map, Value};

use super::DoctorFields;
use crate::auth::Caller;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Listing};
use crate::validation::{self, Fields};

/// Reads `body` onto `record`; with `complete` (create, PUT) the required
/// fields must be present.
pub(super) fn apply(
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
    let minutes = f.integer(&["appointment_minutes"], 5, 240);
    if let Some(minutes) = f.require(&["appointment_minutes"], minutes, false) {
        record.appointment_minutes = minutes;
    }
    f.finish()
}

/// `GET /api/doctors` query.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DoctorQuery<'r> {
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
pub(super) struct DoctorFilter {
    pub(super) listing: Listing,
    pub(super) specialization: Option<String>,
    pub(super) city: Option<String>,
    pub(super) is_available: Option<bool>,
    pub(super) min_experience: Option<i64>,
    pub(super) max_fee_cents: Option<i64>,
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

impl DoctorFilter {
    /// Every live doctor, by id, one page: what a search by name (FHIR's
    /// Practitioner search) starts from.
    pub(super) fn everyone(paging: http::Paging) -> Self {
        let mut ignored = FieldErrors::new();
        Self {
            listing: Listing {
                search: None,
                archived: false,
                ordering: http::Ordering::parse(None, ORDERING, &mut ignored),
                paging,
            },
            specialization: None,
            city: None,
            is_available: None,
            min_experience: None,
            max_fee_cents: None,
        }
    }
}

impl DoctorQuery<'_> {
    pub(super) fn validate(&self, caller: &Caller) -> Result<DoctorFilter, ApiError> {
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
                .push("Enter a whole number of years, like 12.".into());
        }
        let max_fee = self.max_fee.map(|raw| validation::parse_cents(raw.trim()));
        if matches!(max_fee, Some(None)) {
            errors
                .entry("max_fee".into())
                .or_default()
                .push("Enter an amount with at most two decimals, like 80 or 80.50.".into());
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
