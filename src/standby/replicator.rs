//! `litestream replicate`, run beside the server for as long as it serves.
//! If Litestream exits on its own (a bad replica URL, a full share), it is
//! started again after a pause, and `/api/health` says `down` meanwhile:
//! the clinic keeps working on one machine, and its IT person is told.

use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::litestream::{self, Litestream};
use crate::config::Config;

/// Between a Litestream that exited and the next start.
const RESTART_PAUSE: Duration = Duration::from_secs(5);

/// How long Litestream is given to ship what it has not yet shipped.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// What `/api/health` says of replication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Off,
    Ok,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Ok => "ok",
            Self::Down => "down",
        }
    }
}

/// The running Litestream, or none when replication is off. Cheap to clone.
#[derive(Clone)]
pub struct Replicator(Option<Arc<Running>>);

struct Running {
    child: Arc<Mutex<Option<Child>>>,
    up: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    supervisor: Mutex<Option<JoinHandle<()>>>,
}

impl Replicator {
    pub fn off() -> Self {
        Self(None)
    }

    /// Writes `litestream.yml` into the data directory and starts
    /// `litestream replicate` on it.
    pub fn start(config: &Config, program: Litestream) -> anyhow::Result<Self> {
        let url = config
            .replica_url
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("replication needs replica_url"))?;
        let file = config.data_dir.join(litestream::CONFIG_FILE);
        crate::config::write_private(
            &file,
            litestream::config_yaml(&config.database_path(), url).as_bytes(),
        )?;
        let child = Arc::new(Mutex::new(Some(program.replicate(&file)?)));
        let up = Arc::new(AtomicBool::new(true));
        let stopping = Arc::new(AtomicBool::new(false));
        let supervisor = std::thread::Builder::new()
            .name("clinicdesk-replication".into())
            .spawn({
                let (child, up, stopping) = (child.clone(), up.clone(), stopping.clone());
                move || supervise(&program, &file, &child, &up, &stopping)
            })?;
        tracing::info!(replica = url, "replicating with Litestream");
        Ok(Self(Some(Arc::new(Running {
            child,
            up,
            stopping,
            supervisor: Mutex::new(Some(supervisor)),
        }))))
    }

    pub fn state(&self) -> State {
        match &self.0 {
            None => State::Off,
            Some(running) if running.up.load(Ordering::Relaxed) => State::Ok,
            Some(_) => State::Down,
        }
    }

    /// After the last write: asks Litestream to ship what is left and exit,
    /// and waits for it (blocking; idempotent).
    pub fn stop(&self) {
        let Some(running) = &self.0 else {
            return;
        };
        running.stopping.store(true, Ordering::Relaxed);
        let deadline = Instant::now() + STOP_GRACE;
        {
            let mut slot = running.child.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(child) = slot.as_mut() {
                ask_to_stop(child);
                while Instant::now() < deadline {
                    if !matches!(child.try_wait(), Ok(None)) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
            *slot = None;
        }
        let supervisor = running
            .supervisor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(supervisor) = supervisor {
            let _ = supervisor.join();
        }
    }
}

fn supervise(
    program: &Litestream,
    file: &Path,
    child: &Mutex<Option<Child>>,
    up: &AtomicBool,
    stopping: &AtomicBool,
) {
    while !stopping.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(250));
        let mut slot = child.lock().unwrap_or_else(PoisonError::into_inner);
        let exited = match slot.as_mut() {
            Some(running) => match running.try_wait() {
                Ok(None) => continue,
                Ok(Some(status)) => status.to_string(),
                Err(e) => e.to_string(),
            },
            None => "not running".to_owned(),
        };
        if stopping.load(Ordering::Relaxed) {
            return;
        }
        up.store(false, Ordering::Relaxed);
        *slot = None;
        drop(slot);
        tracing::error!(
            exited = %exited,
            "Litestream stopped; the records are not reaching the replica. Starting it again shortly"
        );
        std::thread::sleep(RESTART_PAUSE);
        if stopping.load(Ordering::Relaxed) {
            return;
        }
        match program.replicate(file) {
            Ok(restarted) => {
                *child.lock().unwrap_or_else(PoisonError::into_inner) = Some(restarted);
                up.store(true, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(error = %e, "Litestream could not be started again"),
        }
    }
}

/// SIGTERM on Unix, through the system's `kill` (std's `Child::kill` is
/// SIGKILL): Litestream's shutdown ships the last frames. Windows has no
/// such signal for a console-less child; it is ended, and ships the rest
/// at its next start, from its state beside the database.
fn ask_to_stop(child: &Child) {
    #[cfg(unix)]
    {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    #[cfg(not(unix))]
    let _ = child;
}
