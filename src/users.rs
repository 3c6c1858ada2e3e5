//! Accounts: `/api/users` (admin only), and the account rules that
//! registration, first-run setup and `clinicdesk admin create` share.
//!
//! Accounts are never erased: `DELETE` deactivates, so history stays
//! attributable. The last active admin can be neither demoted nor
//! deactivated (`409 last_admin`), so the clinic can never lock itself out.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{delete, get, patch, post, routes, FromForm, Route, State};
use serde::Serialize;
use serde_json::Map;

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::password::{self, Hasher};
use crate::auth::{Admin, Role};
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, JsonBody, Ordering, Page, Paging};
use crate::validation::Fields;

pub fn routes() -> Vec<Route> {
    routes![list, create, read, update, deactivate]
}

/// An account as the API shows it (never its password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub name: Option<String>,
    pub email: String,
    pub username: Option<String>,
    pub role: Role,
    pub is_active: bool,
    /// Set while the account is locked after repeated failed sign-ins
    /// (an admin unlocks it with `PATCH {"locked": false}`).
    pub locked_until: Option<String>,
    /// The password was set by an admin: until its owner chooses their own
    /// (`POST /api/auth/password/`), every other request is refused.
    pub must_change_password: bool,
    pub created_at: String,
    pub updated_at: String,
}

impl User {
    fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: row.get("id")?,
            name: row.get("name")?,
            email: row.get("email")?,
            username: row.get("username")?,
            role: row.get("role")?,
            is_active: row.get("is_active")?,
            locked_until: row.get("locked_until")?,
            must_change_password: row.get("must_change_password")?,
            created_at: row.get("created_at")?,
            updated_at: row.get("updated_at")?,
        })
    }
}

/// A validated new account, password still in clear (hash it off the workers).
pub struct NewAccount {
    pub email: String,
    pub password: String,
    pub name: Option<String>,
    pub username: Option<String>,
    pub role: Role,
    /// Set by an admin's account (default): the password is temporary.
    pub must_change_password: bool,
}

impl NewAccount {
    /// Reads an account from a body. With `role: Some(r)` the role is fixed
    /// (registration, setup) and any `role` in the body is ignored; with
    /// `None` the body may choose it (admin), defaulting to `user`.
    pub fn read(
        body: &Map<String, serde_json::Value>,
        role: Option<Role>,
    ) -> Result<Self, ApiError> {
        let mut fields = Fields::new(body);
        let email = fields.email("email");
        let email = fields.require(&["email"], email, true);
        let name = fields.text(&["name"], 150).flatten();
        let username = read_username(&mut fields).flatten();
        // An account made by an admin (no fixed role) gets a temporary
        // password unless the admin says otherwise (e.g. a lab system's account).
        let (role, must_change_password) = match role {
            Some(role) => (role, false),
            None => (
                read_role(&mut fields).unwrap_or(Role::User),
                fields.boolean("must_change_password").unwrap_or(true),
            ),
        };
        let password = read_password(&mut fields, "password", email.as_deref(), name.as_deref());
        if let (Some(password), Some(confirm)) = (&password, body.get("password_confirm")) {
            if confirm.as_str() != Some(password.as_str()) {
                fields.error("password_confirm", "The two passwords do not match.");
            }
        }
        fields.finish()?;
        match (email, password) {
            (Some(email), Some(password)) => Ok(Self {
                email,
                password,
                name,
                username,
                role,
                must_change_password,
            }),
            _ => Err(ApiError::Internal(anyhow::anyhow!(
                "validated account is incomplete"
            ))),
        }
    }

    /// Hashes the password (off the async workers) and stores the account,
    /// recording `action` by `by` — or, when `by` names no account
    /// (registration, setup), by the new account itself.
    pub async fn create(
        self,
        db: &Db,
        hasher: &Hasher,
        action: Action,
        by: Actor,
    ) -> Result<User, ApiError> {
        let hash = hasher.hash(self.password.clone()).await?;
        db.run(move |conn| {
            // An explicit transaction: in autocommit mode a failed commit of an
            // INSERT … RETURNING is dropped with the statement, unreported.
            let tx = conn.transaction()?;
            let user = sql::insert(&tx, &self, &hash)?;
            let actor = Actor {
                account: by.account.or(Some((user.id, user.role))),
                ..by
            };
            let fields = ["email", "name", "username", "role", "password"]
                .into_iter()
                .filter(|name| match *name {
                    "name" => self.name.is_some(),
                    "username" => self.username.is_some(),
                    _ => true,
                });
            let event = Event::new(action).on(Entity::User, user.id).fields(fields);
            audit::record(&tx, actor, event)?;
            tx.commit()?;
            Ok(user)
        })
        .await
    }
}

/// A password field: present, and strong enough (see `password::check_strength`).
pub fn read_password(
    fields: &mut Fields<'_>,
    name: &'static str,
    email: Option<&str>,
    display_name: Option<&str>,
) -> Option<String> {
    // Passwords are not trimmed: every character counts.
    let raw = fields.raw_string(name);
    let password = fields.require(&[name], raw, true)?;
    match password::check_strength(&password, email.unwrap_or(""), display_name) {
        Ok(()) => Some(password),
        Err(message) => {
            fields.error(name, message);
            None
        }
    }
}

/// Letters, digits and `.+-_`, up to 150 characters (Django's rule without
/// `@`, so a username can never be mistaken for someone's email at login).
pub fn read_username(fields: &mut Fields<'_>) -> Option<Option<String>> {
    let username = fields.text(&["username"], 150)?;
    match username {
        Some(u)
            if !u
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '+' | '-' | '_')) =>
        {
            fields.error("username", "May contain only letters, digits and . + - _");
            None
        }
        other => Some(other),
    }
}

fn read_role(fields: &mut Fields<'_>) -> Option<Role> {
    fields
        .choice(
            &["role"],
            |r| Role::parse(&r.to_lowercase()).map(Role::as_str),
            "admin, staff, user",
        )
        .flatten()
        .and_then(Role::parse)
}

/// What may change on an account (`None`: keep). `password` is a new hash.
#[derive(Default)]
pub struct AccountChanges {
    pub name: Option<Option<String>>,
    pub username: Option<Option<String>>,
    pub role: Option<Role>,
    pub is_active: Option<bool>,
    pub password: Option<String>,
    /// Ends a lockout after failed sign-ins.
    pub unlock: bool,
    pub must_change_password: Option<bool>,
}

/// `GET /api/users` query: filters, ordering, paging.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserQuery<'r> {
    search: Option<&'r str>,
    role: Option<&'r str>,
    is_active: Option<&'r str>,
    ordering: Option<&'r str>,
    page: Option<&'r str>,
    page_size: Option<&'r str>,
}

struct UserFilter {
    search: Option<String>,
    role: Option<Role>,
    is_active: Option<bool>,
    ordering: Ordering,
    paging: Paging,
}

const ORDERING: &[(&str, &str)] = &[
    ("id", "id"),
    ("email", "email"),
    ("name", "name"),
    ("created_at", "created_at"),
];

impl UserQuery<'_> {
    fn validate(&self) -> Result<UserFilter, ApiError> {
        let mut errors = FieldErrors::new();
        let role = http::choice(
            &mut errors,
            "role",
            self.role,
            |r| Role::parse(r).map(Role::as_str),
            "admin, staff, user",
        );
        let filter = UserFilter {
            search: http::text_param(self.search),
            role: role.and_then(Role::parse),
            is_active: http::flag(&mut errors, "is_active", self.is_active),
            ordering: Ordering::parse(self.ordering, ORDERING, &mut errors),
            paging: Paging::parse(self.page, self.page_size, &mut errors),
        };
        http::checked(filter, errors)
    }
}

#[utoipa::path(tag = "users", responses((status = 200, description = "Accounts (admin)", body = [User])), security(("bearer" = [])))]
#[get("/users?<query..>")]
async fn list(query: UserQuery<'_>, _admin: Admin, db: &State<Db>) -> Result<Page<User>, ApiError> {
    let filter = query.validate()?;
    let paging = filter.paging;
    let (items, total) = db.run(move |conn| sql::select_page(conn, &filter)).await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "users", request_body = crate::openapi::UserRequest, responses((status = 201, description = "Creates an account (admin)", body = User)), security(("bearer" = [])))]
#[post("/users", data = "<body>")]
async fn create(
    body: JsonBody,
    admin: Admin,
    db: &State<Db>,
    hasher: &State<Hasher>,
) -> Result<Created<Json<User>>, ApiError> {
    let account = NewAccount::read(&body.0, None)?;
    let user = account
        .create(db, hasher, Action::Create, Actor::from(&admin.0))
        .await?;
    Ok(Created::new(format!("/api/users/{}/", user.id)).body(Json(user)))
}

#[utoipa::path(tag = "users", responses((status = 200, description = "One account (admin)", body = User)), security(("bearer" = [])))]
#[get("/users/<id>")]
async fn read(id: i64, _admin: Admin, db: &State<Db>) -> Result<Json<User>, ApiError> {
    db.run(move |conn| sql::find(conn, id))
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(tag = "users", request_body = crate::openapi::UserRequest, responses((status = 200, description = "Changes name, username, role, is_active or password (admin)", body = User)), security(("bearer" = [])))]
#[patch("/users/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    admin: Admin,
    db: &State<Db>,
    hasher: &State<Hasher>,
) -> Result<Json<User>, ApiError> {
    let current = db
        .run(move |conn| sql::find(conn, id))
        .await?
        .ok_or(ApiError::NotFound)?;
    let mut fields = Fields::new(&body.0);
    let name = fields.text(&["name"], 150);
    let username = read_username(&mut fields);
    let role = if fields.has(&["role"]) {
        read_role(&mut fields)
    } else {
        None
    };
    let is_active = fields.boolean("is_active");
    // Only unlocking is possible; locking is what failed sign-ins do.
    let unlock = match fields.boolean("locked") {
        Some(true) => {
            fields.error(
                "locked",
                "Accounts lock themselves after failed sign-ins; only false (unlock) may be sent.",
            );
            false
        }
        Some(false) => true,
        None => false,
    };
    let password = if fields.has(&["password"]) {
        let display_name = name.clone().flatten().or_else(|| current.name.clone());
        read_password(
            &mut fields,
            "password",
            Some(&current.email),
            display_name.as_deref(),
        )
    } else {
        None
    };
    // A password an admin sets is temporary unless they say otherwise.
    let must_change_password = fields
        .boolean("must_change_password")
        .or(password.as_ref().map(|_| true));
    fields.finish()?;
    let password_hash = match password {
        Some(password) => Some(hasher.hash(password).await?),
        None => None,
    };
    let changes = AccountChanges {
        name,
        username,
        role,
        is_active,
        password: password_hash,
        unlock,
        must_change_password,
    };
    let user = db
        .run(move |conn| sql::update(conn, &admin.0, id, &changes))
        .await?;
    Ok(Json(user))
}

#[utoipa::path(tag = "users", responses((status = 204, description = "Deactivates an account (admin); accounts are never erased")), security(("bearer" = [])))]
#[delete("/users/<id>")]
async fn deactivate(id: i64, admin: Admin, db: &State<Db>) -> Result<NoContent, ApiError> {
    let changes = AccountChanges {
        is_active: Some(false),
        ..AccountChanges::default()
    };
    db.run(move |conn| sql::update(conn, &admin.0, id, &changes))
        .await?;
    Ok(NoContent)
}

/// Account SQL. Also used by `auth` (login, refresh, me) and `setup`.
pub mod sql {
    use rusqlite::{params, Connection, OptionalExtension};

    use super::{AccountChanges, NewAccount, User, UserFilter};
    use crate::audit::{self, Action, Actor, Entity, Event, Origin};
    use crate::auth::{Caller, Role};
    use crate::db::{self, ResultExt};
    use crate::error::ApiError;
    use crate::validation::like_pattern;

    const SELECT: &str =
        "SELECT id, name, email, username, role, is_active,
                CASE WHEN locked_until > strftime('%Y-%m-%dT%H:%M:%SZ', 'now') THEN locked_until END AS locked_until,
                must_change_password, created_at, updated_at
           FROM users";

    /// What a token's user id may do now: role, active, must change password.
    pub fn auth_state(conn: &Connection, id: i64) -> Result<Option<(Role, bool, bool)>, ApiError> {
        let mut stmt = conn.prepare_cached(
            "SELECT role, is_active, must_change_password FROM users WHERE id = ?1",
        )?;
        Ok(stmt
            .query_row([id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()?)
    }

    /// What login needs of the account with this email or username.
    pub fn find_login(conn: &Connection, login: &str) -> Result<Option<Login>, ApiError> {
        let mut stmt = conn.prepare_cached(
            "SELECT id, password_hash, role, is_active,
                    -- Whole seconds (both times are to the second), so the
                    -- answer is exact: julianday's floating point was not.
                    CASE WHEN locked_until > ?2
                         THEN unixepoch(locked_until) - unixepoch(?2)
                         ELSE 0 END AS locked_seconds
               FROM users WHERE email = ?1 OR username = ?1 LIMIT 1",
        )?;
        let login = stmt
            .query_row(params![login, db::now()], |row| {
                Ok(Login {
                    id: row.get("id")?,
                    password_hash: row.get("password_hash")?,
                    role: row.get("role")?,
                    is_active: row.get("is_active")?,
                    locked_seconds: u64::try_from(row.get::<_, i64>("locked_seconds")?)
                        .unwrap_or(0),
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
        /// Seconds until a lockout ends; 0 when not locked.
        pub locked_seconds: u64,
    }

    /// Failed sign-ins in a row that lock an account, and for how long.
    const LOCK_AFTER: i64 = 10;
    const LOCK_MINUTES: i64 = 15;

    /// Records a failed sign-in. For a known account it counts towards the
    /// lockout: the tenth wrong password in a row locks it (audited too).
    pub fn record_login_failure(
        conn: &mut Connection,
        account: Option<(i64, Role)>,
        origin: Origin,
    ) -> Result<(), ApiError> {
        let tx = conn.transaction()?;
        let Some((id, role)) = account else {
            let event = Event::new(Action::LoginFailed).about(Entity::User).failed();
            audit::record(&tx, Actor::anonymous(origin), event)?;
            tx.commit()?;
            return Ok(());
        };
        let actor = Actor::account(id, role, origin);
        let event = Event::new(Action::LoginFailed)
            .on(Entity::User, id)
            .failed();
        audit::record(&tx, actor, event)?;
        let failures: i64 = tx.query_row(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ?1 RETURNING failed_logins",
            [id],
            |row| row.get(0),
        )?;
        if failures >= LOCK_AFTER {
            tx.execute(
                "UPDATE users SET failed_logins = 0,
                        locked_until = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', ?2)
                  WHERE id = ?1",
                params![id, format!("+{LOCK_MINUTES} minutes")],
            )?;
            audit::record(&tx, actor, Event::new(Action::Lockout).on(Entity::User, id))?;
            tracing::warn!(
                user_id = id,
                "account locked for {LOCK_MINUTES} minutes after {LOCK_AFTER} failed sign-ins"
            );
        }
        tx.commit()?;
        Ok(())
    }

    /// A successful sign-in starts the count again.
    pub fn record_login_success(conn: &Connection, id: i64) -> Result<(), ApiError> {
        conn.execute(
            "UPDATE users SET failed_logins = 0 WHERE id = ?1 AND failed_logins != 0",
            [id],
        )?;
        Ok(())
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

    /// Whether any active admin exists (first-run setup is offered until one does).
    pub fn admin_exists(conn: &Connection) -> Result<bool, ApiError> {
        let mut stmt = conn.prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM users WHERE role = 'admin' AND is_active = 1)",
        )?;
        Ok(stmt.query_row([], |row| row.get(0))?)
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
                       must_change_password, created_at, updated_at",
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

    /// Applies an admin's (or the user's own) changes in one transaction,
    /// refusing to demote or deactivate the last active admin.
    pub fn update(
        conn: &mut Connection,
        caller: &Caller,
        id: i64,
        changes: &AccountChanges,
    ) -> Result<User, ApiError> {
        let tx = conn.transaction()?;
        let current = find(&tx, id)?.ok_or(ApiError::NotFound)?;
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
                    code: "last_admin",
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
        let updated: Result<usize, ApiError> = tx
            .execute(
                "UPDATE users SET name = ?2, username = ?3, role = ?4, is_active = ?5,
                        password_hash = coalesce(?6, password_hash), must_change_password = ?7,
                        updated_at = ?8
                  WHERE id = ?1",
                params![
                    id,
                    name,
                    username,
                    role,
                    is_active,
                    changes.password,
                    must_change,
                    db::now()
                ],
            )
            .map_err(ApiError::from);
        updated.on_unique("users.username", || {
            ApiError::duplicate("An account with this username already exists.")
        })?;
        if changes.password.is_some() || !is_active {
            crate::auth::routes::sql::revoke_all(&tx, id)?;
        }
        if changes.unlock {
            tx.execute(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1",
                [id],
            )?;
        }
        let user = find(&tx, id)?.ok_or(ApiError::NotFound)?;
        for event in events(&current, &user, changes) {
            audit::record(&tx, caller, event.on(Entity::User, id))?;
        }
        tx.commit()?;
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
        if changes.unlock && before.locked_until.is_some() {
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
        if !plain.is_empty() {
            events.push(Event::new(Action::Update).fields(plain));
        }
        events
    }

    pub(super) fn select_page(
        conn: &Connection,
        filter: &UserFilter,
    ) -> Result<(Vec<User>, i64), ApiError> {
        let where_clause = "WHERE (?1 IS NULL OR lower(email) LIKE ?1 ESCAPE '\\' OR lower(name) LIKE ?1 ESCAPE '\\'
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
            "{SELECT} {where_clause} ORDER BY {} LIMIT ?4 OFFSET ?5",
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
}
