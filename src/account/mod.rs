//! The caller's own account: `/api/auth/*` and the `/api/token/*` aliases
//! the Django clients use: register, login, refresh (rotating), logout, me,
//! password change; browser sessions in `session.rs`, refresh-token rows in
//! `sql.rs`. Other people's accounts are `users` (admins only); who is
//! calling is `auth`, which sits below this module: these endpoints read
//! accounts and the registration setting and write the trail, none of
//! which identity may import.
//!
//! Refresh tokens rotate: each is good for one refresh. Presenting a used one
//! means it was copied, so every token of that login is revoked.

use rocket::response::status::{Created, NoContent};
use rocket::serde::json::Json;
use rocket::{get, patch, post, routes, Route, State};
use serde::Serialize;

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::password::Hasher;
use crate::auth::token::{Claims, Keys, TokenKind};
use crate::auth::{Caller, Role};
use crate::db::Db;
use crate::error::{ApiError, Code};
use crate::http::JsonBody;
use crate::origin::Origin;
use crate::throttle::{ClientAddr, LoginThrottle, Subject};
use crate::users::{self, AccountChanges, NewAccount, User};
use crate::validation::Fields;

pub mod schema;
pub mod session;
pub mod sql;

pub fn routes() -> Vec<Route> {
    let mut routes = session::routes();
    routes.extend(routes![
        register,
        login,
        token,
        refresh,
        token_refresh,
        logout,
        me,
        update_me,
        change_password
    ]);
    routes
}

/// What login and refresh answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenPair {
    pub access: String,
    pub refresh: String,
    /// Always `Bearer`.
    #[schema(schema_with = bearer_schema)]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The account (login only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<User>,
}

/// `token_type`: the one value it has.
fn bearer_schema() -> utoipa::openapi::Object {
    crate::validation::one_of_schema(&["Bearer"], false)
}

/// Signs an access and a refresh token; the refresh claims are for storing.
fn issue_pair(
    keys: &Keys,
    user_id: i64,
    role: Role,
    version: i64,
) -> Result<(TokenPair, Claims), ApiError> {
    let (access, _) = keys.issue(user_id, role, TokenKind::Access, version)?;
    let (refresh, refresh_claims) = keys.issue(user_id, role, TokenKind::Refresh, version)?;
    let pair = TokenPair {
        access,
        refresh,
        token_type: "Bearer",
        expires_in: keys.access_seconds(),
        user: None,
    };
    Ok((pair, refresh_claims))
}

#[utoipa::path(tag = "auth", request_body = schema::RegisterRequest, responses((status = 201, description = "The new account, a `user`", body = User), (status = 403, description = "`registration_closed`: self-registration is off (an admin opens it in settings)"), (status = 409, description = "`duplicate`: the email or username is taken"), (status = 503, description = "`busy`: too many passwords are being checked at once")))]
#[post("/auth/register", data = "<body>")]
async fn register(
    body: JsonBody,
    origin: Origin,
    db: &State<Db>,
    hasher: &State<Hasher>,
) -> Result<Created<Json<User>>, ApiError> {
    if !db.read(crate::settings::sql::registration_open).await? {
        return Err(ApiError::Forbidden {
            code: Code::RegistrationClosed,
            detail: "Self-registration is closed. An admin can create your account, \
                     or open registration in Settings."
                .into(),
        });
    }
    let account = NewAccount::read(&body.0, Some(Role::User))?;
    let user = account
        .create(db, hasher, Action::Create, Actor::anonymous(origin))
        .await?;
    Ok(Created::new(format!("/api/users/{}/", user.id)).body(Json(user)))
}

#[utoipa::path(tag = "auth", request_body = schema::LoginRequest, responses((status = 200, description = "A new login: an access and a refresh token, and the account", body = TokenPair), (status = 401, description = "`invalid_credentials` (the same for an unknown email and a wrong password) or `account_inactive`"), (status = 429, description = "`throttled`: too many failed sign-ins from this address, or the account is locked for a while"), (status = 503, description = "`busy`: too many passwords are being checked at once")))]
#[post("/auth/login", data = "<body>")]
async fn login(
    body: JsonBody,
    origin: Origin,
    throttle: &State<LoginThrottle>,
    db: &State<Db>,
    keys: &State<Keys>,
    hasher: &State<Hasher>,
) -> Result<Json<TokenPair>, ApiError> {
    sign_in(body, origin, throttle, db, keys, hasher)
        .await
        .map(Json)
}

/// `POST /api/token/`: the simplejwt name for login.
#[utoipa::path(tag = "auth", request_body = schema::LoginRequest, responses((status = 200, description = "The same as `POST /api/auth/login/`", body = TokenPair), (status = 401, description = "`invalid_credentials` (the same for an unknown email and a wrong password) or `account_inactive`"), (status = 429, description = "`throttled`: too many failed sign-ins from this address, or the account is locked for a while"), (status = 503, description = "`busy`: too many passwords are being checked at once")))]
#[post("/token", data = "<body>")]
async fn token(
    body: JsonBody,
    origin: Origin,
    throttle: &State<LoginThrottle>,
    db: &State<Db>,
    keys: &State<Keys>,
    hasher: &State<Hasher>,
) -> Result<Json<TokenPair>, ApiError> {
    sign_in(body, origin, throttle, db, keys, hasher)
        .await
        .map(Json)
}

/// Checks the credentials in `body` and opens a login: a token pair and the user.
async fn sign_in(
    body: JsonBody,
    origin: Origin,
    throttle: &LoginThrottle,
    db: &Db,
    keys: &Keys,
    hasher: &Hasher,
) -> Result<TokenPair, ApiError> {
    let client = ClientAddr(origin.ip);
    // Before any work: a throttled address gets no password check at all.
    throttle.check_address(client)?;
    let (login, secret) = credentials(&body)?;
    let mut attempt = SignIn::of(login, origin, throttle, db).await?;
    attempt.refuse_while_delayed().await?;
    let account = attempt.check_password(secret, hasher).await?;
    attempt.refuse_inactive(&account).await?;
    open_login(&account, origin, db, keys).await
}

/// The `email` (or `username`) and `password` of a sign-in body.
fn credentials(body: &JsonBody) -> Result<(String, String), ApiError> {
    let mut fields = Fields::new(&body.0);
    let login = fields.text(&["email", "username"], 254);
    let login = fields.require(&["email", "username"], login, true);
    let secret = fields.raw_string("password");
    let secret = fields.require(&["password"], secret, true);
    fields.finish()?;
    match (login, secret) {
        (Some(login), Some(secret)) => Ok((login, secret)),
        _ => Err(ApiError::Internal(anyhow::anyhow!(
            "validated login is incomplete"
        ))),
    }
}

/// One sign-in attempt: the account its login names (if any), whose
/// failures it counts as, and from where.
struct SignIn<'a> {
    account: Option<users::sql::Login>,
    subject: Subject,
    /// The account's `throttle_resets` (see `throttle`).
    resets: i64,
    client: ClientAddr,
    origin: Origin,
    throttle: &'a LoginThrottle,
    db: &'a Db,
}

impl<'a> SignIn<'a> {
    /// Looks up the account `login` names. An unknown name is counted
    /// under the name itself, so the answers do not tell the two apart.
    async fn of(
        login: String,
        origin: Origin,
        throttle: &'a LoginThrottle,
        db: &'a Db,
    ) -> Result<Self, ApiError> {
        let subject_name = login.to_lowercase();
        let account = db
            .read(move |conn| users::sql::find_login(conn, &login))
            .await?;
        let (subject, resets) = match &account {
            Some(account) => (Subject::Account(account.id), account.throttle_resets),
            None => (Subject::Unknown(subject_name), 0),
        };
        Ok(Self {
            account,
            subject,
            resets,
            client: ClientAddr(origin.ip),
            origin,
            throttle,
            db,
        })
    }

    /// The account's id and role, for the trail.
    fn known(&self) -> Option<(i64, Role)> {
        self.account.as_ref().map(|a| (a.id, a.role))
    }

    /// This account (or name) from this address is waiting out a delay:
    /// refused before any password check, right or wrong. From another
    /// address, the account signs in as usual.
    async fn refuse_while_delayed(&self) -> Result<(), ApiError> {
        let Err(err) = self
            .throttle
            .check_pair(&self.subject, self.client, self.resets)
        else {
            return Ok(());
        };
        if let Some((id, role)) = self.known() {
            self.record_refusal(id, role).await?;
        }
        Err(err)
    }

    /// The account (taken out of the attempt), if `secret` is its
    /// password; else the failure is counted and recorded, and the answer
    /// is the same for an unknown name and a wrong password.
    async fn check_password(
        &mut self,
        secret: String,
        hasher: &Hasher,
    ) -> Result<users::sql::Login, ApiError> {
        let stored_hash = self.account.as_ref().map(|a| a.password_hash.clone());
        let matches = hasher.verify(secret, stored_hash).await?;
        let known = self.known();
        match self.account.take() {
            Some(account) if matches => {
                self.throttle.record_success(&self.subject, self.client);
                Ok(account)
            }
            _ => {
                let delayed = self
                    .throttle
                    .record_failure(&self.subject, self.client, self.resets);
                let origin = self.origin;
                self.db
                    .write(move |tx| users::sql::record_login_failure(tx, known, origin, delayed))
                    .await?;
                Err(ApiError::Unauthorized {
                    code: Code::InvalidCredentials,
                    detail: "The email/username or password is wrong.".into(),
                })
            }
        }
    }

    /// A deactivated account is refused, with the right password too.
    async fn refuse_inactive(&self, account: &users::sql::Login) -> Result<(), ApiError> {
        if account.is_active {
            return Ok(());
        }
        self.record_refusal(account.id, account.role).await?;
        Err(ApiError::Unauthorized {
            code: Code::AccountInactive,
            detail: "This account has been deactivated. Ask an admin to reactivate it.".into(),
        })
    }

    /// A failed `login` of account `id` in the trail.
    async fn record_refusal(&self, id: i64, role: Role) -> Result<(), ApiError> {
        let origin = self.origin;
        let event = Event::new(Action::LoginFailed)
            .on(Entity::User, id)
            .failed();
        self.db
            .write(move |tx| audit::record(tx, Actor::account(id, role, origin), event))
            .await
    }
}

/// Issues the token pair of a new login for `account`, stores its refresh
/// token and records the login, and returns the pair with the account.
async fn open_login(
    account: &users::sql::Login,
    origin: Origin,
    db: &Db,
    keys: &Keys,
) -> Result<TokenPair, ApiError> {
    let (mut pair, refresh_claims) =
        issue_pair(keys, account.id, account.role, account.token_version)?;
    let (user_id, role) = (account.id, account.role);
    let user = db
        .write(move |tx| {
            let event = Event::new(Action::Login).on(Entity::User, user_id);
            audit::record(tx, Actor::account(user_id, role, origin), event)?;
            sql::store(tx, &refresh_claims, &refresh_claims.jti, user_id)?;
            users::sql::find(tx, user_id)
        })
        .await?;
    tracing::info!(user_id, "login");
    pair.user = user;
    Ok(pair)
}

#[utoipa::path(tag = "auth", request_body = schema::RefreshRequest, responses((status = 200, description = "A new access and refresh token; the one presented stops working", body = TokenPair), (status = 401, description = "`not_authenticated`: an invalid, expired or spent refresh token (a spent one also ends its whole login)")))]
#[post("/auth/refresh", data = "<body>")]
async fn refresh(
    body: JsonBody,
    origin: Origin,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<Json<TokenPair>, ApiError> {
    rotate(body, origin, db, keys).await.map(Json)
}

/// `POST /api/token/refresh/`: the simplejwt name for refresh.
#[utoipa::path(tag = "auth", request_body = schema::RefreshRequest, responses((status = 200, description = "The same as `POST /api/auth/refresh/`", body = TokenPair), (status = 401, description = "`not_authenticated`: an invalid, expired or spent refresh token (a spent one also ends its whole login)")))]
#[post("/token/refresh", data = "<body>")]
async fn token_refresh(
    body: JsonBody,
    origin: Origin,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<Json<TokenPair>, ApiError> {
    rotate(body, origin, db, keys).await.map(Json)
}

/// Reads and verifies the body's `refresh` token.
fn refresh_claims(body: &JsonBody, keys: &Keys) -> Result<Claims, ApiError> {
    let mut fields = Fields::new(&body.0);
    let token = fields.raw_string("refresh");
    let token = fields.require(&["refresh"], token, true);
    fields.finish()?;
    keys.verify(token.as_deref().unwrap_or_default(), TokenKind::Refresh)
}

async fn rotate(
    body: JsonBody,
    origin: Origin,
    db: &Db,
    keys: &Keys,
) -> Result<TokenPair, ApiError> {
    let claims = refresh_claims(&body, keys)?;
    rotate_verified(claims, 0, origin, db, keys).await
}

/// Spends a verified refresh token and issues the next pair of its login.
/// `grace_seconds`: how long after its first use the same token may still
/// be presented (two tabs of one browser renewing at once) before reuse
/// counts as theft. The token API allows none.
async fn rotate_verified(
    claims: Claims,
    grace_seconds: i64,
    origin: Origin,
    db: &Db,
    keys: &Keys,
) -> Result<TokenPair, ApiError> {
    let keys = keys.clone();
    db.write(move |tx| sql::rotate(tx, &keys, &claims, grace_seconds, origin))
        .await?
}

#[utoipa::path(tag = "auth", request_body = schema::RefreshRequest, responses((status = 204, description = "The login the refresh token belongs to is ended"), (status = 401, description = "`not_authenticated`: an invalid or expired refresh token")))]
#[post("/auth/logout", data = "<body>")]
async fn logout(
    body: JsonBody,
    origin: Origin,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<NoContent, ApiError> {
    let claims = refresh_claims(&body, keys)?;
    db.write(move |tx| sql::end_login(tx, &claims, origin))
        .await?;
    Ok(NoContent)
}

#[utoipa::path(tag = "auth", responses((status = 200, description = "The caller's account (also while its password is temporary)", body = User)), security(("bearer" = [])))]
#[get("/auth/me")]
async fn me(caller: Caller, db: &State<Db>) -> Result<Json<User>, ApiError> {
    let user = db
        .read(move |conn| users::sql::find(conn, caller.id))
        .await?;
    user.map(Json).ok_or(ApiError::NotFound)
}

/// The caller changes their own `name` and `username`; anything else is ignored.
#[utoipa::path(tag = "auth", request_body = schema::MeRequest, responses((status = 200, description = "The caller's account, with `name` or `username` changed", body = User), (status = 409, description = "`duplicate`: the username is taken")), security(("bearer" = [])))]
#[patch("/auth/me", data = "<body>")]
async fn update_me(body: JsonBody, caller: Caller, db: &State<Db>) -> Result<Json<User>, ApiError> {
    let mut fields = Fields::new(&body.0);
    let changes = AccountChanges {
        name: fields.text(&["name"], 150),
        username: users::read_username(&mut fields),
        ..AccountChanges::default()
    };
    fields.finish()?;
    let user = db
        .write(move |tx| users::sql::update(tx, &caller, caller.id, &changes))
        .await?;
    Ok(Json(user))
}

/// Changes the caller's password and ends every other login of theirs.
#[utoipa::path(tag = "auth", request_body = schema::PasswordChangeRequest, responses((status = 204, description = "The password is changed and every refresh token of the account revoked (a wrong `current_password` is `400`)"), (status = 503, description = "`busy`: too many passwords are being checked at once")), security(("bearer" = [])))]
#[post("/auth/password", data = "<body>")]
async fn change_password(
    body: JsonBody,
    caller: Caller,
    db: &State<Db>,
    hasher: &State<Hasher>,
) -> Result<NoContent, ApiError> {
    let user = db
        .read(move |conn| {
            let user = users::sql::find(conn, caller.id)?;
            let hash = users::sql::password_hash(conn, caller.id)?;
            Ok(user.zip(hash))
        })
        .await?;
    let Some((user, hash)) = user else {
        return Err(ApiError::NotFound);
    };

    let mut fields = Fields::new(&body.0);
    let current = fields.raw_string("current_password");
    let current = fields.require(&["current_password"], current, true);
    let new = users::read_password(
        &mut fields,
        "new_password",
        Some(&user.email),
        user.name.as_deref(),
    );
    if let Some(current) = current {
        if !hasher.verify(current, Some(hash)).await? {
            fields.error("current_password", "The current password is wrong.");
        }
    }
    fields.finish()?;

    let new_hash = hasher.hash(new.unwrap_or_default()).await?;
    let changes = AccountChanges {
        password: Some(new_hash),
        must_change_password: Some(false),
        ..AccountChanges::default()
    };
    db.write(move |tx| users::sql::update(tx, &caller, caller.id, &changes))
        .await?;
    Ok(NoContent)
}
