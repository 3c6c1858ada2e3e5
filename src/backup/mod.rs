//! Backups and restore (`clinicdesk backup`, `clinicdesk restore`).
//!
//! A backup is an online, consistent copy of the database made with
//! `VACUUM INTO` (the clinic keeps working meanwhile), written under a
//! temporary name, fsynced and renamed into place, so a crash mid-backup
//! never leaves a file under the final name. Beside it: `<file>.sha256`
//! (`sha256sum` format) and `<file>.json`, a manifest with the versions,
//! the time and row counts.
//!
//! The token-signing key is deliberately not in the backup: a backup file
//! that leaks cannot be used to forge logins. Restoring on another machine
//! therefore signs everyone out once; passwords are in the database, so
//! everyone can sign in again at once.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};

use age::secrecy::SecretString;
use anyhow::Context;
use rusqlite::{Connection, OpenFlags};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::lock::InstanceLock;

pub mod crypt;
pub mod routes;
pub mod schedule;

/// What `<backup>.json` records.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub clinicdesk_version: &'static str,
    pub schema_version: i64,
    pub created_at: String,
    pub sha256: String,
    /// Encrypted with the backup passphrase (age format).
    pub encrypted: bool,
    pub rows: Rows,
}

/// Row counts, so a person can see at a glance what a backup holds
/// (`null` for a table an older schema did not have yet).
#[derive(Debug, Serialize)]
pub struct Rows {
    pub users: Option<i64>,
    pub patients: Option<i64>,
    pub doctors: Option<i64>,
    pub mappings: Option<i64>,
}

/// Writes a backup of the configured database to `out` (default: a new
/// name in the backup folder) and returns its path. With a configured
/// passphrase the backup is encrypted (`.sqlite3.age`).
pub fn create(config: &Config, out: Option<&Path>) -> anyhow::Result<(PathBuf, Manifest)> {
    let database = config.database_path();
    anyhow::ensure!(
        database.exists(),
        "there is no database at {} to back up",
        database.display()
    );
    let passphrase = crypt::configured_passphrase(config)?;
    let extension = if passphrase.is_some() {
        "sqlite3.age"
    } else {
        "sqlite3"
    };
    let out = match out {
        Some(path) => path.to_path_buf(),
        None => free_name(
            &config.backup_dir(),
            "clinicdesk",
            "",
            extension,
            &clinic_zone(&database),
        ),
    };
    anyhow::ensure!(
        !out.exists(),
        "{} exists already; choose another --out",
        out.display()
    );
    let folder = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(folder).with_context(|| format!("cannot create {}", folder.display()))?;
    if folder == config.backup_dir() {
        // Owner-only, like the data directory: the folder of copies of every
        // record. Best effort: a FAT USB drive has no modes to set.
        if let Err(e) = crate::config::restrict_to_owner(folder, 0o700) {
            tracing::warn!(error = %format!("{e:#}"), "could not restrict the backup folder to this account");
        }
    }

    // The snapshot is taken inside the data directory, so plain patient data
    // never lands in the backup folder of an encrypted backup; the partial
    // file sits beside the target so the final rename is atomic.
    let snapshot = config
        .data_dir
        .join(format!(".backup-{}.partial", uuid::Uuid::new_v4().simple()));
    let partial = folder.join(format!(".{}.partial", file_name(&out)));
    let written = (|| {
        write_snapshot(&database, &snapshot)?;
        let (schema_version, rows) = describe(&snapshot)?;
        match &passphrase {
            Some(passphrase) => crypt::encrypt_file(&snapshot, &partial, passphrase)?,
            // Same file system: a rename; a USB drive or NAS: a copy.
            None => fs::rename(&snapshot, &partial)
                .or_else(|_| fs::copy(&snapshot, &partial).map(drop))?,
        }
        crate::config::restrict_to_owner(&partial, 0o600)?;
        File::open(&partial)?.sync_all()?;
        // Described and checksummed before it gets its name: a file under
        // the final name always has its sidecars.
        let manifest = Manifest {
            clinicdesk_version: env!("CARGO_PKG_VERSION"),
            schema_version,
            created_at: crate::db::now(),
            sha256: sha256_of(&partial)?,
            encrypted: passphrase.is_some(),
            rows,
        };
        let checksum = format!("{}  {}\n", manifest.sha256, file_name(&out));
        write_beside(&out, "sha256", checksum.as_bytes())?;
        write_beside(&out, "json", &serde_json::to_vec_pretty(&manifest)?)?;
        fs::rename(&partial, &out)?;
        sync_folder(folder);
        Ok::<_, anyhow::Error>(manifest)
    })();
    let _ = fs::remove_file(&snapshot);
    let _ = fs::remove_file(&partial);
    let manifest = written.with_context(|| format!("the backup to {} failed", out.display()))?;
    Ok((out, manifest))
}

/// Replaces the configured database with the backup at `backup`, after
/// checking it. Needs the server stopped; keeps the current database as
/// `clinicdesk.sqlite3.pre-restore-<time>`. An encrypted backup needs
/// `passphrase` (or the configured one). Any failure before the final
/// rename leaves the current database as it was.
pub fn restore(
    config: &Config,
    backup: &Path,
    passphrase: Option<SecretString>,
) -> anyhow::Result<PathBuf> {
    config.prepare_data_dir()?;
    let _lock = InstanceLock::acquire(&config.data_dir)
        .context("stop the clinicdesk server before restoring")?;
    verify_checksum(backup)?;

    let incoming = config.data_dir.join(".restore.partial");
    let checked = (|| {
        if crypt::is_encrypted(backup) {
            let passphrase = match passphrase {
                Some(passphrase) => passphrase,
                None => crypt::configured_passphrase(config)?
                    .context("this backup is encrypted: give its passphrase (--passphrase-file)")?,
            };
            crypt::decrypt_file(backup, &incoming, &passphrase)?;
        } else {
            fs::copy(backup, &incoming)
                .with_context(|| format!("cannot copy {}", backup.display()))?;
            File::open(&incoming)?.sync_all()?;
        }
        let conn = Connection::open_with_flags(&incoming, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        anyhow::ensure!(
            verdict == "ok",
            "{} fails its integrity check: {verdict}",
            backup.display()
        );
        Ok(())
    })();
    if let Err(e) = checked {
        let _ = fs::remove_file(&incoming);
        return Err(e);
    }

    let database = config.database_path();
    // On the clinic's clock, as the backups beside it are named.
    let stamp = crate::clinic_time::file_stamp(jiff::Timestamp::now(), &clinic_zone(&database));
    let kept = config
        .data_dir
        .join(format!("clinicdesk.sqlite3.pre-restore-{stamp}"));
    if database.exists() {
        // Fold the current write-ahead log into the file first, so the kept
        // copy is complete on its own.
        Connection::open(&database)?.query_row(
            "PRAGMA wal_checkpoint(TRUNCATE)",
            [],
            |_| Ok(()),
        )?;
        fs::rename(&database, &kept)?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(config.data_dir.join(format!("clinicdesk.sqlite3{suffix}")));
    }
    fs::rename(&incoming, &database)?;
    crate::config::restrict_to_owner(&database, 0o600)?;
    sync_folder(&config.data_dir);
    Ok(kept)
}

/// Keeps the configured database before its schema is upgraded from
/// `version`, and returns where (`Db::open` calls this first).
pub fn before_upgrade(config: &Config, version: usize) -> anyhow::Result<PathBuf> {
    create(config, Some(&pre_migration_path(config, version))).map(|(path, _)| path)
}

/// Where the backup made before upgrading from schema `version` goes.
pub fn pre_migration_path(config: &Config, version: usize) -> PathBuf {
    free_name(
        &config.backup_dir(),
        "clinicdesk",
        &format!("-before-upgrade-from-schema-{version}"),
        "sqlite3",
        &clinic_zone(&config.database_path()),
    )
}

/// The clinic's time zone as the database records it, for the names of
/// its backups; UTC when there is none (a schema from before the setting,
/// or a file that cannot be read, which the backup itself then reports).
fn clinic_zone(database: &Path) -> jiff::tz::TimeZone {
    Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .ok()
        .and_then(|conn| crate::settings::sql::time_zone(&conn).ok())
        .and_then(|name| crate::clinic_time::zone(&name))
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

/// The backups in the backup folder, newest first.
pub fn list(config: &Config) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(config.backup_dir()) else {
        return Vec::new();
    };
    let mut backups: Vec<(std::time::SystemTime, PathBuf)> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| is_backup(path))
        .filter_map(|path| Some((fs::metadata(&path).ok()?.modified().ok()?, path)))
        .collect();
    backups.sort_by(|a, b| b.cmp(a));
    backups.into_iter().map(|(_, path)| path).collect()
}

/// Removes temporary files that an interrupted backup or restore left (a
/// `kill -9`, a power cut): `.…partial` files in the data directory and the
/// backup folder older than an hour, so one running right now is left alone.
pub fn sweep_partials(config: &Config) {
    let hour = std::time::Duration::from_secs(60 * 60);
    for folder in [config.data_dir.clone(), config.backup_dir()] {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for path in entries.filter_map(Result::ok).map(|entry| entry.path()) {
            let name = file_name(&path);
            let stale = fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(|modified| modified.elapsed().is_ok_and(|age| age > hour));
            if name.starts_with('.')
                && name.ends_with(".partial")
                && stale
                && fs::remove_file(&path).is_ok()
            {
                tracing::info!(file = %path.display(), "removed a temporary file left by an interrupted backup");
            }
        }
    }
}

/// A backup file by its name: `*.sqlite3` or, encrypted, `*.sqlite3.age`.
fn is_backup(path: &Path) -> bool {
    let name = file_name(path);
    !name.starts_with('.') && (name.ends_with(".sqlite3") || name.ends_with(".sqlite3.age"))
}

/// The newest backup in the backup folder, if any.
pub fn newest(config: &Config) -> Option<PathBuf> {
    list(config).into_iter().next()
}

/// The backup matches its `.sha256` sidecar.
pub fn verify_checksum(backup: &Path) -> anyhow::Result<()> {
    let sidecar = sidecar(backup, "sha256");
    let expected = fs::read_to_string(&sidecar)
        .with_context(|| format!("cannot read the checksum file {}", sidecar.display()))?;
    let expected = expected
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_lowercase();
    anyhow::ensure!(
        expected == sha256_of(backup)?,
        "{} does not match its checksum file: it is damaged or was changed",
        backup.display()
    );
    Ok(())
}

/// `<folder>/<prefix>-<time on the clinic's clock><suffix>.<extension>`,
/// such as `clinicdesk-2026-12-02_020000.123+0100.sqlite3`: the date and
/// time a person at the clinic recognises, with the offset that keeps it
/// unambiguous when clocks go back. `-2`, `-3`… are added if that name is
/// taken (two backups in one millisecond).
fn free_name(
    folder: &Path,
    prefix: &str,
    suffix: &str,
    extension: &str,
    zone: &jiff::tz::TimeZone,
) -> PathBuf {
    let stamp = crate::clinic_time::file_stamp(jiff::Timestamp::now(), zone);
    let base = format!("{prefix}-{stamp}{suffix}");
    // Bounded: a thousand backups in one millisecond is not a real case.
    (1..1000)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}-{n}")
            }
        })
        .map(|name| folder.join(format!("{name}.{extension}")))
        .find(|path| !path.exists())
        .unwrap_or_else(|| folder.join(format!("{base}.{extension}")))
}

fn write_snapshot(database: &Path, target: &Path) -> anyhow::Result<()> {
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    conn.busy_timeout(std::time::Duration::from_secs(30))?;
    let target = target
        .to_str()
        .context("the backup path is not valid UTF-8")?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

fn describe(snapshot: &Path) -> anyhow::Result<(i64, Rows)> {
    let conn = Connection::open_with_flags(snapshot, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let count = |table: &str| -> anyhow::Result<Option<i64>> {
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
            [table],
            |row| row.get(0),
        )?;
        if !exists {
            return Ok(None);
        }
        Ok(Some(conn.query_row(
            &format!("SELECT count(*) FROM {table}"),
            [],
            |row| row.get(0),
        )?))
    };
    let rows = Rows {
        users: count("users")?,
        patients: count("patients")?,
        doctors: count("doctors")?,
        mappings: count("mappings")?,
    };
    Ok((
        conn.pragma_query_value(None, "user_version", |row| row.get(0))?,
        rows,
    ))
}

pub(crate) fn sha256_of(path: &Path) -> anyhow::Result<String> {
    let mut file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub(crate) fn sidecar(backup: &Path, extension: &str) -> PathBuf {
    let mut name = backup.as_os_str().to_owned();
    name.push(format!(".{extension}"));
    PathBuf::from(name)
}

/// A sidecar, readable by its owner only (it names the backup and its
/// row counts).
fn write_beside(backup: &Path, extension: &str, contents: &[u8]) -> anyhow::Result<()> {
    crate::config::write_private(&sidecar(backup, extension), contents)
}

/// Makes a rename in `folder` durable (a no-op where folders cannot be opened).
fn sync_folder(folder: &Path) {
    if let Ok(dir) = File::open(folder) {
        let _ = dir.sync_all();
    }
}
