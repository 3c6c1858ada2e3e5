//! Load from wrk: one Lua script per scenario and system (requests made up
//! front in `init`, cycled by `request`, summarised by `done` as one JSON
//! line). The scenarios are written once, against a small "dialect" per
//! system that says where a patient, a page or a search lives.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// What one wrk run measured. Latencies in milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    pub requests: u64,
    pub rps: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Responses with status ≥ 400 (wrk's count) plus socket errors and timeouts.
    pub errors: u64,
    /// Of `errors`: connect, read and write errors and timeouts (30 s).
    pub socket_errors: u64,
    /// The most requests one thread made up (only a scenario that makes
    /// each request as it goes counts them: `book`).
    pub made: u64,
}

/// Requests per wrk thread, made in `init` and cycled.
const PREPARED: u32 = 2000;

/// The system a script talks to: the same scenarios, each system's own
/// paths and ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    Clinicdesk,
    PocketBase,
}

impl System {
    pub fn name(self) -> &'static str {
        match self {
            Self::Clinicdesk => "clinicdesk",
            Self::PocketBase => "PocketBase",
        }
    }

    /// The Lua that defines the paths (and the created-by field a create
    /// must send) for this system; the scenarios are written against it.
    fn dialect(self) -> &'static str {
        match self {
            Self::Clinicdesk => CLINICDESK,
            Self::PocketBase => POCKETBASE,
        }
    }
}

/// clinicdesk's paths: ids are the seeded integers.
const CLINICDESK: &str = r#"
local patients_path = "/api/patients/"
local owner_field = ""
local function patient_path(id) return "/api/patients/" .. id .. "/" end
local function mappings_path(id) return "/api/mappings/" .. id .. "/" end
local function page_path(page, order)
  local path = "/api/patients/?page=" .. page .. "&page_size=50"
  if order then path = path .. "&ordering=" .. order end
  return path
end
local function search_path(term) return "/api/patients/?search=" .. term end
"#;

/// `PocketBase`'s paths: record ids are the seeded integers written as
/// `p` and 14 digits (see `pocketbase::record_id`), and every list asks
/// for what clinicdesk answers by default: 50 a page, the total (which
/// `PocketBase` counts unless `skipTotal`), ordered by id. A create names
/// its owner, which the collection's rule checks is the caller.
const POCKETBASE: &str = r#"
local patients_path = "/api/collections/patients/records"
local owner_field = ',"created_by":"{owner}"'
local function enc(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local function record_id(prefix, id) return string.format("%s%014d", prefix, id) end
local function patient_path(id) return patients_path .. "/" .. record_id("p", id) end
local function mappings_path(id)
  return "/api/collections/mappings/records?perPage=500&skipTotal=1&expand=doctor&filter="
    .. enc("patient='" .. record_id("p", id) .. "'")
end
local function page_path(page, order)
  return patients_path .. "?page=" .. page .. "&perPage=50&sort=" .. (order and (order .. ",id") or "id")
end
local function search_path(term)
  local q = string.format("first_name~'%s' || last_name~'%s' || email~'%s' || phone~'%s'", term, term, term, term)
  return patients_path .. "?perPage=50&sort=id&filter=" .. enc(q)
end
"#;

/// The Lua shared by every scenario; `{dialect}` defines the system's
/// paths, `{make}` defines `make()`, which returns one formatted request.
/// A scenario whose requests must all differ (`book`, and every scenario
/// that creates patients) sets `dynamic`: its requests are made one by one
/// as wrk sends them, not prepared and cycled, from a random sequence that
/// starts anew each run (the clock is in the seed). Cycled, or repeated by
/// the next run or round, a create would register the same few thousand
/// people over and over, each time one more exact duplicate for the
/// duplicate check to find and pair, which is no clinic's day.
/// The run's arguments (after the URL) are numbers, in `arg_values`.
const TEMPLATE: &str = r#"
local dynamic = false
local threads = {}
arg_values = {}
local headers = {["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json"}
local n = {patients}
local prepared = {}
local count = {prepared}
local at = 0
local next_id = 0
local function pick(list) return list[math.random(1, #list)] end
local firsts = {"Ada", "Grace", "José", "Priya", "Wei", "Amara", "Lars", "Zoë", "Omar", "Mary"}
local lasts = {"Lovelace", "Hopper", "García", "Sharma", "Chen", "Okafor", "Müller", "Smith"}
local cities = {"Springfield", "Riverside", "Franklin", "Salem", "Madison"}
local name_terms = {"mar", "son", "gonz", "ell", "pat", "kum", "chen", "ros", "wil", "ann", "müll", "jos", "ram", "kel"}
local function any_id() return math.random(1, n) end
local function own_id() return 10 * math.random(1, math.max(1, math.floor(n / 10))) end
local function get(path) return wrk.format("GET", path, headers) end
{dialect}
local function patient_body()
  return string.format('{"first_name":"%s","last_name":"%s","phone":"%03d-%03d-%04d","date_of_birth":"%d-%02d-%02d","gender":"%s","city":"%s","blood_group":"O+","email":"bench%d@example.com"%s}',
    pick(firsts), pick(lasts), math.random(200, 999), math.random(200, 999), math.random(0, 9999),
    math.random(1930, 2024), math.random(1, 12), math.random(1, 28), pick({"F", "M", "O"}), pick(cities), math.random(1, 1000000),
    owner_field)
end
local function post_patient() return wrk.format("POST", patients_path, headers, patient_body()) end
local function patch_patient()
  local body = string.format('{"phone":"%03d-%03d-%04d","city":"%s"}', math.random(200, 999), math.random(200, 999), math.random(0, 9999), pick(cities))
  return wrk.format("PATCH", patient_path(any_id()), headers, body)
end
local function page() return get(page_path(math.random(1, 20))) end
local function search_name() return get(search_path(pick(name_terms))) end
local function search_phone() return get(search_path(string.format("%04d", math.random(0, 9999)))) end
{make}
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
  table.insert(threads, thread)
end
function init(args)
  math.randomseed({seed} + 7919 * (thread_id or 0) + (dynamic and os.time() or 0))
  for k = 1, #args do arg_values[k] = tonumber(args[k]) end
  if dynamic then return end
  for k = 1, count do prepared[k] = make() end
end
function request()
  if dynamic then return make() end
  at = at % count + 1
  return prepared[at]
end
function done(summary, latency, requests)
  local e = summary.errors
  local made = 0
  for _, thread in ipairs(threads) do made = math.max(made, tonumber(thread:get("made")) or 0) end
  io.write(string.format('{"bench":1,"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"made":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, made))
end
"#;

/// The `make()` of each scenario, written against the dialect's paths.
pub fn make_function(scenario: &str) -> anyhow::Result<&'static str> {
    Ok(match scenario {
        "health" => "local function make() return wrk.format(\"GET\", \"/api/health\") end",
        "get_patient_user" => "local function make() return get(patient_path(own_id())) end",
        "get_patient_staff" => "local function make() return get(patient_path(any_id())) end",
        "page50" => "local function make() return page() end",
        "page50_last_name" => {
            "local function make() return get(page_path(math.random(1, 20), \"last_name\")) end"
        }
        "search_name" => "local function make() return search_name() end",
        "search_phone" => "local function make() return search_phone() end",
        "post_patient" => "dynamic = true\nlocal function make() return post_patient() end",
        "patch_patient" => "local function make() return patch_patient() end",
        "mappings" => "local function make() return get(mappings_path(any_id())) end",
        "board" => "local function make() return get(\"{board_path}\") end",
        // The harness fills in the prepared paths (`add_checks`).
        "duplicate_check" => {
            "local checks = {duplicate_checks}\nlocal function make() return get(pick(checks)) end"
        }
        "book" => BOOK,
        // 80 % reads, 20 % writes.
        "mixed" => {
            r"dynamic = true
local function make()
  local r = math.random(1, 100)
  if r <= 40 then return get(patient_path(any_id()))
  elseif r <= 55 then return page()
  elseif r <= 70 then return search_name()
  elseif r <= 80 then return get(mappings_path(any_id()))
  elseif r <= 90 then return post_patient()
  else return patch_patient() end
end"
        }
        other => anyhow::bail!("unknown scenario {other}"),
    })
}

/// The Today board as the UI asks for it (clinicdesk only).
pub const BOARD_PATH: &str = "/api/appointments/?date=today&page_size=500&ordering=start";

/// `book`: a new appointment each request, at the slot
/// `appointments::BookingPlan` assigns to its number (the same arithmetic:
/// keep the two in step). The arguments are the plan's: first booking,
/// threads, doctors, the first Monday's UTC midnight in seconds. `made`
/// counts this thread's bookings, which the harness reads to move the plan on.
const BOOK: &str = r#"dynamic = true
made = 0
local function make()
  local first, threads_n, doctors, monday = arg_values[1], arg_values[2], arg_values[3], arg_values[4]
  local k = first + made * threads_n + (thread_id - 1)
  made = made + 1
  local per_day = doctors * 32
  local day, within = math.floor(k / per_day), k % per_day
  local cell, doctor = math.floor(within / doctors), within % doctors + 1
  local share = math.floor(n / doctors)
  local patient = (doctor - 1) * share + (day * 32 + cell) % share + 1
  local date = os.date("!%Y-%m-%d", monday + (math.floor(day / 5) * 7 + day % 5) * 86400)
  local minute = cell < 16 and (480 + 15 * cell) or (780 + 15 * (cell - 16))
  local start = string.format("%sT%02d:%02d", date, math.floor(minute / 60), minute % 60)
  local body = string.format('{"patient":%d,"doctor":%d,"start":"%s","reason":"Check-up"}', patient, doctor, start)
  return wrk.format("POST", "/api/appointments/", headers, body)
end"#;

/// Who a script acts as: the bearer token, and (for `PocketBase`, whose
/// creates name their owner) the account's record id.
pub struct Caller<'a> {
    pub token: &'a str,
    pub owner: &'a str,
}

/// Writes the scenario's script for `system` (it holds a token: the
/// directory is the run's private temporary directory).
pub fn write_script(
    dir: &Path,
    system: System,
    scenario: &str,
    caller: &Caller<'_>,
    patients: i64,
) -> anyhow::Result<std::path::PathBuf> {
    let lua = TEMPLATE
        .replace("{dialect}", system.dialect())
        .replace("{make}", make_function(scenario)?)
        .replace("{owner}", caller.owner)
        .replace("{board_path}", BOARD_PATH)
        .replace("{token}", caller.token)
        .replace("{patients}", &patients.to_string())
        .replace("{prepared}", &PREPARED.to_string())
        .replace("{seed}", "20261123");
    let prefix = match system {
        System::Clinicdesk => "",
        System::PocketBase => "pb-",
    };
    let path = dir.join(format!("{prefix}{scenario}.lua"));
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// Puts the duplicate check's prepared paths (a Lua table) into its script.
pub fn add_checks(script: &Path, table: &str) -> anyhow::Result<()> {
    let lua = std::fs::read_to_string(script)?;
    anyhow::ensure!(
        lua.contains("{duplicate_checks}"),
        "{} has no place for the checks",
        script.display()
    );
    std::fs::write(script, lua.replace("{duplicate_checks}", table))?;
    Ok(())
}

/// wrk threads for `connections` (the machine has two cores).
pub fn threads(connections: u32) -> u32 {
    connections.clamp(1, 2)
}

/// Runs wrk against `addr` and parses what `done` printed; `args` go to
/// the script (`arg_values`).
pub fn run(
    addr: SocketAddr,
    script: &Path,
    connections: u32,
    duration: Duration,
    args: &[String],
) -> anyhow::Result<Measured> {
    anyhow::ensure!(addr.ip().is_loopback(), "wrk only ever targets loopback");
    let threads = threads(connections);
    let out = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--timeout", "30s", "-s"])
        .arg(script)
        .arg(format!("http://{addr}/"))
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "wrk failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let line = stdout
        .lines()
        .find(|line| line.starts_with("{\"bench\""))
        .ok_or_else(|| anyhow::anyhow!("wrk printed no summary: {stdout}"))?;
    let v: serde_json::Value = serde_json::from_str(line)?;
    let int = |k: &str| v[k].as_u64().unwrap_or(0);
    #[allow(clippy::cast_precision_loss)]
    let ms = |k: &str| int(k) as f64 / 1000.0;
    #[allow(clippy::cast_precision_loss)]
    let rps = int("requests") as f64 / (int("duration_us").max(1) as f64 / 1e6);
    Ok(Measured {
        requests: int("requests"),
        rps,
        p50: ms("p50"),
        p95: ms("p95"),
        p99: ms("p99"),
        max: ms("max"),
        errors: ["connect", "read", "write", "status", "timeout"]
            .iter()
            .map(|k| int(k))
            .sum(),
        socket_errors: ["connect", "read", "write", "timeout"]
            .iter()
            .map(|k| int(k))
            .sum(),
        made: int("made"),
    })
}

/// Installs wrk from Debian's archive when it is missing.
pub fn ensure_installed() -> anyhow::Result<()> {
    let present = || {
        Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
    };
    if present() {
        return Ok(());
    }
    eprintln!("== installing wrk (apt-get)");
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))?;
    let apt = |args: &[&str]| {
        let mut cmd = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
    };
    apt(&["update", "-qq"])?;
    apt(&["install", "-y", "-qq", "wrk"])?;
    anyhow::ensure!(
        present(),
        "wrk is missing and could not be installed (apt-get install wrk)"
    );
    Ok(())
}
