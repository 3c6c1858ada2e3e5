//! The command line: `clinicdesk [serve]`, `check`, `backup`, `restore`,
//! `export`, `import`, `admin create`, `admin unlock` and
//! `service install|uninstall|start|stop`.

use std::io::{BufRead, IsTerminal};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::audit::{self, Action, Actor, Entity, Event};
use crate::auth::{password, Role};
use crate::backup::{self, crypt};
use crate::config::TlsMode;
use crate::config::{Config, Overrides};
use crate::db::Db;
use crate::desktop::Launch;
use crate::error::ApiError;
use crate::users::{self, NewAccount};
use crate::{exchange, server, service, settings, standby, telemetry};

/// clinicdesk: a small clinic's patient records, doctors and assignments in
/// one program. Start it, then open the printed address in a browser.
#[derive(Debug, Parser)]
#[command(name = "clinicdesk", version, about, long_about = None)]
#[command(
    after_help = "Settings may also come from <data dir>/clinicdesk.toml and from the environment:\n  \
    CLINICDESK_DATA_DIR, CLINICDESK_ADDRESS, CLINICDESK_PORT, CLINICDESK_REGISTRATION (open|closed),\n  \
    CLINICDESK_ACCESS_TOKEN_MINUTES, CLINICDESK_REFRESH_TOKEN_DAYS, CLINICDESK_LOG (log filter).\n\
    Flags win over the environment, which wins over the file."
)]
pub struct Cli {
    /// Where the database and key live [env: `CLINICDESK_DATA_DIR`] [default: your user data folder]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on; 0.0.0.0 serves the whole clinic network [env: `CLINICDESK_ADDRESS`] [default: 127.0.0.1]
    #[arg(long, global = true, value_name = "IP")]
    address: Option<IpAddr>,
    /// Port to listen on; 0 picks a free one [env: `CLINICDESK_PORT`] [default: 8000]
    #[arg(long, global = true)]
    port: Option<u16>,
    /// HTTPS: auto (on whenever other machines can connect), on, or off [env: `CLINICDESK_TLS`] [default: auto]
    #[arg(long, global = true, value_name = "MODE")]
    tls: Option<TlsMode>,
    /// The clinic's own TLS certificate (PEM), instead of a self-signed one [env: `CLINICDESK_TLS_CERT`]
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert [env: `CLINICDESK_TLS_KEY`]
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve other machines without TLS (patient data in clear text on the network) [env: `CLINICDESK_INSECURE_HTTP`]
    #[arg(long, global = true)]
    insecure_http: bool,
    /// Open the default browser at the setup or sign-in page once serving (what the desktop launcher does)
    #[arg(long, global = true, conflicts_with = "no_browser")]
    open_browser: bool,
    /// Never open a browser, even when started by a double-click
    #[arg(long, global = true)]
    no_browser: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the server (what running clinicdesk with no command does)
    Serve,
    /// Check the data directory and database, and print what an IT person needs to know
    Check,
    /// Write a consistent backup of the database (safe while the server runs)
    Backup {
        /// Where to write it [default: <data dir>/backups/clinicdesk-<time>.sqlite3]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Replace the database with a backup (stop the server first); the current one is kept
    Restore {
        /// The backup file; its .sha256 file must be beside it
        file: PathBuf,
        /// For an encrypted backup: a file holding its passphrase [default: the configured one, else asked]
        #[arg(long, value_name = "FILE")]
        passphrase_file: Option<PathBuf>,
    },
    /// Write the whole clinic (every record, archived ones too; no passwords) to one JSON file
    Export {
        /// Where to write it (readable by you only: it holds patient records)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Load a whole-clinic export into this clinicdesk, which must hold no patients,
    /// doctors or appointments yet (stop the server first); all or nothing
    Import {
        /// The file from `clinicdesk export` (or, with --django, from `manage.py dumpdata`)
        file: PathBuf,
        /// The file is a Django `manage.py dumpdata` JSON of a "healthcare backend"
        #[arg(long)]
        django: bool,
    },
    /// Manage accounts from this computer's console
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// A warm standby on a second machine, with Litestream (see the README's "Second machine")
    Standby {
        #[command(subcommand)]
        command: StandbyCommand,
    },
    /// Run clinicdesk as a system service (Windows service, or systemd on Linux)
    Service {
        #[command(subcommand)]
        command: service::ServiceCommand,
    },
}

#[derive(Debug, Subcommand)]
enum StandbyCommand {
    /// Print the clinicdesk.toml lines (the same on both machines) and the litestream.yml the primary runs
    Config {
        /// Where the replica lives: `file:///path`, `s3://bucket/path?endpoint=host`, `sftp://host/path`
        #[arg(long, value_name = "URL")]
        replica: String,
    },
    /// On the standby: keep a copy a few seconds behind the replica, and show the primary's heartbeat
    Follow,
    /// On the standby, once the primary is down: take over and serve (refused while the primary beats)
    Promote,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Create an admin account. The password is asked for (or read from standard input)
    Create {
        /// The admin's email, used to log in
        #[arg(long)]
        email: String,
        /// The admin's name as shown to colleagues
        #[arg(long)]
        name: Option<String>,
    },
    /// Clear an account's sign-in delays (failed sign-ins never lock an
    /// account, but they make the address they came from wait); a running
    /// server forgets them at the account's next sign-in attempt
    Unlock {
        /// The account's email (or username)
        email: String,
    },
}

impl Cli {
    /// The settings given on the command line.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            address: self.address,
            port: self.port,
            tls: self.tls,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            insecure_http: self.insecure_http.then_some(true),
        }
    }

    /// `--open-browser` / `--no-browser`, if either was given.
    fn browser_flag(&self) -> Option<bool> {
        match (self.open_browser, self.no_browser) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

/// Runs the parsed command; errors are printed for a person to act on.
pub fn run(cli: Cli) -> ExitCode {
    let overrides = cli.overrides();
    let launch = Launch::detect(cli.browser_flag());
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&overrides, launch),
        Command::Check => check(&overrides),
        Command::Backup { out } => backup(&overrides, out.as_deref()),
        Command::Restore {
            file,
            passphrase_file,
        } => restore(&overrides, &file, passphrase_file.as_deref()),
        Command::Export { out } => export(&overrides, &out),
        Command::Import { file, django } => import(&overrides, &file, django),
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => create_admin(&overrides, &email, name.as_deref()),
        Command::Admin {
            command: AdminCommand::Unlock { email },
        } => unlock(&overrides, &email),
        Command::Standby { command } => standby(&overrides, command, launch),
        Command::Service { command } => service::run(command, &overrides),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("clinicdesk: {e:#}");
            if launch.waits_before_closing() {
                crate::desktop::wait_for_enter();
            }
            ExitCode::FAILURE
        }
    }
}

fn serve(overrides: &Overrides, launch: Launch) -> anyhow::Result<()> {
    telemetry::init(telemetry::DEFAULT_FILTER);
    let mut config = Config::load(overrides)?;
    if launch.opens_browser() {
        config.console = crate::config::Console::Desktop;
    }
    server::run(config, crate::desktop::stop_on_close)
}

fn standby(overrides: &Overrides, command: StandbyCommand, launch: Launch) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    match command {
        StandbyCommand::Config { replica } => {
            standby::print_config(&config, &replica);
            Ok(())
        }
        StandbyCommand::Follow => {
            telemetry::init(telemetry::DEFAULT_FILTER);
            standby::follow(&config)
        }
        StandbyCommand::Promote => {
            telemetry::init(telemetry::DEFAULT_FILTER);
            let promoted = standby::promote(&config)?;
            println!(
                "Promoted: this machine is the {}. Replica restored in {:.1} s; promotion took {:.1} s. Starting to serve.",
                promoted.lease.describe(),
                promoted.restored_in.as_secs_f64(),
                promoted.total.as_secs_f64()
            );
            let mut config = config;
            if launch.opens_browser() {
                config.console = crate::config::Console::Desktop;
            }
            server::run(config, crate::desktop::stop_on_close)
        }
    }
}

fn backup(overrides: &Overrides, out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let (path, manifest) = backup::create(&config, out)?;
    if out.is_none() {
        // Into the backup folder: counted by the retention like the others.
        backup::schedule::prune(&config, backup::schedule::configured_keep(&config))?;
    }
    audit::record_offline(
        &config.database_path(),
        Event::new(Action::Backup).about(Entity::Backup),
    )?;
    println!("Backup written: {}", path.display());
    let count = |n: Option<i64>| n.unwrap_or(0);
    println!(
        "  {} patients, {} doctors, {} mappings, {} accounts; sha256 {}",
        count(manifest.rows.patients),
        count(manifest.rows.doctors),
        count(manifest.rows.mappings),
        count(manifest.rows.users),
        manifest.sha256
    );
    Ok(())
}

fn restore(
    overrides: &Overrides,
    file: &std::path::Path,
    passphrase_file: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let passphrase = match passphrase_file {
        Some(path) => Some(crypt::read_passphrase_file(path)?),
        None if crypt::is_encrypted(file) && config.backup_passphrase_file.is_none() => {
            Some(read_secret("Backup passphrase: ", false)?.into())
        }
        None => None,
    };
    let kept = backup::restore(&config, file, passphrase)?;
    println!(
        "Restored {} into {}.",
        file.display(),
        config.database_path().display()
    );
    let event = Event::new(Action::Restore).about(Entity::Backup);
    if !audit::record_offline(&config.database_path(), event)? {
        println!("(This backup predates the audit trail; the restore is not recorded in it.)");
    }
    if kept.exists() {
        println!("The previous database is kept as {}.", kept.display());
    }
    if config.replicated() {
        standby::forget_history(&config)?;
        println!(
            "Replication is on: the restored database is a new history, which the replica {} \
             cannot continue, and clinicdesk will refuse to start on it while it holds the old one. \
             Point replica_url at a new, empty location (on both machines), then start clinicdesk; \
             the standby then follows the new location.",
            config.replica_url.as_deref().unwrap_or_default()
        );
        return Ok(());
    }
    println!("Start clinicdesk to serve the restored records.");
    Ok(())
}

/// The database with its settings row, as the server starts it (a data
/// directory that was never served has none yet).
fn open_clinic(config: &Config) -> anyhow::Result<Db> {
    let db = Db::open(config, |from| backup::before_upgrade(config, from))?;
    server::initial_settings(&db, config)?;
    Ok(db)
}

fn export(overrides: &Overrides, out: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    anyhow::ensure!(
        config.database_path().exists(),
        "no database at {} yet; start clinicdesk once to create it",
        config.database_path().display()
    );
    let db = open_clinic(&config)?;
    let document = db.read_now(exchange::export_document).map_err(describe)?;
    let json = serde_json::to_vec_pretty(&document)?;
    crate::config::write_private(out, &json)?;
    db.write_now(|tx| {
        let event = Event::new(Action::Export);
        audit::record(tx, Actor::system(), event)
    })
    .map_err(describe)?;
    db.close()?;
    println!(
        "Exported {} patients, {} doctors, {} appointments and {} accounts to {}.",
        document.patients.len(),
        document.doctors.len(),
        document.appointments.len(),
        document.users.len(),
        out.display()
    );
    println!("It holds patient records: keep it as safe as the clinic's backups.");
    Ok(())
}

fn import(overrides: &Overrides, file: &std::path::Path, django: bool) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    config.prepare_data_dir()?;
    // A running server is the one writer of its database: refuse beside it.
    let _lock = crate::lock::InstanceLock::acquire(&config.data_dir)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let given: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    let db = open_clinic(&config)?;
    // Someone must be able to sign in afterwards and give the imported
    // accounts (which come without passwords) their temporary ones.
    let admin = db
        .read_now(users::sql::first_admin)
        .map_err(describe)?
        .context(
            "an import needs an admin account here first (the imported accounts come without \
         passwords, and an admin gives them temporary ones): finish the setup page, or run \
         `clinicdesk admin create`",
        )?;
    let (document, skipped, importing_admin) = if django {
        let translated = exchange::django::translate(&given).map_err(anyhow::Error::msg)?;
        (translated.document, translated.skipped, Some(admin))
    } else {
        (given, Vec::new(), None)
    };
    let zone = db
        .read_now(settings::sql::load)
        .map_err(describe)?
        .time_zone;
    let today = crate::clinic_time::ClinicZone::new(&zone).today();
    let import = exchange::Import::prepare(document, today, importing_admin).map_err(describe)?;
    let (report, _) = db
        .write_now(move |tx| import.load(tx, Actor::system()))
        .map_err(describe)?;
    db.close()?;
    println!(
        "Imported {} patients, {} doctors, {} mappings, {} appointments, {} hours, {} time off \
         and {} accounts into {}.",
        report.patients,
        report.doctors,
        report.mappings,
        report.appointments,
        report.hours,
        report.time_off,
        report.users,
        config.data_dir.display()
    );
    if !report.accounts_needing_password.is_empty() {
        println!(
            "{} accounts were created without a password: an admin gives each a temporary one \
             on the Users screen, and they choose their own at their first sign-in.",
            report.accounts_needing_password.len()
        );
    }
    for skip in &skipped {
        println!("Skipped {} {}: {}", skip.model, skip.pk, skip.reason);
    }
    Ok(())
}

fn check(overrides: &Overrides) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    let database = config.database_path();
    println!("data directory:  {}", config.data_dir.display());
    anyhow::ensure!(
        database.exists(),
        "no database at {} yet; start clinicdesk once to create it",
        database.display()
    );
    // Opening runs the start-up checks (quick_check, WAL) and any migration.
    let db = Db::open(&config, |from| backup::before_upgrade(&config, from))?;
    let report = db.report()?;
    // The schedule in the database, which the running server follows (the
    // config file's backup_time/backup_keep only start a new database). A
    // database the server has not started on yet (`admin create` alone) has
    // no settings: the config file's values become them at the first start.
    let plan = db.read_now(backup::schedule::Plan::load).ok();
    println!("database:        {}", database.display());
    println!("SQLite version:  {}", report.sqlite_version);
    println!("journal mode:    {}", report.journal_mode);
    println!("synchronous:     {}", report.synchronous);
    println!(
        "foreign keys:    {}",
        if report.foreign_keys { "on" } else { "off" }
    );
    println!("schema version:  {}", report.schema_version);
    println!("integrity:       {}", report.integrity);
    match backup::newest(&config) {
        Some(path) => println!("newest backup:   {}", path.display()),
        None => println!("newest backup:   none in {}", config.backup_dir().display()),
    }
    match plan {
        Some(plan) if plan.time == "off" => {
            println!("backup schedule: off (keeping {})", plan.keep);
        }
        Some(plan) => println!(
            "backup schedule: daily at {} {}, keeping {}",
            plan.time,
            plan.zone.iana_name().unwrap_or("UTC"),
            plan.keep
        ),
        None => println!(
            "backup schedule: {} keeping {} from the configuration, set at the first start",
            config.backup_time, config.backup_keep
        ),
    }
    match (&config.replica_url, config.replicated()) {
        (Some(url), true) => {
            let program = standby::Litestream::find(&config)?;
            println!("replication:     litestream {} to {url}", program.version);
            match db.read_now(|conn| Ok(standby::lease::read(conn)?)) {
                Ok(Some(lease)) => println!("primary lease:   {}", lease.describe()),
                _ => println!("primary lease:   none yet (taken at the first replicated start)"),
            }
        }
        _ => println!("replication:     off (one machine; see `clinicdesk standby config`)"),
    }
    anyhow::ensure!(
        report.integrity == "ok",
        "the database failed its integrity check"
    );
    Ok(())
}

fn create_admin(overrides: &Overrides, email: &str, name: Option<&str>) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    config.prepare_data_dir()?;
    let db = Db::open(&config, |from| backup::before_upgrade(&config, from))?;
    let secret = read_secret("Password for the new admin: ", true)?;
    let body = serde_json::json!({ "email": email, "name": name, "password": secret });
    let body = body.as_object().cloned().unwrap_or_default();
    let account = NewAccount::read(&body, Some(Role::Admin)).map_err(describe)?;
    let hash = password::hash(&account.password)?;
    let user = db
        .write_now(move |tx| {
            let user = users::sql::insert(tx, &account, &hash)?;
            let event = Event::new(Action::Create).on(Entity::User, user.id);
            audit::record(
                tx,
                Actor::system(),
                event.fields(["email", "role", "password"]),
            )?;
            Ok(user)
        })
        .map_err(describe)?;
    db.close()?;
    println!(
        "Created admin {} (id {}) in {}.",
        user.email,
        user.id,
        config.data_dir.display()
    );
    Ok(())
}

fn unlock(overrides: &Overrides, login: &str) -> anyhow::Result<()> {
    let config = Config::load(overrides)?;
    anyhow::ensure!(
        config.database_path().exists(),
        "no database at {} yet; start clinicdesk once to create it",
        config.database_path().display()
    );
    let db = Db::open(&config, |from| backup::before_upgrade(&config, from))?;
    let name = login.trim().to_owned();
    let id = db
        .write_now(move |tx| {
            let id = users::sql::reset_throttle(tx, &name)?;
            if let Some(id) = id {
                let event = Event::new(Action::Unlock).on(Entity::User, id);
                audit::record(tx, Actor::system(), event.fields(["locked"]))?;
            }
            Ok(id)
        })
        .map_err(describe)?
        .with_context(|| format!("no account has the email or username {login:?}"))?;
    db.close()?;
    println!(
        "Cleared the sign-in delays of {login} (id {id}); a running clinicdesk forgets them \
         at the account's next sign-in attempt."
    );
    Ok(())
}

/// Prompts without echo on a terminal (twice with `confirm`); otherwise
/// reads one line of standard input.
fn read_secret(prompt: &str, confirm: bool) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(prompt)?;
        if confirm {
            let second = rpassword::prompt_password("Same again: ")?;
            anyhow::ensure!(first == second, "the two entries differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// An API error as a sentence for the console.
fn describe(err: ApiError) -> anyhow::Error {
    match err {
        ApiError::Validation(fields) => {
            let lines: Vec<String> = fields
                .iter()
                .map(|(field, messages)| format!("{field}: {}", messages.join(" ")))
                .collect();
            anyhow::anyhow!("{}", lines.join("; "))
        }
        ApiError::Database(e) => anyhow::anyhow!("database error: {e}"),
        other => anyhow::anyhow!("{other}"),
    }
}
