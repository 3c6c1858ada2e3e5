//! The mark a clean stop leaves beside the database, so that the next start
//! can skip reading the whole file for its integrity checks.
//!
//! `PRAGMA quick_check` reads every page, and the foreign-key check every
//! row that refers to another: together some 16 s of every start at
//! 1,000,000 patients. The checks are there for a file that may have been
//! harmed since clinicdesk last had it: a crash or power cut, a copy put in
//! place, another program's edit. A file that clinicdesk itself closed, its
//! log moved in and emptied, and that nobody has changed since (same length
//! and modification time, no write-ahead log) is not such a file. So the
//! start skips them only for that file, and only if they last ran under a
//! week ago: damage that arose while it ran (a failing disk) is
//! still found within a week of clean restarts. `clinicdesk check` always
//! runs the full `integrity_check`.
//!
//! The mark is removed before the file is opened for writing, so a server
//! that is killed later leaves none behind.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The longest clean restarts go on without a full check.
const CHECK_AT_LEAST_EVERY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// What the mark holds: the file as clinicdesk left it, and when it was
/// last fully checked.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Mark {
    length: u64,
    modified_ns: u128,
    /// Seconds since 1970 of the last start-up checks that passed.
    checked_at: u64,
}

/// The file beside the database named as it is plus `suffix`, as `SQLite`
/// names its `-wal`.
fn beside(database: &Path, suffix: &str) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn mark_path(database: &Path) -> PathBuf {
    beside(database, "-closed")
}

fn wal_path(database: &Path) -> PathBuf {
    beside(database, "-wal")
}

/// The file's length and modification time, as the mark records them.
fn stat(database: &Path) -> std::io::Result<(u64, u128)> {
    let meta = fs::metadata(database)?;
    let modified = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Ok((meta.len(), modified.as_nanos()))
}

/// Seconds since 1970, now.
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Takes the mark away and says when the file was last fully checked, if
/// it is the file a clean stop left and that check is recent enough to
/// stand for one now. `None`: the start must check.
pub(super) fn take(database: &Path) -> Option<u64> {
    let mark_file = mark_path(database);
    let text = fs::read_to_string(&mark_file).ok()?;
    // If it cannot be removed, a later crash would leave it behind; it would
    // no longer match the file then, but the start does not count on that.
    fs::remove_file(&mark_file).ok()?;
    let mark: Mark = serde_json::from_str(&text).ok()?;
    let (length, modified_ns) = stat(database).ok()?;
    let wal_empty = fs::metadata(wal_path(database)).map_or(true, |wal| wal.len() == 0);
    let recent = now().saturating_sub(mark.checked_at) < CHECK_AT_LEAST_EVERY.as_secs();
    (mark.length == length && mark.modified_ns == modified_ns && wal_empty && recent)
        .then_some(mark.checked_at)
}

/// Leaves the mark after a clean stop: the log is checkpointed and empty,
/// and nothing will write the file again in this process.
pub(super) fn leave(database: &Path, checked_at: u64) -> std::io::Result<()> {
    let (length, modified_ns) = stat(database)?;
    let mark = Mark {
        length,
        modified_ns,
        checked_at,
    };
    let text = serde_json::to_string(&mark).map_err(std::io::Error::other)?;
    fs::write(mark_path(database), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &tempfile::TempDir) -> PathBuf {
        let path = dir.path().join("clinicdesk.db");
        fs::write(&path, b"pages").expect("database file");
        path
    }

    #[test]
    fn the_file_a_clean_stop_left_skips_the_check_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = database(&dir);
        let checked = now() - 60;
        leave(&path, checked).expect("mark");
        assert_eq!(take(&path), Some(checked));
        assert_eq!(take(&path), None, "the mark is used up");
    }

    #[test]
    fn a_changed_file_or_a_log_with_frames_is_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = database(&dir);
        leave(&path, now()).expect("mark");
        fs::write(&path, b"other pages").expect("edit");
        assert_eq!(take(&path), None, "another length");

        leave(&path, now()).expect("mark");
        fs::write(wal_path(&path), b"frames").expect("log");
        assert_eq!(take(&path), None, "a log with frames in it");
    }

    #[test]
    fn a_week_of_clean_restarts_ends_in_a_full_check() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = database(&dir);
        leave(&path, now() - CHECK_AT_LEAST_EVERY.as_secs()).expect("mark");
        assert_eq!(take(&path), None);
        assert!(!mark_path(&path).exists());
    }
}
