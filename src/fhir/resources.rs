//! The three resources served, as FHIR R4 JSON, mapped from clinicdesk's
//! records field by field. FHIR forbids empty strings, arrays and objects,
//! so every element is left out when clinicdesk holds nothing for it.

use serde::Serialize;

use crate::appointments::{self, Status};
use crate::doctors::Doctor;
use crate::patients::Patient as Record;

/// The identifier system of a patient's clinicdesk id (`Patient.identifier`).
pub const PATIENT_ID_SYSTEM: &str = "urn:clinicdesk:patient-id";
/// The identifier system of a doctor's clinicdesk id.
pub const DOCTOR_ID_SYSTEM: &str = "urn:clinicdesk:doctor-id";
/// The identifier system of a doctor's licence number, as the clinic keeps it.
pub const LICENCE_SYSTEM: &str = "urn:clinicdesk:licence-number";

#[derive(Debug, Serialize)]
pub struct Identifier {
    system: &'static str,
    value: String,
}

#[derive(Debug, Serialize)]
pub struct Meta {
    #[serde(rename = "lastUpdated")]
    last_updated: String,
}

#[derive(Debug, Serialize)]
pub struct HumanName {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    usage: Option<&'static str>,
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    given: Vec<String>,
}

impl HumanName {
    fn of(first: &str, last: Option<&str>, usage: Option<&'static str>) -> Self {
        Self {
            usage,
            text: crate::validation::full_name(first, last),
            family: present(last),
            given: present(Some(first)).into_iter().collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ContactPoint {
    system: &'static str,
    value: String,
}

/// A phone and an email, each only when held.
fn telecom(phone: Option<&str>, email: Option<&str>) -> Vec<ContactPoint> {
    [("phone", phone), ("email", email)]
        .into_iter()
        .filter_map(|(system, value)| {
            Some(ContactPoint {
                system,
                value: present(value)?,
            })
        })
        .collect()
}

#[derive(Debug, Serialize)]
pub struct CodeableConcept {
    text: String,
}

#[derive(Debug, Serialize)]
pub struct Address {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    line: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(rename = "postalCode", skip_serializing_if = "Option::is_none")]
    postal_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    country: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ContactName {
    text: String,
}

/// `Patient.contact`: the emergency contact. FHIR (pat-1) wants a name,
/// telecom, address or organisation in each, so one with only a
/// relationship is left out.
#[derive(Debug, Serialize)]
pub struct Contact {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    relationship: Vec<CodeableConcept>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<ContactName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telecom: Vec<ContactPoint>,
}

/// `Patient`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patient {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    identifier: Vec<Identifier>,
    active: bool,
    name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telecom: Vec<ContactPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    birth_date: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    address: Vec<Address>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    contact: Vec<Contact>,
}

/// The stored gender letter as FHIR's administrative gender.
pub fn gender(letter: &str) -> Option<&'static str> {
    match letter {
        "M" => Some("male"),
        "F" => Some("female"),
        "O" => Some("other"),
        "U" => Some("unknown"),
        _ => None,
    }
}

/// Trimmed text, or `None` for nothing or blanks (never an empty string).
fn present(text: Option<&str>) -> Option<String> {
    text.map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

impl From<&Record> for Patient {
    fn from(record: &Record) -> Self {
        let f = &record.fields;
        let address = Address {
            line: present(f.address.as_deref()).into_iter().collect(),
            city: present(f.city.as_deref()),
            state: present(f.state.as_deref()),
            postal_code: present(f.postal_code.as_deref()),
            country: present(f.country.as_deref()),
        };
        let has_address = !address.line.is_empty()
            || address.city.is_some()
            || address.state.is_some()
            || address.postal_code.is_some()
            || address.country.is_some();
        let contact = Contact {
            relationship: present(f.emergency_contact_relation.as_deref())
                .map(|text| CodeableConcept { text })
                .into_iter()
                .collect(),
            name: present(f.emergency_contact_name.as_deref()).map(|text| ContactName { text }),
            telecom: telecom(f.emergency_contact_phone.as_deref(), None),
        };
        let has_contact = contact.name.is_some() || !contact.telecom.is_empty();
        Self {
            resource_type: "Patient",
            id: record.id.to_string(),
            meta: Meta {
                last_updated: record.updated_at.clone(),
            },
            identifier: vec![Identifier {
                system: PATIENT_ID_SYSTEM,
                value: record.id.to_string(),
            }],
            active: f.is_active,
            name: vec![HumanName::of(
                &f.first_name,
                f.last_name.as_deref(),
                Some("official"),
            )],
            telecom: telecom(f.phone.as_deref(), f.email.as_deref()),
            gender: f.gender.as_deref().and_then(gender),
            birth_date: present(f.date_of_birth.as_deref()),
            address: if has_address {
                vec![address]
            } else {
                Vec::new()
            },
            contact: if has_contact {
                vec![contact]
            } else {
                Vec::new()
            },
        }
    }
}

/// `Practitioner.qualification`.
#[derive(Debug, Serialize)]
pub struct Qualification {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    identifier: Vec<Identifier>,
    code: CodeableConcept,
}

/// `Practitioner`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Practitioner {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    identifier: Vec<Identifier>,
    active: bool,
    name: Vec<HumanName>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    telecom: Vec<ContactPoint>,
    qualification: Vec<Qualification>,
}

impl From<&Doctor> for Practitioner {
    fn from(doctor: &Doctor) -> Self {
        let f = &doctor.fields;
        let licence = present(f.license_number.as_deref()).map(|value| Identifier {
            system: LICENCE_SYSTEM,
            value,
        });
        // The degree (`qualification`, "MBBS") carries the licence; the
        // specialization is a qualification of its own, and carries the
        // licence when no degree is recorded.
        let mut qualification = Vec::new();
        let mut licence = licence.into_iter().collect::<Vec<_>>();
        if let Some(text) = present(f.qualification.as_deref()) {
            qualification.push(Qualification {
                identifier: std::mem::take(&mut licence),
                code: CodeableConcept { text },
            });
        }
        if let Some(text) = present(Some(&f.specialization)) {
            qualification.push(Qualification {
                identifier: licence,
                code: CodeableConcept { text },
            });
        }
        let mut identifier = vec![Identifier {
            system: DOCTOR_ID_SYSTEM,
            value: doctor.id.to_string(),
        }];
        if let Some(value) = present(f.license_number.as_deref()) {
            identifier.push(Identifier {
                system: LICENCE_SYSTEM,
                value,
            });
        }
        Self {
            resource_type: "Practitioner",
            id: doctor.id.to_string(),
            meta: Meta {
                last_updated: doctor.updated_at.clone(),
            },
            identifier,
            // Archived doctors are never answered; a live one is active.
            active: true,
            name: vec![HumanName::of(&f.first_name, f.last_name.as_deref(), None)],
            telecom: telecom(f.phone.as_deref(), f.email.as_deref()),
            qualification,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Reference {
    reference: String,
    display: String,
}

#[derive(Debug, Serialize)]
pub struct Participant {
    actor: Reference,
    /// Both parties take part in every appointment clinicdesk holds.
    status: &'static str,
}

/// `Appointment`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    resource_type: &'static str,
    id: String,
    meta: Meta,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancelation_reason: Option<CodeableConcept>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    reason_code: Vec<CodeableConcept>,
    start: String,
    end: String,
    minutes_duration: i64,
    created: String,
    participant: Vec<Participant>,
}

/// clinicdesk's appointment status as FHIR's `AppointmentStatus`.
pub fn appointment_status(status: Status) -> &'static str {
    match status {
        Status::Booked => "booked",
        Status::Arrived => "arrived",
        Status::InProgress => "checked-in",
        Status::Completed => "fulfilled",
        Status::Cancelled => "cancelled",
        Status::NoShow => "noshow",
    }
}

impl From<&appointments::Appointment> for Appointment {
    fn from(a: &appointments::Appointment) -> Self {
        let status = Status::parse(&a.status);
        let cancelled = matches!(status, Some(Status::Cancelled));
        Self {
            resource_type: "Appointment",
            id: a.id.to_string(),
            meta: Meta {
                last_updated: a.updated_at.clone(),
            },
            // Every stored status is one of the six (a CHECK constraint).
            status: status.map_or("booked", appointment_status),
            // FHIR (app-4) allows a cancellation reason only on a
            // cancelled appointment or a no-show.
            cancelation_reason: present(a.cancel_reason.as_deref())
                .filter(|_| cancelled)
                .map(|text| CodeableConcept { text }),
            reason_code: present(a.reason.as_deref())
                .map(|text| CodeableConcept { text })
                .into_iter()
                .collect(),
            start: a.start.clone(),
            end: a.end.clone(),
            minutes_duration: a.duration_minutes,
            created: a.created_at.clone(),
            participant: vec![
                Participant {
                    actor: Reference {
                        reference: format!("Patient/{}", a.patient),
                        display: a.patient_details.name.clone(),
                    },
                    status: "accepted",
                },
                Participant {
                    actor: Reference {
                        reference: format!("Practitioner/{}", a.doctor),
                        display: a.doctor_details.name.clone(),
                    },
                    status: "accepted",
                },
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blanks_are_left_out_and_every_status_has_its_own_fhir_code() {
        assert_eq!(present(Some("  ")), None);
        assert_eq!(present(Some(" Ada ")), Some("Ada".to_owned()));
        assert!(telecom(Some(""), None).is_empty());
        assert_eq!(gender("X"), None);
        let mut codes: Vec<&str> = Status::ALL.into_iter().map(appointment_status).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), Status::ALL.len());
    }
}
