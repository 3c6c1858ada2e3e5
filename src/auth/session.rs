//! Browser sessions: `/api/auth/session/*`. The same login as
//! `/api/auth/login/`, but the refresh token travels only in an `HttpOnly`,
//! `SameSite=Strict` cookie scoped to these routes, so no script in the page
//! can ever read it; the page keeps just the short-lived access token in
//! memory and asks `refresh/` for a new one (also after a reload).
//!
//! Cross-site requests cannot use the cookie (`SameSite=Strict`), and the
//! access token comes back in a JSON body another origin cannot read.

use rocket::http::{Cookie, CookieJar, SameSite};
use rocket::response::status::NoContent;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};
use serde::Serialize;

use crate::auth::routes::{rotate_verified, sign_in, sql, TokenPair};
use crate::auth::token::{Keys, TokenKind};
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::throttle::{ClientAddr, LoginThrottle};
use crate::users::{self, User};

const COOKIE: &str = "clinicdesk_session";
const COOKIE_PATH: &str = "/api/auth/session";

pub fn routes() -> Vec<Route> {
    routes![open, refresh, close]
}

/// What the session routes answer: a login without its refresh token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    pub access: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires; refresh before then.
    pub expires_in: u64,
    pub user: Option<User>,
}

/// Moves the refresh token from `pair` into the cookie.
fn hand_over(pair: TokenPair, user: Option<User>, jar: &CookieJar<'_>, config: &Config) -> Session {
    let lifetime =
        rocket::time::Duration::days(i64::try_from(config.refresh_token_days).unwrap_or(7));
    jar.add(
        Cookie::build((COOKIE, pair.refresh))
            .http_only(true)
            .same_site(SameSite::Strict)
            .path(COOKIE_PATH)
            .max_age(lifetime),
    );
    Session {
        access: pair.access,
        token_type: pair.token_type,
        expires_in: pair.expires_in,
        user,
    }
}

fn forget(jar: &CookieJar<'_>) {
    jar.remove(Cookie::build(COOKIE).path(COOKIE_PATH));
}

/// Logs in (as `/api/auth/login/`) and sets the session cookie.
#[utoipa::path(tag = "auth", request_body = crate::openapi::LoginRequest, responses((status = 200, description = "Logs a browser in; the refresh token goes into an HttpOnly cookie", body = Session)))]
#[post("/auth/session", data = "<body>")]
async fn open(
    body: JsonBody,
    client: ClientAddr,
    throttle: &State<LoginThrottle>,
    jar: &CookieJar<'_>,
    config: &State<Config>,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<Json<Session>, ApiError> {
    let mut pair = sign_in(body, client, throttle, db, keys).await?;
    let user = pair.user.take();
    Ok(Json(hand_over(pair, user, jar, config)))
}

/// A new access token (and a rotated cookie) for the browser's session.
#[utoipa::path(tag = "auth", responses((status = 200, description = "Renews a browser session from its cookie", body = Session)))]
#[post("/auth/session/refresh")]
async fn refresh(
    jar: &CookieJar<'_>,
    config: &State<Config>,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<Json<Session>, ApiError> {
    let renewed = async {
        let token = jar
            .get(COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .ok_or_else(|| ApiError::unauthenticated("There is no session; please sign in."))?;
        let claims = keys.verify(&token, TokenKind::Refresh)?;
        let user_id = claims.user_id()?;
        let pair = rotate_verified(claims, db, keys).await?;
        let user = db.run(move |conn| users::sql::find(conn, user_id)).await?;
        Ok::<_, ApiError>((pair, user))
    }
    .await;
    match renewed {
        Ok((pair, user)) => Ok(Json(hand_over(pair, user, jar, config))),
        Err(err) => {
            forget(jar);
            Err(err)
        }
    }
}

/// Ends the browser's session (server-side too) and clears the cookie.
#[utoipa::path(tag = "auth", responses((status = 204, description = "Ends a browser session")))]
#[post("/auth/session/logout")]
async fn close(
    jar: &CookieJar<'_>,
    db: &State<Db>,
    keys: &State<Keys>,
) -> Result<NoContent, ApiError> {
    let claims = jar
        .get(COOKIE)
        .and_then(|cookie| keys.verify(cookie.value(), TokenKind::Refresh).ok());
    forget(jar);
    if let Some(claims) = claims {
        db.run(move |conn| sql::revoke_login(conn, &claims.jti))
            .await?;
    }
    Ok(NoContent)
}
