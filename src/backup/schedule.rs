//! The daily backup: at `backup_time` (the machine's local time), write a
//! backup into the backup folder and keep the newest `backup_keep` daily
//! ones (manual ones count too), within `backup_max_total_mb`. A failure is logged and kept for admins to see
//! (`GET /api/admin/backups/status`); the next day tries again.

use std::fs;
use std::sync::Mutex;

use rocket::tokio;
use serde::Serialize;
use time::{Duration, OffsetDateTime, Time, UtcOffset};

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::config::Config;
use crate::db::Db;

/// Prefix of the daily (and manual default) backups; the only ones pruned.
const DAILY_PREFIX: &str = "clinicdesk-";
/// Backups made before a schema upgrade are never pruned.
const UPGRADE_MARK: &str = "before-upgrade";

/// The next moment at `at` strictly after `now` (today or tomorrow).
pub fn next_run(now: OffsetDateTime, at: Time) -> OffsetDateTime {
    let today = now.replace_time(at);
    if today > now {
        today
    } else {
        today + Duration::days(1)
    }
}

/// The last scheduled backup that failed, for admins to see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub at: String,
    pub error: String,
}

/// Shared between the scheduler and the admin routes; managed by Rocket.
#[derive(Debug, Default)]
pub struct BackupStatus(Mutex<Option<Failure>>);

impl BackupStatus {
    /// The last failure, unless a backup has succeeded since.
    pub fn last_failure(&self) -> Option<Failure> {
        self.0.lock().ok().and_then(|slot| slot.clone())
    }

    pub fn record(&self, outcome: &anyhow::Result<()>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = outcome.as_ref().err().map(|e| Failure {
                at: crate::db::now(),
                error: format!("{e:#}"),
            });
        }
    }
}

/// Writes one backup and prunes old ones.
pub fn back_up_now(config: &Config) -> anyhow::Result<()> {
    let (path, _) = super::create(config, None)?;
    tracing::info!(backup = %path.display(), "backup written");
    prune(config)
}

/// Deletes backups in the backup folder (daily and manual ones alike,
/// named `clinicdesk-…`) beyond the newest `backup_keep`, and then the
/// oldest until the rest fit in `backup_max_total_mb`, with their sidecars.
/// The newest is always kept, and backups made before a schema upgrade are
/// neither pruned nor counted.
pub fn prune(config: &Config) -> anyhow::Result<()> {
    let prunable: Vec<(std::path::PathBuf, u64)> = super::list(config)
        .into_iter()
        .filter(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.starts_with(DAILY_PREFIX) && !name.contains(UPGRADE_MARK)
        })
        .map(|path| {
            let size = fs::metadata(&path).map_or(0, |m| m.len());
            (path, size)
        })
        .collect();
    let sizes: Vec<u64> = prunable.iter().map(|(_, size)| *size).collect();
    let cap = config.backup_max_total_mb.saturating_mul(1024 * 1024);
    let keep = usize::try_from(config.backup_keep).unwrap_or(usize::MAX);
    for index in pruned(&sizes, keep, cap) {
        let old = &prunable[index].0;
        fs::remove_file(old)?;
        for extension in ["sha256", "json"] {
            let _ = fs::remove_file(super::sidecar(old, extension));
        }
        tracing::info!(backup = %old.display(), "old backup removed");
    }
    Ok(())
}

/// Which of the backups (sizes, newest first) go: those past the first
/// `keep`, and those whose running total passes `cap` bytes, never the
/// newest.
fn pruned(sizes: &[u64], keep: usize, cap: u64) -> Vec<usize> {
    let mut total = 0u64;
    let mut gone = Vec::new();
    for (index, size) in sizes.iter().enumerate() {
        total = total.saturating_add(*size);
        if index > 0 && (index >= keep || total > cap) {
            gone.push(index);
        }
    }
    gone
}

/// Runs the daily backup until `shutdown` fires.
pub async fn run(
    config: Config,
    db: Db,
    status: std::sync::Arc<BackupStatus>,
    shutdown: rocket::Shutdown,
) {
    let Some(at) = config.backup_at() else {
        return;
    };
    let offset = config.local_offset.unwrap_or(UtcOffset::UTC);
    tokio::pin!(shutdown);
    loop {
        let now = OffsetDateTime::now_utc().to_offset(offset);
        let wait = (next_run(now, at) - now).unsigned_abs();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = &mut shutdown => return,
        }
        let job_config = config.clone();
        let outcome = tokio::task::spawn_blocking(move || back_up_now(&job_config))
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the backup task failed: {e}")));
        let mut event = Event::new(Action::Backup).about(Entity::Backup);
        if let Err(e) = &outcome {
            tracing::error!(error = %format!("{e:#}"), "the daily backup failed");
            event = event.failed();
        }
        status.record(&outcome);
        let recorded = db
            .write(move |tx| audit::record(tx, Actor::system(), event))
            .await;
        if let Err(e) = recorded {
            tracing::error!(error = ?e, "could not record the daily backup in the audit log");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, time};

    #[test]
    fn the_next_run_is_today_if_still_ahead_else_tomorrow() {
        let two = time!(02:00);
        assert_eq!(
            next_run(datetime!(2026-11-23 01:30 +1), two),
            datetime!(2026-11-23 02:00 +1)
        );
        assert_eq!(
            next_run(datetime!(2026-11-23 02:00 +1), two),
            datetime!(2026-11-24 02:00 +1)
        );
        assert_eq!(
            next_run(datetime!(2026-11-23 23:59 +1), two),
            datetime!(2026-11-24 02:00 +1)
        );
    }

    #[test]
    fn pruning_keeps_the_newest_n_within_the_size_cap_and_always_the_newest() {
        assert_eq!(pruned(&[1, 1, 1, 1], 2, 100), [2, 3]);
        assert_eq!(pruned(&[40, 40, 40, 40], 10, 100), [2, 3], "the cap");
        assert_eq!(
            pruned(&[500, 1], 10, 100),
            [1],
            "the newest stays, even alone over the cap"
        );
        assert!(pruned(&[], 2, 100).is_empty());
    }
}
