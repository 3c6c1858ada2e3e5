//! The request bodies of `/api/users` as `/api/openapi.json` describes them.
//! Handlers read a body field by field (`validation::Fields`), so these
//! types exist only to describe it: the derive reads them, nothing
//! constructs them. Each handler names its body here in its
//! `#[utoipa::path]` (`request_body = schema::…`).

#![allow(dead_code)]

use crate::auth::Role;
use crate::validation::one_of_schema;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::ToSchema;

/// `POST /api/users/`: a new account (admin).
#[derive(ToSchema)]
pub struct UserCreateRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// A first password; temporary unless `must_change_password` is `false`.
    #[schema(min_length = 8, max_length = 256)]
    password: String,
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
    /// Default `user`.
    #[schema(nullable = false, schema_with = role_schema)]
    role: Option<String>,
    /// Whether the owner must choose a new password at first sign-in.
    /// Default `true`; `false` e.g. for a lab system's account.
    #[schema(nullable = false)]
    must_change_password: Option<bool>,
}

/// `PATCH /api/users/<id>/`: what an admin may change on an account.
#[derive(ToSchema)]
pub struct UserChangeRequest {
    #[schema(max_length = 150)]
    name: Option<String>,
    /// Letters, digits and `. + - _`; unique.
    #[schema(max_length = 150, pattern = r"^[\w.+-]*$")]
    username: Option<String>,
    /// The last active admin cannot be demoted (`409 last_admin`).
    #[schema(nullable = false, schema_with = role_schema)]
    role: Option<String>,
    /// The last active admin cannot be deactivated (`409 last_admin`).
    #[schema(nullable = false)]
    is_active: Option<bool>,
    /// A new password (reset by an admin); temporary unless
    /// `must_change_password` is `false`.
    #[schema(nullable = false, min_length = 8, max_length = 256)]
    password: Option<String>,
    /// Never `true` on the admin's own account (400).
    #[schema(nullable = false)]
    must_change_password: Option<bool>,
    /// Only `false`: clears the account's sign-in delays (accounts are never
    /// locked; failed sign-ins only delay the address they come from).
    #[schema(nullable = false, schema_with = unlock_schema)]
    locked: Option<bool>,
    /// The doctor record this account belongs to, or `null`. One account
    /// per doctor (a second is `409 duplicate`); an archived or unknown
    /// doctor is `400`.
    doctor: Option<i64>,
}

fn role_schema() -> utoipa::openapi::Object {
    let roles = [Role::Admin, Role::Staff, Role::User].map(Role::as_str);
    one_of_schema(&roles, false)
}

fn unlock_schema() -> utoipa::openapi::Object {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .enum_values(Some([false]))
        .build()
}
