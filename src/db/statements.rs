//! What the resources' SQL shares: the end of a page's query, named
//! parameters built up in steps, and a unique-constraint failure turned
//! into the caller's own error.

use crate::error::ApiError;

/// The end of a page's query, which binds `:limit` and `:offset`.
///
/// The limit is `:limit + 0`, not `:limit`: `SQLite` (3.53 here) plans a
/// `LIMIT` of a bare parameter with the value bound to it, and so must
/// prepare the statement again at every run, as if it had never been
/// cached. Every page of every list was parsed and planned anew at every
/// request (measured: the page query of 50 patients took twice as long,
/// the duplicate lookup of a create a tenth of the writer). An expression
/// keeps the value out of the plan and the cached statement in use. A
/// positional `LIMIT ?n` is written `?n + 0` for the same reason.
pub const PAGE: &str = "LIMIT :limit + 0 OFFSET :offset";

/// Named SQL parameters built up in steps (the columns an insert and an
/// update share, plus each statement's own).
pub type NamedValues<'a> = Vec<(&'static str, Box<dyn rusqlite::ToSql + 'a>)>;

/// `NamedValues` in the form rusqlite binds.
pub fn bind<'a>(values: &'a NamedValues<'_>) -> Vec<(&'static str, &'a dyn rusqlite::ToSql)> {
    values
        .iter()
        .map(|(name, value)| (*name, value.as_ref()))
        .collect()
}

/// Turns a unique-constraint failure on `column` into the caller's error.
pub trait ResultExt<T> {
    /// If this is a `UNIQUE constraint failed` naming `column`
    /// (`table.column`), answer `err()` instead.
    fn on_unique(self, column: &str, err: impl FnOnce() -> ApiError) -> Result<T, ApiError>;
}

impl<T> ResultExt<T> for Result<T, ApiError> {
    fn on_unique(self, column: &str, err: impl FnOnce() -> ApiError) -> Result<T, ApiError> {
        match self {
            Err(ApiError::Database(rusqlite::Error::SqliteFailure(failure, Some(message))))
                if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    && message.contains(column) =>
            {
                Err(err())
            }
            other => other,
        }
    }
}
