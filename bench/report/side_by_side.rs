//! clinicdesk next to `PocketBase`: the side-by-side table, both systems'
//! seed time, start-up and memory, and each target of issue 10 checked.

use std::fmt::Write;

use super::{errors, mib, ms, verdict, Report};
use crate::wrk::{Measured, System};

impl Report {
    /// The sizes at which `PocketBase` ran.
    fn side_by_side_sizes(&self) -> Vec<i64> {
        let mut sizes: Vec<i64> = self
            .rows
            .iter()
            .filter(|r| r.system == System::PocketBase)
            .map(|r| r.size)
            .collect();
        sizes.dedup();
        sizes
    }

    /// clinicdesk next to `PocketBase`, then the targets of issue 10.
    pub(super) fn render_side_by_side(&self, out: &mut String) {
        let sizes = self.side_by_side_sizes();
        if sizes.is_empty() {
            return;
        }
        let _ = writeln!(
            out,
            "\n### Side by side with PocketBase {}\n",
            crate::pocketbase::VERSION
        );
        out.push_str("Same rows, same scenarios, same concurrency, interleaved run by run (clinicdesk, then PocketBase); each figure is the better of the rounds. `÷ PB` is clinicdesk's req/s over PocketBase's; `× floor` is clinicdesk's req/s over its own `/api/health` at that concurrency.\n\n");
        out.push_str("| patients | scenario | conc | clinicdesk req/s | p50 ms | p99 ms | PocketBase req/s | p50 ms | p99 ms | ÷ PB | × floor | errors (cd / PB) |\n");
        out.push_str("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for r in self.rows.iter().filter(|r| r.system == System::PocketBase) {
            let Some(cd) = self.find(r.size, r.scenario, r.concurrency) else {
                continue;
            };
            let pb = &r.m;
            let floor = self
                .floor(r.size, r.concurrency)
                .map_or("-".to_owned(), |f| format!("{:.2}", cd.rps / f));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {floor} | {} / {} |",
                r.size,
                r.scenario,
                r.concurrency,
                cd.rps,
                cd.p50,
                cd.p99,
                pb.rps,
                pb.p50,
                pb.p99,
                cd.rps / pb.rps.max(0.001),
                errors(cd),
                errors(pb)
            );
        }
        out.push('\n');
        for s in &self.sizes {
            if let Some(pb) = &s.pocketbase {
                let _ = writeln!(
                    out,
                    "- PocketBase at {} patients: seeded over HTTP (batch API) in {:.1} s; start-up {:.0} ms; RSS idle {:.1} MiB, after the load {:.1} MiB (peak {:.1} MiB). clinicdesk: RSS idle {:.1} MiB, after the load {:.1} MiB (peak {:.1} MiB)",
                    s.patients,
                    pb.seed_seconds,
                    ms(pb.startup),
                    mib(pb.idle.rss_kib),
                    mib(pb.loaded.rss_kib),
                    mib(pb.loaded.hwm_kib),
                    mib(s.idle.rss_kib),
                    mib(s.loaded.rss_kib),
                    mib(s.loaded.hwm_kib)
                );
            }
        }
        out.push_str("\n### Targets (issue 10)\n\n");
        for &n in &sizes {
            self.render_issue10_targets(out, n);
        }
        out.push_str("- not checked here: no regression in search p95 at 1,000,000 patients, peak RSS or start-up (the issue-6 lines of a full run, against BENCHMARKS.md)\n");
    }

    /// clinicdesk's and `PocketBase`'s run of the same scenario.
    fn pair(&self, n: i64, scenario: &str, c: u32) -> Option<(&Measured, &Measured)> {
        self.find(n, scenario, c)
            .zip(self.find_in(System::PocketBase, n, scenario, c))
    }

    /// GET one patient at 16 and 64 connections.
    fn render_issue10_reads(&self, out: &mut String, n: i64) {
        let mut line =
            |name: String, met: Option<bool>, value: String| verdict(out, &name, met, &value);
        let pair = |scenario: &str, c: u32| self.pair(n, scenario, c);
        for scenario in ["get_patient_user", "get_patient_staff"] {
            for c in [16, 64] {
                let at = format!("{scenario} at {c} conns, {n} patients");
                let (Some((cd, pb)), Some(floor)) = (pair(scenario, c), self.floor(n, c)) else {
                    line(
                        format!("{at}: ≥ 50 % of the floor, ≥ 2× PocketBase, p99 ≤ PocketBase's"),
                        None,
                        String::new(),
                    );
                    continue;
                };
                line(
                    format!("{at}: ≥ 50 % of /api/health"),
                    Some(cd.rps >= 0.5 * floor),
                    format!(
                        "{:.0} % ({:.0} of {floor:.0} req/s)",
                        100.0 * cd.rps / floor,
                        cd.rps
                    ),
                );
                line(
                    format!("{at}: ≥ 2× PocketBase"),
                    Some(cd.rps >= 2.0 * pb.rps),
                    format!(
                        "{:.2}× ({:.0} vs {:.0} req/s)",
                        cd.rps / pb.rps,
                        cd.rps,
                        pb.rps
                    ),
                );
                line(
                    format!("{at}: p99 ≤ PocketBase's"),
                    Some(cd.p99 <= pb.p99),
                    format!("{:.2} vs {:.2} ms", cd.p99, pb.p99),
                );
            }
        }
    }

    fn render_issue10_targets(&self, out: &mut String, n: i64) {
        self.render_issue10_reads(out, n);
        let mut line =
            |name: String, met: Option<bool>, value: String| verdict(out, &name, met, &value);
        let pair = |scenario: &str, c: u32| self.pair(n, scenario, c);
        let concs: Vec<u32> = {
            let mut c: Vec<u32> = self
                .rows
                .iter()
                .filter(|r| r.size == n && r.system == System::PocketBase)
                .map(|r| r.concurrency)
                .collect();
            c.sort_unstable();
            c.dedup();
            c
        };
        for c in [16, 64] {
            let at = format!("post_patient (synchronous=FULL) at {c} conns, {n} patients");
            let Some((cd, pb)) = pair("post_patient", c) else {
                line(
                    format!("{at}: ≥ 2× PocketBase, p99 ≤ 50 ms"),
                    None,
                    String::new(),
                );
                continue;
            };
            line(
                format!("{at}: ≥ 2× PocketBase (synchronous=NORMAL)"),
                Some(cd.rps >= 2.0 * pb.rps),
                format!(
                    "{:.2}× ({:.0} vs {:.0} req/s)",
                    cd.rps / pb.rps,
                    cd.rps,
                    pb.rps
                ),
            );
            line(
                format!("{at}: p99 ≤ 50 ms"),
                Some(cd.p99 <= 50.0),
                format!("p99 {:.2} ms (PocketBase {:.2} ms)", cd.p99, pb.p99),
            );
        }
        for (scenario, times, what) in [
            ("page50", 4.0, "page of 50 with total"),
            ("search_name", 10.0, "search with total"),
        ] {
            for &c in &concs {
                if let Some((cd, pb)) = pair(scenario, c) {
                    line(
                        format!("{what} ({scenario}) ≥ {times:.0}× PocketBase at {c} conns, {n} patients"),
                        Some(cd.rps >= times * pb.rps),
                        format!("{:.2}× ({:.0} vs {:.0} req/s)", cd.rps / pb.rps, cd.rps, pb.rps),
                    );
                }
            }
        }
        match self.find(n, "mixed", 64) {
            Some(m) => line(
                format!("mixed p99 < 50 ms at 64 conns, {n} patients"),
                Some(m.p99 < 50.0),
                format!(
                    "p99 {:.2} ms (PocketBase {})",
                    m.p99,
                    self.find_in(System::PocketBase, n, "mixed", 64)
                        .map_or("-".to_owned(), |pb| format!("{:.2} ms", pb.p99))
                ),
            ),
            None => line(
                format!("mixed p99 < 50 ms at 64 conns, {n} patients"),
                None,
                String::new(),
            ),
        }
    }
}
