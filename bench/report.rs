//! The report: one table of every clinicdesk run, its ratio to the
//! `/api/health` floor of the same size and concurrency, the fixed facts
//! (start-up, memory, binary size, fsync rate), and each target of issue 6
//! checked; then, when `PocketBase` ran beside it, the two side by side
//! and each target of issue 10 checked.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::server::Memory;
use crate::wrk::{Measured, System};

mod side_by_side;

pub struct Row {
    pub system: System,
    pub size: i64,
    pub scenario: &'static str,
    pub concurrency: u32,
    pub m: Measured,
}

pub struct Burst {
    pub before: Measured,
    pub during: Measured,
    pub bursts: usize,
    pub logins: u64,
    pub failed_logins: u64,
    pub login_seconds: f64,
    pub slowest_login: Duration,
}

#[derive(Default)]
pub struct SizeFacts {
    pub patients: i64,
    pub mappings: i64,
    pub seed_seconds: f64,
    pub appointments: i64,
    /// Of them, on the clinic's today (the board's rows).
    pub today: i64,
    pub appointments_seconds: f64,
    /// The first start, on the freshly seeded file (a full integrity check).
    pub startup: Duration,
    /// A start after the load and a clean stop.
    pub restart: Duration,
    pub idle: Memory,
    pub loaded: Memory,
    pub after_burst: Memory,
    pub burst: Option<Burst>,
    /// `/proc/loadavg` when the size started and ended: other work on the
    /// machine (builds) shows here.
    pub load: (String, String),
    /// The fsync loop just before the POST scenario.
    pub fsync_per_sec: f64,
    /// When `PocketBase` ran beside clinicdesk at this size.
    pub pocketbase: Option<PocketBaseFacts>,
    /// Sound-alike second records the seed planted (every 500th patient).
    pub planted: i64,
    /// Of them, those the crate's score puts at or above the default threshold.
    pub planted_alike: i64,
}

pub struct PocketBaseFacts {
    /// From its first request to the last record copied over HTTP.
    pub seed_seconds: f64,
    pub startup: Duration,
    pub idle: Memory,
    pub loaded: Memory,
}

pub struct Report {
    pub binary: PathBuf,
    pub smoke: bool,
    pub binary_bytes: u64,
    pub stripped_bytes: Option<u64>,
    pub fsync_per_sec: Option<f64>,
    pub startups: Vec<Duration>,
    pub idle_empty: Vec<Memory>,
    pub rows: Vec<Row>,
    pub sizes: Vec<SizeFacts>,
    pub total: Duration,
}

fn mib(kib: u64) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    let kib = kib as f64;
    kib / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

impl Report {
    pub fn new(binary: &Path, smoke: bool) -> Self {
        Self {
            binary: binary.to_path_buf(),
            smoke,
            binary_bytes: 0,
            stripped_bytes: None,
            fsync_per_sec: None,
            startups: Vec::new(),
            idle_empty: Vec::new(),
            rows: Vec::new(),
            sizes: Vec::new(),
            total: Duration::ZERO,
        }
    }

    /// Requests that failed: non-2xx answers and socket errors from wrk,
    /// plus failed logins in the bursts.
    pub fn failed_requests(&self) -> u64 {
        let wrk: u64 = self.rows.iter().map(|r| r.m.errors).sum();
        let bursts: u64 = self
            .sizes
            .iter()
            .filter_map(|s| s.burst.as_ref())
            .map(|b| b.before.errors + b.during.errors + b.failed_logins)
            .sum();
        wrk + bursts
    }

    fn floor(&self, size: i64, concurrency: u32) -> Option<f64> {
        self.find(size, "health", concurrency).map(|m| m.rps)
    }

    /// clinicdesk's run.
    fn find(&self, size: i64, scenario: &str, concurrency: u32) -> Option<&Measured> {
        self.find_in(System::Clinicdesk, size, scenario, concurrency)
    }

    fn find_in(
        &self,
        system: System,
        size: i64,
        scenario: &str,
        concurrency: u32,
    ) -> Option<&Measured> {
        self.rows
            .iter()
            .find(|r| {
                r.system == system
                    && r.size == size
                    && r.scenario == scenario
                    && r.concurrency == concurrency
            })
            .map(|r| &r.m)
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "## clinicdesk HTTP benchmark{}\n",
            if self.smoke { " (smoke)" } else { "" }
        );
        let _ = writeln!(
            out,
            "binary: `{}`; total run time {:.0} s\n",
            self.binary.display(),
            self.total.as_secs_f64()
        );
        out.push_str("| patients | scenario | conc | req/s | p50 ms | p95 ms | p99 ms | max ms | requests | errors | × floor |\n");
        out.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in self.rows.iter().filter(|r| r.system == System::Clinicdesk) {
            let ratio = self
                .floor(r.size, r.concurrency)
                .map_or("-".to_owned(), |f| format!("{:.2}", r.m.rps / f));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} | {} | {ratio} |",
                r.size,
                r.scenario,
                r.concurrency,
                r.m.rps,
                r.m.p50,
                r.m.p95,
                r.m.p99,
                r.m.max,
                r.m.requests,
                errors(&r.m)
            );
        }
        out.push('\n');
        self.render_facts(&mut out);
        self.render_targets(&mut out);
        self.render_side_by_side(&mut out);
        out
    }

    fn render_facts(&self, out: &mut String) {
        let mut startups: Vec<f64> = self.startups.iter().map(|d| ms(*d)).collect();
        startups.sort_by(f64::total_cmp);
        let _ = writeln!(
            out,
            "- start-up to first 200, empty data dir: median {:.1} ms (runs: {})",
            median(&startups),
            startups
                .iter()
                .map(|v| format!("{v:.1}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let idle: Vec<f64> = self.idle_empty.iter().map(|m| mib(m.rss_kib)).collect();
        let _ = writeln!(
            out,
            "- idle RSS, empty data dir, 0.5 s after start: {:.1} MiB",
            median(&idle)
        );
        let _ = writeln!(
            out,
            "- binary: {:.1} MiB as built, {} stripped",
            mib(self.binary_bytes / 1024),
            self.stripped_bytes
                .map_or("?".to_owned(), |b| format!("{:.1} MiB", mib(b / 1024)))
        );
        if let Some(rate) = self.fsync_per_sec {
            let _ = writeln!(
                out,
                "- fsync loop (4 KiB write + fdatasync, same disk as the data dir): {rate:.0} /s"
            );
        }
        for s in &self.sizes {
            let _ = writeln!(
                out,
                "- {} patients ({} mappings, seeded in {:.1} s): start-up {:.0} ms on the seeded file, {:.0} ms after a clean stop; RSS idle {:.1} MiB, after the load {:.1} MiB (peak {:.1} MiB), peak incl. login bursts {:.1} MiB; fsync loop before the POSTs {:.0} /s",
                s.patients,
                s.mappings,
                s.seed_seconds,
                ms(s.startup),
                ms(s.restart),
                mib(s.idle.rss_kib),
                mib(s.loaded.rss_kib),
                mib(s.loaded.hwm_kib),
                mib(s.after_burst.hwm_kib),
                s.fsync_per_sec
            );
            let _ = writeln!(
                out,
                "  - {} appointments ({} on today's board), 200 doctors' weekly hours, seeded in {:.1} s",
                s.appointments, s.today, s.appointments_seconds
            );
            let _ = writeln!(
                out,
                "  - {} sound-alike second records planted (every 500th patient), {} of them scoring ≥ the default threshold (60) against the first record",
                s.planted, s.planted_alike
            );
            let _ = writeln!(
                out,
                "  - load average (1/5/15 min) at start: {}; at end: {}",
                s.load.0, s.load.1
            );
            if let Some(b) = &s.burst {
                #[allow(clippy::cast_precision_loss)]
                let login_rate = b.logins as f64 / b.login_seconds.max(0.001);
                let _ = writeln!(
                    out,
                    "  - login bursts ({} × 50 parallel, {login_rate:.0} logins/s, slowest {:.0} ms, {} failed): staff reads at 16 conns p99 {:.2} ms before → {:.2} ms during ({:.2}×), {:.0} → {:.0} req/s",
                    b.bursts,
                    ms(b.slowest_login),
                    b.failed_logins,
                    b.before.p99,
                    b.during.p99,
                    b.during.p99 / b.before.p99.max(0.001),
                    b.before.rps,
                    b.during.rps
                );
            }
        }
        out.push('\n');
    }

    fn render_targets(&self, out: &mut String) {
        out.push_str("### Targets (issue 6)\n\n");
        let mut line =
            |name: String, met: Option<bool>, value: String| verdict(out, &name, met, &value);
        let top = |want: u32, have: &[u32]| {
            if have.contains(&want) {
                Some(want)
            } else {
                have.iter().max().copied()
            }
        };
        let concs: Vec<u32> = {
            let mut c: Vec<u32> = self.rows.iter().map(|r| r.concurrency).collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        let sizes: Vec<i64> = self.sizes.iter().map(|s| s.patients).collect();
        let largest = sizes.iter().max().copied().unwrap_or(0);
        if let Some(c) = top(64, &concs) {
            for scenario in ["get_patient_user", "get_patient_staff"] {
                for &n in &sizes {
                    if let (Some(m), Some(f)) = (self.find(n, scenario, c), self.floor(n, c)) {
                        line(
                            format!("{scenario} ≥ 50 % of /api/health at {c} conns, {n} patients"),
                            Some(m.rps >= 0.5 * f),
                            format!("{:.0} % ({:.0} of {f:.0} req/s)", 100.0 * m.rps / f, m.rps),
                        );
                    }
                }
            }
            let n = if sizes.contains(&100_000) {
                100_000
            } else {
                largest
            };
            for scenario in ["page50", "page50_last_name"] {
                if let (Some(m), Some(f)) = (self.find(n, scenario, c), self.floor(n, c)) {
                    line(
                        format!("{scenario} with total count ≥ 25 % of the floor at {c} conns, {n} patients"),
                        Some(m.rps >= 0.25 * f),
                        format!("{:.0} % ({:.0} of {f:.0} req/s)", 100.0 * m.rps / f, m.rps),
                    );
                }
            }
        }
        let n = if sizes.contains(&1_000_000) {
            1_000_000
        } else {
            largest
        };
        for scenario in ["search_name", "search_phone"] {
            match self.find(n, scenario, 1) {
                Some(m) => line(
                    format!("{scenario} p95 < 20 ms at 1 conn, {n} patients"),
                    Some(m.p95 < 20.0),
                    format!("p95 {:.2} ms", m.p95),
                ),
                None => line(format!("{scenario} p95 at 1 conn"), None, String::new()),
            }
            match self.find(n, scenario, 16) {
                Some(m) => line(
                    format!("{scenario} p99 < 100 ms at 16 conns, {n} patients"),
                    Some(m.p99 < 100.0),
                    format!("p99 {:.2} ms", m.p99),
                ),
                None => line(format!("{scenario} p99 at 16 conns"), None, String::new()),
            }
        }
        for facts in &self.sizes {
            let n = facts.patients;
            if let Some(m) = self.find(n, "post_patient", 16) {
                line(
                    format!("POST patient (synchronous=FULL) ≥ 1,000/s at 16 conns, {n} patients"),
                    Some(m.rps >= 1000.0),
                    format!(
                        "{:.0} /s (fsync loop just before: {:.0} /s)",
                        m.rps, facts.fsync_per_sec
                    ),
                );
            }
        }
        self.render_board_targets(out);
        self.render_duplicate_targets(out);
        self.render_fixed_targets(out);
    }

    /// Issue 13: the duplicate check while a patient is being typed in
    /// answers within 20 ms (p95) at 1,000,000 patients (or the largest
    /// size run), 16 connections.
    fn render_duplicate_targets(&self, out: &mut String) {
        let sizes: Vec<i64> = self.sizes.iter().map(|s| s.patients).collect();
        let Some(&largest) = sizes.iter().max() else {
            return;
        };
        let n = if sizes.contains(&1_000_000) {
            1_000_000
        } else {
            largest
        };
        let name = format!("duplicate_check p95 < 20 ms at 16 conns, {n} patients (issue 13)");
        match self.find(n, "duplicate_check", 16) {
            Some(m) => verdict(
                out,
                &name,
                Some(m.p95 < 20.0),
                &format!(
                    "p95 {:.2} ms ({:.0} req/s, p99 {:.2} ms)",
                    m.p95, m.rps, m.p99
                ),
            ),
            None => verdict(out, &name, None, ""),
        }
    }

    /// Issue 11: the Today board (one page of up to 500 appointments, with
    /// each patient's and doctor's name) costs at most two pages of 50
    /// patients, at 64 connections (or the most measured).
    fn render_board_targets(&self, out: &mut String) {
        let mut concs: Vec<u32> = self.rows.iter().map(|r| r.concurrency).collect();
        concs.sort_unstable();
        let Some(&top) = concs.last() else {
            return;
        };
        let c = if concs.contains(&64) { 64 } else { top };
        for facts in &self.sizes {
            let n = facts.patients;
            let (Some(board), Some(page)) = (self.find(n, "board", c), self.find(n, "page50", c))
            else {
                continue;
            };
            verdict(
                out,
                &format!(
                    "board (today's {} appointments, one page of 500) within 2× of page50 at {c} conns, {n} patients",
                    facts.today
                ),
                Some(2.0 * board.rps >= page.rps),
                &format!(
                    "{:.2}× page50's req/s ({:.0} vs {:.0}); p99 {:.2} vs {:.2} ms",
                    board.rps / page.rps,
                    board.rps,
                    page.rps,
                    board.p99,
                    page.p99
                ),
            );
        }
    }

    /// The targets that do not depend on the data size.
    fn render_fixed_targets(&self, out: &mut String) {
        let mut line =
            |name: String, met: Option<bool>, value: String| verdict(out, &name, met, &value);
        for s in &self.sizes {
            if let Some(b) = &s.burst {
                let ratio = b.during.p99 / b.before.p99.max(0.001);
                line(
                    format!(
                        "50 parallel logins: reads' p99 ≤ 2× baseline, {} patients",
                        s.patients
                    ),
                    Some(ratio <= 2.0),
                    format!("{ratio:.2}× ({:.2} → {:.2} ms)", b.before.p99, b.during.p99),
                );
                let peak = mib(s.after_burst.hwm_kib);
                line(
                    format!("peak RSS < 1.2 GiB, {} patients", s.patients),
                    Some(peak < 1228.8),
                    format!("{peak:.1} MiB"),
                );
            }
        }
        let startups: Vec<f64> = self.startups.iter().map(|d| ms(*d)).collect();
        let startup = median(&startups);
        line(
            "start-up to first 200, empty data dir < 100 ms".into(),
            Some(startup < 100.0),
            format!("median {startup:.1} ms"),
        );
        let idle = median(
            &self
                .idle_empty
                .iter()
                .map(|m| mib(m.rss_kib))
                .collect::<Vec<_>>(),
        );
        line(
            "idle RSS < 25 MB".into(),
            Some(idle * 1.048_576 < 25.0),
            format!("{idle:.1} MiB = {:.1} MB", idle * 1.048_576),
        );
        if let Some(bytes) = self.stripped_bytes {
            #[allow(clippy::cast_precision_loss)]
            let mb = bytes as f64 / 1e6;
            line(
                "stripped binary < 15 MB".into(),
                Some(mb < 15.0),
                format!("{mb:.1} MB"),
            );
        }
        if self.smoke {
            out.push_str("\n(smoke run: a debug binary and 10,000 patients say nothing about the targets; it checks the harness works.)\n");
        }
    }
}

/// The errors cell: the count, and how many of them were socket errors.
fn errors(m: &Measured) -> String {
    if m.socket_errors == 0 {
        m.errors.to_string()
    } else {
        format!("{} ({} socket)", m.errors, m.socket_errors)
    }
}

fn verdict(out: &mut String, name: &str, met: Option<bool>, value: &str) {
    let verdict = match met {
        Some(true) => "MET",
        Some(false) => "MISSED",
        None => "not measured",
    };
    if value.is_empty() {
        let _ = writeln!(out, "- {verdict}: {name}");
    } else {
        let _ = writeln!(out, "- {verdict}: {name} — {value}");
    }
}

fn median(sorted_or_not: &[f64]) -> f64 {
    let mut v = sorted_or_not.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}
