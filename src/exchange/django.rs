//! Moving off a Django "healthcare backend": `clinicdesk import --django
//! dump.json` reads `python manage.py dumpdata` output (a list of
//! `{model, pk, fields}`) and turns it into a whole-clinic document, which
//! then loads like any other (`Import::load`): the same field rules and
//! aliases as the API (`name` split, `contact_number`, `age` without a
//! birth date, gender words), in one transaction, all or nothing.
//!
//! Models are recognised by the end of their name (`clinic.patient`,
//! `api.doctor`, `core.patientdoctormapping` or `*.mapping`, `auth.user` or
//! `*.customuser`); every other record (permissions, sessions, content
//! types) is skipped and reported. Patient, doctor and mapping ids are kept.
//! Accounts come in matched by email, with no password (Django's hashes are
//! not carried over): an admin gives each a temporary one. An account
//! without an email cannot sign in here and is skipped; the records it
//! created go to the admin running the import, and the report says so.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::{FORMAT, VERSION};
use crate::db;

/// The account id the document uses for "the admin running the import".
pub const IMPORTING_ADMIN: i64 = 0;

/// A record of the dump left out, and why.
#[derive(Debug, Serialize)]
pub struct Skipped {
    pub model: String,
    pub pk: Value,
    pub reason: String,
}

/// The dump as a whole-clinic document, and what was left out.
pub struct Translated {
    pub document: Value,
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Patient,
    Doctor,
    Mapping,
}

fn kind_of(model: &str) -> Option<Kind> {
    let name = model.rsplit('.').next().unwrap_or(model).to_lowercase();
    match name.as_str() {
        "user" | "customuser" => Some(Kind::User),
        "patient" => Some(Kind::Patient),
        "doctor" => Some(Kind::Doctor),
        "patientdoctormapping" | "mapping" => Some(Kind::Mapping),
        _ => None,
    }
}

/// Reads a dump; `Err` when it is not `dumpdata` output at all.
pub fn translate(dump: &Value) -> Result<Translated, String> {
    let records = dump
        .as_array()
        .ok_or("A Django dump is a JSON list of {model, pk, fields} records.")?;
    let now = db::now();
    let mut skipped = Vec::new();
    let mut sections: [Vec<Value>; 4] = Default::default();
    let mut accounts_without_email = Vec::new();
    for record in records {
        let model = record.get("model").and_then(Value::as_str).unwrap_or("");
        let pk = record.get("pk").cloned().unwrap_or(Value::Null);
        let fields = record.get("fields").and_then(Value::as_object);
        let (Some(kind), Some(fields)) = (kind_of(model), fields) else {
            skipped.push(Skipped {
                model: model.to_owned(),
                pk,
                reason: "Not a model clinicdesk holds.".into(),
            });
            continue;
        };
        let Some(id) = pk.as_i64() else {
            skipped.push(Skipped {
                model: model.to_owned(),
                pk,
                reason: "Its primary key is not a number.".into(),
            });
            continue;
        };
        let converted = match kind {
            Kind::User => user(id, fields, &now),
            Kind::Patient => Some(owned(id, fields, &now)),
            Kind::Doctor => Some(doctor(id, fields, &now)),
            Kind::Mapping => Some(mapping(id, fields, &now)),
        };
        match converted {
            Some(value) => sections[kind as usize].push(value),
            None => {
                accounts_without_email.push(id);
                skipped.push(Skipped {
                    model: model.to_owned(),
                    pk,
                    reason: "The account has no email, and clinicdesk signs people in by email; \
                             what it created belongs to the admin running the import."
                        .into(),
                });
            }
        }
    }
    // Records of a skipped account (or of none) go to the importing admin.
    for section in &mut sections[1..] {
        for record in section.iter_mut() {
            let owner = record.get("created_by").and_then(Value::as_i64);
            if owner.is_none_or(|id| accounts_without_email.contains(&id)) {
                record["created_by"] = IMPORTING_ADMIN.into();
            }
        }
    }
    let [users, patients, doctors, mappings] = sections;
    Ok(Translated {
        document: json!({
            "format": FORMAT,
            "version": VERSION,
            "users": users,
            "patients": patients,
            "doctors": doctors,
            "mappings": mappings,
        }),
        skipped,
    })
}

/// An account: email, name, and the role its Django flags meant.
fn user(id: i64, fields: &Map<String, Value>, now: &str) -> Option<Value> {
    let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::trim);
    let email = text("email").filter(|email| !email.is_empty())?;
    let flag = |name: &str| fields.get(name).and_then(Value::as_bool).unwrap_or(false);
    let role = match text("role").map(str::to_lowercase).as_deref() {
        Some(role @ ("admin" | "staff" | "user")) => role.to_owned(),
        _ if flag("is_superuser") => "admin".into(),
        _ if flag("is_staff") => "staff".into(),
        _ => "user".into(),
    };
    let name = match (text("first_name"), text("last_name")) {
        (Some(first), Some(last)) if !first.is_empty() || !last.is_empty() => {
            Some(format!("{first} {last}").trim().to_owned())
        }
        _ => text("name").map(str::to_owned),
    };
    let joined = text("date_joined").unwrap_or(now);
    Some(json!({
        "id": id,
        "email": email,
        "username": text("username"),
        "name": name,
        "role": role,
        "is_active": fields.get("is_active").and_then(Value::as_bool).unwrap_or(true),
        "created_at": joined,
        "updated_at": joined,
    }))
}

/// A record's fields as the API reads them, with its id, its owner (the
/// Django `created_by`, `user` or `owner`) and its times.
fn owned(id: i64, fields: &Map<String, Value>, now: &str) -> Value {
    let mut body = fields.clone();
    let owner = ["created_by", "user", "owner"]
        .iter()
        .find_map(|name| fields.get(*name).and_then(Value::as_i64));
    for name in ["user", "owner"] {
        body.remove(name);
    }
    let stamp = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| fields.get(*name).and_then(Value::as_str))
            .unwrap_or(now)
            .to_owned()
    };
    let created_at = stamp(&["created_at", "created", "date_created"]);
    let updated_at = stamp(&["updated_at", "updated", "modified", "created_at"]);
    body.insert("id".into(), id.into());
    body.insert("created_by".into(), owner.map_or(Value::Null, Value::from));
    body.insert("created_at".into(), created_at.into());
    body.insert("updated_at".into(), updated_at.into());
    Value::Object(body)
}

/// A doctor; Django projects say `specialty` as often as `specialization`.
fn doctor(id: i64, fields: &Map<String, Value>, now: &str) -> Value {
    let mut record = owned(id, fields, now);
    if let Some(body) = record.as_object_mut() {
        if !body.contains_key("specialization") {
            if let Some(specialty) = body.remove("specialty") {
                body.insert("specialization".into(), specialty);
            }
        }
    }
    record
}

/// A patient–doctor mapping, column by column as clinicdesk stores it.
fn mapping(id: i64, fields: &Map<String, Value>, now: &str) -> Value {
    let record = owned(id, fields, now);
    let reference = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| fields.get(*name).cloned())
            .unwrap_or(Value::Null)
    };
    let created_at = record.get("created_at").cloned().unwrap_or(Value::Null);
    let assigned = reference(&["assigned_at", "assigned_date"]);
    let created_at = if assigned.is_string() {
        assigned
    } else {
        created_at
    };
    json!({
        "id": id,
        "patient_id": reference(&["patient", "patient_id"]),
        "doctor_id": reference(&["doctor", "doctor_id"]),
        "reason": fields.get("reason").cloned().unwrap_or(Value::Null),
        "notes": fields.get("notes").cloned().unwrap_or(Value::Null),
        "status": fields.get("status").and_then(Value::as_str).map_or("ACTIVE".to_owned(), str::to_uppercase),
        "created_by": record.get("created_by").cloned().unwrap_or(Value::Null),
        "created_at": created_at.clone(),
        "updated_at": record.get("updated_at").cloned().unwrap_or(created_at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_known_by_the_end_of_their_name() {
        assert!(kind_of("auth.user") == Some(Kind::User));
        assert!(kind_of("accounts.CustomUser") == Some(Kind::User));
        assert!(kind_of("api.Patient") == Some(Kind::Patient));
        assert!(kind_of("core.patientdoctormapping") == Some(Kind::Mapping));
        assert!(kind_of("clinic.mapping") == Some(Kind::Mapping));
        assert!(kind_of("auth.permission").is_none());
        assert!(kind_of("patient_records.patientnote").is_none());
    }

    #[test]
    fn a_user_without_email_is_skipped_and_their_records_go_to_the_importing_admin() {
        let dump = json!([
            {"model": "auth.user", "pk": 4, "fields": {"username": "desk", "email": "", "is_staff": true}},
            {"model": "auth.user", "pk": 5, "fields": {"username": "doc", "email": "doc@example.org",
                "first_name": "Ana", "last_name": "Silva", "is_superuser": true}},
            {"model": "api.patient", "pk": 9, "fields": {"name": "Ravi Kumar", "created_by": 4}},
            {"model": "api.patient", "pk": 10, "fields": {"name": "Mia Chen", "created_by": 5}},
            {"model": "sessions.session", "pk": "abc", "fields": {}},
        ]);
        let translated = translate(&dump).expect("a dump");
        let users = translated.document["users"].as_array().expect("users");
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["role"], "admin");
        assert_eq!(users[0]["name"], "Ana Silva");
        let owners: Vec<&Value> = translated.document["patients"]
            .as_array()
            .expect("patients")
            .iter()
            .map(|p| &p["created_by"])
            .collect();
        assert_eq!(owners, [&json!(IMPORTING_ADMIN), &json!(5)]);
        let reasons: Vec<(&str, &Value)> = translated
            .skipped
            .iter()
            .map(|s| (s.model.as_str(), &s.pk))
            .collect();
        assert_eq!(
            reasons,
            [
                ("auth.user", &json!(4)),
                ("sessions.session", &json!("abc"))
            ]
        );
    }

    #[test]
    fn what_is_not_a_dump_is_refused() {
        assert!(translate(&json!({"model": "auth.user"})).is_err());
    }
}
