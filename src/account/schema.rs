//! The request bodies of signing in, out and one's own account as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::http::schemas::{either, requiring};
use utoipa::openapi::{RefOr, Schema};
use utoipa::ToSchema;

/// `POST /api/auth/register/`.
#[derive(ToSchema)]
pub struct RegisterRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// At least 8 characters and at most 256 bytes; not a common password,
    /// nor the email or name.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
    /// Must equal `password` when given.
    #[schema(nullable = false)]
    password_confirm: Option<String>,
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
}

/// `POST /api/auth/login/`, `/api/token/`, `/api/auth/session/`: `email`
/// or `username` (either may hold the email or the username), and the
/// password. `LoginRequest` requires one of the two.
#[derive(ToSchema)]
pub struct LoginFields {
    #[schema(nullable = false, min_length = 1, max_length = 254)]
    email: Option<String>,
    #[schema(nullable = false, min_length = 1, max_length = 254)]
    username: Option<String>,
    #[schema(min_length = 1)]
    password: String,
}

/// `LoginFields` with `email` or `username`.
pub struct LoginRequest;

impl utoipa::PartialSchema for LoginRequest {
    fn schema() -> RefOr<Schema> {
        requiring("LoginFields", vec![either("email", "username")])
    }
}

impl ToSchema for LoginRequest {}

/// `POST /api/auth/refresh/`, `/api/token/refresh/` and `/api/auth/logout/`.
#[derive(ToSchema)]
pub struct RefreshRequest {
    /// A refresh token from a login or an earlier refresh.
    #[schema(min_length = 1)]
    refresh: String,
}

/// `PATCH /api/auth/me/`: other fields are ignored.
#[derive(ToSchema)]
pub struct MeRequest {
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
}

/// `POST /api/auth/password/`.
#[derive(ToSchema)]
pub struct PasswordChangeRequest {
    #[schema(min_length = 1)]
    current_password: String,
    /// At least 8 characters and at most 256 bytes; not a common password,
    /// nor the email or name.
    #[schema(min_length = 8, max_length = 256)]
    new_password: String,
}
