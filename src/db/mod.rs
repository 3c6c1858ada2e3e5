//! `SQLite`: one connection that writes, on a thread of its own with group
//! commit (`writer`), a pool of read-only connections beside it, and
//! checkpoints in the background (`checkpoint`). `Db::read` and `Db::write`
//! are the one way handlers reach the database.
//!
//! Why one writer: `SQLite` has one write lock. With every pooled connection
//! free to write, waiters were woken by `SQLite`'s busy handler, which sleeps
//! in growing steps (the second-long tails under load), and each commit paid
//! its own fsync. With one writer nobody waits for the lock, and a burst of
//! writes shares one fsync per batch (see `writer`). Reads never take the
//! write lock (WAL), so they never queue behind writes.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::Context;
use r2d2_sqlite::SqliteConnectionManager;
use rocket::tokio::sync::oneshot;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::Config;
use crate::error::ApiError;

mod checkpoint;
mod closed;
mod columns;
mod schema;
mod statements;
mod writer;

pub use columns::Columns;
pub use statements::{bind, NamedValues, ResultExt, PAGE};
pub use writer::OnChange;

/// Read-only connections: enough for reads to overlap on a small
/// workstation; more only queue for its cores.
const READERS: u32 = 8;

/// How much of the database file a reader maps into memory. Every commit
/// (and every read's audit row is one) makes each reader drop its page
/// cache at its next read, so without a map every page a read touches is
/// copied again from the file with a `pread`; mapped, the reader uses the
/// operating system's cached pages where they are. Pages still in the
/// write-ahead log are read as before. The mapped pages are the OS's file
/// cache, shared by every reader, but they count in the process's resident
/// set: the cap bounds what a large database adds to it, and a small
/// clinic's whole file fits.
const READER_MMAP_BYTES: i64 = 64 << 20;

/// How long a statement waits for a lock held outside this process (a
/// reader meeting a checkpoint that resets the log, the writer meeting
/// another program that holds the file). Inside it, nobody waits: there is
/// one writer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a client that met a full write queue is asked to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// Handle to the database; managed by Rocket and cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Inner>);

struct Inner {
    path: PathBuf,
    /// When the file last passed the start-up checks (seconds since
    /// 1970), for the mark a clean stop leaves (`closed`).
    checked_at: u64,
    readers: r2d2::Pool<SqliteConnectionManager>,
    queue: writer::Queue,
    writer: writer::Stopper,
    /// None when Litestream replicates the file: it runs the checkpoints
    /// itself, after copying the log, and ours would race it.
    checkpointer: Option<checkpoint::Checkpointer>,
    watchers: writer::Watchers,
}

impl Db {
    /// Opens (creating if needed) the database file, checks it, brings its
    /// schema up to date, and only then starts the writer, the readers and
    /// the checkpointer.
    ///
    /// Before an upgrade, `back_up` is given the schema version being left
    /// and returns where it kept a copy of the database; the upgrade starts
    /// only once it has. (Backups are a resource above this module, so the
    /// caller passes that step in; a fresh or current database never calls it.)
    pub fn open(
        config: &Config,
        back_up: impl FnOnce(usize) -> anyhow::Result<PathBuf>,
    ) -> anyhow::Result<Self> {
        let path = &config.database_path();
        let checked_at = schema::prepare(path, back_up)?;
        let readers = r2d2::Pool::builder()
            .max_size(READERS)
            .build(SqliteConnectionManager::file(path).with_init(|conn| {
                conn.busy_timeout(BUSY_TIMEOUT)?;
                conn.pragma_update(None, "foreign_keys", true)?;
                conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
                // A reader cannot write by mistake: only the writer writes.
                conn.pragma_update(None, "query_only", true)
            }))
            .with_context(|| format!("cannot open the database {}", path.display()))?;
        let watchers = writer::Watchers::default();
        let (queue, writer) = writer::spawn(
            open_writer(path)?,
            config.write_queue,
            Arc::clone(&watchers),
        )
        .context("cannot start the database writer")?;
        let checkpointer = if config.replicated() {
            None
        } else {
            Some(
                checkpoint::Checkpointer::spawn(open_plain(path)?, Arc::clone(&queue.commits))
                    .context("cannot start the checkpointer")?,
            )
        };
        Ok(Self(Arc::new(Inner {
            path: path.clone(),
            checked_at,
            readers,
            queue,
            writer,
            checkpointer,
            watchers,
        })))
    }

    /// Runs `read` on a read-only connection, on a blocking thread, in one
    /// snapshot (a page and its count agree). It never waits for a writer.
    pub async fn read<T, F>(&self, read: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        let joined = rocket::tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            db.read_now(read)
        })
        .await;
        joined.unwrap_or_else(|e| {
            Err(ApiError::Internal(anyhow::anyhow!(
                "database task failed: {e}"
            )))
        })
    }

    /// Hands `write` to the writer and waits for its answer, which comes
    /// only once its batch is committed (so it survives a power cut). A
    /// failing `write` rolls back its own changes alone. A full queue is
    /// answered at once with `503 busy` and `Retry-After`, never queued
    /// without bound.
    pub async fn write<T, F>(&self, write: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.hand_over(write, writer::Lane::Request).await
    }

    /// `write` for the server's own background work: it runs only when no
    /// request's write is waiting, so it never delays one by more than its
    /// own length. Keep such jobs short.
    pub async fn write_when_idle<T, F>(&self, write: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.hand_over(write, writer::Lane::Idle).await
    }

    async fn hand_over<T, F>(&self, write: F, lane: writer::Lane) -> Result<T, ApiError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let span = tracing::Span::current();
        let job = writer::job(
            move |tx| {
                let _entered = span.enter();
                write(tx)
            },
            move |result| {
                let _ = answer.send(result);
            },
        );
        self.offer(job, lane)?;
        answered.await.unwrap_or_else(|_| Err(unanswered()))
    }

    /// A read, then the audit row that records it; the read is answered
    /// only once its record is committed. The read runs on a reader (never
    /// waiting for the writer); the record goes through the writer and
    /// shares its batch's fsync, so every answered read's record survives a
    /// power cut.
    pub async fn read_and_record<T, R, W>(&self, read: R, record: W) -> Result<T, ApiError>
    where
        R: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
        W: FnOnce(&Transaction<'_>) -> Result<(), ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let value = self.read(read).await?;
        self.write(record).await?;
        Ok(value)
    }

    /// `read` for start-up and command-line work: on this thread, which must
    /// not be one of Rocket's async workers.
    pub fn read_now<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut conn = self.0.readers.get()?;
        let snapshot = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let value = read(&snapshot)?;
        // Read-only: committing only ends the snapshot.
        snapshot.commit()?;
        Ok(value)
    }

    /// `write` for start-up and command-line work: waits on this thread,
    /// which must not be one of Rocket's async workers.
    pub fn write_now<T, F>(&self, write: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (answer, answered) = std::sync::mpsc::sync_channel(1);
        let job = writer::job(write, move |result| {
            let _ = answer.send(result);
        });
        self.offer(job, writer::Lane::Request)?;
        answered.recv().unwrap_or_else(|_| Err(unanswered()))
    }

    fn offer(&self, job: writer::Job, lane: writer::Lane) -> Result<(), ApiError> {
        self.0.queue.offer(job, lane).map_err(|refused| match refused {
            writer::Refused::Full => {
                tracing::warn!("the write queue is full; a write was turned away");
                ApiError::Busy {
                    retry_after: RETRY_AFTER_SECONDS,
                    detail: "The server has more changes to save than it can take right now; nothing was saved.",
                }
            }
            writer::Refused::Stopped => ApiError::Busy {
                retry_after: RETRY_AFTER_SECONDS,
                detail: "The server is shutting down; nothing was saved.",
            },
        })
    }

    /// Calls `on_change` after every commit that inserted, updated or
    /// deleted rows of `table`, with their rowids, before any write of that
    /// batch is answered. For caches that must never serve a stale row (the
    /// account state every request checks).
    pub fn watch(&self, table: &str, on_change: OnChange) {
        self.0
            .watchers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push((table.to_owned(), on_change));
    }

    /// Shutdown: lets the writer finish what is queued, stops the
    /// background checkpoints, then moves every committed page from the
    /// write-ahead log into the database file and empties the log, so the
    /// file alone is complete (a copy of it is a whole backup), and leaves
    /// the mark that spares the next start its integrity check (`closed`).
    /// Blocking. Under Litestream the log is left to it: it checkpoints once
    /// it has shipped the last frames (and no mark is left).
    pub fn close(&self) -> anyhow::Result<()> {
        self.0.writer.stop();
        let Some(checkpointer) = &self.0.checkpointer else {
            return Ok(());
        };
        checkpointer.stop();
        let conn = self.0.readers.get()?;
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        anyhow::ensure!(busy == 0, "the checkpoint was blocked by a reader");
        if let Err(e) = closed::leave(&self.0.path, self.0.checked_at) {
            // Only costs the next start its full check.
            tracing::warn!(error = %e, "cannot mark the database as cleanly closed");
        }
        Ok(())
    }

    /// What `clinicdesk check` prints about the database.
    pub fn report(&self) -> anyhow::Result<StorageReport> {
        let conn = self.0.readers.get()?;
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
            // The writer's setting: the readers commit nothing.
            synchronous: match self
                .write_now(|tx| {
                    Ok(tx.pragma_query_value(None, "synchronous", |row| row.get::<_, i64>(0))?)
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                0 => "OFF".into(),
                1 => "NORMAL".into(),
                2 => "FULL".into(),
                3 => "EXTRA".into(),
                other => other.to_string(),
            },
            foreign_keys: pragma("foreign_keys")? == "1",
            schema_version: pragma("user_version")?,
            integrity: pragma("integrity_check")?,
        })
    }
}

/// A job dropped unanswered: the writer could not run it (its reason is in
/// the log) or it panicked (rolled back).
fn unanswered() -> ApiError {
    ApiError::Internal(anyhow::anyhow!("the write was not carried out"))
}

/// The writer's connection.
fn open_writer(path: &Path) -> anyhow::Result<Connection> {
    let conn = open_plain(path)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // An acknowledged write must survive a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Checkpoints run in the background (`checkpoint`), never in a commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // Each job's savepoint keeps the pages it first changes in a
    // sub-journal. By default that spills to a temporary file past 64 KiB,
    // which a batch of jobs passes at once: a `pwrite` for every page, a
    // fifth of the server's CPU under a burst of creates. In memory it is a
    // copy, emptied as each job's savepoint is released, so it grows only
    // with the pages one job changes, never with the database.
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // The writer runs every statement of the application, over and over.
    conn.set_prepared_statement_cache_capacity(128);
    Ok(conn)
}

fn open_plain(path: &Path) -> anyhow::Result<Connection> {
    let conn = Connection::open(path)
        .with_context(|| format!("cannot open the database {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
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

/// The current time as stored and answered: RFC 3339 UTC to the second.
pub fn now() -> String {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    now.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

#[cfg(test)]
mod tests;
