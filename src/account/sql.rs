//! Refresh-token rows: one per issued token, grouped by login (`family`).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::{issue_pair, TokenPair};
use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::token::{Claims, Keys};
use crate::auth::Role;
use crate::db;
use crate::error::ApiError;
use crate::origin::Origin;

/// Records a newly issued refresh token as part of login `family`.
pub fn store(
    conn: &Connection,
    claims: &Claims,
    family: &str,
    user_id: i64,
) -> Result<(), ApiError> {
    let expires_at = i64::try_from(claims.exp).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "INSERT INTO refresh_tokens (jti, family, user_id, expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![claims.jti, family, user_id, expires_at, db::now()])?;
    Ok(())
}

/// Spends the presented token and issues the next one in its login.
/// A token already spent is a replay: the whole login is revoked, and
/// that revocation is kept although the answer is an error (the inner
/// `Err`; the outer one rolls back).
pub fn rotate(
    tx: &Transaction<'_>,
    keys: &Keys,
    claims: &Claims,
    grace_seconds: i64,
    origin: Origin,
) -> Result<Result<TokenPair, ApiError>, ApiError> {
    let now = db::now();
    let row = tx
        .query_row(
            "SELECT r.family, r.user_id,
                    (r.revoked_at IS NOT NULL
                     OR (r.used_at IS NOT NULL
                         -- No grace: any second use is theft (times are whole
                         -- seconds, so 'elapsed > 0' would miss a quick replay).
                         AND (?3 <= 0 OR (julianday(?2) - julianday(r.used_at)) * 86400.0 > ?3))) AS spent,
                    u.role, u.is_active, u.token_version
               FROM refresh_tokens r JOIN users u ON u.id = r.user_id
              WHERE r.jti = ?1",
            params![claims.jti, now, grace_seconds],
            |row| {
                Ok((
                    row.get::<_, String>("family")?,
                    row.get::<_, i64>("user_id")?,
                    row.get::<_, bool>("spent")?,
                    row.get::<_, Role>("role")?,
                    row.get::<_, bool>("is_active")?,
                    row.get::<_, i64>("token_version")?,
                ))
            },
        )
        .optional()?;
    let Some((family, user_id, spent, role, is_active, version)) = row else {
        return Err(ApiError::unauthenticated("The refresh token is not valid."));
    };
    if spent {
        revoke_family(tx, &family)?;
        let event = Event::new(Action::TokenReuse)
            .on(Entity::User, user_id)
            .failed();
        audit::record(tx, Actor::account(user_id, role, origin), event)?;
        tracing::warn!(
            user_id,
            "a used refresh token was presented again; that login is revoked"
        );
        return Ok(Err(ApiError::unauthenticated(
            "This refresh token was already used, so the login has been ended. Please log in again.",
        )));
    }
    if !is_active {
        return Err(ApiError::unauthenticated("This account is deactivated."));
    }
    // The first use counts: a token renewed within its grace stays used
    // from the first time, so the grace never stretches.
    tx.execute(
        "UPDATE refresh_tokens SET used_at = ?2 WHERE jti = ?1 AND used_at IS NULL",
        params![claims.jti, now],
    )?;
    let (pair, next) = issue_pair(keys, user_id, role, version)?;
    store(tx, &next, &family, user_id)?;
    Ok(Ok(pair))
}

/// Logout: revokes the login the token belongs to.
pub fn end_login(tx: &Transaction<'_>, claims: &Claims, origin: Origin) -> Result<(), ApiError> {
    let family: Option<String> = tx
        .query_row(
            "SELECT family FROM refresh_tokens WHERE jti = ?1",
            [&claims.jti],
            |row| row.get(0),
        )
        .optional()?;
    let family =
        family.ok_or_else(|| ApiError::unauthenticated("The refresh token is not valid."))?;
    revoke_family(tx, &family)?;
    let user_id = claims.user_id()?;
    end_access_tokens(tx, user_id)?;
    let event = Event::new(Action::Logout).on(Entity::User, user_id);
    audit::record(tx, Actor::account(user_id, claims.role, origin), event)?;
    Ok(())
}

fn revoke_family(conn: &Connection, family: &str) -> Result<(), ApiError> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        params![family, db::now()],
    )?;
    Ok(())
}

/// Ends every login of a user (password change, reset, deactivation),
/// and their outstanding access tokens.
pub fn revoke_all(conn: &Connection, user_id: i64) -> Result<(), ApiError> {
    conn.execute(
        "UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, db::now()],
    )?;
    end_access_tokens(conn, user_id)
}

/// Every access token issued to the account so far stops working (its
/// `ver` claim is now behind); refresh tokens not revoked still renew.
pub fn end_access_tokens(conn: &Connection, user_id: i64) -> Result<(), ApiError> {
    conn.execute(
        "UPDATE users SET token_version = token_version + 1 WHERE id = ?1",
        [user_id],
    )?;
    Ok(())
}
