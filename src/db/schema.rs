//! The database file at start-up: its integrity, write-ahead logging, and
//! the schema migrations (after the backup that precedes an upgrade, which
//! the caller makes: see `Db::open`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use super::{closed, BUSY_TIMEOUT};

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
    M::up(include_str!("../../migrations/0010_ids_never_reused.sql")),
    M::up(include_str!("../../migrations/0011_clinic_time_zone.sql")),
    M::up(include_str!("../../migrations/0012_appointments.sql")),
    M::up(include_str!(
        "../../migrations/0013_mappings_end_with_their_doctor.sql"
    )),
    M::up(include_str!("../../migrations/0014_duplicate_patients.sql")),
    M::up(include_str!("../../migrations/0015_backup_schedule.sql")),
    M::up(include_str!("../../migrations/0016_clinic_date_format.sql")),
    M::up(include_str!("../../migrations/0017_primary_lease.sql")),
    M::up(include_str!(
        "../../migrations/0018_duplicate_pairs_pending.sql"
    )),
    M::up(include_str!(
        "../../migrations/0019_patients_live_by_id.sql"
    )),
];

/// Start-up work on one plain connection, so a problem is reported at once
/// and by name (the pool would retry for half a minute first).
///
/// Returns when the file was last fully checked (see `closed`): now, or at
/// an earlier start when a clean stop left it untouched since.
pub(super) fn prepare(
    path: &Path,
    back_up: impl FnOnce(usize) -> anyhow::Result<PathBuf>,
) -> anyhow::Result<u64> {
    // Before anything can write to the file.
    let closed_cleanly = closed::take(path);
    let mut conn = Connection::open(path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // SQLite gives its -wal and -shm files the database file's mode.
    crate::config::restrict_to_owner(path, 0o600)?;
    let checked_at = if let Some(checked_at) = closed_cleanly {
        tracing::info!(
            "the database is as the last clean stop left it: the start-up integrity checks are skipped (they run at least weekly; `clinicdesk check` runs the full one now)"
        );
        checked_at
    } else {
        check_integrity(&conn, path)?;
        check_references(&conn)?;
        closed::now()
    };
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
        let kept = back_up(version)
            .context("cannot write the backup that must precede a schema upgrade")?;
        tracing::info!(backup = %kept.display(), from = version, to = MIGRATIONS.len(), "upgrading the database schema");
        migrate(&mut conn).with_context(|| {
            format!("the upgrade failed and was rolled back; the database is unchanged (and backed up to {})", kept.display())
        })?;
        return Ok(checked_at);
    }
    migrate(&mut conn)?;
    Ok(checked_at)
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
///
/// With foreign keys off, as `SQLite`'s procedure for rebuilding a table
/// requires (0010; the bundled `SQLite` turns them on by default, and the
/// pragma does nothing inside the migrations' transactions, hence here);
/// the whole schema's foreign keys are checked afterwards instead.
pub(super) fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if usize::try_from(version).is_ok_and(|v| v == MIGRATIONS.len()) {
        // Nothing to apply, so nothing ran with foreign keys off.
        return Ok(());
    }
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .context("cannot bring the database schema up to date");
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated?;
    check_references(conn)
}

/// Every reference points at a row. Every connection enforces foreign
/// keys, so this finds only what was written without them: by a migration
/// (which must turn them off), or by another program. It reads every row
/// of every table that refers to another (at 1,000,000 patients, seconds),
/// so it runs when the integrity check does and after a migration, not at
/// every start.
fn check_references(conn: &Connection) -> anyhow::Result<()> {
    let broken: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })?;
    anyhow::ensure!(
        broken == 0,
        "the database has {broken} rows whose references point nowhere (PRAGMA foreign_key_check)"
    );
    Ok(())
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

    #[test]
    fn rebuilding_the_tables_for_autoincrement_keeps_every_row_index_and_trigger_working() {
        // Arrange: a database at schema 9 with records, an archived patient,
        // and the newest mapping deleted (its id named by the audit trail).
        let mut conn = Connection::open_in_memory().expect("in-memory db");
        conn.pragma_update(None, "foreign_keys", true)
            .expect("as a server's connection has them");
        Migrations::from_slice(&MIGRATIONS[..9])
            .to_latest(&mut conn)
            .expect("schema 9");
        conn.execute_batch(
            "INSERT INTO users (email, name, password_hash, role, created_at, updated_at)
                 VALUES ('a@clinic.test', 'A', 'h', 'admin', 't', 't');
             INSERT INTO patients (first_name, search_text, created_by, created_at, updated_at, deleted_at)
                 VALUES ('Ada', 'ada lovelace', 1, 't', 't', NULL),
                        ('Bob', 'bob smith', 1, 't', 't', NULL),
                        ('Cy', 'cy archived', 1, 't', 't', 't');
             INSERT INTO doctors (first_name, specialization, search_text, created_by, created_at, updated_at)
                 VALUES ('Doc', 'gp', 'doc gp', 1, 't', 't');
             INSERT INTO mappings (patient_id, doctor_id, created_by, created_at, updated_at)
                 VALUES (1, 1, 1, 't', 't'), (2, 1, 1, 't', 't');
             INSERT INTO audit_log (at, action, entity, entity_id, outcome)
                 VALUES ('t', 'create', 'mapping', 2, 'success');
             DELETE FROM mappings WHERE id = 2;",
        )
        .expect("records");
        let objects = |conn: &Connection| -> Vec<String> {
            let mut stmt = conn
                .prepare(
                    "SELECT type || ' ' || name FROM sqlite_master
                      WHERE type IN ('index', 'trigger') AND name NOT LIKE 'sqlite_autoindex%'
                      ORDER BY 1",
                )
                .expect("prepare");
            stmt.query_map([], |row| row.get(0))
                .expect("query")
                .collect::<Result<_, _>>()
                .expect("rows")
        };
        let before = objects(&conn);

        // Act
        migrate(&mut conn).expect("schema 10");

        // Assert: the same indexes and triggers (later migrations only add
        // their own), every row, clean foreign keys.
        let after = objects(&conn);
        let lost: Vec<&String> = before.iter().filter(|o| !after.contains(o)).collect();
        assert!(lost.is_empty(), "lost in the upgrade: {lost:?}");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |row| row.get(0)).expect(sql) };
        assert_eq!(count("SELECT count(*) FROM users"), 1);
        assert_eq!(count("SELECT count(*) FROM patients"), 3);
        assert_eq!(count("SELECT count(*) FROM mappings"), 1);
        assert_eq!(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
        // The search index and the live counts still follow the table.
        let found = "SELECT count(*) FROM patients_search WHERE patients_search MATCH 'lovelace'";
        assert_eq!(count(found), 1);
        assert_eq!(
            count("SELECT live FROM patient_counts WHERE created_by = 1"),
            2
        );
        conn.execute_batch(
            "INSERT INTO patients (first_name, search_text, created_by, created_at, updated_at)
                 VALUES ('Eve', 'eve lovelace', 1, 't', 't');
             UPDATE patients SET deleted_at = 't' WHERE id = 1;
             INSERT INTO mappings (patient_id, doctor_id, created_by, created_at, updated_at)
                 VALUES (2, 1, 1, 't', 't');",
        )
        .expect("writes after the upgrade");
        assert_eq!(count(found), 1, "Eve in, archived Ada out");
        assert_eq!(
            count("SELECT live FROM patient_counts WHERE created_by = 1"),
            2
        );
        assert_eq!(count("SELECT max(id) FROM patients"), 4);
        assert_eq!(
            count("SELECT max(id) FROM mappings"),
            3,
            "the deleted mapping's id 2 is not given again"
        );
        let append_only = conn.execute("DELETE FROM audit_log", []);
        assert!(append_only.is_err(), "the audit log stays append-only");
    }
}
