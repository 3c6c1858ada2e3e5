//! Configuration: built-in defaults, then `<data dir>/clinicdesk.toml`, then
//! `CLINICDESK_*` environment variables, then command-line flags (later wins).
//!
//! Rocket's own sources (`Rocket.toml`, `ROCKET_*`) are deliberately not read:
//! the server's Rocket config is built from this struct alone (see `server`).

use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rocket::figment::providers::{Env, Format, Serialized, Toml};
use rocket::figment::Figment;
use serde::{Deserialize, Serialize};
use time::Time;

/// The name of the optional settings file inside the data directory.
pub const CONFIG_FILE: &str = "clinicdesk.toml";
/// The database file inside the data directory.
pub const DATABASE_FILE: &str = "clinicdesk.sqlite3";
/// The folder inside the data directory that backups go to by default.
const BACKUP_DIR: &str = "backups";

/// Whether anyone on the LAN may create a `user` account for themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Registration {
    Open,
    Closed,
}

impl Registration {
    /// The value as stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// `tls` in the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// TLS whenever other machines can connect (the default).
    Auto,
    /// TLS even on loopback.
    On,
    /// No TLS: on a non-loopback address only with `--insecure-http`.
    Off,
}

/// `replication` in the configuration (see `standby`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Replication {
    /// One machine; nightly backups only (the default).
    Off,
    /// Litestream streams every commit to `replica_url`, for a warm standby.
    Litestream,
}

/// Everything the server needs to start. Holds no secret: the JWT key lives
/// in its own file in the data directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the database, the JWT key and (later) backups live.
    pub data_dir: PathBuf,
    /// The address to listen on. `127.0.0.1` serves this machine only;
    /// `0.0.0.0` serves the clinic's LAN.
    pub address: IpAddr,
    pub port: u16,
    /// Self-registration when the database is new; afterwards an admin
    /// changes it in the settings, which the database keeps.
    pub registration: Registration,
    pub access_token_minutes: u64,
    pub refresh_token_days: u64,
    /// Where backups go (a USB drive or NAS path); `<data dir>/backups` if unset.
    pub backup_dir: Option<PathBuf>,
    /// Time of the daily backup on the clinic's clock, `HH:MM`; `off` for
    /// none. Only the value a database starts with: afterwards it is a
    /// clinic setting (the Backups screen), which the database keeps.
    pub backup_time: String,
    /// How many backups to keep in the backup folder (daily and manual ones
    /// together; those made before a schema upgrade are always kept), 1–365.
    /// Like `backup_time`, only the starting value of the setting.
    pub backup_keep: u32,
    /// The most those backups may take together, in MiB; the oldest go
    /// first (the newest is always kept).
    pub backup_max_total_mb: u64,
    /// A file holding a passphrase; when set, every backup is encrypted with it.
    pub backup_passphrase_file: Option<PathBuf>,
    /// HTTPS (see `tls`): `auto` encrypts whenever other machines can connect.
    pub tls: TlsMode,
    /// The clinic's own certificate and key (PEM), used instead of a self-signed one.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Serve a non-loopback address without TLS, knowingly.
    pub insecure_http: bool,
    /// Web origins (`https://host:port`) whose pages may call the API from a
    /// browser. Empty: none but clinicdesk's own UI. Never `*`.
    pub cors_origins: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the real client (for
    /// the login limits and the audit trail). Empty: the header is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// How many writes may wait for the database writer; past that a write
    /// is answered `503 busy` with `Retry-After` rather than queued without
    /// bound. The default is far above what a clinic's staff can send.
    pub write_queue: usize,
    /// A request head must arrive whole within this many seconds (the first
    /// one from the connection's start, TLS handshake included).
    pub head_timeout_seconds: u64,
    /// A connection with nothing moving and no answer owed is closed after
    /// this many seconds (keep-alive between requests, a stalled transfer).
    pub idle_timeout_seconds: u64,
    /// Connections open at once, in all.
    pub max_connections: usize,
    /// Connections open at once from one address (trusted proxies excepted).
    pub max_connections_per_address: usize,
    /// `litestream`: the server runs Litestream beside it, leaves checkpoints
    /// to it, and keeps the primary's lease in the database (see `standby`).
    pub replication: Replication,
    /// Where the replica lives, as Litestream names it: `file:///path`,
    /// `s3://bucket/path?endpoint=host`, `sftp://host/path`. The same on
    /// the primary and on the standby.
    pub replica_url: Option<String>,
    /// The `litestream` program; found on the PATH when unset.
    pub litestream: Option<PathBuf>,
    /// Install Ctrl-C / SIGTERM handlers (off in tests, which run many servers).
    #[serde(skip)]
    pub handle_signals: bool,
    /// Who reads what the start prints: a terminal, a person at the desktop
    /// (the browser is opened for them), or a service manager's log.
    #[serde(skip)]
    pub console: Console,
}

/// Where the server's console output goes, which decides what it prints and does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Console {
    /// A terminal, a script or a test: print, open nothing.
    #[default]
    Terminal,
    /// Started from the desktop (see `desktop`): also open the default browser.
    Desktop,
    /// Run by a service manager: the output is kept in a log, so the setup
    /// link is not printed; `admin create` makes the first admin.
    Service,
}

/// Values given on the command line; `None` leaves the lower layers' value.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_http: Option<bool>,
}

impl Config {
    fn defaults(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            address: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8000,
            registration: Registration::Closed,
            access_token_minutes: 15,
            refresh_token_days: 7,
            backup_dir: None,
            backup_time: "02:00".into(),
            backup_keep: 7,
            backup_max_total_mb: 10 * 1024,
            backup_passphrase_file: None,
            tls: TlsMode::Auto,
            tls_cert: None,
            tls_key: None,
            insecure_http: false,
            write_queue: 1024,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            head_timeout_seconds: 10,
            idle_timeout_seconds: 15,
            max_connections: 512,
            max_connections_per_address: 64,
            replication: Replication::Off,
            replica_url: None,
            litestream: None,
            handle_signals: true,
            console: Console::Terminal,
        }
    }

    /// Resolves the configuration from every layer. The data directory itself
    /// comes from the flag, the environment or the OS default, since the file
    /// layer lives inside it.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let data_dir = match (&overrides.data_dir, std::env::var_os("CLINICDESK_DATA_DIR")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) => PathBuf::from(dir),
            (None, None) => default_data_dir()?,
        };
        let mut figment = Figment::from(Serialized::defaults(Self::defaults(data_dir.clone())));
        let file = data_dir.join(CONFIG_FILE);
        // Exactly this file (`Toml::file` would also search parent folders).
        if file.exists() {
            figment = figment.merge(Toml::file_exact(&file));
        }
        let mut config: Self = figment
            .merge(Env::prefixed("CLINICDESK_").only(&[
                "address",
                "port",
                "registration",
                "access_token_minutes",
                "refresh_token_days",
                "backup_dir",
                "backup_time",
                "backup_keep",
                "backup_max_total_mb",
                "backup_passphrase_file",
                "tls",
                "tls_cert",
                "tls_key",
                "insecure_http",
                "cors_origins",
                "trusted_proxies",
                "head_timeout_seconds",
                "idle_timeout_seconds",
                "max_connections",
                "max_connections_per_address",
                "replication",
                "replica_url",
                "litestream",
            ]))
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        // The data directory is not configurable from inside itself.
        config.data_dir = data_dir;
        // Not a setting (serde skips it, so it arrives `false`): a real
        // server always shuts down gracefully on Ctrl-C and SIGTERM.
        config.handle_signals = true;
        config.validate()?;
        Ok(config)
    }

    /// A server for tests: loopback, an OS-chosen port, no signal handlers,
    /// no scheduled backups.
    pub fn for_tests(data_dir: &Path) -> Self {
        Self {
            port: 0,
            handle_signals: false,
            backup_time: "off".into(),
            ..Self::defaults(data_dir.to_path_buf())
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if self.access_token_minutes == 0 || self.access_token_minutes > 24 * 60 {
            anyhow::bail!("access_token_minutes must be between 1 and 1440");
        }
        if self.refresh_token_days == 0 || self.refresh_token_days > 365 {
            anyhow::bail!("refresh_token_days must be between 1 and 365");
        }
        if self.write_queue == 0 || self.write_queue > 1_000_000 {
            anyhow::bail!("write_queue must be between 1 and 1000000");
        }
        for origin in &self.cors_origins {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.trim_end_matches('/').contains(['*', ' '])
                && origin.matches('/').count() == 2;
            if !valid {
                anyhow::bail!(
                    "cors_origins entries must be origins such as https://lab.clinic.lan:8443 \
                     (scheme, host, optional port; no path, no wildcard), not {origin:?}"
                );
            }
        }
        for (name, seconds) in [
            ("head_timeout_seconds", self.head_timeout_seconds),
            ("idle_timeout_seconds", self.idle_timeout_seconds),
        ] {
            if !(1..=3600).contains(&seconds) {
                anyhow::bail!("{name} must be between 1 and 3600");
            }
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            anyhow::bail!("max_connections must be between 1 and 1000000");
        }
        if !(1..=self.max_connections).contains(&self.max_connections_per_address) {
            anyhow::bail!("max_connections_per_address must be between 1 and max_connections");
        }
        if !(1..=365).contains(&self.backup_keep) {
            anyhow::bail!("backup_keep must be between 1 and 365");
        }
        if self.backup_max_total_mb == 0 {
            anyhow::bail!("backup_max_total_mb must be at least 1");
        }
        match (self.replication, self.replica_url.as_deref()) {
            (Replication::Litestream, None) => anyhow::bail!(
                "replication = \"litestream\" needs replica_url, where the replica lives \
                 (file:///path, s3://bucket/path, sftp://host/path)"
            ),
            (_, Some(url)) if !url.contains("://") || url.trim() != url => anyhow::bail!(
                "replica_url must be a URL such as file:///mnt/clinic-replica or \
                 s3://bucket/clinicdesk, not {url:?}"
            ),
            _ => {}
        }
        if self.backup_time != "off" && self.backup_at().is_none() {
            anyhow::bail!(
                "backup_time must be HH:MM (24-hour clock) or off, not {:?}",
                self.backup_time
            );
        }
        Ok(())
    }

    /// Whether Litestream replicates the database.
    pub fn replicated(&self) -> bool {
        self.replication == Replication::Litestream
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join(DATABASE_FILE)
    }

    /// Where backups go.
    pub fn backup_dir(&self) -> PathBuf {
        self.backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join(BACKUP_DIR))
    }

    /// The local time of the daily backup; `None` when it is `off`.
    pub fn backup_at(&self) -> Option<Time> {
        parse_time(&self.backup_time)
    }

    /// Creates the data directory (owner-only) if needed and checks it is usable.
    pub fn prepare_data_dir(&self) -> anyhow::Result<()> {
        let dir = &self.data_dir;
        if dir.exists() && !dir.is_dir() {
            anyhow::bail!(
                "the data directory {} exists but is not a directory",
                dir.display()
            );
        }
        if !dir.exists() {
            fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
            restrict_to_owner(dir, 0o700)?;
        }
        // Fail now with a clear message rather than later inside SQLite.
        let probe = dir.join(".write-test");
        fs::write(&probe, b"")
            .with_context(|| format!("the data directory {} is not writable", dir.display()))?;
        fs::remove_file(&probe).ok();
        Ok(())
    }
}

/// `HH:MM` on a 24-hour clock.
fn parse_time(text: &str) -> Option<Time> {
    let (hours, minutes) = text.trim().split_once(':')?;
    Time::from_hms(hours.parse().ok()?, minutes.parse().ok()?, 0).ok()
}

fn default_data_dir() -> anyhow::Result<PathBuf> {
    directories::ProjectDirs::from("", "", "clinicdesk")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .context("cannot find a home directory for the data; pass --data-dir")
}

/// Writes `contents` to `path` (replacing it), readable by its owner only,
/// and flushed to the disk: for files that hold patient data or secrets.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    restrict_to_owner(path, 0o600)
}

/// Sets Unix permission bits so only the account running clinicdesk can read.
#[cfg(unix)]
pub fn restrict_to_owner(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot restrict the permissions of {}", path.display()))
}

/// Windows has no mode bits; the equivalent of 0600/0700 is an access list
/// without inherited entries granting full control to this account, SYSTEM
/// and Administrators only (the Unix owner and root), set with `icacls`,
/// which ships with Windows. (`mode` only tells a folder, whose entries its
/// new files inherit, from a file.) A volume without access lists (a FAT
/// USB drive) cannot be restricted: that is logged, not fatal.
#[cfg(windows)]
pub fn restrict_to_owner(path: &Path, _mode: u32) -> anyhow::Result<()> {
    let rights = if path.is_dir() { "(OI)(CI)F" } else { "F" };
    // Well-known SIDs, so the names' language does not matter: SYSTEM, Administrators.
    let mut grants = vec![
        format!("*S-1-5-18:{rights}"),
        format!("*S-1-5-32-544:{rights}"),
    ];
    if let Some(account) = windows_account() {
        grants.push(format!("{account}:{rights}"));
    }
    let icacls = std::env::var_os("SystemRoot").map_or_else(
        || PathBuf::from("icacls.exe"),
        |root| PathBuf::from(root).join("System32").join("icacls.exe"),
    );
    let done = std::process::Command::new(icacls)
        .arg(path)
        .args(["/inheritance:r", "/grant:r"])
        .args(&grants)
        .arg("/Q")
        .stdin(std::process::Stdio::null())
        .output();
    match done {
        Ok(out) if out.status.success() => {}
        Ok(out) => tracing::warn!(
            path = %path.display(),
            icacls = %String::from_utf8_lossy(&out.stdout).trim(),
            "could not restrict access to this account; other accounts on this computer may read it"
        ),
        Err(e) => tracing::warn!(
            path = %path.display(), error = %e,
            "could not run icacls; other accounts on this computer may read this"
        ),
    }
    Ok(())
}

/// `DOMAIN\user` of the account running clinicdesk, unless it is the
/// machine account (a service as `LocalSystem`), which SYSTEM already covers.
#[cfg(windows)]
fn windows_account() -> Option<String> {
    let user = std::env::var("USERNAME").ok().filter(|u| !u.is_empty())?;
    if user.ends_with('$') {
        return None;
    }
    Some(match std::env::var("USERDOMAIN") {
        Ok(domain) if !domain.is_empty() => format!("{domain}\\{user}"),
        _ => user,
    })
}

/// Elsewhere: nothing to restrict with; the per-user folder is private.
#[cfg(not(any(unix, windows)))]
pub fn restrict_to_owner(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loaded_configuration_handles_signals_and_keeps_the_given_data_dir() {
        let dir = tempfile::tempdir().expect("temp dir");
        let overrides = Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            port: Some(9123),
            ..Overrides::default()
        };
        let config = Config::load(&overrides).expect("loads");
        assert!(config.handle_signals);
        assert_eq!(config.port, 9123);
        assert_eq!(config.data_dir, dir.path());
    }

    #[test]
    fn the_file_layer_is_read_and_an_unknown_key_is_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let overrides = Overrides {
            data_dir: Some(dir.path().to_path_buf()),
            ..Overrides::default()
        };
        fs::write(dir.path().join(CONFIG_FILE), "refresh_token_days = 3\n").expect("write");
        assert_eq!(
            Config::load(&overrides).expect("loads").refresh_token_days,
            3
        );

        fs::write(dir.path().join(CONFIG_FILE), "prot = 8080\n").expect("write");
        let err = Config::load(&overrides).expect_err("typo refused");
        assert!(err.to_string().contains("prot"), "{err}");
    }

    #[test]
    fn backup_times_are_24_hour_clock_readings() {
        assert!(parse_time("00:00").is_some());
        assert!(parse_time("23:59").is_some());
        for bad in ["24:00", "2", "02:60", "two", ""] {
            assert!(parse_time(bad).is_none(), "{bad}");
        }
    }
}
