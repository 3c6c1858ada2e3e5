//! Account SQL. Also used by `account` (login, refresh, me), `setup`, and
//! (through the server) `auth`, which reads `auth_state` on every request.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{AccountChanges, NewAccount, User, UserFilter};
use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::accounts::AccountState;
use crate::auth::{Caller, Role};
use crate::db::{self, ResultExt};
use crate::error::{ApiError, Code};
use crate::origin::Origin;
use crate::validation::like_pattern;

/// `locked_until` is not stored: `users::` fills it in from the running
/// server's sign-in throttle.
const SELECT: &str = "SELECT id, name, email, username, role, is_active, NULL AS locked_until,
            must_change_password, doctor_id, created_at, updated_at
       FROM users";

/// The account state behind a token's user id, if the account exists
/// (the server hands this to `auth::accounts::Accounts`; keep it one query
/// so it can be kept as one).
pub fn auth_state(conn: &Connection, id: i64) -> Result<Option<AccountState>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT role, is_active, must_change_password, token_version FROM users WHERE id = ?1",
    )?;
    Ok(stmt
        .query_row([id], |row| {
            Ok(AccountState {
                role: row.get("role")?,
                is_active: row.get("is_active")?,
                must_change_password: row.get("must_change_password")?,
                token_version: row.get("token_version")?,
            })
        })
        .optional()?)
}

/// What login needs of the account with this email or username.
pub fn find_login(conn: &Connection, login: &str) -> Result<Option<Login>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, password_hash, role, is_active, token_version, throttle_resets
           FROM users WHERE email = ?1 OR username = ?1 LIMIT 1",
    )?;
    let login = stmt
        .query_row([login], |row| {
            Ok(Login {
                id: row.get("id")?,
                password_hash: row.get("password_hash")?,
                role: row.get("role")?,
                is_active: row.get("is_active")?,
                token_version: row.get("token_version")?,
                throttle_resets: row.get("throttle_resets")?,
            })
        })
        .optional()?;
    Ok(login)
}

/// An account as login sees it.
pub struct Login {
    pub id: i64,
    pub password_hash: String,
    pub role: Role,
    pub is_active: bool,
    /// Goes into the tokens login issues (see `AccountState`).
    pub token_version: i64,
    /// How many times an admin has cleared this account's sign-in delays;
    /// the throttle forgets delays recorded under an older count.
    pub throttle_resets: i64,
}

/// Records a failed sign-in (of a known account, or of an unknown name),
/// and, when it started a sign-in delay, that too.
pub fn record_login_failure(
    tx: &Transaction<'_>,
    account: Option<(i64, Role)>,
    origin: Origin,
    delayed: bool,
) -> Result<(), ApiError> {
    let (actor, entity_id) = match account {
        Some((id, role)) => (Actor::account(id, role, origin), Some(id)),
        None => (Actor::anonymous(origin), None),
    };
    let on_user = |event: Event| match entity_id {
        Some(id) => event.on(Entity::User, id),
        None => event.about(Entity::User),
    };
    audit::record(tx, actor, on_user(Event::new(Action::LoginFailed)).failed())?;
    if delayed {
        audit::record(tx, actor, on_user(Event::new(Action::Throttle)))?;
    }
    Ok(())
}

/// Clears an account's sign-in delays (`clinicdesk admin unlock`, an
/// admin's unlock): a running server drops the delays it holds for the
/// account at its next sign-in attempt. `false` if no account has this
/// email or username.
pub fn reset_throttle(conn: &Connection, login: &str) -> Result<Option<i64>, ApiError> {
    Ok(conn
        .query_row(
            "UPDATE users SET throttle_resets = throttle_resets + 1
              WHERE email = ?1 OR username = ?1 RETURNING id",
            [login],
            |row| row.get(0),
        )
        .optional()?)
}

/// The stored password hash of an account.
pub fn password_hash(conn: &Connection, id: i64) -> Result<Option<String>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT password_hash FROM users WHERE id = ?1")?;
    Ok(stmt.query_row([id], |row| row.get(0)).optional()?)
}

pub fn find(conn: &Connection, id: i64) -> Result<Option<User>, ApiError> {
    let mut stmt = conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?;
    Ok(stmt.query_row([id], User::from_row).optional()?)
}

/// What a person is called among `ids` (the name, else the username,
/// else the email), by id, in one query; deactivated accounts included.
pub fn names(
    conn: &Connection,
    ids: &[i64],
) -> Result<std::collections::HashMap<i64, String>, ApiError> {
    if ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let ids = serde_json::to_string(ids).map_err(anyhow::Error::from)?;
    let mut stmt = conn.prepare_cached(
        "SELECT id, coalesce(nullif(name, ''), nullif(username, ''), email) AS shown FROM users
          WHERE id IN (SELECT value FROM json_each(?1))",
    )?;
    let names = stmt
        .query_map([ids], |row| Ok((row.get("id")?, row.get("shown")?)))?
        .collect::<Result<_, _>>()?;
    Ok(names)
}

/// Whether any active admin exists (first-run setup is offered until one does).
pub fn admin_exists(conn: &Connection) -> Result<bool, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND is_active = 1)",
    )?;
    Ok(stmt.query_row([], |row| row.get(0))?)
}

/// The first active admin's id, if any (who owns the records of a Django
/// import that name no account clinicdesk could bring in).
pub fn first_admin(conn: &Connection) -> Result<Option<i64>, ApiError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM users WHERE role = 'admin' AND is_active = 1 ORDER BY id LIMIT 1",
    )?;
    Ok(stmt.query_row([], |row| row.get(0)).optional()?)
}

pub fn insert(
    conn: &Connection,
    account: &NewAccount,
    password_hash: &str,
) -> Result<User, ApiError> {
    let now = db::now();
    let mut stmt = conn.prepare_cached(
        "INSERT INTO users (email, username, name, password_hash, role, must_change_password,
                            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
         RETURNING id, name, email, username, role, is_active, NULL AS locked_until,
                   must_change_password, doctor_id, created_at, updated_at",
    )?;
    let result: Result<User, ApiError> = stmt
        .query_row(
            params![
                account.email,
                account.username,
                account.name,
                password_hash,
                account.role,
                account.must_change_password,
                now
            ],
            User::from_row,
        )
        .map_err(ApiError::from);
    result
        .on_unique("users.email", || {
            ApiError::duplicate("An account with this email already exists.")
        })
        .on_unique("users.username", || {
            ApiError::duplicate("An account with this username already exists.")
        })
}

/// Every account, by id (for the whole-clinic export).
pub fn select_every(conn: &Connection) -> Result<Vec<User>, ApiError> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY id"))?;
    let users = stmt.query_map([], User::from_row)?;
    Ok(users.collect::<Result<_, _>>()?)
}

/// The account with this email, if any.
pub fn id_by_email(conn: &Connection, email: &str) -> Result<Option<i64>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM users WHERE email = ?1")?;
    Ok(stmt.query_row([email], |row| row.get(0)).optional()?)
}

/// An account an import brings in, already checked.
pub struct Imported<'a> {
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub username: Option<&'a str>,
    pub role: Role,
    pub is_active: bool,
    pub created_at: &'a str,
    pub updated_at: &'a str,
}

/// Creates an imported account; its password must be replaced before
/// anything else (`must_change_password`). Answers its id.
pub fn insert_imported(
    tx: &Transaction<'_>,
    account: &Imported<'_>,
    password_hash: &str,
) -> Result<i64, ApiError> {
    let inserted: Result<i64, ApiError> = tx
        .prepare_cached(
            "INSERT INTO users (email, username, name, password_hash, role, is_active,
                                must_change_password, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8)
             RETURNING id",
        )?
        .query_row(
            params![
                account.email,
                account.username,
                account.name,
                password_hash,
                account.role,
                account.is_active,
                account.created_at,
                account.updated_at
            ],
            |row| row.get(0),
        )
        .map_err(ApiError::from);
    inserted.on_unique("users.username", || {
        ApiError::duplicate("Another account of the document or of this clinic has this username.")
    })
}

/// Links account `id` to doctor `doctor`; `false` when there is no such doctor.
pub fn link_doctor(tx: &Transaction<'_>, id: i64, doctor: i64) -> Result<bool, ApiError> {
    let linked = tx
        .prepare_cached(
            "UPDATE users SET doctor_id = ?2
              WHERE id = ?1 AND EXISTS (SELECT 1 FROM doctors WHERE id = ?2)",
        )?
        .execute(params![id, doctor])?;
    Ok(linked == 1)
}

/// Applies an admin's (or the user's own) changes in one transaction,
/// refusing to demote or deactivate the last active admin.
pub fn update(
    tx: &Transaction<'_>,
    caller: &Caller,
    id: i64,
    changes: &AccountChanges,
) -> Result<User, ApiError> {
    let current = find(tx, id)?.ok_or(ApiError::NotFound)?;
    let loses_admin = current.role == Role::Admin
        && current.is_active
        && (changes.role.is_some_and(|r| r != Role::Admin) || changes.is_active == Some(false));
    if loses_admin {
        let others: i64 = tx.query_row(
            "SELECT count(*) FROM users WHERE role = 'admin' AND is_active = 1 AND id != ?1",
            [id],
            |row| row.get(0),
        )?;
        if others == 0 {
            return Err(ApiError::Conflict {
                code: Code::LastAdmin,
                detail: "This is the last active admin; make another admin first.".into(),
            });
        }
    }
    let name = changes.name.clone().unwrap_or(current.name.clone());
    let username = changes.username.clone().unwrap_or(current.username.clone());
    let role = changes.role.unwrap_or(current.role);
    let is_active = changes.is_active.unwrap_or(current.is_active);
    let must_change = changes
        .must_change_password
        .unwrap_or(current.must_change_password);
    let doctor = changes.doctor.unwrap_or(current.doctor);
    if let Some(linked) = doctor.filter(|d| Some(*d) != current.doctor) {
        if crate::doctors::find_live(tx, linked)?.is_none() {
            return Err(ApiError::field(
                "doctor",
                "No such doctor (unknown or archived).",
            ));
        }
    }
    let updated: Result<usize, ApiError> = tx
        .execute(
            "UPDATE users SET name = ?2, username = ?3, role = ?4, is_active = ?5,
                    password_hash = coalesce(?6, password_hash), must_change_password = ?7,
                    updated_at = ?8, doctor_id = ?9
              WHERE id = ?1",
            params![
                id,
                name,
                username,
                role,
                is_active,
                changes.password,
                must_change,
                db::now(),
                doctor
            ],
        )
        .map_err(ApiError::from);
    updated
        .on_unique("users.username", || {
            ApiError::duplicate("An account with this username already exists.")
        })
        .on_unique("users.doctor_id", || {
            ApiError::duplicate("Another account already belongs to this doctor.")
        })?;
    if changes.password.is_some() || !is_active {
        crate::account::sql::revoke_all(tx, id)?;
    }
    if changes.unlock {
        tx.execute(
            "UPDATE users SET throttle_resets = throttle_resets + 1 WHERE id = ?1",
            [id],
        )?;
    }
    let user = find(tx, id)?.ok_or(ApiError::NotFound)?;
    for event in events(&current, &user, changes) {
        audit::record(tx, caller, event.on(Entity::User, id))?;
    }
    Ok(user)
}

/// The audit events one account change makes: each kind of change is
/// its own action, so "who made whom an admin" is one filter away.
fn events(before: &User, after: &User, changes: &AccountChanges) -> Vec<Event> {
    let mut events = Vec::new();
    if before.role != after.role {
        events.push(Event::new(Action::RoleChange).fields(["role"]));
    }
    if before.is_active && !after.is_active {
        events.push(Event::new(Action::UserDeactivate).fields(["is_active"]));
    }
    if changes.password.is_some() {
        events.push(Event::new(Action::PasswordChange).fields(["password"]));
    }
    if changes.unlock {
        events.push(Event::new(Action::Unlock).fields(["locked"]));
    }
    let mut plain = Vec::new();
    if before.name != after.name {
        plain.push("name");
    }
    if before.username != after.username {
        plain.push("username");
    }
    if !before.is_active && after.is_active {
        plain.push("is_active");
    }
    if before.must_change_password != after.must_change_password {
        plain.push("must_change_password");
    }
    if before.doctor != after.doctor {
        plain.push("doctor");
    }
    if !plain.is_empty() {
        events.push(Event::new(Action::Update).fields(plain));
    }
    events
}

pub(super) fn select_page(
    conn: &Connection,
    filter: &UserFilter,
) -> Result<(Vec<User>, i64), ApiError> {
    let where_clause =
        "WHERE (?1 IS NULL OR lower(email) LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'
                               OR lower(username) LIKE ?1 ESCAPE '\\')
                         AND (?2 IS NULL OR role = ?2) AND (?3 IS NULL OR is_active = ?3)";
    let search = filter.search.as_deref().map(like_pattern);
    let role = filter.role.map(Role::as_str);
    let total: i64 = conn.query_row(
        &format!("SELECT count(*) FROM users {where_clause}"),
        params![search, role, filter.is_active],
        |row| row.get(0),
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} {where_clause} ORDER BY {} LIMIT ?4 + 0 OFFSET ?5", // `+ 0`: see db::PAGE
        filter.ordering.sql("users")
    ))?;
    let users = stmt
        .query_map(
            params![
                search,
                role,
                filter.is_active,
                filter.paging.limit(),
                filter.paging.offset()
            ],
            User::from_row,
        )?
        .collect::<Result<_, _>>()?;
    Ok((users, total))
}
