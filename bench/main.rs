//! The HTTP benchmark of issues 6 and 10: `cargo bench --bench http` (see
//! `bench/README.md`). It seeds clinics of several sizes through the real
//! schema, drives the real binary on 127.0.0.1 with wrk, and prints one
//! table plus start-up time, memory and binary size; with `--pocketbase`
//! it runs `PocketBase` on the same rows beside it, scenario by scenario,
//! and prints the two side by side. It exits non-zero if any request
//! failed.

mod appointments;
mod burst;
mod duplicates;
mod http;
mod import;
mod machine;
mod pocketbase;
mod report;
mod seed;
mod server;
mod wrk;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::pocketbase::PocketBase;
use crate::report::{PocketBaseFacts, Report, Row, SizeFacts};
use crate::server::Server;
use crate::wrk::{Caller, Measured, System};

/// Scenarios in the order they run at each size: reads first, then
/// writes (which add rows), then the mix.
const SCENARIOS: &[&str] = &[
    "health",
    "get_patient_user",
    "get_patient_staff",
    "page50",
    "page50_last_name",
    "search_name",
    "search_phone",
    "mappings",
    "duplicate_check",
    "board",
    "post_patient",
    "patch_patient",
    "book",
    "mixed",
    "import",
];

struct Options {
    sizes: Vec<i64>,
    /// The scenarios to run, in `SCENARIOS`' order (`--scenarios`).
    scenarios: Vec<&'static str>,
    concurrency: Vec<u32>,
    duration: Duration,
    binary: PathBuf,
    out: Option<PathBuf>,
    smoke: bool,
    keep: bool,
    /// Run `PocketBase` beside clinicdesk at every size.
    pocketbase: bool,
    /// wrk runs of each scenario (per system); the best one counts.
    rounds: u32,
}

/// The side-by-side size of issue 10, used when `--pocketbase` is given
/// without `--sizes`.
const SIDE_BY_SIDE_SIZE: i64 = 2_000;

/// `PocketBase` is seeded over HTTP: beyond this it would take longer
/// than the rest of the run.
const POCKETBASE_MAX_SIZE: i64 = 100_000;

fn usage() -> &'static str {
    "usage: cargo bench --bench http [-- [--smoke] [--sizes 10000,100000,1000000] \
     [--concurrency 1,16,64] [--scenarios health,duplicate_check,...] [--duration SECONDS] [--binary PATH] [--out FILE] [--keep] \
     [--pocketbase] [--rounds N]]"
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        sizes: vec![10_000, 100_000, 1_000_000],
        scenarios: SCENARIOS.to_vec(),
        concurrency: vec![1, 16, 64],
        duration: Duration::from_secs(6),
        binary: PathBuf::from(env!("CARGO_BIN_EXE_clinicdesk")),
        out: None,
        smoke: false,
        keep: false,
        pocketbase: false,
        rounds: 0,
    };
    let mut sizes_given = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| anyhow::anyhow!("{arg} needs a value\n{}", usage()))
        };
        match arg.as_str() {
            // Cargo passes --bench to every bench target.
            "--bench" => {}
            "--smoke" => {
                o.smoke = true;
                o.sizes = vec![10_000];
                o.concurrency = vec![1, 16];
                o.duration = Duration::from_secs(2);
            }
            "--sizes" => {
                o.sizes = list(&value()?)?;
                sizes_given = true;
            }
            "--concurrency" => o.concurrency = list(&value()?)?,
            "--scenarios" => o.scenarios = scenarios(&value()?)?,
            "--duration" => o.duration = Duration::from_secs(value()?.parse()?),
            "--binary" => o.binary = PathBuf::from(value()?),
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--keep" => o.keep = true,
            "--pocketbase" => o.pocketbase = true,
            "--rounds" => o.rounds = value()?.parse()?,
            "--help" | "-h" => {
                println!("{}", usage());
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}\n{}", usage()),
        }
    }
    // The smoke run is CI's: it never needs PocketBase (nor Python).
    if o.smoke {
        o.pocketbase = false;
    }
    if o.pocketbase && !sizes_given {
        o.sizes = vec![SIDE_BY_SIDE_SIZE];
    }
    if o.rounds == 0 {
        // Side by side, each system gets the better of two interleaved
        // runs, so a burst of other work on the machine hurts neither alone.
        o.rounds = if o.pocketbase { 2 } else { 1 };
    }
    anyhow::ensure!(
        !o.pocketbase || o.sizes.iter().all(|&n| n <= POCKETBASE_MAX_SIZE),
        "PocketBase is seeded over HTTP: sizes up to {POCKETBASE_MAX_SIZE} with --pocketbase"
    );
    anyhow::ensure!((1..=5).contains(&o.rounds), "rounds are 1..=5");
    anyhow::ensure!(
        !o.sizes.is_empty() && !o.concurrency.is_empty(),
        "nothing to run"
    );
    anyhow::ensure!(
        o.sizes.iter().all(|&n| (10..=5_000_000).contains(&n)),
        "sizes are 10..=5,000,000 patients"
    );
    anyhow::ensure!(
        o.concurrency.iter().all(|&c| (1..=512).contains(&c)),
        "concurrency is 1..=512"
    );
    anyhow::ensure!(o.duration.as_secs() <= 600, "at most 600 s a scenario");
    Ok(o)
}

/// The named scenarios, in the order they always run (reads before the
/// writes that add rows).
fn scenarios(text: &str) -> anyhow::Result<Vec<&'static str>> {
    let named: Vec<&str> = text.split(',').map(str::trim).collect();
    if let Some(unknown) = named.iter().find(|n| !SCENARIOS.contains(n)) {
        anyhow::bail!(
            "unknown scenario {unknown}: the scenarios are {}",
            SCENARIOS.join(",")
        );
    }
    Ok(SCENARIOS
        .iter()
        .copied()
        .filter(|s| named.contains(s))
        .collect())
}

fn list<T: std::str::FromStr>(text: &str) -> anyhow::Result<Vec<T>>
where
    T::Err: std::fmt::Display,
{
    text.split(',')
        .map(|s| {
            s.trim()
                .replace('_', "")
                .parse::<T>()
                .map_err(|e| anyhow::anyhow!("{s}: {e}"))
        })
        .collect()
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench: some requests FAILED (see the errors column)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Accounts of a seeded clinic. The password never leaves the process.
struct Accounts {
    password: String,
    staff_id: i64,
    user_id: i64,
}

const ADMIN: &str = "admin@bench.example";
const STAFF: &str = "staff@bench.example";
const USER: &str = "user@bench.example";

fn run() -> anyhow::Result<bool> {
    let o = options()?;
    wrk::ensure_installed()?;
    let pocketbase = if o.pocketbase {
        Some(pocketbase::ensure_installed(&target_dir()?)?)
    } else {
        None
    };
    anyhow::ensure!(
        o.binary.is_file(),
        "no server binary at {}",
        o.binary.display()
    );
    let began = Instant::now();
    let mut report = Report::new(&o.binary, o.smoke);
    eprintln!("== binary {}", o.binary.display());
    report.binary_bytes = std::fs::metadata(&o.binary)?.len();
    report.stripped_bytes = machine::stripped_size(&o.binary).ok();

    let scratch = tempfile::Builder::new()
        .prefix("clinicdesk-bench-")
        .tempdir()?;
    report.fsync_per_sec = Some(machine::fsync_rate(scratch.path(), Duration::from_secs(2))?);
    eprintln!(
        "== fsync loop: {:.0} fsyncs/s",
        report.fsync_per_sec.unwrap_or(0.0)
    );

    // Start-up on an empty data directory, a few times (fresh each time).
    for attempt in 0..5 {
        let root = scratch.path().join(format!("empty-{attempt}"));
        let data = root.join("data");
        std::fs::create_dir_all(&root)?;
        let server = Server::start(&o.binary, &data)?;
        report.startups.push(server.startup);
        std::thread::sleep(Duration::from_millis(500));
        report.idle_empty.push(server.memory()?);
        server.stop();
    }
    eprintln!("== start-up (empty data dir): {:?}", report.startups);

    for &size in &o.sizes {
        let facts = run_size(&o, pocketbase.as_deref(), scratch.path(), size, &mut report)?;
        report.sizes.push(facts);
    }
    report.total = began.elapsed();
    if o.keep {
        // The databases and server logs, for a look at what went wrong.
        // The wrk scripts there hold access tokens (valid for a day).
        let kept = scratch.keep();
        eprintln!(
            "== kept {} (its scripts/ hold access tokens: delete it when done)",
            kept.display()
        );
    }
    let text = report.render();
    println!("{text}");
    if let Some(out) = &o.out {
        std::fs::write(out, &text)?;
        eprintln!("== written to {}", out.display());
    }
    Ok(report.failed_requests() == 0)
}

/// The target directory the harness was built into (the server binary
/// beside it is `<target>/<profile>/clinicdesk`).
fn target_dir() -> anyhow::Result<PathBuf> {
    Path::new(env!("CARGO_BIN_EXE_clinicdesk"))
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .ok_or_else(|| anyhow::anyhow!("no target directory above the server binary"))
}

fn run_size(
    o: &Options,
    pocketbase: Option<&Path>,
    scratch: &Path,
    size: i64,
    report: &mut Report,
) -> anyhow::Result<SizeFacts> {
    let load_at_start = machine::loadavg();
    let root = scratch.join(format!("n{size}"));
    let data = root.join("data");
    std::fs::create_dir_all(&root)?;
    eprintln!("== {size} patients: accounts");
    let accounts = make_accounts(&o.binary, &data)?;
    eprintln!("== {size} patients: seeding");
    let db_path = data.join(clinicdesk::config::DATABASE_FILE);
    let (seeded, checks) = seed_patients(&db_path, size, &accounts)?;
    let count = if o.smoke {
        appointments::SMOKE_APPOINTMENTS
    } else {
        appointments::APPOINTMENTS
    };
    let owners = appointments::Owners {
        staff: accounts.staff_id,
        user: accounts.user_id,
    };
    let mut day = appointments::seed(&db_path, count, size, owners)?;
    eprintln!(
        "   weekly hours, {} appointments ({} today) in {:.1} s",
        day.appointments, day.today, day.seconds
    );
    // PocketBase gets the very rows just written, read while clinicdesk
    // is stopped.
    let pb = match pocketbase {
        Some(binary) => {
            eprintln!("== {size} patients: PocketBase {}", pocketbase::VERSION);
            let owners = pocketbase::Owners {
                user_id: accounts.user_id,
            };
            let pb = pocketbase::start(
                binary,
                &root,
                &db_path,
                &owners,
                (ADMIN, &accounts.password),
            )?;
            eprintln!("   PocketBase seeded in {:.1} s", pb.seed_seconds);
            Some(pb)
        }
        None => None,
    };
    let server = Server::start(&o.binary, &data)?;
    let mut facts = SizeFacts {
        patients: size,
        mappings: seeded.mappings,
        seed_seconds: seeded.seconds,
        appointments: day.appointments,
        today: day.today,
        appointments_seconds: day.seconds,
        startup: server.startup,
        planted: seeded.planted,
        planted_alike: seeded.planted_alike,
        ..SizeFacts::default()
    };
    std::thread::sleep(Duration::from_millis(300));
    facts.idle = server.memory()?;
    let pb_idle = pb.as_ref().map(|pb| pb.server.memory()).transpose()?;
    let staff = login(server.addr, STAFF, &accounts.password)?;
    let user = login(server.addr, USER, &accounts.password)?;
    let clinicdesk = Target {
        server: &server,
        staff: &staff,
        user: &user,
    };
    run_scenarios(
        o,
        (&clinicdesk, pb.as_ref()),
        &root,
        (size, &mut day, &checks),
        &mut facts,
        report,
    )?;
    let scripts = root.join("scripts");
    facts.loaded = server.memory()?;
    if let (Some(pb), Some(idle)) = (&pb, pb_idle) {
        facts.pocketbase = Some(PocketBaseFacts {
            seed_seconds: pb.seed_seconds,
            startup: pb.server.startup,
            idle,
            loaded: pb.server.memory()?,
        });
    }
    // The login bursts measure clinicdesk alone: PocketBase sits idle.
    drop(pb);
    facts.burst = Some(burst::login_burst(
        o,
        &server,
        &scripts,
        &staff,
        &accounts.password,
        size,
    )?);
    facts.after_burst = server.memory()?;
    server.stop();
    // The start above followed the seeding, which changed the file behind
    // clinicdesk's back, so it ran the full integrity check; a restart
    // after a clean stop may skip it (`clinicdesk.sqlite3-closed`).
    let restarted = Server::start(&o.binary, &data)?;
    facts.restart = restarted.startup;
    restarted.stop();
    facts.load = (load_at_start, machine::loadavg());
    Ok(facts)
}

/// The patients, doctors and mappings (`seed::seed`), with what was
/// written, and the duplicate check's requests.
fn seed_patients(
    db_path: &Path,
    size: i64,
    accounts: &Accounts,
) -> anyhow::Result<(seed::Seeded, Vec<duplicates::Check>)> {
    let seeded = seed::seed(db_path, size, accounts.staff_id, accounts.user_id)?;
    eprintln!(
        "   {} patients, {} doctors, {} mappings in {:.1} s",
        seeded.patients,
        seed::DOCTORS,
        seeded.mappings,
        seeded.seconds
    );
    eprintln!(
        "   {} sound-alike second records planted, {} of them scoring at or above the default threshold",
        seeded.planted, seeded.planted_alike
    );
    let checks = duplicates::checks(&seeded.samples);
    eprintln!(
        "   duplicate_check: {} requests, {} of them a seeded person whose variant scores at or above the default threshold",
        checks.len(),
        checks.iter().filter(|c| c.expect.is_some()).count()
    );
    Ok((seeded, checks))
}

/// clinicdesk's server and its two accounts' tokens.
struct Target<'a> {
    server: &'a Server,
    staff: &'a str,
    user: &'a str,
}

/// Every chosen scenario at every concurrency; with `PocketBase`, each run
/// of clinicdesk's is followed by `PocketBase`'s, round by round. `book`
/// takes its slots from the day's booking plan, `duplicate_check` its
/// requests from `checks`.
fn run_scenarios(
    o: &Options,
    (cd, pb): (&Target<'_>, Option<&PocketBase>),
    root: &Path,
    (size, day, checks): (i64, &mut appointments::Seeded, &[duplicates::Check]),
    facts: &mut SizeFacts,
    report: &mut Report,
) -> anyhow::Result<()> {
    let scripts = root.join("scripts");
    std::fs::create_dir_all(&scripts)?;
    for &scenario in &o.scenarios {
        if scenario == "import" {
            // One request, timed once: not a rate for wrk.
            import::run(cd.server.addr, cd.staff)?;
            continue;
        }
        if scenario == "post_patient" {
            // The disk's rate varies with other writers on the machine:
            // measure it right before the durable writes.
            facts.fsync_per_sec = machine::fsync_rate(root, Duration::from_secs(2))?;
        }
        let as_user = scenario == "get_patient_user";
        let token = if as_user { cd.user } else { cd.staff };
        let script = wrk::write_script(
            &scripts,
            System::Clinicdesk,
            scenario,
            &Caller { token, owner: "" },
            size,
        )?;
        if scenario == "duplicate_check" {
            wrk::add_checks(&script, &duplicates::lua_table(checks))?;
        }
        match scenario {
            "board" => appointments::check_board(cd.server.addr, token, day)?,
            "duplicate_check" => duplicates::check_once(cd.server.addr, token, checks)?,
            "book" => appointments::check_book(cd.server.addr, token, &mut day.plan)?,
            _ => check_once(cd.server.addr, scenario, token, size)?,
        }
        let pb_script = match &pb {
            Some(pb) if pocketbase::runs(scenario) => {
                let caller = if as_user {
                    Caller {
                        token: &pb.user,
                        owner: pocketbase::USER_ID,
                    }
                } else {
                    Caller {
                        token: &pb.staff,
                        owner: pocketbase::STAFF_ID,
                    }
                };
                pocketbase::check_once(pb, scenario, size)?;
                Some((
                    pb,
                    wrk::write_script(&scripts, System::PocketBase, scenario, &caller, size)?,
                ))
            }
            _ => None,
        };
        for &c in &o.concurrency {
            // Round by round, clinicdesk then PocketBase; each keeps its best.
            let (mut best, mut pb_best) = (None::<Measured>, None::<Measured>);
            for round in 1..=o.rounds {
                let threads = wrk::threads(c);
                let args = if scenario == "book" {
                    day.plan.args(threads)?
                } else {
                    Vec::new()
                };
                let m = wrk::run(cd.server.addr, &script, c, o.duration, &args)?;
                if scenario == "book" {
                    day.plan.used(threads, m.made)?;
                }
                settle(cd.server.addr, &patient_path(System::Clinicdesk), cd.staff)?;
                print_run(System::Clinicdesk, scenario, c, round, &m);
                best = Some(better(best, m));
                if let Some((pb, pb_script)) = &pb_script {
                    let m = wrk::run(pb.server.addr, pb_script, c, o.duration, &[])?;
                    settle(pb.server.addr, &patient_path(System::PocketBase), &pb.staff)?;
                    print_run(System::PocketBase, scenario, c, round, &m);
                    pb_best = Some(better(pb_best, m));
                }
            }
            for (system, m) in [(System::Clinicdesk, best), (System::PocketBase, pb_best)] {
                if let Some(m) = m {
                    report.rows.push(Row {
                        system,
                        size,
                        scenario,
                        concurrency: c,
                        m,
                    });
                }
            }
        }
    }
    Ok(())
}

/// The better of two runs of the same thing: more requests a second.
fn better(best: Option<Measured>, m: Measured) -> Measured {
    match best {
        Some(b) if b.rps >= m.rps => b,
        _ => m,
    }
}

fn print_run(system: System, scenario: &str, c: u32, round: u32, m: &Measured) {
    eprintln!(
        "   {:<10} {scenario:<18} c={c:<3} r{round} {:>8.0} req/s  p50 {:>8.2} ms  p99 {:>8.2} ms  errors {}",
        system.name(),
        m.rps,
        m.p50,
        m.p99,
        m.errors
    );
}

/// The recorded read `settle` times: patient 1, as staff.
fn patient_path(system: System) -> String {
    match system {
        System::Clinicdesk => "/api/patients/1/".to_owned(),
        System::PocketBase => format!(
            "/api/collections/patients/records/{}",
            pocketbase::record_id('p', 1)
        ),
    }
}

/// The admin from the command line, then a staff and a user account over
/// the API (with a password of their own, not a temporary one), and the
/// clinic's time zone (`appointments::ZONE`).
fn make_accounts(binary: &Path, data: &Path) -> anyhow::Result<Accounts> {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut rng = seed::Rng::new(u64::from(std::process::id()) << 32 | u64::from(clock));
    let password = format!("Bench-{:016x}-{:016x}", rng.next_u64(), rng.next_u64());
    server::create_admin(binary, data, ADMIN, &password)?;
    let server = Server::start(binary, data)?;
    let admin = login(server.addr, ADMIN, &password)?;
    let mut ids = Vec::new();
    for (email, role) in [(STAFF, "staff"), (USER, "user")] {
        let body = json!({
            "email": email, "name": format!("Bench {role}"), "password": password,
            "role": role, "must_change_password": false,
        });
        let resp = http::request(
            server.addr,
            "POST",
            "/api/users/",
            Some(&admin),
            Some(&body),
        )?;
        anyhow::ensure!(
            resp.status == 201,
            "creating the {role} account: {} {}",
            resp.status,
            resp.body
        );
        ids.push(
            resp.json()?["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no id"))?,
        );
    }
    let zone = json!({ "time_zone": appointments::ZONE });
    let resp = http::request(
        server.addr,
        "PATCH",
        "/api/settings/",
        Some(&admin),
        Some(&zone),
    )?;
    anyhow::ensure!(
        resp.status == 200,
        "setting the time zone: {} {}",
        resp.status,
        resp.body
    );
    server.stop();
    Ok(Accounts {
        password,
        staff_id: ids[0],
        user_id: ids[1],
    })
}

/// Logs in; returns the access token (never printed).
fn login(addr: SocketAddr, email: &str, password: &str) -> anyhow::Result<String> {
    let body = json!({ "email": email, "password": password });
    let resp = http::request(addr, "POST", "/api/auth/login/", None, Some(&body))?;
    anyhow::ensure!(
        resp.status == 200,
        "login of {email} answered {}",
        resp.status
    );
    resp.json()?["access"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("login answered no access token"))
}

/// One request of the scenario's kind with the harness's own client, so
/// a wrong path or token fails loudly before wrk measures anything.
fn check_once(addr: SocketAddr, scenario: &str, token: &str, size: i64) -> anyhow::Result<()> {
    let (method, path, body) = match scenario {
        "health" => ("GET", "/api/health".to_owned(), None),
        "get_patient_user" => ("GET", "/api/patients/10/".to_owned(), None),
        "get_patient_staff" | "mixed" => ("GET", format!("/api/patients/{size}/"), None),
        "page50" => ("GET", "/api/patients/?page=2&page_size=50".to_owned(), None),
        "page50_last_name" => (
            "GET",
            "/api/patients/?page_size=50&ordering=last_name".to_owned(),
            None,
        ),
        "search_name" => ("GET", "/api/patients/?search=mar".to_owned(), None),
        "search_phone" => ("GET", "/api/patients/?search=4567".to_owned(), None),
        "mappings" => ("GET", "/api/mappings/1/".to_owned(), None),
        "post_patient" => (
            "POST",
            "/api/patients/".to_owned(),
            Some(json!({"first_name": "Check", "last_name": "Once"})),
        ),
        "patch_patient" => (
            "PATCH",
            "/api/patients/1/".to_owned(),
            Some(json!({"city": "Salem"})),
        ),
        other => anyhow::bail!("no check for {other}"),
    };
    let token = (scenario != "health").then_some(token);
    let resp = http::request(addr, method, &path, token, body.as_ref())?;
    anyhow::ensure!(
        (200..300).contains(&resp.status),
        "{scenario}: {method} {path} answered {}: {}",
        resp.status,
        resp.body
    );
    if scenario == "page50" {
        let items = resp.json()?.as_array().map_or(0, Vec::len);
        anyhow::ensure!(
            items == 50usize.min(usize::try_from(size)?.saturating_sub(50)),
            "page50 returned {items} rows"
        );
    }
    Ok(())
}

/// Waits until requests wrk left queued are done: wrk stops sending when
/// its time is up, but slow requests already sent keep the server (and
/// `SQLite`'s one write lock, which recorded reads take) busy and would be
/// charged to the next scenario (or to the other system's run). A read of
/// `path` that answers within 50 ms means the queue is gone. At most
/// `SETTLE`: after the 100,000-patient import, the debug binary of the smoke
/// run was once still busy after 60 s.
fn settle(addr: SocketAddr, path: &str, staff: &str) -> anyhow::Result<()> {
    const SETTLE: Duration = Duration::from_secs(180);
    let began = Instant::now();
    while began.elapsed() < SETTLE {
        let t = Instant::now();
        let resp = http::request(addr, "GET", path, Some(staff), None)?;
        if resp.status == 200 && t.elapsed() < Duration::from_millis(50) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!(
        "the server was still busy {} s after the load stopped",
        SETTLE.as_secs()
    )
}
