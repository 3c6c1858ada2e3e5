//! The `import` scenario (issue 12): 100,000 generated patients as one CSV
//! file through the real `POST /api/patients/import/`, timed from the first
//! byte sent to the `201`, against the 30 s. One run, not wrk: an
//! import is one request.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::http;

/// Rows in the file.
pub const ROWS: usize = 100_000;
/// The target for those rows on this machine.
pub const TARGET: Duration = Duration::from_secs(30);

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Jürgen", "Amara", "Wei", "Sofía", "Olu", "Priya", "Mateo", "Ingrid", "Yusuf",
    "Hana",
];
const LAST: [&str; 12] = [
    "Lovelace", "Hopper", "Schmidt", "Okafor", "Zhang", "García", "Adeyemi", "Sharma", "Rossi",
    "Larsen", "Demir", "Sato",
];

/// A spreadsheet-like file of `rows` patients, `;`-separated as many
/// European spreadsheets write it, with the spellings a clinic's export has.
pub fn file(rows: usize) -> String {
    let mut out = String::from("Given name;Surname;DOB;Sex;Mobile;E-mail;City\n");
    for i in 0..rows {
        let _ = writeln!(
            out,
            "{};{}-{i};{}-{:02}-{:02};{};+49 30 {:07};import{i}@bench.example;Berlin",
            FIRST[i % FIRST.len()],
            LAST[(i / FIRST.len()) % LAST.len()],
            1940 + i % 80,
            1 + i % 12,
            1 + i % 28,
            if i % 2 == 0 { "female" } else { "male" },
            i,
        );
    }
    out
}

/// Imports [`ROWS`] patients as `token`; answers how long it took.
pub fn run(addr: SocketAddr, token: &str) -> anyhow::Result<Duration> {
    let body = file(ROWS);
    let began = Instant::now();
    let answer = http::send(
        addr,
        "POST",
        "/api/patients/import/",
        Some(token),
        ("text/csv", body.as_bytes()),
    )?;
    let took = began.elapsed();
    anyhow::ensure!(
        answer.status == 201,
        "the import answered {}: {}",
        answer.status,
        answer.body.chars().take(500).collect::<String>()
    );
    let created = answer.json()?["created"].as_u64().unwrap_or_default();
    anyhow::ensure!(
        created == ROWS as u64,
        "the import created {created} of {ROWS}"
    );
    let verdict = if took <= TARGET { "meets" } else { "MISSES" };
    eprintln!(
        "   clinicdesk import             {ROWS} patients ({:.1} MiB) in {:.1} s: {verdict} the {} s target",
        f64::from(u32::try_from(body.len()).unwrap_or(u32::MAX)) / (1024.0 * 1024.0),
        took.as_secs_f64(),
        TARGET.as_secs()
    );
    Ok(took)
}
