//! Load from wrk: one Lua script per scenario (requests made up front in
//! `init`, cycled by `request`, summarised by `done` as one JSON line).

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
}

/// Requests per wrk thread, made in `init` and cycled.
const PREPARED: u32 = 2000;

/// The Lua shared by every scenario; `{make}` defines `make()`, which
/// returns one formatted request.
const TEMPLATE: &str = r#"
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
local function patient_body()
  return string.format('{"first_name":"%s","last_name":"%s","phone":"%03d-%03d-%04d","date_of_birth":"%d-%02d-%02d","gender":"%s","city":"%s","blood_group":"O+","email":"bench%d@example.com"}',
    pick(firsts), pick(lasts), math.random(200, 999), math.random(200, 999), math.random(0, 9999),
    math.random(1930, 2024), math.random(1, 12), math.random(1, 28), pick({"F", "M", "O"}), pick(cities), math.random(1, 1000000))
end
local function post_patient() return wrk.format("POST", "/api/patients/", headers, patient_body()) end
local function patch_patient()
  local body = string.format('{"phone":"%03d-%03d-%04d","city":"%s"}', math.random(200, 999), math.random(200, 999), math.random(0, 9999), pick(cities))
  return wrk.format("PATCH", "/api/patients/" .. any_id() .. "/", headers, body)
end
local function page() return get("/api/patients/?page=" .. math.random(1, 20) .. "&page_size=50") end
local function search_name() return get("/api/patients/?search=" .. pick(name_terms)) end
local function search_phone() return get("/api/patients/?search=" .. string.format("%04d", math.random(0, 9999))) end
{make}
function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end
function init(args)
  math.randomseed({seed} + 7919 * (thread_id or 0))
  for k = 1, count do prepared[k] = make() end
end
function request()
  at = at % count + 1
  return prepared[at]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"bench":1,"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
"#;

/// The `make()` of each scenario.
pub fn make_function(scenario: &str) -> anyhow::Result<&'static str> {
    Ok(match scenario {
        "health" => "local function make() return wrk.format(\"GET\", \"/api/health\") end",
        "get_patient_user" | "get_patient_staff" => {
            if scenario.ends_with("user") {
                "local function make() return get(\"/api/patients/\" .. own_id() .. \"/\") end"
            } else {
                "local function make() return get(\"/api/patients/\" .. any_id() .. \"/\") end"
            }
        }
        "page50" => "local function make() return page() end",
        "page50_last_name" => {
            "local function make() return get(\"/api/patients/?page=\" .. math.random(1, 20) .. \"&page_size=50&ordering=last_name\") end"
        }
        "search_name" => "local function make() return search_name() end",
        "search_phone" => "local function make() return search_phone() end",
        "post_patient" => "local function make() return post_patient() end",
        "patch_patient" => "local function make() return patch_patient() end",
        "mappings" => {
            "local function make() return get(\"/api/mappings/\" .. any_id() .. \"/\") end"
        }
        // 80 % reads, 20 % writes.
        "mixed" => {
            r#"local function make()
  local r = math.random(1, 100)
  if r <= 40 then return get("/api/patients/" .. any_id() .. "/")
  elseif r <= 55 then return page()
  elseif r <= 70 then return search_name()
  elseif r <= 80 then return get("/api/mappings/" .. any_id() .. "/")
  elseif r <= 90 then return post_patient()
  else return patch_patient() end
end"#
        }
        other => anyhow::bail!("unknown scenario {other}"),
    })
}

/// Writes the scenario's script (it holds a token: the directory is the
/// run's private temporary directory).
pub fn write_script(
    dir: &Path,
    scenario: &str,
    token: &str,
    patients: i64,
) -> anyhow::Result<std::path::PathBuf> {
    let lua = TEMPLATE
        .replace("{make}", make_function(scenario)?)
        .replace("{token}", token)
        .replace("{patients}", &patients.to_string())
        .replace("{prepared}", &PREPARED.to_string())
        .replace("{seed}", "20261123");
    let path = dir.join(format!("{scenario}.lua"));
    std::fs::write(&path, lua)?;
    Ok(path)
}

/// Runs wrk against `addr` and parses what `done` printed.
pub fn run(
    addr: SocketAddr,
    script: &Path,
    connections: u32,
    duration: Duration,
) -> anyhow::Result<Measured> {
    anyhow::ensure!(addr.ip().is_loopback(), "wrk only ever targets loopback");
    let threads = connections.clamp(1, 2);
    let out = Command::new("wrk")
        .arg(format!("-t{threads}"))
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--timeout", "30s", "-s"])
        .arg(script)
        .arg(format!("http://{addr}/"))
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
