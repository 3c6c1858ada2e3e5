//! The one connection that writes, on a thread of its own, with group commit.
//!
//! Handlers hand the writer a job (a closure over the open transaction)
//! through a bounded queue and await its answer. The writer takes whatever is
//! queued (up to `BATCH_MAX` jobs), runs each inside its own `SAVEPOINT`, so a
//! failing job rolls back alone and gets its own error, commits once, and
//! answers every job only after that commit has returned. With
//! `synchronous=FULL` that is one fsync a batch: every acknowledged write
//! survives a power cut, and a burst of writes shares the disk's flushes
//! instead of queueing for them one by one. A lone write starts at once: the
//! writer never waits for company.
//!
//! Background work (scoring duplicate pairs, keying older rows) is queued as
//! idle jobs: the writer runs one only when no request's job is waiting, so
//! a burst of the clinic's writes never queues behind the server's own.
//!
//! Nothing else writes, so no request ever meets `SQLITE_BUSY` or sleeps in
//! `SQLite`'s busy handler waiting for another connection's write lock.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use rocket::tokio::sync::mpsc;
use rusqlite::{ffi, Connection, Transaction, TransactionBehavior};

use crate::error::ApiError;

/// The most jobs one commit carries: enough to share an fsync among a
/// Monday-morning burst, few enough that the first of them is not kept
/// waiting long for the last.
const BATCH_MAX: usize = 256;

/// How a batch ended, as each of its jobs is told: committed, or the
/// database's reason it was not (kept as a code, so a full disk is still
/// answered `507` to every job that lost its write to it).
type Committed<'a> = Result<(), &'a Failure>;

/// A batch that did not commit.
struct Failure {
    code: ffi::Error,
    message: String,
}

impl Failure {
    fn of(error: &rusqlite::Error) -> Self {
        Self {
            code: error
                .sqlite_error()
                .copied()
                .unwrap_or_else(|| ffi::Error::new(ffi::SQLITE_ERROR)),
            message: error.to_string(),
        }
    }

    fn as_error(&self) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(self.code, Some(self.message.clone()))
    }
}

/// What a job hands back once it has run.
pub(super) struct Ran {
    /// Called with the batch's outcome; answers the waiting request.
    reply: Box<dyn FnOnce(Committed<'_>) + Send>,
    /// The database error the job failed with, if any: when it aborted the
    /// whole transaction, the batch's other jobs are told this reason.
    failure: Option<ffi::Error>,
}

/// A unit of work for the writer: runs inside its own savepoint of the
/// batch's transaction.
pub(super) type Job = Box<dyn FnOnce(&Transaction<'_>) -> Ran + Send>;

/// Called after a commit with the rowids of the watched table that the batch
/// inserted, updated or deleted (see `Db::watch`).
pub type OnChange = Arc<dyn Fn(&[i64]) + Send + Sync>;

/// The tables someone watches, each with its callback.
pub(super) type Watchers = Arc<RwLock<Vec<(String, OnChange)>>>;

enum Message {
    Job(Job),
    /// Runs only when no `Job` is waiting (see the module's note).
    Idle(Job),
    /// Finish what is queued, then stop.
    Stop,
}

/// The sending side, held (cloned) by every `Db`.
#[derive(Clone)]
pub(super) struct Queue {
    messages: mpsc::Sender<Message>,
    /// Batches committed so far; the checkpointer compares it to its last look.
    pub(super) commits: Arc<AtomicU64>,
}

/// Why a job was not queued.
pub(super) enum Refused {
    /// The queue is full: the caller answers `503` with `Retry-After`.
    Full,
    /// The writer has stopped (shutdown): nothing more is written.
    Stopped,
}

impl Queue {
    /// How many messages wait in the queue now.
    #[cfg(test)]
    pub(super) fn queued(&self) -> usize {
        self.messages.max_capacity() - self.messages.capacity()
    }

    /// Queues `job` in `lane` without waiting for room.
    pub(super) fn offer(&self, job: Job, lane: Lane) -> Result<(), Refused> {
        let message = match lane {
            Lane::Request => Message::Job(job),
            Lane::Idle => Message::Idle(job),
        };
        self.messages.try_send(message).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Refused::Full,
            mpsc::error::TrySendError::Closed(_) => Refused::Stopped,
        })
    }
}

/// When a job runs: with the next batch, or once the writer has nothing
/// else to do (see the module's note).
#[derive(Clone, Copy)]
pub(super) enum Lane {
    Request,
    Idle,
}

/// Starts the writer thread on `conn`.
pub(super) fn spawn(
    conn: Connection,
    capacity: usize,
    watchers: Watchers,
) -> std::io::Result<(Queue, Stopper)> {
    let (messages, incoming) = mpsc::channel(capacity.max(1));
    let commits = Arc::new(AtomicU64::new(0));
    let writer = Writer::new(conn, watchers, Arc::clone(&commits));
    let thread = std::thread::Builder::new()
        .name("clinicdesk-writer".into())
        .spawn(move || writer.serve(incoming))?;
    let queue = Queue { messages, commits };
    let stopper = Stopper {
        queue: queue.clone(),
        thread: Mutex::new(Some(thread)),
    };
    Ok((queue, stopper))
}

/// Ends the writer at shutdown: what was queued still runs and commits,
/// later jobs are refused, then the thread exits and its connection closes.
/// (Should nobody call it, the writer ends once every `Db` is dropped.)
pub(super) struct Stopper {
    queue: Queue,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Stopper {
    /// Blocking (not on an async worker); idempotent.
    pub(super) fn stop(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(thread) = thread else { return };
        // Waits for room: the marker goes behind every job already queued.
        if self.queue.messages.blocking_send(Message::Stop).is_ok() {
            let _ = thread.join();
        }
    }
}

/// The writer thread's state.
struct Writer {
    conn: Connection,
    watchers: Watchers,
    /// Rowids changed in watched tables during the current batch, by watcher.
    changed: Arc<Mutex<Vec<(usize, i64)>>>,
    commits: Arc<AtomicU64>,
}

impl Writer {
    fn new(conn: Connection, watchers: Watchers, commits: Arc<AtomicU64>) -> Self {
        let changed = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&changed);
        let seen = Arc::clone(&watchers);
        // Fires for every row written, so it only compares a table name
        // against the few watched ones.
        let hooked = conn.update_hook(Some(move |_action, _db: &str, table: &str, rowid: i64| {
            let watchers = seen.read().unwrap_or_else(PoisonError::into_inner);
            for (index, (watched, _)) in watchers.iter().enumerate() {
                if watched == table {
                    sink.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((index, rowid));
                }
            }
        }));
        if let Err(e) = hooked {
            tracing::error!(error = %e, "cannot watch the database for changes");
        }
        Self {
            conn,
            watchers,
            changed,
            commits,
        }
    }

    fn serve(mut self, mut incoming: mpsc::Receiver<Message>) {
        // Idle jobs wait here, in order, until the queue is empty.
        let mut idle = VecDeque::new();
        loop {
            let first = match incoming.try_recv() {
                Ok(message) => message,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if let Some(job) = idle.pop_front() {
                        self.run_batch(vec![job]);
                        continue;
                    }
                    match incoming.blocking_recv() {
                        Some(message) => message,
                        None => break,
                    }
                }
                // Closed at shutdown and emptied: idle jobs left are dropped
                // (their waiters are told nothing was written; the work they
                // stood for is picked up at the next start).
                Err(mpsc::error::TryRecvError::Disconnected) => break,
            };
            let mut batch = Vec::new();
            let mut next = Some(first);
            while let Some(message) = next.take() {
                match message {
                    Message::Job(job) => batch.push(job),
                    Message::Idle(job) => idle.push_back(job),
                    Message::Stop => {
                        // Refuse new jobs; the ones already queued still run.
                        incoming.close();
                    }
                }
                if batch.len() < BATCH_MAX {
                    next = incoming.try_recv().ok();
                }
            }
            if !batch.is_empty() {
                self.run_batch(batch);
            }
        }
    }

    /// Runs `batch` in as few transactions as it takes (one, unless a job's
    /// failure makes `SQLite` roll the transaction back) and answers each job
    /// after its transaction has ended.
    fn run_batch(&mut self, batch: Vec<Job>) {
        let mut pending = batch.into_iter().peekable();
        while pending.peek().is_some() {
            let tx = match self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
            {
                Ok(tx) => tx,
                Err(e) => {
                    // Nothing can run: each job's request is answered with a
                    // server error when its job is dropped unanswered.
                    tracing::error!(error = %e, "cannot begin a write transaction");
                    return;
                }
            };
            let mut replies = Vec::new();
            let mut aborted = None;
            for job in pending.by_ref() {
                let ran = run_job(&tx, job);
                replies.push(ran.reply);
                // SQLite ends the whole transaction on some failures (a full
                // disk, an I/O error). What ran before is gone with it, so
                // this transaction ends here and the rest get a new one.
                if tx.is_autocommit() {
                    aborted = Some(
                        ran.failure
                            .unwrap_or_else(|| ffi::Error::new(ffi::SQLITE_ABORT)),
                    );
                    break;
                }
            }
            let outcome = match aborted {
                Some(code) => Err(Failure {
                    code,
                    message: "the write transaction was rolled back by the database".into(),
                }),
                None => tx.commit().map_err(|e| Failure::of(&e)),
            };
            match &outcome {
                Ok(()) => {
                    self.commits.fetch_add(1, Ordering::Relaxed);
                }
                Err(failure) => {
                    tracing::error!(error = %failure.message, jobs = replies.len(), "a write batch did not commit; none of it was kept");
                }
            }
            tell_watchers(&self.changed, &self.watchers);
            for reply in replies {
                reply(outcome.as_ref().copied());
            }
        }
    }
}

/// Hands each watcher the rowids it watches that the batch touched. This
/// runs after the commit and before any job is answered, so a client that
/// sees its change acknowledged knows every watcher has seen it too.
fn tell_watchers(changed: &Mutex<Vec<(usize, i64)>>, watchers: &Watchers) {
    let changed = std::mem::take(&mut *changed.lock().unwrap_or_else(PoisonError::into_inner));
    if changed.is_empty() {
        return;
    }
    let watchers = watchers.read().unwrap_or_else(PoisonError::into_inner);
    for (index, (_, on_change)) in watchers.iter().enumerate() {
        let ids: Vec<i64> = changed
            .iter()
            .filter(|(watcher, _)| *watcher == index)
            .map(|(_, id)| *id)
            .collect();
        if !ids.is_empty() {
            on_change(&ids);
        }
    }
}

/// Runs one job inside its own savepoint. A panicking job is contained:
/// rolled back, and its request answered with a server error (its reply is
/// dropped), so the writer and the rest of its batch carry on.
fn run_job(tx: &Transaction<'_>, job: Job) -> Ran {
    if let Err(e) = savepoint(tx, "SAVEPOINT job") {
        tracing::error!(error = %e, "cannot open a savepoint for a write");
        return Ran {
            reply: Box::new(|_| {}),
            failure: e.sqlite_error().copied(),
        };
    }
    match catch_unwind(AssertUnwindSafe(|| job(tx))) {
        Ok(ran) => ran,
        Err(_) => {
            let _ = roll_back(tx);
            tracing::error!("a write job panicked; its changes were rolled back");
            Ran {
                reply: Box::new(|_| {}),
                failure: None,
            }
        }
    }
}

/// Runs one of the savepoint statements; cached, as every write runs two.
fn savepoint(tx: &Transaction<'_>, statement: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(statement)?.execute([]).map(drop)
}

/// Undoes the current job's changes and ends its savepoint.
fn roll_back(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    savepoint(tx, "ROLLBACK TO job")?;
    savepoint(tx, "RELEASE job")
}

/// Wraps a handler's closure as a `Job`: runs it in the savepoint that
/// `run_job` opened, keeps or rolls back that savepoint by its result, and
/// hands `answer` the result once the batch has committed (or the reason it
/// did not).
pub(super) fn job<T, F>(work: F, answer: impl FnOnce(Result<T, ApiError>) + Send + 'static) -> Job
where
    F: FnOnce(&Transaction<'_>) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    Box::new(move |tx| {
        let result = work(tx);
        let closed = if tx.is_autocommit() {
            // The database already rolled everything back.
            Ok(())
        } else if result.is_ok() {
            savepoint(tx, "RELEASE job")
        } else {
            roll_back(tx)
        };
        let result = match (result, closed) {
            (Ok(_), Err(e)) => Err(ApiError::Database(e)),
            (result, _) => result,
        };
        let failure = match &result {
            Err(ApiError::Database(e)) => e.sqlite_error().copied(),
            _ => None,
        };
        Ran {
            reply: Box::new(move |committed: Committed<'_>| {
                answer(match (result, committed) {
                    (Ok(value), Ok(())) => Ok(value),
                    (Ok(_), Err(failure)) => Err(ApiError::Database(failure.as_error())),
                    (Err(e), _) => Err(e),
                });
            }),
            failure,
        }
    })
}
