//! `clinicdesk service install|uninstall|start|stop`: clinicdesk as a system
//! service, so it serves the clinic while nobody is signed in and starts at
//! boot.
//!
//! * Windows (`windows.rs`): a service registered with the service control
//!   manager, running as `LocalSystem`, data in `%ProgramData%\clinicdesk`,
//!   its log in `clinicdesk.log` there.
//! * Linux (`systemd.rs`): a systemd unit running as the `clinicdesk` system
//!   account, data in `/var/lib/clinicdesk`, its log in the journal.
//!
//! Either way the service manager starts `clinicdesk ... service run`: the
//! server without a console, which never opens a browser and never prints
//! the setup link (it would be kept in a log); the first admin comes from
//! `clinicdesk admin create`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Subcommand;

use crate::config::Overrides;

#[cfg(not(windows))]
pub mod systemd;
#[cfg(windows)]
mod windows;

/// The service's name (Windows service name, systemd unit `clinicdesk.service`).
pub const NAME: &str = "clinicdesk";
/// What the service manager shows beside the name.
pub const DESCRIPTION: &str =
    "clinicdesk: the clinic's patient, doctor and assignment records, served to staff browsers.";

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Register the service so it starts at boot (as administrator or root). The server settings
    /// given with it (--data-dir, --address, --port, --tls...) are kept in the service
    Install {
        /// Only print what would be registered (on Linux: the unit file), change nothing
        #[arg(long)]
        print: bool,
    },
    /// Stop the service if it runs and remove it (the data directory is kept)
    Uninstall,
    /// Start the installed service now
    Start,
    /// Stop the running service (requests in flight are finished)
    Stop,
    /// What the service manager runs; not for people
    #[command(hide = true)]
    Run,
}

/// Runs a `service` command. The data directory is the service's own
/// (`%ProgramData%\clinicdesk`, `/var/lib/clinicdesk`) unless `--data-dir`
/// names one: never the installing person's user folder.
pub fn run(command: ServiceCommand, overrides: &Overrides) -> anyhow::Result<()> {
    #[cfg(not(windows))]
    use self::systemd as platform;
    #[cfg(windows)]
    use self::windows as platform;
    let mut overrides = overrides.clone();
    if overrides.data_dir.is_none() {
        overrides.data_dir = Some(default_data_dir());
    }
    match command {
        ServiceCommand::Install { print } => platform::install(&overrides, print),
        ServiceCommand::Uninstall => platform::uninstall(),
        ServiceCommand::Start => platform::start(),
        ServiceCommand::Stop => platform::stop(),
        ServiceCommand::Run => platform::run(&overrides),
    }
}

/// Where a service keeps its data unless told otherwise.
pub fn default_data_dir() -> PathBuf {
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData").unwrap_or_else(|| r"C:\ProgramData".into());
        PathBuf::from(base).join(NAME)
    } else {
        PathBuf::from("/var/lib").join(NAME)
    }
}

/// The arguments the service starts clinicdesk with: the data directory and
/// every server setting given at install time, then `service run`.
pub fn service_args(overrides: &Overrides) -> Vec<OsString> {
    let mut args: Vec<OsString> = Vec::new();
    if let Some(dir) = &overrides.data_dir {
        args.extend(["--data-dir".into(), dir.into()]);
    }
    if let Some(address) = overrides.address {
        args.extend(["--address".into(), address.to_string().into()]);
    }
    if let Some(port) = overrides.port {
        args.extend(["--port".into(), port.to_string().into()]);
    }
    if let Some(mode) = overrides
        .tls
        .and_then(|m| clap::ValueEnum::to_possible_value(&m))
    {
        args.extend(["--tls".into(), mode.get_name().into()]);
    }
    if let Some(cert) = &overrides.tls_cert {
        args.extend(["--tls-cert".into(), cert.into()]);
    }
    if let Some(key) = &overrides.tls_key {
        args.extend(["--tls-key".into(), key.into()]);
    }
    if overrides.insecure_http == Some(true) {
        args.push("--insecure-http".into());
    }
    args.extend(["service".into(), "run".into()]);
    args
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::PathBuf;

    use clap::Parser;

    use super::*;
    use crate::cli::Cli;
    use crate::config::TlsMode;

    #[test]
    fn the_service_keeps_the_server_settings_given_at_install() {
        let overrides = Overrides {
            data_dir: Some(PathBuf::from("/srv/clinic data")),
            address: Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: Some(8443),
            tls: Some(TlsMode::On),
            insecure_http: None,
            ..Overrides::default()
        };
        let args: Vec<String> = service_args(&overrides)
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "--data-dir",
                "/srv/clinic data",
                "--address",
                "0.0.0.0",
                "--port",
                "8443",
                "--tls",
                "on",
                "service",
                "run"
            ]
        );
    }

    #[test]
    fn the_service_arguments_parse_back_to_the_same_settings() {
        let overrides = Overrides {
            data_dir: Some(PathBuf::from("/var/lib/clinicdesk")),
            port: Some(9000),
            tls_cert: Some(PathBuf::from("/etc/c.pem")),
            tls_key: Some(PathBuf::from("/etc/k.pem")),
            insecure_http: Some(true),
            ..Overrides::default()
        };
        let mut argv = vec![OsString::from("clinicdesk")];
        argv.extend(service_args(&overrides));
        let parsed = Cli::try_parse_from(argv).expect("the service command line parses");
        let again = parsed.overrides();
        assert_eq!(again.data_dir, overrides.data_dir);
        assert_eq!(again.port, Some(9000));
        assert_eq!(again.tls_cert, overrides.tls_cert);
        assert_eq!(again.tls_key, overrides.tls_key);
        assert_eq!(again.insecure_http, Some(true));
    }

    #[test]
    fn the_service_commands_parse_and_run_is_hidden() {
        for command in ["install", "uninstall", "start", "stop", "run"] {
            Cli::try_parse_from(["clinicdesk", "service", command]).expect(command);
        }
        Cli::try_parse_from(["clinicdesk", "service", "install", "--print"]).expect("--print");
        assert!(Cli::try_parse_from(["clinicdesk", "service", "restart"]).is_err());
        assert!(Cli::try_parse_from(["clinicdesk", "service"]).is_err());
        let mut command = <Cli as clap::CommandFactory>::command();
        let help = command
            .find_subcommand_mut("service")
            .expect("service")
            .render_help()
            .to_string();
        assert!(
            help.contains("install") && !help.contains("  run "),
            "{help}"
        );
    }

    #[test]
    fn a_service_never_uses_the_installing_persons_folder() {
        let dir = default_data_dir();
        assert!(dir.ends_with(NAME));
        if cfg!(not(windows)) {
            assert_eq!(dir, PathBuf::from("/var/lib/clinicdesk"));
        }
    }
}
