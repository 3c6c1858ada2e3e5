//! One server per data directory. Two servers writing one `SQLite` file work,
//! but two sets of in-memory state (setup token, login throttle) and two
//! shutdown checkpoints do not; more likely, the second start is a mistake
//! (a second double-click) that should be told so, not silently served.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// The lock file inside the data directory.
pub const LOCK_FILE: &str = "clinicdesk.lock";

/// Held while the server runs; the OS releases it when the process ends,
/// even after a crash, so a stale file never blocks a start.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the lock, or fails naming the directory and the other process.
    pub fn acquire(data_dir: &Path) -> anyhow::Result<Self> {
        let path = data_dir.join(LOCK_FILE);
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        // Owner-only, as everything in the data directory (also a file an
        // older version created with the default mode).
        crate::config::restrict_to_owner(&path, 0o600)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                anyhow::bail!(
                    "another clinicdesk{} is already using the data directory {}; stop it first, \
                     or give this one its own --data-dir",
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" (process {holder})")
                    },
                    data_dir.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        // Whom to look for if a second start is refused.
        file.set_len(0)?;
        write!(file, "{}", std::process::id())?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_directory_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = InstanceLock::acquire(dir.path()).expect("first lock");
        let refused = InstanceLock::acquire(dir.path()).expect_err("second refused");
        assert!(refused.to_string().contains("already using"), "{refused}");
        drop(first);
        InstanceLock::acquire(dir.path()).expect("free again");
    }
}
