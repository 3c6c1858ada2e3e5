//! `GET /fhir/metadata`: the `CapabilityStatement` of what this server
//! serves, and nothing more (three resources, read and search, JSON only).

use serde_json::{json, Value};

/// A search parameter as the statement lists it: `(name, type, what)`.
type Param = (&'static str, &'static str, &'static str);

/// The search parameters each resource serves (besides `_count`), exactly
/// those `super` reads: the handlers take their names from here.
pub const PATIENT_PARAMS: [Param; 5] = [
    (
        "name",
        "string",
        "The start of the first or the last name, in any case.",
    ),
    ("family", "string", "The start of the last name."),
    ("given", "string", "The start of the first name."),
    (
        "birthdate",
        "date",
        "The date of birth (YYYY-MM-DD), with eq, ge, le, gt or lt; may repeat for a range.",
    ),
    (
        "phone",
        "token",
        "A phone number, matched on its digits whatever the punctuation.",
    ),
];

pub const PRACTITIONER_PARAMS: [Param; 1] = [(
    "name",
    "string",
    "The start of the first or the last name, in any case.",
)];

pub const APPOINTMENT_PARAMS: [Param; 3] = [
    ("patient", "reference", "Patient/<id> or the id."),
    ("practitioner", "reference", "Practitioner/<id> or the id."),
    (
        "date",
        "date",
        "A day in the clinic's time zone (YYYY-MM-DD), with eq, ge, le, gt or lt; may repeat for a range.",
    ),
];

/// The names of `params`, for the query reader.
pub fn names<const N: usize>(params: &[Param; N]) -> Vec<&'static str> {
    params.iter().map(|(name, _, _)| *name).collect()
}

fn resource(kind: &str, profile: &str, params: &[Param]) -> Value {
    let mut search: Vec<Value> = params
        .iter()
        .map(|(name, kind, what)| json!({ "name": name, "type": kind, "documentation": what }))
        .collect();
    search.push(json!({
        "name": "_count",
        "type": "number",
        "documentation": "Matches per page, 1-500 (default 50); the Bundle's next link pages on.",
    }));
    json!({
        "type": kind,
        "profile": profile,
        "interaction": [{ "code": "read" }, { "code": "search-type" }],
        "versioning": "no-version",
        "readHistory": false,
        "searchParam": search,
    })
}

/// The statement; `base` is the server's FHIR base URL.
pub fn statement(base: &str, date: &str) -> Value {
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "publisher": "clinicdesk",
        "kind": "instance",
        "software": { "name": "clinicdesk", "version": env!("CARGO_PKG_VERSION") },
        "implementation": {
            "description": "clinicdesk FHIR R4 read access",
            "url": base,
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read and search only. The same bearer tokens, visibility and audit as the clinicdesk API: a `user` sees only the patients they created.",
            "security": {
                "description": "Authorization: Bearer <access token> from POST /api/auth/login/.",
            },
            "resource": [
                resource("Patient", "http://hl7.org/fhir/StructureDefinition/Patient", &PATIENT_PARAMS),
                resource("Practitioner", "http://hl7.org/fhir/StructureDefinition/Practitioner", &PRACTITIONER_PARAMS),
                resource("Appointment", "http://hl7.org/fhir/StructureDefinition/Appointment", &APPOINTMENT_PARAMS),
            ],
        }],
    })
}
