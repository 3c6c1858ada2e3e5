//! The Linux service: a systemd unit, `/etc/systemd/system/clinicdesk.service`,
//! running clinicdesk as the unprivileged `clinicdesk` system account with
//! its data in `/var/lib/clinicdesk` (0700) and its log in the journal
//! (`journalctl -u clinicdesk`). Without root, `install` prints the unit and
//! the commands to run instead.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

use super::{service_args, DESCRIPTION, NAME};
use crate::config::{Config, Console, Overrides};

/// The account the service runs as.
pub const ACCOUNT: &str = "clinicdesk";
/// Where the unit file goes.
pub const UNIT_PATH: &str = "/etc/systemd/system/clinicdesk.service";

/// The unit file for `exe` started with `args`, keeping its data in `data_dir`.
pub fn unit(exe: &Path, args: &[OsString], data_dir: &Path, port: Option<u16>) -> String {
    let mut exec = quote(&exe.to_string_lossy());
    for arg in args {
        exec.push(' ');
        exec.push_str(&quote(&arg.to_string_lossy()));
    }
    // systemd makes /var/lib/<name> itself, owned by the account and 0700;
    // any other folder must exist and be writable through the sandbox.
    let storage = if data_dir == Path::new("/var/lib").join(NAME) {
        format!("StateDirectory={NAME}\nStateDirectoryMode=0700")
    } else {
        format!("ReadWritePaths={}", quote(&data_dir.to_string_lossy()))
    };
    let privileged_port = if port.is_some_and(|p| p != 0 && p < 1024) {
        "AmbientCapabilities=CAP_NET_BIND_SERVICE\n"
    } else {
        ""
    };
    format!(
        "# Written by `clinicdesk service install`; `clinicdesk service uninstall` removes it.\n\
         [Unit]\n\
         Description={DESCRIPTION}\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         \n\
         [Service]\n\
         Type=simple\n\
         User={ACCOUNT}\n\
         Group={ACCOUNT}\n\
         ExecStart={exec}\n\
         {storage}\n\
         {privileged_port}\
         UMask=0077\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         # SIGTERM: finish the requests in flight, checkpoint the database, exit 0.\n\
         TimeoutStopSec=30\n\
         NoNewPrivileges=yes\n\
         PrivateTmp=yes\n\
         ProtectSystem=full\n\
         ProtectHome=read-only\n\
         ProtectKernelTunables=yes\n\
         ProtectControlGroups=yes\n\
         RestrictSUIDSGID=yes\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}

/// One `ExecStart=` word: quoted when it holds anything systemd would split
/// or expand (`%` specifiers and `$` variables are doubled).
fn quote(word: &str) -> String {
    let escaped = word
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('%', "%%")
        .replace('$', "$$");
    if !word.is_empty() && !word.contains(|c: char| c.is_whitespace() || "\"'\\%$;".contains(c)) {
        escaped
    } else {
        format!("\"{escaped}\"")
    }
}

/// A service account cannot run a program kept in someone's home or in a
/// temporary folder (home folders are private; `/tmp` is cleared).
pub fn check_location(exe: &Path) -> anyhow::Result<()> {
    let private = ["/home/", "/root/", "/tmp/", "/var/tmp/", "/run/user/"];
    let shown = exe.to_string_lossy();
    if private.iter().any(|p| shown.starts_with(p)) {
        anyhow::bail!(
            "the service account cannot run {shown}; install the program first \
             (sudo install -m 0755 {shown} /usr/local/bin/clinicdesk) and run \
             /usr/local/bin/clinicdesk service install"
        );
    }
    Ok(())
}

pub fn install(overrides: &Overrides, print: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let data_dir = overrides
        .data_dir
        .clone()
        .unwrap_or_else(super::default_data_dir);
    let text = unit(&exe, &service_args(overrides), &data_dir, overrides.port);
    if print || !is_root() {
        if !print {
            println!("Not root, so nothing was installed. As root this would write {UNIT_PATH}:");
            println!();
        }
        print!("{text}");
        if !print {
            println!();
            println!("and run: useradd --system --user-group --no-create-home --shell /usr/sbin/nologin {ACCOUNT}");
            println!("         systemctl daemon-reload && systemctl enable {NAME}.service");
        }
        return Ok(());
    }
    check_location(&exe)?;
    ensure_account()?;
    if data_dir != super::default_data_dir() {
        prepare_foreign_dir(&data_dir)?;
    }
    std::fs::write(UNIT_PATH, text).with_context(|| format!("cannot write {UNIT_PATH}"))?;
    systemctl(&["daemon-reload"])?;
    systemctl(&["enable", &format!("{NAME}.service")])?;
    println!("Installed {UNIT_PATH}; clinicdesk now starts at boot as the {ACCOUNT} account.");
    println!("Start it now:       clinicdesk service start");
    println!("Its log:            journalctl -u {NAME}");
    println!(
        "The first admin:    sudo -u {ACCOUNT} {} --data-dir {} admin create --email you@clinic.example",
        exe.display(),
        data_dir.display()
    );
    println!("                    (after the first start, which creates the data directory)");
    Ok(())
}

pub fn uninstall() -> anyhow::Result<()> {
    require_root("uninstall")?;
    if !Path::new(UNIT_PATH).exists() {
        anyhow::bail!("no clinicdesk service is installed ({UNIT_PATH} does not exist)");
    }
    systemctl(&["disable", "--now", &format!("{NAME}.service")])?;
    std::fs::remove_file(UNIT_PATH).with_context(|| format!("cannot remove {UNIT_PATH}"))?;
    systemctl(&["daemon-reload"])?;
    println!(
        "The clinicdesk service is removed; its data directory and the {ACCOUNT} account are kept."
    );
    Ok(())
}

pub fn start() -> anyhow::Result<()> {
    require_root("start")?;
    systemctl(&["start", &format!("{NAME}.service")])?;
    println!("clinicdesk service started (journalctl -u {NAME} shows its log).");
    Ok(())
}

pub fn stop() -> anyhow::Result<()> {
    require_root("stop")?;
    systemctl(&["stop", &format!("{NAME}.service")])?;
    println!("clinicdesk service stopped.");
    Ok(())
}

/// What the unit's `ExecStart` runs: the server, without console niceties.
pub fn run(overrides: &Overrides) -> anyhow::Result<()> {
    crate::telemetry::init(crate::telemetry::DEFAULT_FILTER);
    let mut config = Config::load(overrides)?;
    config.console = Console::Service;
    crate::server::run(config, |_| {})
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn require_root(what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(is_root(), "`clinicdesk service {what}` needs root (sudo)");
    Ok(())
}

fn ensure_account() -> anyhow::Result<()> {
    if Command::new("id")
        .arg(ACCOUNT)
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(());
    }
    let home = PathBuf::from("/var/lib").join(NAME);
    let status = Command::new("useradd")
        .args(["--system", "--user-group", "--no-create-home", "--home-dir"])
        .arg(&home)
        .args(["--shell", "/usr/sbin/nologin", ACCOUNT])
        .status()
        .context("cannot run useradd")?;
    anyhow::ensure!(
        status.success(),
        "useradd could not create the {ACCOUNT} account"
    );
    Ok(())
}

/// A data directory outside /var/lib: made private and given to the account.
fn prepare_foreign_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    crate::config::restrict_to_owner(dir, 0o700)?;
    let status = Command::new("chown")
        .arg("-R")
        .arg(format!("{ACCOUNT}:{ACCOUNT}"))
        .arg(dir)
        .status()
        .context("cannot run chown")?;
    anyhow::ensure!(
        status.success(),
        "cannot give {} to {ACCOUNT}",
        dir.display()
    );
    Ok(())
}

fn systemctl(args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("systemctl")
        .args(args)
        .status()
        .context("cannot run systemctl (is this a systemd system?)")?;
    anyhow::ensure!(status.success(), "systemctl {} failed", args.join(" "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_unit_runs_the_service_as_its_own_account_in_its_state_directory() {
        let text = unit(
            Path::new("/usr/local/bin/clinicdesk"),
            &args(&["--data-dir", "/var/lib/clinicdesk", "service", "run"]),
            Path::new("/var/lib/clinicdesk"),
            None,
        );
        let line = |key: &str| {
            text.lines()
                .find(|l| l.starts_with(&format!("{key}=")))
                .map(|l| l[key.len() + 1..].to_owned())
        };
        assert_eq!(
            line("ExecStart").as_deref(),
            Some("/usr/local/bin/clinicdesk --data-dir /var/lib/clinicdesk service run")
        );
        assert_eq!(line("User").as_deref(), Some("clinicdesk"));
        assert_eq!(line("StateDirectory").as_deref(), Some("clinicdesk"));
        assert_eq!(line("StateDirectoryMode").as_deref(), Some("0700"));
        assert_eq!(line("UMask").as_deref(), Some("0077"));
        assert_eq!(line("Restart").as_deref(), Some("on-failure"));
        assert_eq!(line("WantedBy").as_deref(), Some("multi-user.target"));
        assert_eq!(line("ReadWritePaths"), None);
        assert_eq!(line("AmbientCapabilities"), None);
        assert!(
            text.contains("[Unit]") && text.contains("[Service]") && text.contains("[Install]")
        );
    }

    #[test]
    fn another_data_directory_is_made_writable_and_a_low_port_gets_its_capability() {
        let text = unit(
            Path::new("/opt/clinic desk/clinicdesk"),
            &args(&[
                "--data-dir",
                "/srv/clinic",
                "--port",
                "443",
                "service",
                "run",
            ]),
            Path::new("/srv/clinic"),
            Some(443),
        );
        assert!(text.contains("ExecStart=\"/opt/clinic desk/clinicdesk\" --data-dir /srv/clinic --port 443 service run"), "{text}");
        assert!(text.contains("ReadWritePaths=/srv/clinic\n"), "{text}");
        assert!(!text.contains("StateDirectory"), "{text}");
        assert!(
            text.contains("AmbientCapabilities=CAP_NET_BIND_SERVICE\n"),
            "{text}"
        );
    }

    #[test]
    fn exec_words_are_quoted_against_splitting_and_expansion() {
        assert_eq!(quote("/usr/bin/clinicdesk"), "/usr/bin/clinicdesk");
        assert_eq!(quote("/srv/a b"), "\"/srv/a b\"");
        assert_eq!(quote("100%"), "\"100%%\"");
        assert_eq!(quote("$HOME"), "\"$$HOME\"");
        assert_eq!(quote(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn a_program_in_a_home_or_temporary_folder_is_refused() {
        assert!(check_location(Path::new("/home/ada/Downloads/clinicdesk")).is_err());
        assert!(check_location(Path::new("/tmp/clinicdesk")).is_err());
        assert!(check_location(Path::new("/usr/local/bin/clinicdesk")).is_ok());
        assert!(check_location(Path::new("/opt/clinicdesk/clinicdesk")).is_ok());
    }
}
