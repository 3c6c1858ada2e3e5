//! Access and refresh tokens: HS256 JWTs signed with the data directory's
//! 256-bit key. Only HS256 is accepted (so never `alg: none`), and `iss`,
//! `aud`, `exp` and `typ` are checked on every token; so are `iat` and `nbf`
//! (at most `CLOCK_SKEW_SECONDS` ahead of this server's clock) and the
//! lifetime (`exp - iat` no longer than the configured one for that kind),
//! so a token signed with a leaked key cannot be made to last for years.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::ApiError;

/// The key file inside the data directory (hex, mode 0600).
pub const KEY_FILE: &str = "jwt.key";
const ISSUER: &str = "clinicdesk";
const AUDIENCE: &str = "clinicdesk";
/// How far ahead of this server's clock a token's `iat` or `nbf` may be
/// (clocks of one clinic's machines drift by seconds, not minutes).
pub const CLOCK_SKEW_SECONDS: u64 = 60;

/// Which of the two token kinds; a refresh token is never accepted as access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

/// The claims clinicdesk puts in every token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT's `sub` is a string).
    pub sub: String,
    pub role: Role,
    pub iat: u64,
    pub exp: u64,
    /// Unique per token; a refresh token's row in `refresh_tokens`.
    pub jti: String,
    pub iss: String,
    pub aud: String,
    pub typ: TokenKind,
    /// Not before (never set by clinicdesk; checked when present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// The account's `token_version` when the token was issued: once a
    /// logout or password change moves the account's on, older access
    /// tokens are refused. (Tokens from before versions existed carry none: 0.)
    #[serde(default)]
    pub ver: i64,
}

impl Claims {
    /// The user the token speaks for.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        self.sub
            .parse()
            .map_err(|_| ApiError::unauthenticated("The token is not valid."))
    }
}

/// Signing keys and token lifetimes; managed by Rocket. Cloned into
/// database closures that sign inside a transaction (refresh rotation).
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_seconds: u64,
    refresh_seconds: u64,
}

impl Keys {
    /// Reads the key file from `data_dir`, creating it (0600) on first start.
    pub fn load_or_create(
        data_dir: &Path,
        access_minutes: u64,
        refresh_days: u64,
    ) -> anyhow::Result<Self> {
        let secret = load_or_create_secret(&data_dir.join(KEY_FILE))?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Ok(Self {
            encoding: EncodingKey::from_secret(&secret),
            decoding: DecodingKey::from_secret(&secret),
            validation,
            access_seconds: access_minutes * 60,
            refresh_seconds: refresh_days * 24 * 60 * 60,
        })
    }

    /// Seconds an access token lives (the login answer's `expires_in`).
    pub fn access_seconds(&self) -> u64 {
        self.access_seconds
    }

    /// Signs a new token of `kind` for the user.
    pub fn issue(
        &self,
        user_id: i64,
        role: Role,
        kind: TokenKind,
        version: i64,
    ) -> Result<(String, Claims), ApiError> {
        let iat = jsonwebtoken::get_current_timestamp();
        let lifetime = match kind {
            TokenKind::Access => self.access_seconds,
            TokenKind::Refresh => self.refresh_seconds,
        };
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat,
            exp: iat + lifetime,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            typ: kind,
            nbf: None,
            ver: version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot sign a token: {e}")))?;
        Ok((token, claims))
    }

    /// The claims of a valid, unexpired token of `kind`; `401` otherwise.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, ApiError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::unauthenticated("The token has expired.")
                }
                _ => ApiError::unauthenticated("The token is not valid."),
            })?;
        let claims = data.claims;
        if claims.typ != kind {
            return Err(ApiError::unauthenticated("The token is not valid here."));
        }
        let lifetime = match kind {
            TokenKind::Access => self.access_seconds,
            TokenKind::Refresh => self.refresh_seconds,
        };
        check_times(&claims, jsonwebtoken::get_current_timestamp(), lifetime)?;
        Ok(claims)
    }
}

/// `iat`/`nbf` no further ahead than the allowed skew, and a lifetime no
/// longer than `lifetime` seconds (what this server would have issued).
fn check_times(claims: &Claims, now: u64, lifetime: u64) -> Result<(), ApiError> {
    let ahead = |at: u64| at > now.saturating_add(CLOCK_SKEW_SECONDS);
    if ahead(claims.iat) || claims.nbf.is_some_and(ahead) {
        return Err(ApiError::unauthenticated(
            "The token is not valid yet (issued in the future).",
        ));
    }
    if claims.exp.saturating_sub(claims.iat) > lifetime {
        return Err(ApiError::unauthenticated(
            "The token lives longer than this server allows.",
        ));
    }
    Ok(())
}

/// 32 random bytes, kept hex-encoded so the file survives an editor.
fn load_or_create_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if path.exists() {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the token key {}", path.display()))?;
        return hex::decode(text.trim())
            .ok()
            .filter(|key| key.len() == 32)
            .with_context(|| {
                format!(
                    "the token key {} is damaged (expected 64 hex digits)",
                    path.display()
                )
            });
    }
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    write_private(path, hex::encode(secret).as_bytes())?;
    Ok(secret.to_vec())
}

/// Creates `path` readable by its owner only, failing if it exists.
fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the token key {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    // Windows: no mode at creation; the access list is set right after.
    #[cfg(not(unix))]
    crate::config::restrict_to_owner(path, 0o600)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_only_as_its_own_kind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Keys::load_or_create(dir.path(), 15, 7).expect("keys");
        let (token, _) = keys
            .issue(7, Role::Staff, TokenKind::Refresh, 0)
            .expect("token");
        assert_eq!(
            keys.verify(&token, TokenKind::Refresh).expect("valid").sub,
            "7"
        );
        assert!(keys.verify(&token, TokenKind::Access).is_err());
    }

    #[test]
    fn times_from_the_future_and_overlong_lifetimes_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let keys = Keys::load_or_create(dir.path(), 15, 7).expect("keys");
        let (_, claims) = keys
            .issue(7, Role::Staff, TokenKind::Access, 0)
            .expect("token");
        let now = claims.iat;
        assert!(check_times(&claims, now, 900).is_ok());
        let skewed = Claims {
            iat: now + CLOCK_SKEW_SECONDS,
            exp: now + CLOCK_SKEW_SECONDS + 900,
            ..claims.clone()
        };
        assert!(check_times(&skewed, now, 900).is_ok(), "within the skew");
        let future = Claims {
            iat: now + CLOCK_SKEW_SECONDS + 1,
            exp: now + CLOCK_SKEW_SECONDS + 901,
            ..claims.clone()
        };
        assert!(check_times(&future, now, 900).is_err());
        let not_yet = Claims {
            nbf: Some(now + 3600),
            ..claims.clone()
        };
        assert!(check_times(&not_yet, now, 900).is_err());
        let long = Claims {
            exp: now + 901,
            ..claims
        };
        assert!(check_times(&long, now, 900).is_err());
    }

    #[test]
    fn the_key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = load_or_create_secret(&dir.path().join(KEY_FILE)).expect("created");
        let second = load_or_create_secret(&dir.path().join(KEY_FILE)).expect("read");
        assert_eq!(first, second);
        assert_eq!(first.len(), 32);
    }
}
