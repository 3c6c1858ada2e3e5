//! Assembles the server: state, routes, catchers, fairings. `build` is what
//! `clinicdesk serve` launches and what the tests start in-process.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use rocket::config::{Ident, LogLevel, Shutdown};
use rocket::fairing::AdHoc;
use rocket::figment::Figment;
use rocket::{Build, Rocket};

use crate::auth::accounts::Accounts;
use crate::auth::password::Hasher;
use crate::auth::token::Keys;
use crate::backup::schedule::BackupStatus;
use crate::config::{Config, Console};
use crate::db::Db;
use crate::fhir;
use crate::lock::InstanceLock;
use crate::setup::SetupToken;
use crate::throttle::LoginThrottle;
use crate::tls::{self, Transport};
use crate::{
    account, appointments, audit, cors, desktop, doctors, exchange, front, mappings, merge,
    patients,
};
use crate::{
    backup, error, health, http, openapi, record_names, schedule, settings, setup, standby,
    telemetry, ui, users,
};

/// Prepares the data directory and database and returns the server, ready
/// to launch. Fails with a message naming what is wrong (an unusable data
/// directory, a damaged key file, a database that cannot be migrated).
pub fn build(config: Config) -> anyhow::Result<Rocket<Build>> {
    config.prepare_data_dir()?;
    // Before anything listens: clear text on the LAN is refused here.
    let transport = tls::prepare(&config)?;
    let security_headers = http::SecurityHeaders {
        hsts: transport.is_tls(),
    };
    let cors = cors::Cors::new(&config.cors_origins);
    let lock = InstanceLock::acquire(&config.data_dir)?;
    // After the lock: a second clinicdesk on this data directory says so,
    // rather than that the port is taken.
    let (front_door, public) = front::FrontDoor::bind(&config, &transport)?;
    backup::sweep_partials(&config);
    let litestream = standby::before_open(&config)?;
    let db = Db::open(&config, |from| backup::before_upgrade(&config, from)).map_err(|e| {
        match backup::newest(&config) {
            Some(newest) => anyhow::anyhow!(
                "{e:#}\nThe newest backup is {0}; to go back to it: clinicdesk restore {0}",
                newest.display()
            ),
            None => e,
        }
    })?;
    let settings = initial_settings(&db, &config)?;
    let clinic_zone = crate::clinic_time::ClinicZone::new(&settings.time_zone);
    let needs_setup = !db
        .read_now(users::sql::admin_exists)
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let keys = Keys::load_or_create(
        &config.data_dir,
        config.access_token_minutes,
        config.refresh_token_days,
    )?;
    let setup_token = SetupToken::new(needs_setup)?;
    let accounts = Accounts::watching(&db, users::sql::auth_state);
    // The last step that can fail: nothing after it leaves Litestream running.
    let replicator = standby::after_open(&config, &db, litestream)?;

    let api_routes = [
        health::routes(),
        setup::routes(),
        account::routes(),
        users::routes(),
        settings::routes(),
        patients::routes(),
        doctors::routes(),
        mappings::routes(),
        merge::routes(),
        schedule::routes(),
        appointments::routes(),
        backup::routes::routes(),
        audit::routes::routes(),
        record_names::routes(),
        exchange::routes(),
        http::fallback_routes(),
    ]
    .concat();

    Ok(rocket::custom(rocket_figment(&config))
        // First of the request fairings: it puts the real client address
        // on the request before anything else reads it.
        .attach(front_door)
        .manage(public)
        .manage(lock)
        .manage(db)
        .manage(replicator)
        .manage(accounts)
        .manage(keys)
        .manage(setup_token)
        .manage(LoginThrottle::default())
        .manage(clinic_zone)
        .manage(settings::Changes::default())
        .manage(Hasher::new())
        .manage(Arc::new(BackupStatus::default()))
        .manage(backup::routes::BackupPace::default())
        .manage(config)
        .manage(transport)
        .mount("/api", api_routes)
        .mount("/fhir", fhir::routes())
        .mount("/", openapi::routes())
        .mount("/", ui::routes())
        .register("/api", error::catchers())
        .register("/fhir", fhir::catchers())
        .attach(http::QueryCheck)
        .attach(security_headers)
        .attach(cors)
        .attach(telemetry::RequestLog)
        .attach(audit::denied::DeniedAttempts)
        .attach(AdHoc::on_liftoff("announce", |rocket| {
            Box::pin(async move { announce(rocket) })
        }))
        .attach(AdHoc::on_liftoff("heartbeat", |rocket| {
            Box::pin(async move { start_heartbeat(rocket) })
        }))
        .attach(AdHoc::on_liftoff("daily backup", |rocket| {
            Box::pin(async move { start_daily_backup(rocket) })
        }))
        .attach(AdHoc::on_liftoff("reindex", |rocket| {
            Box::pin(async move {
                // Records from an older release are indexed as this one
                // searches and matches, in the background; new writes keep
                // their own index.
                if let Some(db) = rocket.state::<Db>().cloned() {
                    rocket::tokio::spawn(patients::duplicates::keep_pairs(db.clone()));
                    rocket::tokio::spawn(reindex(db));
                }
            })
        }))
        .attach(AdHoc::on_shutdown("checkpoint", |rocket| {
            Box::pin(async move { checkpoint(rocket).await })
        })))
}

/// The clinic's settings, written first from the configuration's starting
/// values when the database has none yet (also the commands that open the
/// database without serving it).
pub fn initial_settings(db: &Db, config: &Config) -> anyhow::Result<settings::Settings> {
    let registration = config.registration;
    let system_zone = crate::clinic_time::system_zone_name();
    let (backup_time, backup_keep) = (config.backup_time.clone(), config.backup_keep);
    db.write_now(move |tx| {
        let initial = settings::sql::Initial {
            registration,
            time_zone: &system_zone,
            backup_time: &backup_time,
            backup_keep,
        };
        settings::sql::initialise(tx, &initial)?;
        settings::sql::load(tx)
    })
    .map_err(|e| anyhow::anyhow!("{e:?}"))
}

/// Builds the server and runs it until it shuts down. `started` receives the
/// shutdown handle once the server listens (a Windows service then reports
/// itself running, and stops through the handle).
pub fn run(
    config: Config,
    started: impl FnOnce(rocket::Shutdown) + Send + 'static,
) -> anyhow::Result<()> {
    let started = std::sync::Mutex::new(Some(started));
    let rocket = build(config)?.attach(AdHoc::on_liftoff("started", move |rocket| {
        Box::pin(async move {
            if let Some(started) = started.lock().ok().and_then(|mut slot| slot.take()) {
                started(rocket.shutdown());
            }
        })
    }));
    rocket::execute(rocket.launch())
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!("the server stopped: {e}"))
}

/// The doctors' search text (a few hundred rows, one write), then the
/// patients' keys, search text and duplicate pairs, in batches.
async fn reindex(db: Db) {
    if let Err(e) = db.write(doctors::reindex).await {
        tracing::warn!(error = %e, "the doctors' search could not be reindexed; it will try again at the next start");
    }
    patients::duplicates::fill_in(db).await;
}

/// A replicated primary's heartbeat, which a standby watches before it
/// takes over (see `standby`).
fn start_heartbeat(rocket: &Rocket<rocket::Orbit>) {
    let replicated = rocket.state::<Config>().is_some_and(Config::replicated);
    if let (true, Some(db)) = (replicated, rocket.state::<Db>().cloned()) {
        rocket::tokio::spawn(standby::beat(db, rocket.shutdown()));
    }
}

/// Starts the daily backup task. It runs even while the schedule is `off`,
/// waiting for an admin to set a time (see `backup::schedule::run`).
fn start_daily_backup(rocket: &Rocket<rocket::Orbit>) {
    let (Some(config), Some(db), Some(status), Some(changes)) = (
        rocket.state::<Config>(),
        rocket.state::<Db>(),
        rocket.state::<Arc<BackupStatus>>(),
        rocket.state::<settings::Changes>(),
    ) else {
        return;
    };
    rocket::tokio::spawn(backup::schedule::run(
        config.clone(),
        db.clone(),
        Arc::clone(status),
        changes.watch(),
        rocket.shutdown(),
    ));
}

/// After the last request: empty the write-ahead log into the database
/// file, or, when replicated, let Litestream ship the last commits.
async fn checkpoint(rocket: &Rocket<rocket::Orbit>) {
    let Some(db) = rocket.state::<Db>().cloned() else {
        return;
    };
    let replicator = rocket.state::<standby::Replicator>().cloned();
    let replicated = rocket.state::<Config>().is_some_and(Config::replicated);
    let done = rocket::tokio::task::spawn_blocking(move || {
        let closed = db.close();
        if let Some(replicator) = replicator {
            replicator.stop();
        }
        closed
    })
    .await;
    match done {
        Ok(Ok(())) if replicated => {
            tracing::info!("Litestream has shipped the last commits; clinicdesk stopped cleanly");
        }
        Ok(Ok(())) => tracing::info!("database checkpointed; clinicdesk stopped cleanly"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "the shutdown checkpoint did not complete; SQLite will finish it at the next start");
        }
        Err(e) => tracing::warn!(error = %e, "the shutdown checkpoint task failed"),
    }
}

/// Rocket's configuration, from ours alone: `Rocket.toml` and `ROCKET_*` are
/// never read, so there is one place to configure clinicdesk. Rocket listens
/// on a private loopback port behind the front door (`front`), which owns
/// the public address and TLS.
fn rocket_figment(config: &Config) -> Figment {
    // Only Unix has a signal set to clear.
    #[cfg_attr(not(unix), allow(unused_mut))]
    let mut shutdown = Shutdown {
        ctrlc: config.handle_signals,
        ..Shutdown::default()
    };
    if !config.handle_signals {
        #[cfg(unix)]
        shutdown.signals.clear();
    }
    let rocket_config = rocket::Config {
        address: front::PRIVATE_ADDRESS,
        port: 0,
        ident: Ident::none(),
        // Rocket trusts `X-Real-IP` by default; any client can send it, so the
        // peer address is the only client address (see `throttle`).
        ip_header: None,
        log_level: LogLevel::Off,
        cli_colors: false,
        shutdown,
        ..rocket::Config::default()
    };
    Figment::from(rocket_config)
}

/// Prints where the server is and, while no admin exists, the setup link.
/// Printed to the console (stdout), not logged: the link holds a secret.
fn announce(rocket: &Rocket<rocket::Orbit>) {
    let Some(&front::PublicAddress(public)) = rocket.state::<front::PublicAddress>() else {
        return;
    };
    let transport = rocket.state::<Transport>();
    let config = rocket.state::<Config>();
    let data_dir = config
        .map(|c| c.data_dir.display().to_string())
        .unwrap_or_default();
    let (base, host) = base_url(public, transport.is_some_and(Transport::is_tls));
    announce_address(&base, host, public, &data_dir);
    if let Some(transport) = transport {
        announce_transport(transport);
    }
    let setup_token = rocket.state::<SetupToken>().and_then(SetupToken::current);
    let console = config.map(|c| c.console);
    announce_setup(setup_token.as_deref(), console, &base, &data_dir);
    if console == Some(Console::Desktop) {
        println!();
        println!("Opening your browser. Keep this window open while the clinic works;");
        println!("close it or press Ctrl-C to stop clinicdesk.");
        desktop::open_browser(desktop::first_page(&base, setup_token.as_deref()));
    }
}

/// The URL to give people for `public`, and its host: a server listening
/// on every address is reached on this computer at loopback.
fn base_url(public: SocketAddr, tls: bool) -> (String, IpAddr) {
    let port = public.port();
    let host = match public.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let scheme = if tls { "https" } else { "http" };
    let base = match host {
        IpAddr::V4(ip) => format!("{scheme}://{ip}:{port}"),
        IpAddr::V6(ip) => format!("{scheme}://[{ip}]:{port}"),
    };
    (base, host)
}

/// Where clinicdesk is and keeps its data.
fn announce_address(base: &str, host: IpAddr, public: SocketAddr, data_dir: &str) {
    tracing::info!(url = %base, data_dir = %data_dir, "clinicdesk is serving");
    println!(
        "clinicdesk {} is running at {base}/",
        env!("CARGO_PKG_VERSION")
    );
    println!("Data directory: {data_dir}");
    if public.ip().is_unspecified() {
        println!("Other computers on the clinic's network use this computer's name or address instead of {host}.");
    }
}

/// The certificate to check when serving HTTPS, or the warning when the
/// network is served in clear text on purpose.
fn announce_transport(transport: &Transport) {
    match transport {
        Transport::Tls {
            fingerprint,
            cert,
            generated,
            ..
        } => {
            // Logged too (it is public): a service's console output goes nowhere.
            tracing::info!(certificate = %cert.display(), %fingerprint, "serving HTTPS");
            println!("HTTPS certificate: {}", cert.display());
            println!("Certificate SHA-256 fingerprint: {fingerprint}");
            if *generated {
                println!(
                    "This certificate is self-signed: the first time, each browser warns about it. \
                     Check that the fingerprint it shows (certificate details) is the one above, then \
                     accept it, or install the certificate file as trusted on each staff computer."
                );
            }
        }
        Transport::Plain { insecure: true } => {
            tracing::warn!("serving the network WITHOUT TLS (--insecure-http)");
            println!();
            println!(
                "WARNING: HTTPS IS OFF (--insecure-http). Patient data and passwords cross the"
            );
            println!("WARNING: clinic network in clear text; anyone on it can read them.");
            println!();
        }
        Transport::Plain { .. } => {}
    }
}

/// While no admin exists: the setup link, or for a service (whose output
/// is kept in a log) the command that makes the first admin instead.
fn announce_setup(setup_token: Option<&str>, console: Option<Console>, base: &str, data_dir: &str) {
    let Some(token) = setup_token else {
        return;
    };
    if console == Some(Console::Service) {
        println!("No admin account exists yet. Create one on this computer with");
        println!(
            "    clinicdesk --data-dir \"{data_dir}\" admin create --email you@clinic.example"
        );
        println!("(A service does not print the setup link: its output is kept in a log.)");
    } else {
        println!();
        println!("No admin account exists yet. Open this link within 30 minutes to create one:");
        println!("    {base}/setup#{token}");
        println!("(Or run `clinicdesk admin create --email you@clinic.example`.)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_on_every_address_is_announced_at_loopback() {
        let any4: SocketAddr = "0.0.0.0:8000".parse().expect("address");
        let any6: SocketAddr = "[::]:8443".parse().expect("address");
        let lan: SocketAddr = "192.168.1.20:8000".parse().expect("address");
        assert_eq!(
            base_url(any4, false),
            (
                "http://127.0.0.1:8000".into(),
                IpAddr::V4(Ipv4Addr::LOCALHOST)
            )
        );
        assert_eq!(base_url(any6, true).0, "https://[::1]:8443");
        assert_eq!(base_url(lan, true).0, "https://192.168.1.20:8000");
    }
}
