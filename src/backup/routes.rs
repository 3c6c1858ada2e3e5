//! `/api/admin/backups` (admin only): make a backup now, list them with
//! size, time and whether each still matches its checksum, see the
//! schedule and its last failure, and download one. Times are answered in
//! UTC (`created_at`) and on the clinic's clock (`created_local`, with the
//! clinic's offset), so the screen shows the clinic's time whatever the
//! browser's zone. The schedule itself is changed through `/api/settings/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rocket::fs::NamedFile;
use rocket::http::{ContentType, Header};
use rocket::request::Request;
use rocket::response::status::Created;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{get, post, routes, Route, State};
use serde::Serialize;

use jiff::tz::TimeZone;

use super::schedule::{BackupStatus, Failure, Plan};
use crate::audit::{self, Action, Entity, Event};
use crate::auth::Admin;
use crate::clinic_time::{self, ClinicZone};
use crate::config::Config;
use crate::db::Db;
use crate::error::{ApiError, FieldErrors};
use crate::http::{self, Page, Paging};

pub fn routes() -> Vec<Route> {
    audit::denied::about(Entity::Backup, routes![list, create, status, download])
}

/// One backup file as admins see it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackupInfo {
    /// The file name (download it at `/api/admin/backups/<name>`).
    pub name: String,
    /// Bytes.
    pub size: u64,
    /// When the file was written (UTC).
    #[schema(format = DateTime, example = "2026-12-02T01:00:00Z")]
    pub created_at: String,
    /// The same moment on the clinic's clock, with its offset.
    #[schema(format = DateTime, example = "2026-12-02T02:00:00+01:00")]
    pub created_local: String,
    /// It still matches its `.sha256` file.
    pub verified: bool,
    /// Encrypted with the backup passphrase (`.sqlite3.age`).
    pub encrypted: bool,
}

impl BackupInfo {
    fn of(path: &Path, zone: &TimeZone) -> Option<Self> {
        let metadata = std::fs::metadata(path).ok()?;
        let modified = jiff::Timestamp::try_from(metadata.modified().ok()?).ok()?;
        let modified = jiff::Timestamp::from_second(modified.as_second()).ok()?;
        let expected = std::fs::read_to_string(super::sidecar(path, "sha256")).unwrap_or_default();
        let verified = super::sha256_of(path)
            .is_ok_and(|actual| expected.split_whitespace().next() == Some(actual.as_str()));
        Some(Self {
            name: path.file_name()?.to_string_lossy().into_owned(),
            size: metadata.len(),
            created_at: clinic_time::stored(modified),
            created_local: clinic_time::answered(modified, zone),
            verified,
            encrypted: super::crypt::is_encrypted(path),
        })
    }
}

/// The schedule and its health.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BackupSchedule {
    /// `HH:MM` on the clinic's clock, or `off` (the `backup_time` setting).
    pub backup_time: String,
    /// How many backups the folder keeps, daily and manual together (the
    /// `backup_keep` setting).
    pub backup_keep: u32,
    /// The clinic's time zone, which `backup_time` is read in.
    pub time_zone: String,
    /// When the scheduler will next back up, on the clinic's clock; `null`
    /// when the schedule is off.
    #[schema(format = DateTime, example = "2026-12-03T02:00:00+01:00")]
    pub next_run: Option<String>,
    /// The most they may take together, in MiB.
    pub backup_max_total_mb: u64,
    pub backup_dir: String,
    pub newest: Option<BackupInfo>,
    /// The last scheduled backup, if it failed.
    pub last_failure: Option<Failure>,
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    rocket::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("backup task failed: {e}")))?
        .map_err(ApiError::Internal)
}

#[utoipa::path(tag = "backups", params(("page" = Option<u32>, Query, minimum = 1, description = "1-based; default 1"), ("page_size" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Default 50")), responses((status = 200, description = "A page of the backups, newest first (admin)", body = [BackupInfo])), security(("bearer" = [])))]
#[get("/admin/backups?<page>&<page_size>")]
async fn list(
    page: Option<&str>,
    page_size: Option<&str>,
    _admin: Admin,
    config: &State<Config>,
    clinic_zone: &State<ClinicZone>,
) -> Result<Page<BackupInfo>, ApiError> {
    let mut errors = FieldErrors::new();
    let paging = http::checked(Paging::parse(page, page_size, &mut errors), errors)?;
    let config = config.inner().clone();
    let all = blocking(move || Ok(super::list(&config))).await?;
    let total = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let offset = usize::try_from(paging.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(paging.limit()).unwrap_or(usize::MAX);
    let wanted: Vec<PathBuf> = all.into_iter().skip(offset).take(limit).collect();
    let zone = clinic_zone.get();
    let items = blocking(move || {
        Ok(wanted
            .iter()
            .filter_map(|p| BackupInfo::of(p, &zone))
            .collect())
    })
    .await?;
    Ok(Page {
        items,
        total,
        paging,
    })
}

/// How often `POST /api/admin/backups` may write one: each copies the
/// whole database, so a loop of them fills the disk and stalls the clinic.
const BACKUP_INTERVAL: Duration = Duration::from_secs(60);

/// When the last manual backup began; managed by Rocket.
#[derive(Debug, Default)]
pub struct BackupPace(Mutex<Option<Instant>>);

impl BackupPace {
    /// Claims the slot for a backup now, or `429` with the seconds left.
    fn claim(&self) -> Result<(), ApiError> {
        let Ok(mut last) = self.0.lock() else {
            return Ok(());
        };
        if let Some(left) = last
            .map(|at| BACKUP_INTERVAL.saturating_sub(at.elapsed()))
            .filter(|left| !left.is_zero())
        {
            return Err(ApiError::Throttled {
                retry_after: left.as_secs().max(1),
            });
        }
        *last = Some(Instant::now());
        Ok(())
    }
}

#[utoipa::path(tag = "backups", responses((status = 201, description = "Writes a backup now (admin; at most one a minute) and prunes old ones", body = BackupInfo), (status = 429, description = "A backup was made less than a minute ago; see Retry-After")), security(("bearer" = [])))]
#[post("/admin/backups")]
async fn create(
    admin: Admin,
    config: &State<Config>,
    db: &State<Db>,
    status: &State<Arc<BackupStatus>>,
    pace: &State<BackupPace>,
) -> Result<Created<Json<BackupInfo>>, ApiError> {
    pace.claim()?;
    let config = config.inner().clone();
    let plan = db.read(Plan::load).await?;
    let outcome = blocking(move || {
        let (path, _) = super::create(&config, None)?;
        let info = BackupInfo::of(&path, &plan.zone)
            .ok_or_else(|| anyhow::anyhow!("the new backup cannot be read"))?;
        // Manual backups count towards the retention as daily ones do.
        super::schedule::prune(&config, plan.keep)?;
        Ok(info)
    })
    .await;
    status.record(
        &outcome
            .as_ref()
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("{e}")),
    );
    let mut event = Event::new(Action::Backup).about(Entity::Backup);
    if outcome.is_err() {
        event = event.failed();
    }
    db.write(move |tx| audit::record(tx, &admin.0, event))
        .await?;
    let info = outcome?;
    Ok(Created::new(format!("/api/admin/backups/{}", info.name)).body(Json(info)))
}

#[utoipa::path(tag = "backups", responses((status = 200, description = "The backup schedule, the newest backup and the last failure (admin)", body = BackupSchedule)), security(("bearer" = [])))]
#[get("/admin/backups/status")]
async fn status(
    _admin: Admin,
    config: &State<Config>,
    db: &State<Db>,
    status: &State<Arc<BackupStatus>>,
) -> Result<Json<BackupSchedule>, ApiError> {
    let config = config.inner().clone();
    let last_failure = status.last_failure();
    let plan = db.read(Plan::load).await?;
    let next_run = status
        .next_run()
        .map(|at| clinic_time::answered(at, &plan.zone));
    blocking(move || {
        Ok(Json(BackupSchedule {
            newest: super::newest(&config).and_then(|p| BackupInfo::of(&p, &plan.zone)),
            time_zone: plan.zone.iana_name().unwrap_or("UTC").to_owned(),
            next_run,
            backup_time: plan.time,
            backup_keep: plan.keep,
            backup_max_total_mb: config.backup_max_total_mb,
            backup_dir: config.backup_dir().display().to_string(),
            last_failure,
        }))
    })
    .await
}

/// A backup file as a download.
struct Attachment(NamedFile, String);

impl<'r> Responder<'r, 'static> for Attachment {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let mut response = self.0.respond_to(req)?;
        response.set_header(ContentType::Binary);
        response.set_header(Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{}\"", self.1),
        ));
        Ok(response)
    }
}

#[utoipa::path(tag = "backups", params(("name" = String, Path, description = "A backup's file name, as listed")), responses((status = 200, description = "The backup file (admin)", content_type = "application/octet-stream", headers(("Content-Disposition" = String, description = "`attachment` with the file name")))), security(("bearer" = [])))]
#[get("/admin/backups/<name>", rank = 2)]
async fn download(
    name: &str,
    admin: Admin,
    config: &State<Config>,
    db: &State<Db>,
) -> Result<Attachment, ApiError> {
    // Only a plain file name of a listed backup: nothing else in the folder.
    let path = super::list(config)
        .into_iter()
        .find(|path| path.file_name().is_some_and(|n| n == name))
        .ok_or(ApiError::NotFound)?;
    let file = NamedFile::open(&path)
        .await
        .map_err(|_| ApiError::NotFound)?;
    // A backup holds every record: taking one away is an export of them all.
    let event = Event::new(Action::Export).about(Entity::Backup);
    db.write(move |tx| audit::record(tx, &admin.0, event))
        .await?;
    Ok(Attachment(file, name.to_owned()))
}
