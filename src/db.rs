//! `SQLite` behind an r2d2 pool: opening the file, its pragmas, the schema
//! migrations, and `Db::run`, the one way handlers reach the database.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, TransactionBehavior};
use rusqlite_migration::{Migrations, M};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::ApiError;

/// The schema, oldest first. Files are never edited once released: a change
/// is a new file. Applied in one transaction at start-up; the version lives
/// in `PRAGMA user_version`.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_users.sql")),
    M::up(include_str!("../migrations/0002_patients.sql")),
    M::up(include_str!("../migrations/0003_doctors.sql")),
    M::up(include_str!("../migrations/0004_mappings.sql")),
    M::up(include_str!("../migrations/0005_login_lockout.sql")),
    M::up(include_str!("../migrations/0006_audit_log.sql")),
    M::up(include_str!("../migrations/0007_temporary_passwords.sql")),
    M::up(include_str!("../migrations/0008_search_index.sql")),
    M::up(include_str!("../migrations/0009_patient_counts.sql")),
    M::up(include_str!("../migrations/0010_ids_never_reused.sql")),
    M::up(include_str!("../migrations/0011_clinic_time_zone.sql")),
];

/// Connections in the pool. WAL lets readers run beside the one writer;
/// more connections than this only queue on a small clinic workstation.
const POOL_SIZE: u32 = 8;

/// How long a statement waits for another connection's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Handle to the database; managed by Rocket and cheap to clone.
#[derive(Clone)]
pub struct Db(r2d2::Pool<SqliteConnectionManager>);

impl Db {
    /// Opens (creating if needed) the database file, checks it, brings its
    /// schema up to date, and only then opens the pool.
    pub fn open(config: &Config) -> anyhow::Result<Self> {
        let path = &config.database_path();
        prepare(config, path)?;
        let manager = SqliteConnectionManager::file(path).with_init(|conn| {
            // First: wait for a lock instead of failing with SQLITE_BUSY.
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "foreign_keys", true)?;
            // Every transaction here writes. IMMEDIATE takes the write lock up
            // front (waiting on busy_timeout); a DEFERRED one that read first
            // fails at once with SQLITE_BUSY if another writer got in between.
            conn.set_transaction_behavior(TransactionBehavior::Immediate);
            // An acknowledged write must survive a power cut.
            conn.pragma_update(None, "synchronous", "FULL")
        });
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .build(manager)
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        Ok(Self(pool))
    }

    /// Moves every committed page from the write-ahead log into the database
    /// file and empties the log: what shutdown does, so the file alone is
    /// complete (a copy of it is a whole backup).
    pub fn checkpoint(&self) -> anyhow::Result<()> {
        let conn = self.0.get()?;
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        anyhow::ensure!(busy == 0, "the checkpoint was blocked by a reader");
        Ok(())
    }

    /// What `clinicdesk check` prints about the database.
    pub fn report(&self) -> anyhow::Result<StorageReport> {
        let conn = self.0.get()?;
        let pragma = |name: &str| -> anyhow::Result<String> {
            let value: rusqlite::types::Value =
                conn.query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))?;
            Ok(match value {
                rusqlite::types::Value::Text(text) => text,
                rusqlite::types::Value::Integer(n) => n.to_string(),
                other => format!("{other:?}"),
            })
        };
        Ok(StorageReport {
            sqlite_version: rusqlite::version().to_owned(),
            journal_mode: pragma("journal_mode")?,
            synchronous: match pragma("synchronous")?.as_str() {
                "0" => "OFF".into(),
                "1" => "NORMAL".into(),
                "2" => "FULL".into(),
                "3" => "EXTRA".into(),
                other => other.to_owned(),
            },
            foreign_keys: pragma("foreign_keys")? == "1",
            schema_version: pragma("user_version")?,
            integrity: pragma("integrity_check")?,
        })
    }

    /// Runs `f` with a pooled connection on a blocking thread.
    ///
    /// Both waiting for a free connection and running the query block, so
    /// neither may happen on one of Rocket's async workers.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.0.clone();
        let span = tracing::Span::current();
        let joined = rocket::tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get()?;
            f(&mut conn)
        })
        .await;

        match joined {
            Ok(result) => result,
            Err(e) => Err(ApiError::Internal(anyhow::anyhow!(
                "database task failed: {e}"
            ))),
        }
    }

    /// A connection for start-up and command-line work (never on a request path).
    pub fn connection(&self) -> anyhow::Result<r2d2::PooledConnection<SqliteConnectionManager>> {
        Ok(self.0.get()?)
    }
}

/// The state of the database file, for a person to read.
#[derive(Debug)]
pub struct StorageReport {
    pub sqlite_version: String,
    pub journal_mode: String,
    pub synchronous: String,
    pub foreign_keys: bool,
    /// The number of migrations applied.
    pub schema_version: String,
    /// `ok`, or what `PRAGMA integrity_check` found.
    pub integrity: String,
}

/// Start-up work on one plain connection, so a problem is reported at once
/// and by name (the pool would retry for half a minute first).
fn prepare(config: &Config, path: &Path) -> anyhow::Result<()> {
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
///
/// With foreign keys off, as `SQLite`'s procedure for rebuilding a table
/// requires (0010; the bundled `SQLite` turns them on by default, and the
/// pragma does nothing inside the migrations' transactions, hence here);
/// the whole schema's foreign keys are checked afterwards instead.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    conn.pragma_update(None, "foreign_keys", false)?;
    let migrated = Migrations::from_slice(MIGRATIONS)
        .to_latest(conn)
        .context("cannot bring the database schema up to date");
    conn.pragma_update(None, "foreign_keys", true)?;
    migrated?;
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

/// A read, then the audit row that records it; the read is answered only
/// once its record is committed.
///
/// `read` runs in a read-only (deferred) transaction: one consistent
/// snapshot for a page and its count, taken beside any writer (WAL), so
/// reads never queue for the database's single write lock. Only the short
/// `record` transaction takes that lock. (In one `IMMEDIATE` transaction, a
/// slow page held the lock for its whole query and every other request
/// queued behind it.)
///
/// The record's commit does not wait for the disk: the fsync is left to the
/// next write (or checkpoint), which makes this row durable with its own. A
/// power cut can lose the last moments of *read* records, never a change or
/// its record, and never corrupts anything (WAL with `synchronous=NORMAL`).
/// Measured on this project's machines: ~150 fsync'd commits a second
/// against ~17,000 without; with every opened record waiting for an fsync,
/// the whole clinic could open only ~150 records a second.
pub fn read_and_record<T>(
    conn: &mut Connection,
    read: impl FnOnce(&Connection) -> Result<T, ApiError>,
    record: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<(), ApiError>,
) -> Result<T, ApiError> {
    let snapshot = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let value = read(&snapshot)?;
    // Read-only: committing only ends the snapshot.
    snapshot.commit()?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    let result: Result<T, ApiError> = (|| {
        let tx = conn.transaction()?;
        record(&tx)?;
        tx.commit()?;
        Ok(value)
    })();
    // Back to the default before the connection returns to the pool: every
    // other transaction's commit waits for the disk.
    let restored = conn.pragma_update(None, "synchronous", "FULL");
    let value = result?;
    restored?;
    Ok(value)
}

/// The current time as stored and answered: RFC 3339 UTC to the second.
pub fn now() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_read_skips_the_fsync_and_then_every_commit_waits_for_the_disk_again() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut conn = Connection::open(dir.path().join("t.sqlite3")).expect("open");
        conn.pragma_update(None, "synchronous", "FULL")
            .expect("full");
        let level = |c: &Connection| -> i64 {
            c.pragma_query_value(None, "synchronous", |row| row.get(0))
                .expect("synchronous")
        };
        let mut inside = 0;
        let value = read_and_record(
            &mut conn,
            |_| Ok(7),
            |tx| {
                inside = level(tx);
                Ok(())
            },
        )
        .expect("ran");
        let failed: Result<(), ApiError> =
            read_and_record(&mut conn, |_| Ok(()), |_| Err(ApiError::NotFound));
        assert_eq!((value, inside), (7, 1), "NORMAL inside the record");
        assert!(failed.is_err());
        assert_eq!(level(&conn), 2, "FULL again, even after a failure");
    }

    #[test]
    fn a_recorded_read_does_not_wait_for_the_write_lock_but_is_not_answered_without_its_record() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("t.sqlite3");
        let mut reader = Connection::open(&path).expect("open");
        reader
            .execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);",
            )
            .expect("schema");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO t VALUES (2);")
            .expect("hold the write lock");
        reader.busy_timeout(Duration::ZERO).expect("no waiting");

        let mut read = None;
        let answered = read_and_record(
            &mut reader,
            |conn| {
                let rows: i64 = conn.query_row("SELECT count(*) FROM t", [], |row| row.get(0))?;
                read = Some(rows);
                Ok(rows)
            },
            |tx| Ok(tx.execute("INSERT INTO t VALUES (3)", []).map(drop)?),
        );

        assert_eq!(read, Some(1), "the read ran beside the writer");
        assert!(
            answered.is_err(),
            "but without its record it is not answered"
        );
    }

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

        // Assert: the same indexes and triggers, every row, clean foreign keys.
        assert_eq!(objects(&conn), before);
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

    #[test]
    fn now_is_rfc3339_utc_to_the_second() {
        let now = now();
        assert_eq!(now.len(), "2026-11-23T10:30:00Z".len(), "{now}");
        assert!(now.ends_with('Z'));
    }
}
