//! First-run setup: while no admin exists, the server prints a one-time link
//! `http://ADDRESS:PORT/setup#<token>` to its console, and `POST /api/setup/`
//! with that token creates the first admin. The first admin is never created
//! from the open network without a secret only the console shows.
//!
//! The token is random, valid 30 minutes, new at every start, and spent once
//! an admin exists. Afterwards the route answers `404`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::response::status::Created;
use rocket::serde::json::Json;
use rocket::{post, routes, Route, State};

use crate::audit::{Action, Actor};
use crate::auth::password::Hasher;
use crate::auth::Role;
use crate::db::Db;
use crate::error::ApiError;
use crate::http::JsonBody;
use crate::origin::Origin;
use crate::users::{self, NewAccount, User};
use crate::validation::Fields;

const LIFETIME: Duration = Duration::from_secs(30 * 60);

pub fn routes() -> Vec<Route> {
    routes![setup]
}

/// The current setup token, if setup is still possible; managed by Rocket.
pub struct SetupToken(Mutex<Option<(String, Instant)>>);

impl SetupToken {
    /// A fresh random token when `needed` (no admin yet), else none.
    pub fn new(needed: bool) -> anyhow::Result<Self> {
        let token = if needed {
            let mut bytes = [0u8; 24];
            getrandom::fill(&mut bytes)
                .map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
            Some((hex::encode(bytes), Instant::now()))
        } else {
            None
        };
        Ok(Self(Mutex::new(token)))
    }

    /// The token, while it is unspent and under 30 minutes old.
    pub fn current(&self) -> Option<String> {
        let slot = self.0.lock().ok()?;
        slot.as_ref()
            .filter(|(_, issued)| issued.elapsed() < LIFETIME)
            .map(|(token, _)| token.clone())
    }

    /// Whether `given` is the current token.
    fn matches(&self, given: &str) -> bool {
        self.current()
            .is_some_and(|expected| same(&expected, given))
    }

    /// Spends the token if `given` is it: of two racing setups, one wins.
    fn take(&self, given: &str) -> bool {
        let Ok(mut slot) = self.0.lock() else {
            return false;
        };
        let valid = slot
            .as_ref()
            .is_some_and(|(token, issued)| issued.elapsed() < LIFETIME && same(token, given));
        if valid {
            *slot = None;
        }
        valid
    }

    fn spend(&self) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[utoipa::path(tag = "setup", request_body = schema::SetupRequest, responses((status = 201, description = "The first admin, made with the token from the setup link", body = User), (status = 401, description = "`not_authenticated`: the setup token is wrong or has expired"), (status = 404, description = "`not_found`: an admin exists, so setup is over"), (status = 409, description = "`duplicate`: the email or username is taken"), (status = 503, description = "`busy`: too many passwords are being checked at once")))]
#[post("/setup", data = "<body>")]
async fn setup(
    body: JsonBody,
    origin: Origin,
    db: &State<Db>,
    hasher: &State<Hasher>,
    token: &State<SetupToken>,
) -> Result<Created<Json<User>>, ApiError> {
    if db.read(users::sql::admin_exists).await? {
        token.spend();
        return Err(ApiError::NotFound);
    }
    let mut fields = Fields::new(&body.0);
    let given = fields.raw_string("token").flatten().unwrap_or_default();
    let wrong_token = || {
        ApiError::unauthenticated(
            "The setup token is wrong or has expired. Restart clinicdesk for a new setup link.",
        )
    };
    if !token.matches(&given) {
        return Err(wrong_token());
    }
    let account = NewAccount::read(&body.0, Some(Role::Admin))?;
    if !token.take(&given) {
        return Err(wrong_token());
    }
    let user = account
        .create(db, hasher, Action::Setup, Actor::anonymous(origin))
        .await?;
    tracing::info!(
        user_id = user.id,
        "first admin created through the setup link"
    );
    Ok(Created::new(format!("/api/users/{}/", user.id)).body(Json(user)))
}

/// The request body of this endpoint as `/api/openapi.json` describes it
/// (read field by field, so the type is never constructed).
pub mod schema {
    #![allow(dead_code)]

    use utoipa::ToSchema;

    /// `POST /api/setup/`.
    #[derive(ToSchema)]
    pub struct SetupRequest {
        /// The token after `#` in the setup link the server printed.
        #[schema(min_length = 1)]
        token: String,
        #[schema(format = Email, max_length = 254)]
        email: String,
        /// At least 8 characters and at most 256 bytes; not a common password,
        /// nor the email or name.
        #[schema(min_length = 8, max_length = 256)]
        password: String,
        #[schema(max_length = 150)]
        name: Option<String>,
        #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
        username: Option<String>,
    }
}
