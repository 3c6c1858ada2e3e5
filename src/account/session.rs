//! Browser sessions: `/api/auth/session/*`. The same login as
//! `/api/auth/login/`, but the refresh token travels only in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to these routes, so no script in the page
//! can ever read it; the page keeps just the short-lived access token in
//! memory and asks `refresh/` for a new one (also after a reload).
//!
//! Cross-site requests cannot use the cookie (`SameSite=Strict`), and the
//! access token comes back in a JSON body another origin cannot read.
//!
//! The cookie has no `Max-Age` (closing the browser ends it), and a session
//! not renewed within the idle limit is refused here, so a tab left open or
//! closed on a shared reception PC does not stay signed in for days.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::status::NoContent;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Serialize;

use super::{rotate_verified, sign_in, sql, TokenPair};
use crate::auth::password::Hasher;
use crate::auth::token::{Keys, TokenKind};
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::origin::Origin;
use crate::throttle::LoginThrottle;
use crate::tls::Transport;
use crate::users::{self, User};

const COOKIE: &str = "clinicdesk_session";
const COOKIE_PATH: &str = "/api/auth/session";
/// Two tabs of one browser may renew with the same cookie at the same moment.
const RENEWAL_GRACE_SECONDS: i64 = 10;
/// The page renews its access token a minute before it expires while the
/// user works, and signs out after 15 idle minutes; a session not renewed
/// for longer than both was abandoned (a closed tab) and is not renewed.
const IDLE_MINUTES: u64 = 15;

pub fn routes() -> Vec<Route> {
    routes![open, refresh, close]
}

/// What the session routes answer: a login without its refresh token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub access: String,
    /// Always `Bearer`.
    #[schema(schema_with = super::bearer_schema)]
    pub token_type: &'static str,
    /// Seconds until the access token expires; refresh before then.
    pub expires_in: u64,
    pub user: Option<User>,
}

/// Moves the refresh token from `pair` into the cookie. A session cookie
/// (no `Max-Age`): closing the browser ends it; `Secure` over HTTPS.
fn hand_over(pair: TokenPair, user: Option<User>, jar: &SessionJar<'_>) -> Session {
    jar.cookies.add(
        Cookie::build((COOKIE, pair.refresh))
            .secure(jar.https)
            .http_only(true)
            .same_site(SameSite::Strict)
            .path(COOKIE_PATH),
    );
    Session {
        access: pair.access,
        token_type: pair.token_type,
        expires_in: pair.expires_in,
        user,
    }
}

/// The cookie jar, and whether the client speaks HTTPS (TLS ends in the
/// front door, so Rocket cannot tell, and would not mark the cookie `Secure`).
struct SessionJar<'r> {
    cookies: &'r CookieJar<'r>,
    https: bool,
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for SessionJar<'r> {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let https = req
            .rocket()
            .state::<Transport>()
            .is_some_and(Transport::is_tls);
        Outcome::Success(Self {
            cookies: req.cookies(),
            https,
        })
    }
}

fn forget(jar: &CookieJar<'_>) {
    jar.remove(Cookie::build(COOKIE).path(COOKIE_PATH));
}

/// Logs in (as `/api/auth/login/`) and sets the session cookie.
#[utoipa::path(tag = "sessions", request_body = super::schema::LoginRequest, responses((status = 200, description = "A browser login: the access token here, the refresh token in an `HttpOnly` cookie", body = Session, headers(("Set-Cookie" = String, description = "The session cookie (`HttpOnly`, `SameSite=Strict`, path `/api/auth/session`)"))), (status = 401, description = "`invalid_credentials` (the same for an unknown email and a wrong password) or `account_inactive`"), (status = 429, description = "`throttled`: too many failed sign-ins from this address, or the account is locked for a while"), (status = 503, description = "`busy`: too many passwords are being checked at once")))]
#[post("/auth/session", data = "<body>")]
async fn open(
    body: JsonBody,
    origin: Origin,
    throttle: &State<LoginThrottle>,
    jar: SessionJar<'_>,
    db: &State<Db>,
    keys: &State<Keys>,
    hasher: &State<Hasher>,
) -> Result<Json<Session>, ApiError> {
    let mut pair = sign_in(body, origin, throttle, db, keys, hasher).await?;
    let user = pair.user.take();
    Ok(Json(hand_over(pair, user, &jar)))
}

/// A new access token (and a rotated cookie) for the browser's session.
#[utoipa::path(tag = "sessions", params(("clinicdesk_session" = Option<String>, Cookie, description = "The session cookie `POST /api/auth/session/` set")), responses((status = 200, description = "A new access token for the browser session in the cookie (which is rotated)", body = Session, headers(("Set-Cookie" = String, description = "The rotated session cookie"))), (status = 401, description = "`not_authenticated`: no session cookie, or one that is invalid, spent or idle too long")))]
#[post("/auth/session/refresh")]
async fn refresh(
    origin: Origin,
    jar: SessionJar<'_>,
    config: &State<Config>,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<Json<Session>, ApiError> {
    let renewed = async {
        let token = jar
            .cookies
            .get(COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .ok_or_else(|| ApiError::unauthenticated("There is no session; please sign in."))?;
        let claims = keys.verify(&token, TokenKind::Refresh)?;
        let idle_limit = (config.access_token_minutes.max(IDLE_MINUTES) + 1) * 60;
        if jsonwebtoken::get_current_timestamp().saturating_sub(claims.iat) > idle_limit {
            return Err(ApiError::unauthenticated(
                "You were signed out after a period without activity. Please sign in again.",
            ));
        }
        let user_id = claims.user_id()?;
        let pair = rotate_verified(claims, RENEWAL_GRACE_SECONDS, origin, db, keys).await?;
        let user = db.read(move |conn| users::sql::find(conn, user_id)).await?;
        Ok::<_, ApiError>((pair, user))
    }
    .await;
    match renewed {
        Ok((pair, user)) => Ok(Json(hand_over(pair, user, &jar))),
        Err(err) => {
            forget(jar.cookies);
            Err(err)
        }
    }
}

/// Ends the browser's session (server-side too) and clears the cookie.
#[utoipa::path(tag = "sessions", params(("clinicdesk_session" = Option<String>, Cookie, description = "The session cookie `POST /api/auth/session/` set (without one, nothing to end: still `204`)")), responses((status = 204, description = "The browser session is ended (server-side too) and its cookie cleared")))]
#[post("/auth/session/logout")]
async fn close(
    origin: Origin,
    jar: &CookieJar<'_>,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<NoContent, ApiError> {
    let claims = jar
        .get(COOKIE)
        .and_then(|cookie| keys.verify(cookie.value(), TokenKind::Refresh).ok());
    forget(jar);
    if let Some(claims) = claims {
        db.write(move |tx| sql::end_login(tx, &claims, origin))
            .await?;
    }
    Ok(NoContent)
}
