//! The database file at start-up: its integrity, write-ahead logging, and
//! the schema migrations (with the backup that precedes an upgrade).

use std::path::Path;

use anyhow::Context;
use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use crate::config::Config;

use super::BUSY_TIMEOUT;

/// The schema, oldest first. Files are never edited once released: a change
/// is a new file. Applied in one transaction at start-up; the version lives
/// in `PRAGMA user_version`.
pub(super) const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_users.sql")),
    M::up(include_str!("../../migrations/0002_patients.sql")),
    M::up(include_str!("../../migrations/0003_doctors.sql")),
    M::up(include_str!("../../migrations/0004_mappings.sql")),
    M::up(include_str!("../../migrations/0005_login_lockout.sql")),
    M::up(include_str!("../../migrations/0006_audit_log.sql")),
    M::up(include_str!(
        "../../migrations/0007_temporary_passwords.sql"
    )),
    M::up(include_str!("../../migrations/0008_search_index.sql")),
    M::up(include_str!("../../migrations/0009_patient_counts.sql")),
];

/// Start-up work on one plain connection, so a problem is reported at once
/// and by name (the pool would retry for half a minute first).
pub(super) fn prepare(config: &Config, path: &Path) -> anyhow::Result<()> {
    let mut conn = Connection::open(path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // SQLite gives its -wal and -shm files the database file's mode.
    crate::config::restrict_to_owner(path, 0o600)?;
    check_integrity(&conn, path)?;
    // WAL is a property of the file, so it is set once here, not per connection.
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        anyhow::bail!(
            "the database {} cannot use write-ahead logging (journal mode is {mode}); \
             is the data directory on a network share?",
            path.display()
        );
    }
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let version = usize::try_from(version).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        anyhow::bail!(
            "the database {} was written by a newer clinicdesk (schema {version}; this one knows up to {}); \
             run the newer clinicdesk, or restore a backup made by this version",
            path.display(),
            MIGRATIONS.len()
        );
    }
    if version > 0 && version < MIGRATIONS.len() {
        // An upgrade: keep the database as it was before changing its schema.
        let (backup, _) = crate::backup::create(
            config,
            Some(&crate::backup::pre_migration_path(config, version)),
        )
        .context("cannot write the backup that must precede a schema upgrade")?;
        tracing::info!(backup = %backup.display(), from = version, to = MIGRATIONS.len(), "upgrading the database schema");
        return migrate(&mut conn).with_context(|| {
            format!("the upgrade failed and was rolled back; the database is unchanged (and backed up to {})", backup.display())
        });
    }
    migrate(&mut conn)
}

/// Refuses to serve from a damaged file: writing on top of corruption is how
/// a clinic loses more than it already has.
fn check_integrity(conn: &Connection, path: &Path) -> anyhow::Result<()> {
    let verdict: String = conn
        .query_row("PRAGMA quick_check", [], |row| row.get(0))
        .with_context(|| {
            format!(
                "the database {} cannot be read; is it damaged?",
                path.display()
            )
        })?;
    if verdict != "ok" {
        anyhow::bail!(
            "the database {} is damaged ({verdict}); clinicdesk will not write to it. \
             Restore the newest backup, or keep a copy of this file for recovery.",
            path.display()
        );
    }
    Ok(())
}

/// Applies every pending migration.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .context("cannot bring the database schema up to date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_applies_to_an_empty_database_with_consistent_foreign_keys() {
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        Migrations::from_slice(MIGRATIONS)
            .validate()
            .expect("migrations validate");
        migrate(&mut conn).expect("migrations apply");

        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .expect("user_version");
        assert_eq!(version, i64::try_from(MIGRATIONS.len()).expect("small"));
        let problems: i64 = conn
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
                row.get(0)
            })
            .expect("foreign_key_check");
        assert_eq!(problems, 0);
    }
}
