//! The accounts of the whole-clinic document. Out: every account as the
//! API shows it (never a password hash or token state). In: matched by
//! email; an account this instance already has (the admin doing the
//! import) is kept as it is, the others are created with a password no one
//! knows and must choose their own once an admin has given them a
//! temporary one (`PATCH /api/users/<id>/` with a `password`). Their ids may change,
//! so the answer maps the document's ids onto this instance's.

use std::collections::HashMap;

use rusqlite::{Connection, Transaction};
use serde_json::Value;

use super::{read_role, read_username, User};
use crate::auth::Role;
use crate::error::ApiError;
use crate::records::Intake;
use crate::validation::Fields;

const SECTION: &str = "users";

/// Every account, by id.
pub fn export(conn: &Connection) -> Result<Vec<User>, ApiError> {
    super::sql::select_every(conn)
}

/// An account of the document, read and checked.
struct Account {
    id: i64,
    email: String,
    name: Option<String>,
    username: Option<String>,
    role: Role,
    is_active: bool,
    doctor: Option<i64>,
    created_at: String,
    updated_at: String,
}

/// What the import did with the document's accounts.
pub struct Accounts {
    /// The document's account id → this instance's.
    pub ids: HashMap<i64, i64>,
    /// This instance's ids of the accounts created (they need a password).
    pub created: Vec<i64>,
    /// (account, doctor) links to make once the doctors are in.
    links: Vec<(i64, i64)>,
}

/// Reads the document's accounts and creates the ones this instance lacks,
/// with `password_hash` (of a secret nobody keeps). Problems go to `intake`.
pub fn import(
    tx: &Transaction<'_>,
    records: &[Value],
    password_hash: &str,
    intake: &mut Intake,
) -> Result<Accounts, ApiError> {
    let mut accounts = Accounts {
        ids: HashMap::new(),
        created: Vec::new(),
        links: Vec::new(),
    };
    for (index, value) in records.iter().enumerate() {
        let Some(account) = read(value, index, intake) else {
            continue;
        };
        let local = match super::sql::id_by_email(tx, &account.email)? {
            Some(id) => id,
            None => {
                let created = super::sql::insert_imported(
                    tx,
                    &super::sql::Imported {
                        email: &account.email,
                        name: account.name.as_deref(),
                        username: account.username.as_deref(),
                        role: account.role,
                        is_active: account.is_active,
                        created_at: &account.created_at,
                        updated_at: &account.updated_at,
                    },
                    password_hash,
                );
                match created {
                    Ok(id) => {
                        accounts.created.push(id);
                        if let Some(doctor) = account.doctor {
                            accounts.links.push((id, doctor));
                        }
                        id
                    }
                    Err(ApiError::Conflict { detail, .. }) => {
                        intake.fail(SECTION, account.id, "username", detail);
                        continue;
                    }
                    Err(other) => return Err(other),
                }
            }
        };
        accounts.ids.insert(account.id, local);
    }
    Ok(accounts)
}

/// Links the created accounts to their doctor records (after the doctors
/// are stored; an account names its doctor, and a doctor its creator).
pub fn link_doctors(
    tx: &Transaction<'_>,
    accounts: &Accounts,
    intake: &mut Intake,
) -> Result<(), ApiError> {
    for (id, doctor) in &accounts.links {
        if !super::sql::link_doctor(tx, *id, *doctor)? {
            intake.fail(SECTION, *id, "doctor", "Names a doctor the document lacks.");
        }
    }
    Ok(())
}

fn read(value: &Value, index: usize, intake: &mut Intake) -> Option<Account> {
    let (Some(body), Some(id)) = (value.as_object(), value.get("id").and_then(Value::as_i64))
    else {
        intake.fail_record(SECTION, index, "Must be an object with a numeric id.");
        return None;
    };
    let mut fields = Fields::new(body);
    let email = fields.email("email");
    let email = fields.require(&["email"], email, true);
    let name = fields.text(&["name"], 150).flatten();
    let username = read_username(&mut fields).flatten();
    let role = read_role(&mut fields).unwrap_or(Role::User);
    let is_active = fields.boolean("is_active").unwrap_or(true);
    let doctor = fields.integer(&["doctor"], 1, i64::MAX).flatten();
    let stamp = |field: &str| body.get(field).and_then(Value::as_str).unwrap_or("");
    let (created, updated) = (stamp("created_at"), stamp("updated_at"));
    let checked = fields.finish();
    intake.absorb(SECTION, id, checked).ok()??;
    let created_at = intake.timestamp(SECTION, id, "created_at", created);
    let updated_at = intake.timestamp(SECTION, id, "updated_at", updated);
    Some(Account {
        id,
        email: email?,
        name,
        username,
        role,
        is_active,
        doctor,
        created_at,
        updated_at,
    })
}
