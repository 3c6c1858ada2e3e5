//! The servers under test: one `clinicdesk` process (and, side by side,
//! one `PocketBase`) on 127.0.0.1, each killed when its guard is dropped
//! (every exit path of the harness, panics too).

use std::fs::File;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::http;

/// How long a start may take before the harness gives up (a 1,000,000
/// patient database is checked with `PRAGMA quick_check` at start-up).
const START_LIMIT: Duration = Duration::from_secs(120);

/// A running server. Dropping it stops the process.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    /// From `spawn` to the first `200` of `/api/health`.
    pub startup: Duration,
}

/// Environment for every process the harness starts: nothing inherited
/// from the caller's `CLINICDESK_*`, tokens that outlive a long run, no
/// scheduled backup in the middle of a measurement.
fn command(binary: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(binary);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CLINICDESK_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("--data-dir")
        .arg(data_dir)
        .arg("--address")
        .arg("127.0.0.1")
        .env("CLINICDESK_ACCESS_TOKEN_MINUTES", "1440")
        .env("CLINICDESK_BACKUP_TIME", "off")
        .env("CLINICDESK_TLS", "off")
        // Every benchmark client is this one address: wrk's 64 connections,
        // or 16 readers beside bursts of 50 logins, pass the per-address cap
        // that suits one clinic computer (64).
        .env("CLINICDESK_MAX_CONNECTIONS_PER_ADDRESS", "512");
    cmd
}

/// `clinicdesk admin create`, the password on standard input.
pub fn create_admin(
    binary: &Path,
    data_dir: &Path,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    let mut child = command(binary, data_dir)
        .args(["admin", "create", "--email", email, "--name", "Bench Admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}")?;
    }
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "admin create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A free loopback port (the OS picks one; a tiny race with other
/// programs is acceptable for a benchmark).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

impl Server {
    /// Starts the server and waits for its first `200` on `/api/health`.
    /// Its output (which holds the one-time setup link) goes to a log file
    /// beside the data directory, never to the terminal.
    pub fn start(binary: &Path, data_dir: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut cmd = command(binary, data_dir);
        cmd.arg("--port").arg(port.to_string()).arg("serve");
        Self::launch(cmd, addr, &log_path(data_dir))
    }

    /// Spawns `cmd` (a server that will listen on `addr`, a loopback
    /// address), its output to `log`, and waits for its first `200` on
    /// `/api/health` (clinicdesk and `PocketBase` both answer there).
    pub fn launch(mut cmd: Command, addr: SocketAddr, log: &Path) -> anyhow::Result<Self> {
        anyhow::ensure!(addr.ip().is_loopback(), "servers only listen on loopback");
        let log_file = File::create(log)?;
        let began = Instant::now();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()?;
        let mut server = Self {
            child,
            addr,
            startup: Duration::ZERO,
        };
        loop {
            if let Ok(resp) = http::request(addr, "GET", "/api/health", None, None) {
                if resp.status == 200 {
                    server.startup = began.elapsed();
                    return Ok(server);
                }
            }
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!(
                    "the server exited during start-up ({status}); see {}",
                    log.display()
                );
            }
            anyhow::ensure!(
                began.elapsed() < START_LIMIT,
                "the server did not answer within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmRSS` and `VmHWM` (peak) in KiB, from `/proc/<pid>/status`.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let field = |name: &str| -> anyhow::Result<u64> {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("{name} missing from /proc status"))
        };
        Ok(Memory {
            rss_kib: field("VmRSS:")?,
            hwm_kib: field("VmHWM:")?,
        })
    }

    /// Stops the server gracefully (SIGTERM: clinicdesk checkpoints the WAL
    /// and releases the data directory), killing it after 30 s.
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// The server's output, beside (not inside) its data directory.
pub fn log_path(data_dir: &Path) -> PathBuf {
    data_dir.with_file_name("server.log")
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss_kib: u64,
    pub hwm_kib: u64,
}
