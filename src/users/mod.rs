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
use crate::throttle::LoginThrottle;
use crate::validation::Fields;

pub fn routes() -> Vec<Route> {
    audit::denied::about(
        Entity::User,
        routes![list, create, read, update, deactivate],
    )
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
    /// While failed sign-ins make this account wait before its next
    /// attempt from some address, when the longest such delay ends (UTC).
    /// Sign-ins from other addresses are not delayed. An admin clears the
    /// delays with `PATCH {"locked": false}` (or `clinicdesk admin unlock`).
    #[schema(format = DateTime)]
    pub locked_until: Option<String>,
    /// The password was set by an admin: until its owner chooses their own
    /// (`POST /api/auth/password/`), every other request is refused.
    pub must_change_password: bool,
    /// The doctor record this account belongs to (a doctor who signs in),
    /// or `null`. It changes no visibility rule: the role decides.
    pub doctor: Option<i64>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
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
            doctor: row.get("doctor_id")?,
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
        db.write(move |tx| {
            let user = sql::insert(tx, &self, &hash)?;
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
            audit::record(tx, actor, event)?;
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
    /// Links the account to a doctor record, or unlinks it (`Some(None)`).
    pub doctor: Option<Option<i64>>,
}

/// `GET /api/users` query: filters, ordering, paging.
#[derive(Debug, FromForm, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UserQuery<'r> {
    /// Email, name or username: a case-insensitive substring.
    search: Option<&'r str>,
    #[param(value_type = Option<Role>)]
    role: Option<&'r str>,
    #[param(value_type = Option<bool>)]
    is_active: Option<&'r str>,
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

/// Fills in `locked_until` from the running server's sign-in throttle.
fn with_delays(mut user: User, throttle: &LoginThrottle) -> User {
    user.locked_until = throttle.delayed_until(user.id).and_then(|until| {
        time::OffsetDateTime::from(until)
            .replace_nanosecond(0)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    user
}

#[utoipa::path(tag = "users", params(UserQuery), responses((status = 200, description = "A page of the accounts (admin)", body = [User])), security(("bearer" = [])))]
#[get("/users?<query..>")]
async fn list(
    query: UserQuery<'_>,
    _admin: Admin,
    db: &State<Db>,
    throttle: &State<LoginThrottle>,
) -> Result<Page<User>, ApiError> {
    let filter = query.validate()?;
    let paging = filter.paging;
    let (items, total) = db.read(move |conn| sql::select_page(conn, &filter)).await?;
    let items = items
        .into_iter()
        .map(|u| with_delays(u, throttle))
        .collect();
    Ok(Page {
        items,
        total,
        paging,
    })
}

#[utoipa::path(tag = "users", request_body = schema::UserCreateRequest, responses((status = 201, description = "The new account (admin)", body = User), (status = 409, description = "`duplicate`: the email or username is taken"), (status = 503, description = "`busy`: too many passwords are being hashed at once")), security(("bearer" = [])))]
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

#[utoipa::path(tag = "users", params(("id" = i64, Path, description = "An account's id")), responses((status = 200, description = "One account (admin)", body = User)), security(("bearer" = [])))]
#[get("/users/<id>")]
async fn read(
    id: i64,
    _admin: Admin,
    db: &State<Db>,
    throttle: &State<LoginThrottle>,
) -> Result<Json<User>, ApiError> {
    db.read(move |conn| sql::find(conn, id))
        .await?
        .map(|user| Json(with_delays(user, throttle)))
        .ok_or(ApiError::NotFound)
}

#[utoipa::path(tag = "users", params(("id" = i64, Path, description = "An account's id")), request_body = schema::UserChangeRequest, responses((status = 200, description = "The account, changed (admin)", body = User), (status = 409, description = "`last_admin`: the last active admin cannot be demoted or deactivated; `duplicate`: the username is taken"), (status = 503, description = "`busy`: too many passwords are being hashed at once")), security(("bearer" = [])))]
#[patch("/users/<id>", data = "<body>")]
async fn update(
    id: i64,
    body: JsonBody,
    admin: Admin,
    db: &State<Db>,
    hasher: &State<Hasher>,
    throttle: &State<LoginThrottle>,
) -> Result<Json<User>, ApiError> {
    let current = db
        .read(move |conn| sql::find(conn, id))
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
    let doctor = fields.integer(&["doctor"], 1, i64::MAX);
    // Only unlocking is possible: accounts are never locked, failed
    // sign-ins only delay the address they come from.
    let unlock = match fields.boolean("locked") {
        Some(true) => {
            fields.error(
                "locked",
                "Accounts cannot be locked (deactivate one instead); only false, which clears its sign-in delays, may be sent.",
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
    // A password an admin sets is temporary unless they say otherwise; but
    // never on the admin's own account, which would leave them (perhaps
    // the only admin) unable to do anything until they chose another.
    let own = id == admin.0.id;
    let must_change_password = match fields.boolean("must_change_password") {
        Some(true) if own => {
            fields.error(
                "must_change_password",
                "You cannot give your own account a temporary password; change your password in My account instead.",
            );
            None
        }
        given => given.or(password.as_ref().map(|_| !own)),
    };
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
        doctor,
    };
    let user = db
        .write(move |tx| sql::update(tx, &admin.0, id, &changes))
        .await?;
    if unlock {
        throttle.clear_account(id);
    }
    Ok(Json(with_delays(user, throttle)))
}

#[utoipa::path(tag = "users", params(("id" = i64, Path, description = "An account's id")), responses((status = 204, description = "The account is deactivated (admin); accounts are never erased"), (status = 409, description = "`last_admin`: the last active admin cannot be deactivated")), security(("bearer" = [])))]
#[delete("/users/<id>")]
async fn deactivate(id: i64, admin: Admin, db: &State<Db>) -> Result<NoContent, ApiError> {
    let changes = AccountChanges {
        is_active: Some(false),
        ..AccountChanges::default()
    };
    db.write(move |tx| sql::update(tx, &admin.0, id, &changes))
        .await?;
    Ok(NoContent)
}

/// Account SQL. Also used by `auth` (login, refresh, me) and `setup`.
pub mod exchange;
pub mod schema;
pub mod sql;
