//! Facts about the machine and the binary, measured beside the scenarios:
//! the disk's durable-write rate, the load average, the stripped size.

use std::path::Path;
use std::time::{Duration, Instant};

/// How many `write + fsync` of one 4 KiB page this disk does a second: the
/// ceiling on durable commits (`SQLite` in WAL mode with synchronous=FULL
/// syncs the log once per commit).
pub fn fsync_rate(dir: &Path, for_how_long: Duration) -> anyhow::Result<f64> {
    use std::io::{Seek, SeekFrom, Write};
    let path = dir.join("fsync-probe");
    let mut file = std::fs::File::create(&path)?;
    let page = [0x5a_u8; 4096];
    let began = Instant::now();
    let mut count = 0u32;
    while began.elapsed() < for_how_long && count < 1_000_000 {
        file.seek(SeekFrom::Start(u64::from(count % 256) * 4096))?;
        file.write_all(&page)?;
        file.sync_data()?;
        count += 1;
    }
    let rate = f64::from(count) / began.elapsed().as_secs_f64();
    std::fs::remove_file(path)?;
    Ok(rate)
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The size of a stripped copy of the binary (`strip` from binutils).
pub fn stripped_size(binary: &Path) -> anyhow::Result<u64> {
    let dir = tempfile::tempdir()?;
    let copy = dir.path().join("clinicdesk");
    std::fs::copy(binary, &copy)?;
    let status = std::process::Command::new("strip").arg(&copy).status()?;
    anyhow::ensure!(status.success(), "strip failed");
    Ok(std::fs::metadata(&copy)?.len())
}
