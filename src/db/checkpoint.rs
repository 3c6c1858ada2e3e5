//! Checkpoints off the request path. The writer runs with auto-checkpoints
//! off (one would otherwise run inside whichever commit crossed the
//! threshold, and that request would pay for copying the log into the
//! database file); this thread, on a connection of its own, copies the
//! write-ahead log into the database file once a second when something was
//! committed. `PASSIVE`: it never waits for, nor blocks, the writer or a
//! reader, so it may leave the newest frames for its next round.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is looked at.
const INTERVAL: Duration = Duration::from_secs(1);

/// The running checkpointer; `stop` ends it.
pub(super) struct Checkpointer {
    stop: Mutex<Option<mpsc::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    /// Starts the thread; `commits` is the writer's count of committed batches.
    pub(super) fn spawn(conn: Connection, commits: Arc<AtomicU64>) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("clinicdesk-checkpoint".into())
            .spawn(move || run(&conn, &commits, &stopped))?;
        Ok(Self {
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Ends the thread and waits for it (blocking; idempotent).
    pub(super) fn stop(&self) {
        drop(
            self.stop
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

fn run(conn: &Connection, commits: &AtomicU64, stopped: &mpsc::Receiver<()>) {
    let mut seen = commits.load(Ordering::Relaxed);
    loop {
        match stopped.recv_timeout(INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            // A stop request, or every handle gone.
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let now = commits.load(Ordering::Relaxed);
        if now == seen {
            continue;
        }
        seen = now;
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "a background checkpoint failed; the next one will retry");
        }
    }
}
