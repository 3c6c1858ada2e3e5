//! The login bursts: staff reads at 16 connections, alone and then while
//! bursts of 50 parallel logins run back to back (argon2 on every login).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::report::Burst;
use crate::server::Server;
use crate::wrk::{self, Caller, System};
use crate::{login, patient_path, settle, Options, STAFF};

/// Parallel logins in one burst.
const BURST: usize = 50;
/// Bursts at most, however long the reads run.
const MAX_BURSTS: usize = 200;

/// Staff reads (one patient) at 16 connections: once alone, then again
/// while bursts of 50 parallel logins run back to back.
pub fn login_burst(
    o: &Options,
    server: &Server,
    scripts: &Path,
    staff: &str,
    password: &str,
    size: i64,
) -> anyhow::Result<Burst> {
    let c = 16;
    let caller = Caller {
        token: staff,
        owner: "",
    };
    let script = wrk::write_script(
        scripts,
        System::Clinicdesk,
        "get_patient_staff",
        &caller,
        size,
    )?;
    settle(server.addr, &patient_path(System::Clinicdesk), staff)?;
    let before = wrk::run(server.addr, &script, c, o.duration, &[])?;
    let addr = server.addr;
    let duration = o.duration;
    let reads = std::thread::spawn(move || wrk::run(addr, &script, c, duration, &[]));
    // Let wrk connect before the first burst.
    std::thread::sleep(Duration::from_millis(200));
    let until = Instant::now() + o.duration.saturating_sub(Duration::from_millis(500));
    let mut bursts = 0;
    let (mut logins, mut failed) = (0u64, 0u64);
    let mut slowest = Duration::ZERO;
    let began = Instant::now();
    while Instant::now() < until && bursts < MAX_BURSTS {
        let handles: Vec<_> = (0..BURST)
            .map(|_| {
                let password = password.to_owned();
                std::thread::spawn(move || {
                    let t = Instant::now();
                    let ok = login(addr, STAFF, &password).is_ok();
                    (ok, t.elapsed())
                })
            })
            .collect();
        for handle in handles {
            let (ok, took) = handle
                .join()
                .map_err(|_| anyhow::anyhow!("a login thread panicked"))?;
            logins += 1;
            if !ok {
                failed += 1;
            }
            slowest = slowest.max(took);
        }
        bursts += 1;
    }
    let login_seconds = began.elapsed().as_secs_f64();
    let during = reads
        .join()
        .map_err(|_| anyhow::anyhow!("the wrk thread panicked"))??;
    eprintln!(
        "   login burst: reads p99 {:.2} ms before, {:.2} ms during; {bursts} bursts, {logins} logins, {failed} failed",
        before.p99, during.p99
    );
    Ok(Burst {
        before,
        during,
        bursts,
        logins,
        failed_logins: failed,
        login_seconds,
        slowest_login: slowest,
    })
}
