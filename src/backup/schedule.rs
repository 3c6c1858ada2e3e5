//! The daily backup: at `backup_time` on the clinic's clock (its
//! `time_zone`), write a backup into the backup folder and keep the newest
//! `backup_keep` (manual ones count too), within `backup_max_total_mb`.
//! Both are clinic settings, read again at every round: after each backup
//! and whenever the settings change (`settings::Changes` wakes the task), so
//! a new schedule takes effect without a restart. A failure is logged and
//! kept for admins to see (`GET /api/admin/backups/status`); the next day
//! tries again.

use std::fs;
use std::sync::{Arc, Mutex};

use jiff::tz::TimeZone;
use jiff::Timestamp;
use rocket::tokio;
use rocket::tokio::sync::Notify;
use serde::Serialize;

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::clinic_time;
use crate::config::Config;
use crate::db::Db;
use crate::error::ApiError;
use crate::settings;

/// Prefix of the daily (and manual default) backups; the only ones pruned.
const DAILY_PREFIX: &str = "clinicdesk-";
/// Backups made before a schema upgrade are never pruned.
const UPGRADE_MARK: &str = "before-upgrade";

/// The schedule as the clinic's settings hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `HH:MM` or `off`.
    pub time: String,
    pub keep: u32,
    pub zone: TimeZone,
}

impl Plan {
    /// The schedule in the settings now.
    pub fn load(conn: &rusqlite::Connection) -> Result<Self, ApiError> {
        let settings = settings::sql::load(conn)?;
        Ok(Self {
            time: settings.backup_time,
            keep: u32::try_from(settings.backup_keep).unwrap_or(1).max(1),
            zone: clinic_time::zone(&settings.time_zone).unwrap_or(TimeZone::UTC),
        })
    }

    /// The next backup strictly after `now`; `None` when the schedule is off.
    pub fn next_run(&self, now: Timestamp) -> Option<Timestamp> {
        let (hours, minutes) = self.time.split_once(':')?;
        let (hours, minutes): (i8, i8) = (hours.parse().ok()?, minutes.parse().ok()?);
        let today = clinic_time::local_date(now, &self.zone);
        [Some(today), today.tomorrow().ok()]
            .into_iter()
            .flatten()
            .filter_map(|day| clinic_time::at_wall_clock(day, hours, minutes, &self.zone))
            .find(|at| *at > now)
    }
}

/// The retention in the settings, for the command line's `backup` (which
/// runs beside a server, so it only reads): the config file's value when
/// the database cannot say (it does not exist yet, or predates the setting).
pub fn configured_keep(config: &Config) -> u32 {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY;
    rusqlite::Connection::open_with_flags(config.database_path(), flags)
        .ok()
        .and_then(|conn| Plan::load(&conn).ok())
        .map_or(config.backup_keep, |plan| plan.keep)
}

/// The last scheduled backup that failed, for admins to see.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Failure {
    pub at: String,
    pub error: String,
}

/// Shared between the scheduler and the admin routes; managed by Rocket.
#[derive(Debug, Default)]
pub struct BackupStatus {
    failure: Mutex<Option<Failure>>,
    /// When the scheduler will next back up, as it planned it last.
    next: Mutex<Option<Timestamp>>,
}

impl BackupStatus {
    /// The last failure, unless a backup has succeeded since.
    pub fn last_failure(&self) -> Option<Failure> {
        self.failure.lock().ok().and_then(|slot| slot.clone())
    }

    /// The next scheduled backup, as the scheduler last planned it
    /// (`None`: off, or not planned yet).
    pub fn next_run(&self) -> Option<Timestamp> {
        self.next.lock().ok().and_then(|slot| *slot)
    }

    fn plan(&self, next: Option<Timestamp>) {
        if let Ok(mut slot) = self.next.lock() {
            *slot = next;
        }
    }

    pub fn record(&self, outcome: &anyhow::Result<()>) {
        if let Ok(mut slot) = self.failure.lock() {
            *slot = outcome.as_ref().err().map(|e| Failure {
                at: crate::db::now(),
                error: format!("{e:#}"),
            });
        }
    }
}

/// Writes one backup and prunes old ones beyond the newest `keep`.
pub fn back_up_now(config: &Config, keep: u32) -> anyhow::Result<()> {
    let (path, _) = super::create(config, None)?;
    tracing::info!(backup = %path.display(), "backup written");
    prune(config, keep)
}

/// Deletes backups in the backup folder (daily and manual ones alike,
/// named `clinicdesk-…`) beyond the newest `keep`, and then the
/// oldest until the rest fit in `backup_max_total_mb`, with their sidecars.
/// The newest is always kept, and backups made before a schema upgrade are
/// neither pruned nor counted.
pub fn prune(config: &Config, keep: u32) -> anyhow::Result<()> {
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
    let keep = usize::try_from(keep).unwrap_or(usize::MAX);
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

/// Runs the daily backup until `shutdown` fires, planning each round from
/// the settings; `changes` wakes it to plan again.
pub async fn run(
    config: Config,
    db: Db,
    status: Arc<BackupStatus>,
    changes: Arc<Notify>,
    shutdown: rocket::Shutdown,
) {
    tokio::pin!(shutdown);
    let mut planned: Option<Plan> = None;
    loop {
        let plan = match db.read(Plan::load).await {
            Ok(plan) => plan,
            Err(e) => {
                tracing::error!(error = ?e, "the backup schedule could not be read; it is tried again at the next settings change");
                status.plan(None);
                tokio::select! {
                    () = changes.notified() => continue,
                    () = &mut shutdown => return,
                }
            }
        };
        let next = plan.next_run(Timestamp::now());
        status.plan(next);
        if planned.as_ref() != Some(&plan) {
            tracing::info!(at = %plan.time, keep = plan.keep, folder = %config.backup_dir().display(), "backup schedule");
        }
        let wait = next.map(|at| {
            let seconds = (at.as_millisecond() - Timestamp::now().as_millisecond()).max(0);
            std::time::Duration::from_millis(seconds.unsigned_abs())
        });
        let keep = plan.keep;
        planned = Some(plan);
        tokio::select! {
            () = sleep_or_never(wait) => {}
            () = changes.notified() => continue,
            () = &mut shutdown => return,
        }
        let job_config = config.clone();
        let outcome = tokio::task::spawn_blocking(move || back_up_now(&job_config, keep))
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

/// Sleeps for `wait`, or forever when there is nothing to wait for (the
/// schedule is off).
async fn sleep_or_never(wait: Option<std::time::Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(time: &str, zone: &str) -> Plan {
        Plan {
            time: time.to_owned(),
            keep: 7,
            zone: clinic_time::zone(zone).expect("a zone"),
        }
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("a time")
    }

    #[test]
    fn the_next_run_is_today_if_still_ahead_else_tomorrow_on_the_clinics_clock() {
        let berlin = plan("02:00", "Europe/Berlin");
        assert_eq!(
            berlin.next_run(at("2026-11-23T00:30:00Z")),
            Some(at("2026-11-23T01:00:00Z"))
        );
        assert_eq!(
            berlin.next_run(at("2026-11-23T01:00:00Z")),
            Some(at("2026-11-24T01:00:00Z"))
        );
        assert_eq!(
            berlin.next_run(at("2026-11-23T22:59:00Z")),
            Some(at("2026-11-24T01:00:00Z"))
        );
    }

    #[test]
    fn the_next_run_keeps_its_wall_clock_time_across_a_dst_change_and_off_has_none() {
        // Berlin moves to summer time on 29 March 2026: 02:00 becomes +02:00.
        let berlin = plan("03:30", "Europe/Berlin");
        assert_eq!(
            berlin.next_run(at("2026-03-29T00:00:00Z")),
            Some(at("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            berlin.next_run(at("2026-03-29T02:00:00Z")),
            Some(at("2026-03-30T01:30:00Z"))
        );
        assert_eq!(
            plan("off", "UTC").next_run(at("2026-03-29T00:00:00Z")),
            None
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
