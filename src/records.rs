//! Loading records from a whole-clinic document (`exchange`): the checks
//! every table's rows share, and one place that collects every problem of
//! the whole document, so an import answers all of them at once and stores
//! nothing. Each resource reads its own rows (its table has one owner) and
//! reports here, naming the record as `section[id].field`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use crate::error::{ApiError, FieldErrors};

/// A record of the document with what every table's rows carry besides
/// the fields a client writes: its id, owner and times, checked, with the
/// owner already mapped to this instance's account.
pub struct Stamped<'v> {
    pub body: &'v Map<String, Value>,
    pub id: i64,
    pub owner: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When it was archived; `None` for a live record.
    pub archived_at: Option<String>,
}

impl Stamped<'_> {
    /// The stamps as an insert binds them: `:id`, `:created_by`,
    /// `:created_at`, `:updated_at` and `:deleted_at`.
    pub fn params(&self) -> crate::db::NamedValues<'_> {
        vec![
            (":id", Box::new(self.id)),
            (":created_by", Box::new(self.owner)),
            (":created_at", Box::new(&self.created_at)),
            (":updated_at", Box::new(&self.updated_at)),
            (":deleted_at", Box::new(&self.archived_at)),
        ]
    }
}

#[derive(Deserialize)]
struct Stamps {
    id: i64,
    created_by: i64,
    created_at: String,
    updated_at: String,
    #[serde(default)]
    archived_at: Option<String>,
}

/// The problems found so far, and how the document's account ids map onto
/// this instance's (accounts are matched by email, so their ids change;
/// every other record keeps its id).
/// Starts with nothing found, and no account known until `set_accounts`.
#[derive(Default)]
pub struct Intake {
    owners: HashMap<i64, i64>,
    errors: FieldErrors,
}

impl Intake {
    /// The document's account ids → this instance's, once the accounts are in.
    pub fn set_accounts(&mut self, owners: HashMap<i64, i64>) {
        self.owners = owners;
    }

    /// Records a problem with one field of one record.
    pub fn fail(&mut self, section: &str, id: i64, field: &str, message: impl Into<String>) {
        self.errors
            .entry(format!("{section}[{id}].{field}"))
            .or_default()
            .push(message.into());
    }

    /// Records a problem with a record as a whole (it cannot be read at all).
    pub fn fail_record(&mut self, section: &str, index: usize, message: impl Into<String>) {
        self.errors
            .entry(format!("{section}[#{}]", index + 1))
            .or_default()
            .push(message.into());
    }

    /// The `index`th record of `section` with its stamps, if they are
    /// sound (else the problems are recorded).
    pub fn stamped<'v>(
        &mut self,
        section: &str,
        index: usize,
        value: &'v Value,
    ) -> Option<Stamped<'v>> {
        let (Some(body), Ok(given)) = (value.as_object(), Stamps::deserialize(value)) else {
            self.fail_record(
                section,
                index,
                "Must be an object with a numeric id and created_by, and created_at and updated_at times.",
            );
            return None;
        };
        let id = given.id;
        let problems = self.errors.len();
        let stamped = Stamped {
            body,
            id,
            owner: self.account(section, id, "created_by", given.created_by),
            created_at: self.timestamp(section, id, "created_at", &given.created_at),
            updated_at: self.timestamp(section, id, "updated_at", &given.updated_at),
            archived_at: given
                .archived_at
                .map(|at| self.timestamp(section, id, "archived_at", &at)),
        };
        (self.errors.len() == problems).then_some(stamped)
    }

    /// This instance's id of the document's account `id` (for `created_by`
    /// and the like); a dangling one is a problem of `field`.
    pub fn account(&mut self, section: &str, id: i64, field: &str, account: i64) -> i64 {
        match self.owners.get(&account) {
            Some(local) => *local,
            None => {
                self.fail(
                    section,
                    id,
                    field,
                    format!("Names account {account}, which is not among the document's users."),
                );
                0
            }
        }
    }

    /// A stored timestamp: RFC 3339, answered as this instance stores them
    /// (UTC, to the second).
    pub fn timestamp(&mut self, section: &str, id: i64, field: &str, value: &str) -> String {
        match normalise_timestamp(value) {
            Some(stamp) => stamp,
            None => {
                self.fail(
                    section,
                    id,
                    field,
                    "Must be an RFC 3339 time, such as 2026-11-23T10:30:00Z.",
                );
                String::new()
            }
        }
    }

    /// Takes the field errors of a validation of one record (`section[id]`),
    /// and passes any other error on: that one ends the import.
    pub fn absorb<T>(
        &mut self,
        section: &str,
        id: i64,
        result: Result<T, ApiError>,
    ) -> Result<Option<T>, ApiError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(ApiError::Validation(errors)) => {
                for (field, messages) in errors {
                    for message in messages {
                        self.fail(section, id, &field, message);
                    }
                }
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }

    /// Takes a constraint the database refused a record's row for (a
    /// dangling reference, a value out of range, an overlap) as a problem
    /// of that record; any other error ends the import.
    pub fn stored(
        &mut self,
        section: &str,
        id: i64,
        result: Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        match result {
            Err(ApiError::Database(rusqlite::Error::SqliteFailure(failure, message)))
                if failure.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                let reason = message.unwrap_or_else(|| "a constraint failed".into());
                self.fail(
                    section,
                    id,
                    "record",
                    format!("Refused by the database: {reason}."),
                );
                Ok(())
            }
            other => other,
        }
    }

    /// Whether nothing is wrong so far (writes stop once something is: the
    /// import is rolled back anyway, and later rows may depend on it).
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every problem found, as one `400`; or nothing.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}

/// `value` as stored (`2026-11-23T10:30:00Z`), if it is an RFC 3339 time.
pub fn normalise_timestamp(value: &str) -> Option<String> {
    let parsed = OffsetDateTime::parse(value.trim(), &Rfc3339).ok()?;
    let utc = parsed
        .to_offset(UtcOffset::UTC)
        .replace_nanosecond(0)
        .ok()?;
    utc.format(&Rfc3339).ok()
}

/// A table the document holds as it is stored, column by column: the
/// ones whose rows hold references and times rather than what a person
/// typed (mappings, hours, time off, appointments). Its owner names the
/// columns, so nothing from the document ever names one; the database's
/// own checks (references, ranges, overlaps) hold for every row loaded.
pub struct Table {
    /// The document's name for the rows.
    pub section: &'static str,
    pub table: &'static str,
    /// Every column copied, `id` first.
    pub columns: &'static [&'static str],
    /// The columns holding an account id (mapped like `created_by`).
    pub accounts: &'static [&'static str],
}

impl Table {
    /// Every row, by id, as JSON objects.
    pub fn dump(&self, conn: &rusqlite::Connection) -> Result<Vec<Map<String, Value>>, ApiError> {
        let mut stmt = conn.prepare(&format!(
            "SELECT {} FROM {} ORDER BY id",
            self.columns.join(", "),
            self.table
        ))?;
        let rows = stmt.query_map([], |row| {
            let mut object = Map::new();
            for (index, column) in self.columns.iter().enumerate() {
                let value = match row.get_ref(index)? {
                    rusqlite::types::ValueRef::Integer(n) => Value::from(n),
                    rusqlite::types::ValueRef::Text(text) => {
                        Value::from(String::from_utf8_lossy(text).into_owned())
                    }
                    rusqlite::types::ValueRef::Real(x) => Value::from(x),
                    rusqlite::types::ValueRef::Null | rusqlite::types::ValueRef::Blob(_) => {
                        Value::Null
                    }
                };
                object.insert((*column).to_owned(), value);
            }
            Ok(object)
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Stores the document's rows (problems go to `intake`); answers how many.
    pub fn load(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rows: &[Value],
        intake: &mut Intake,
    ) -> Result<usize, ApiError> {
        let mut stored = 0;
        for (index, value) in rows.iter().enumerate() {
            let (Some(row), Some(id)) =
                (value.as_object(), value.get("id").and_then(Value::as_i64))
            else {
                intake.fail_record(self.section, index, "Must be an object with a numeric id.");
                continue;
            };
            let mut columns = Vec::new();
            let mut values = Vec::new();
            for (name, given) in row {
                let Some(column) = self.columns.iter().find(|c| **c == name.as_str()) else {
                    intake.fail(self.section, id, name, "Is not a field of this record.");
                    continue;
                };
                let value = match given {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
                    Value::Number(n) if self.accounts.contains(column) => match n.as_i64() {
                        Some(account) => rusqlite::types::Value::Integer(intake.account(
                            self.section,
                            id,
                            column,
                            account,
                        )),
                        None => {
                            intake.fail(self.section, id, column, "Must be an account id.");
                            continue;
                        }
                    },
                    Value::Number(n) => match n.as_i64() {
                        Some(n) => rusqlite::types::Value::Integer(n),
                        None => {
                            intake.fail(self.section, id, column, "Must be a whole number.");
                            continue;
                        }
                    },
                    Value::String(text) if column.ends_with("_at") => rusqlite::types::Value::Text(
                        intake.timestamp(self.section, id, column, text),
                    ),
                    Value::String(text) => rusqlite::types::Value::Text(text.clone()),
                    Value::Array(_) | Value::Object(_) => {
                        intake.fail(self.section, id, column, "Must be a number, text or null.");
                        continue;
                    }
                };
                columns.push(*column);
                values.push(value);
            }
            if !intake.is_clean() {
                continue;
            }
            let marks = vec!["?"; columns.len()].join(", ");
            let inserted = tx
                .prepare_cached(&format!(
                    "INSERT INTO {} ({}) VALUES ({marks})",
                    self.table,
                    columns.join(", ")
                ))?
                .execute(rusqlite::params_from_iter(values))
                .map(drop)
                .map_err(ApiError::from);
            intake.stored(self.section, id, inserted)?;
            stored += 1;
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_stored_in_utc_to_the_second() {
        assert_eq!(
            normalise_timestamp("2026-11-23T10:30:00Z").as_deref(),
            Some("2026-11-23T10:30:00Z")
        );
        assert_eq!(
            normalise_timestamp("2024-03-01T12:00:05.123456+01:00").as_deref(),
            Some("2024-03-01T11:00:05Z")
        );
        assert_eq!(normalise_timestamp("yesterday"), None);
        assert_eq!(normalise_timestamp("2024-03-01"), None);
    }

    #[test]
    fn every_problem_names_its_record_and_field() {
        let mut intake = Intake::default();
        intake.set_accounts(HashMap::from([(7, 1)]));
        assert_eq!(intake.account("patients", 3, "created_by", 7), 1);
        intake.account("patients", 4, "created_by", 8);
        intake.timestamp("doctors", 2, "created_at", "soon");
        let Err(ApiError::Validation(errors)) = intake.finish() else {
            panic!("expected a validation error");
        };
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(fields, ["doctors[2].created_at", "patients[4].created_by"]);
    }
}
