//! Reading mapping input: the body of a create or a change (every bad
//! field reported at once) and the list query. What only the database can
//! confirm (that the patient is the caller's to name, that the doctor is
//! not archived) is asked through the lookups the handler passes in.

use rocket::FromForm;
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Ordering, Paging};
use crate::validation::Fields;

const STATUSES: &str = "ACTIVE, INACTIVE, COMPLETED";

/// The stored statuses (accepted in any case).
pub const STATUS_VALUES: [&str; 3] = ["ACTIVE", "INACTIVE", "COMPLETED"];

fn normalise_status(value: &str) -> Option<&'static str> {
    STATUS_VALUES
        .into_iter()
        .find(|status| status.eq_ignore_ascii_case(value.trim()))
}

/// `GET /api/mappings` query (also paging for `/api/mappings/<patient_id>/`).
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MappingQuery<'r> {
    /// A patient's id, or up to 500 of them separated by commas.
    #[param(pattern = r"^[0-9]+(,[0-9]+)*$")]
    patient_id: Option<&'r str>,
    #[param(value_type = Option<i64>)]
    doctor_id: Option<&'r str>,
    #[param(schema_with = status_schema)]
    status: Option<&'r str>,
    /// `id` (default), `patient`, `doctor`, `status`, `created_at` or
    /// `updated_at`; a leading `-` for descending.
    #[param(schema_with = ordering_schema)]
    ordering: Option<&'r str>,
    /// 1-based; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page: Option<&'r str>,
    /// Default 50.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    page_size: Option<&'r str>,
}

/// What mapping lists may be ordered by (API name → column).
const ORDERING: &[(&str, &str)] = &[
    ("id", "id"),
    ("patient", "patient_id"),
    ("patient_id", "patient_id"),
    ("doctor", "doctor_id"),
    ("doctor_id", "doctor_id"),
    ("status", "status"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
];

fn ordering_schema() -> utoipa::openapi::Object {
    http::ordering_schema(ORDERING)
}

pub(super) fn status_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&STATUS_VALUES, false)
}

/// A validated mapping list request.
pub(super) struct MappingFilter {
    /// One or more patients (`patient_id=7` or `patient_id=7,8,9`: a page
    /// of patients' doctors in one request).
    pub patient_ids: Option<Vec<i64>>,
    pub doctor_id: Option<i64>,
    pub status: Option<&'static str>,
    pub ordering: Ordering,
    pub paging: Paging,
}

impl MappingQuery<'_> {
    pub(super) fn validate(&self) -> Result<MappingFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let mut id = |name: &str, raw: Option<&str>| {
            let parsed = raw.map(|r| r.trim().parse::<i64>());
            if matches!(parsed, Some(Err(_))) {
                errors
                    .entry(name.to_owned())
                    .or_default()
                    .push("Must be a whole number.".into());
            }
            parsed.and_then(Result::ok)
        };
        let doctor_id = id("doctor_id", self.doctor_id);
        let patient_ids = self.patient_id.map(|raw| {
            let ids: Option<Vec<i64>> = raw
                .split(',')
                .map(|part| part.trim().parse().ok())
                .collect();
            match ids {
                Some(ids) if (1..=500).contains(&ids.len()) => ids,
                _ => {
                    errors.entry("patient_id".into()).or_default().push(
                        "Must be a whole number, or up to 500 of them separated by commas.".into(),
                    );
                    Vec::new()
                }
            }
        });
        let filter = MappingFilter {
            patient_ids,
            doctor_id,
            status: http::choice(
                &mut errors,
                "status",
                self.status,
                normalise_status,
                STATUSES,
            ),
            ordering: Ordering::parse(self.ordering, ORDERING, &mut errors),
            paging: Paging::parse(self.page, self.page_size, &mut errors),
        };
        http::checked(filter, errors)
    }
}

/// A new mapping, validated: its patient is visible to the caller and its
/// doctor is live.
pub(super) struct NewMapping {
    pub patient: i64,
    pub doctor: i64,
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub status: &'static str,
}

impl NewMapping {
    /// Reads a create body. `patient_known` and `doctor_known` answer
    /// whether an id names a patient the caller may see and a doctor that is
    /// not archived; an unknown one is an error on its field, reported with
    /// the others.
    pub(super) fn read(
        body: &Map<String, Value>,
        patient_known: impl FnOnce(i64) -> Result<bool, ApiError>,
        doctor_known: impl FnOnce(i64) -> Result<bool, ApiError>,
    ) -> Result<Self, ApiError> {
        let mut f = Fields::new(body);
        let patient = f.integer(&["patient", "patient_id"], 1, i64::MAX);
        let patient = f.require(&["patient", "patient_id"], patient, true);
        let doctor = f.integer(&["doctor", "doctor_id"], 1, i64::MAX);
        let doctor = f.require(&["doctor", "doctor_id"], doctor, true);
        let reason = f.text(&["reason"], 500).flatten();
        let notes = f.multiline(&["notes"], 10_000).flatten();
        let status = f
            .choice(&["status"], normalise_status, STATUSES)
            .flatten()
            .unwrap_or("ACTIVE");
        if let Some(id) = patient {
            if !patient_known(id)? {
                f.error("patient", "No such patient.");
            }
        }
        if let Some(id) = doctor {
            if !doctor_known(id)? {
                f.error("doctor", "No such doctor (or the doctor is archived).");
            }
        }
        f.finish()?;
        match (patient, doctor) {
            (Some(patient), Some(doctor)) => Ok(Self {
                patient,
                doctor,
                reason,
                notes,
                status,
            }),
            // `finish` has already refused a body without either.
            _ => Err(ApiError::field("patient", "Fill this in: it is needed.")),
        }
    }

    /// The fields the body set, for the audit record.
    pub(super) fn given(&self) -> impl Iterator<Item = &'static str> {
        [
            ("patient", true),
            ("doctor", true),
            ("reason", self.reason.is_some()),
            ("notes", self.notes.is_some()),
            ("status", true),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| name)
    }
}

/// What a change may write: the rest of a mapping is fixed at creation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct MappingFields {
    pub reason: Option<String>,
    pub notes: Option<String>,
    pub status: String,
}

impl MappingFields {
    /// Reads a PATCH/PUT body onto the current values; absent fields keep
    /// theirs, and `status` may not be cleared.
    pub(super) fn apply(&self, body: &Map<String, Value>) -> Result<Self, ApiError> {
        let mut f = Fields::new(body);
        let reason = f.text(&["reason"], 500).unwrap_or(self.reason.clone());
        let notes = f
            .multiline(&["notes"], 10_000)
            .unwrap_or(self.notes.clone());
        let status = f.choice(&["status"], normalise_status, STATUSES);
        let status = f
            .require(&["status"], status, false)
            .map_or(self.status.clone(), str::to_owned);
        f.finish()?;
        Ok(Self {
            reason,
            notes,
            status,
        })
    }

    /// The names of the fields that differ from `before`.
    pub(super) fn changed_from(&self, before: &Self) -> impl Iterator<Item = &'static str> {
        [
            ("reason", self.reason != before.reason),
            ("notes", self.notes != before.notes),
            ("status", self.status != before.status),
        ]
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(name, _)| name)
    }
}
