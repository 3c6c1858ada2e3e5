//! Who is calling. `Caller` can only be built by its request guard, so any
//! function that takes `&Caller` is unreachable without a verified token.
//!
//! Roles: `admin` does everything; `staff` works clinic-wide on patients,
//! doctors and mappings; `user` (self-registered) sees only the patients they
//! created and those patients' mappings, and reads doctors.

use rocket::outcome::try_outcome;
use rocket::request::{FromRequest, Outcome, Request};
use serde::{Deserialize, Serialize};

use std::sync::{Arc, OnceLock};

use crate::db::Db;
use crate::error::{self, ApiError, Code};
use crate::http::SeesArchived;
use crate::origin::Origin;

use self::accounts::Accounts;
use self::token::{Keys, TokenKind};

pub mod accounts;
pub mod password;
pub mod token;

/// An account's role, stored as its lower-case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Staff,
    User,
}

impl Role {
    /// The stored and answered name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Staff => "staff",
            Self::User => "user",
        }
    }

    /// Parses a stored or requested role name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "staff" => Some(Self::Staff),
            "user" => Some(Self::User),
            _ => None,
        }
    }
}

impl rusqlite::types::FromSql for Role {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        let text = value.as_str()?;
        Self::parse(text).ok_or_else(|| {
            rusqlite::types::FromSqlError::Other(format!("unknown role {text:?}").into())
        })
    }
}

impl rusqlite::ToSql for Role {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(self.as_str().into())
    }
}

/// The authenticated user behind a request, and where it came from (for
/// the audit trail).
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub id: i64,
    pub role: Role,
    pub origin: Origin,
}

impl Caller {
    /// Staff and admins work clinic-wide; a plain user sees only their own patients.
    pub fn sees_all_patients(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Staff)
    }

    /// Only staff and admins write doctors.
    pub fn writes_doctors(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Staff)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Archived records are listed to admins only.
impl SeesArchived for Caller {
    fn sees_archived(&self) -> bool {
        self.is_admin()
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Caller {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        // Memoised: a handler taking both `Admin` and `Caller` checks the token
        // once; a failure is parked for the catcher the first time round.
        let result = req
            .local_cache_async(async {
                authenticate(req).await.map_err(|err| error::park(req, err))
            })
            .await;
        match result {
            Ok(caller) => {
                // Ignored when set already: the memo gives the same caller.
                let _ = req.local_cache(Verified::default).0.set(*caller);
                Outcome::Success(*caller)
            }
            Err(status) => Outcome::Error((*status, ())),
        }
    }
}

/// The caller a request's guard verified, kept for what runs after the
/// handler (see `Caller::verified`).
#[derive(Default)]
struct Verified(OnceLock<Caller>);

impl Caller {
    /// The caller this request's `Caller` guard verified: `None` if no
    /// guard ran yet, or it refused the request. For code that runs after
    /// the handler, such as the trail's record of denied attempts.
    pub fn verified(req: &Request<'_>) -> Option<Caller> {
        req.local_cache(Verified::default).0.get().copied()
    }
}

async fn authenticate(req: &Request<'_>) -> Result<Caller, ApiError> {
    let header = req.headers().get_one("Authorization").ok_or_else(|| {
        ApiError::unauthenticated(
            "Authentication is required: send `Authorization: Bearer <access token>`.",
        )
    })?;
    let token = match header.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            token.trim()
        }
        _ => {
            return Err(ApiError::unauthenticated(
                "The Authorization header must be `Bearer <access token>`.",
            ))
        }
    };

    let rocket = req.rocket();
    let (Some(keys), Some(db), Some(accounts)) = (
        rocket.state::<Keys>(),
        rocket.state::<Db>(),
        rocket.state::<Arc<Accounts>>(),
    ) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "server state is missing"
        )));
    };
    let claims = keys.verify(token, TokenKind::Access)?;
    let user_id = claims.user_id()?;

    // Role and the active flag come from the account, not the token, so a
    // demotion or deactivation takes effect on the very next request; so
    // does a logout or password change (the token's version falls behind).
    let state = accounts.state(db, user_id).await?;
    let Some(state) = state.filter(|s| s.is_active) else {
        return Err(ApiError::unauthenticated(
            "This account is unknown or deactivated.",
        ));
    };
    if claims.ver < state.token_version {
        return Err(ApiError::unauthenticated(
            "This token was ended by a logout or a password change. Please log in again.",
        ));
    }
    if state.must_change_password && !serves_temporary_password(req) {
        return Err(ApiError::Forbidden {
            code: Code::PasswordChangeRequired,
            detail: "An admin set a temporary password for this account. \
                     Choose your own (POST /api/auth/password/) to continue."
                .into(),
        });
    }
    Ok(Caller {
        id: user_id,
        role: state.role,
        origin: Origin::of(req),
    })
}

/// What a signed-in account with a temporary password may still do: see
/// who it is, and choose its own password. (Logout needs no access token.)
fn serves_temporary_password(req: &Request<'_>) -> bool {
    let path = req.uri().path();
    let path = path.as_str().trim_end_matches('/');
    (path == "/api/auth/me" && req.method() == rocket::http::Method::Get)
        || path == "/api/auth/password"
}

/// Guard for admin-only routes (users, settings).
pub struct Admin(pub Caller);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Admin {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let caller = try_outcome!(req.guard::<Caller>().await);
        if caller.is_admin() {
            Outcome::Success(Admin(caller))
        } else {
            Outcome::Error((error::park(req, ApiError::forbidden()), ()))
        }
    }
}
