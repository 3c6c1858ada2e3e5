//! The Windows service: registered with the service control manager as
//! `clinicdesk`, started at boot (automatic), run as `LocalSystem`, restarted
//! after a crash. Its data lives in `%ProgramData%\clinicdesk` (made
//! readable by SYSTEM and Administrators only, see `config::restrict_to_owner`)
//! and its log in `clinicdesk.log` there.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use windows_service::service::{
    Service, ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod,
    ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{
    self, ServiceControlHandlerResult, ServiceStatusHandle,
};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};

use super::{service_args, DESCRIPTION, NAME};
use crate::config::{Config, Console, Overrides};

/// The service's log, inside its data directory.
const LOG_FILE: &str = "clinicdesk.log";
/// A log past this size is moved to `clinicdesk.log.1` at the next start.
const LOG_LIMIT: u64 = 20 * 1024 * 1024;

pub fn install(overrides: &Overrides, print: bool) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find this program's path")?;
    let args = service_args(overrides);
    if print {
        let words: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        println!("Service {NAME} (automatic start, LocalSystem) would run:");
        println!("    \"{}\" {}", exe.display(), words.join(" "));
        return Ok(());
    }
    let manager = manager(ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE)?;
    let info = ServiceInfo {
        name: OsString::from(NAME),
        display_name: OsString::from("clinicdesk"),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: exe.clone(),
        launch_arguments: args,
        dependencies: vec![],
        account_name: None, // LocalSystem
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .context("cannot register the clinicdesk service (is it installed already?)")?;
    service.set_description(DESCRIPTION)?;
    // Restart after a crash: after 10 s, then after a minute; count afresh each day.
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(24 * 60 * 60)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![
            ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(10),
            },
            ServiceAction {
                action_type: ServiceActionType::Restart,
                delay: Duration::from_secs(60),
            },
        ]),
    })?;
    let data_dir = overrides
        .data_dir
        .clone()
        .unwrap_or_else(super::default_data_dir);
    println!("Installed the clinicdesk service; it starts with Windows, before anyone signs in.");
    println!("Start it now:     clinicdesk service start");
    println!("Its data and log: {}", data_dir.display());
    println!(
        "The first admin:  \"{}\" --data-dir \"{}\" admin create --email you@clinic.example",
        exe.display(),
        data_dir.display()
    );
    println!("                  (in this administrator prompt, after the first start)");
    Ok(())
}

pub fn uninstall() -> anyhow::Result<()> {
    let service = open(ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        service
            .stop()
            .context("cannot stop the clinicdesk service")?;
        wait_for(&service, ServiceState::Stopped)?;
    }
    service
        .delete()
        .context("cannot remove the clinicdesk service")?;
    println!(
        "The clinicdesk service is removed (it may take a moment to disappear); its data is kept."
    );
    Ok(())
}

pub fn start() -> anyhow::Result<()> {
    let service = open(ServiceAccess::START | ServiceAccess::QUERY_STATUS)?;
    service
        .start::<&str>(&[])
        .context("cannot start the clinicdesk service")?;
    wait_for(&service, ServiceState::Running)?;
    println!("clinicdesk service started.");
    Ok(())
}

pub fn stop() -> anyhow::Result<()> {
    let service = open(ServiceAccess::STOP | ServiceAccess::QUERY_STATUS)?;
    service
        .stop()
        .context("cannot stop the clinicdesk service")?;
    wait_for(&service, ServiceState::Stopped)?;
    println!("clinicdesk service stopped.");
    Ok(())
}

/// Waits (up to a minute) until the service reports `wanted`. The service
/// control manager has no call that waits, so it is asked five times a second.
fn wait_for(service: &Service, wanted: ServiceState) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let state = service.query_status()?.current_state;
        if state == wanted {
            return Ok(());
        }
        if wanted == ServiceState::Running && state == ServiceState::Stopped {
            anyhow::bail!(
                "the clinicdesk service stopped as it started; {LOG_FILE} in its data directory says why"
            );
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the clinicdesk service is still {state:?} after a minute"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn manager(access: ServiceManagerAccess) -> anyhow::Result<ServiceManager> {
    ServiceManager::local_computer(None::<&str>, access)
        .context("cannot reach the service control manager; run this in an administrator prompt")
}

fn open(access: ServiceAccess) -> anyhow::Result<Service> {
    manager(ServiceManagerAccess::CONNECT)?
        .open_service(NAME, access)
        .context("cannot open the clinicdesk service (is it installed? is this an administrator prompt?)")
}

// The macro defines the `extern "system"` entry point the dispatcher calls;
// its one unsafe call turns the raw argument vector Windows passes into strings.
#[allow(unsafe_code)]
mod entry {
    windows_service::define_windows_service!(ffi_service_main, service_main);

    fn service_main(arguments: Vec<std::ffi::OsString>) {
        super::service_main(arguments);
    }

    /// Hands this thread to the dispatcher, which calls `service_main`.
    pub(super) fn dispatch() -> windows_service::Result<()> {
        windows_service::service_dispatcher::start(super::NAME, ffi_service_main)
    }
}

/// The settings `service run` was started with (the command line kept in
/// the service at install), for `service_main`, which the dispatcher calls
/// with only the optional start parameters.
static SETTINGS: OnceLock<Overrides> = OnceLock::new();

/// Hands this thread to the service control manager, which calls `service_main`.
pub fn run(overrides: &Overrides) -> anyhow::Result<()> {
    let _ = SETTINGS.set(overrides.clone());
    entry::dispatch().context(
        "`service run` is started by Windows' service control manager; use `clinicdesk service start`",
    )
}

fn service_main(_arguments: Vec<OsString>) {
    let overrides = SETTINGS.get().cloned().unwrap_or_default();
    if let Err(e) = run_service(overrides) {
        tracing::error!(error = %format!("{e:#}"), "the clinicdesk service stopped with an error");
    }
}

fn run_service(mut overrides: Overrides) -> anyhow::Result<()> {
    let shutdown: Arc<Mutex<Option<rocket::Shutdown>>> = Arc::default();
    let stop_asked = Arc::new(AtomicBool::new(false));
    let handler = {
        let shutdown = Arc::clone(&shutdown);
        let stop_asked = Arc::clone(&stop_asked);
        move |control| match control {
            ServiceControl::Stop | ServiceControl::Shutdown => {
                stop_asked.store(true, Ordering::SeqCst);
                if let Some(handle) = shutdown.lock().ok().and_then(|slot| slot.clone()) {
                    handle.notify();
                }
                ServiceControlHandlerResult::NoError
            }
            ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
            _ => ServiceControlHandlerResult::NotImplemented,
        }
    };
    let status = service_control_handler::register(NAME, handler)?;
    report(
        status,
        ServiceState::StartPending,
        ServiceExitCode::NO_ERROR,
    )?;

    let data_dir = overrides
        .data_dir
        .clone()
        .unwrap_or_else(super::default_data_dir);
    overrides.data_dir = Some(data_dir.clone());
    let result = open_log(&data_dir).and_then(|()| {
        let mut config = Config::load(&overrides)?;
        config.handle_signals = false;
        config.console = Console::Service;
        let shutdown = Arc::clone(&shutdown);
        let stop_asked = Arc::clone(&stop_asked);
        crate::server::run(config, move |handle| {
            if let Ok(mut slot) = shutdown.lock() {
                *slot = Some(handle.clone());
            }
            // A stop asked for while starting is honoured now.
            if stop_asked.load(Ordering::SeqCst) {
                handle.notify();
            }
            let _ = report(status, ServiceState::Running, ServiceExitCode::NO_ERROR);
        })
    });
    if let Err(e) = &result {
        tracing::error!(error = %format!("{e:#}"), "the clinicdesk service could not run");
    }
    let exit = match result {
        Ok(()) => ServiceExitCode::NO_ERROR,
        Err(_) => ServiceExitCode::ServiceSpecific(1),
    };
    report(status, ServiceState::Stopped, exit)?;
    Ok(())
}

/// Sends the log to `<data dir>\clinicdesk.log` (a service has no console).
/// Done first, so a bad setting is reported in the log too.
fn open_log(data_dir: &Path) -> anyhow::Result<()> {
    if !data_dir.exists() {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("cannot create {}", data_dir.display()))?;
        // Private before the log (or anything else) is written into it.
        crate::config::restrict_to_owner(data_dir, 0o700)?;
    }
    let path = data_dir.join(LOG_FILE);
    if std::fs::metadata(&path).is_ok_and(|m| m.len() > LOG_LIMIT) {
        let _ = std::fs::rename(&path, data_dir.join(format!("{LOG_FILE}.1")));
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("cannot open the log {}", path.display()))?;
    crate::telemetry::init_to_file(crate::telemetry::DEFAULT_FILTER, file);
    Ok(())
}

fn report(
    status: ServiceStatusHandle,
    state: ServiceState,
    exit_code: ServiceExitCode,
) -> anyhow::Result<()> {
    let controls_accepted = if state == ServiceState::Running {
        ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
    } else {
        ServiceControlAccept::empty()
    };
    status.set_service_status(ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted,
        exit_code,
        checkpoint: 0,
        wait_hint: Duration::from_secs(30),
        process_id: None,
    })?;
    Ok(())
}
