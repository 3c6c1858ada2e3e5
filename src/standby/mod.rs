//! A warm standby on a second machine, with Litestream (issue 14). One
//! primary serves and Litestream streams its commits to a replica (a
//! network folder, SFTP, or an S3-compatible store); a standby follows
//! the replica and, when the primary is gone, is promoted to serve.
//!
//! Two primaries on one replica would interleave two histories and ruin
//! it, so the database carries a lease (`lease`): its history, its
//! promotion count (term), and a heartbeat the serving primary counts up.
//! - A primary starts only if the replica is empty or is its own history
//!   at its own term (`check_replica`): a machine that was replaced by a
//!   promotion, or a restored backup, is refused with what to do.
//! - A standby promotes only after watching the replica's heartbeat stand
//!   still for `WATCH` (`promote`): a live primary is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::config::Config;
use crate::db::Db;
use crate::lock::InstanceLock;

pub mod lease;
pub mod litestream;
mod replicator;

pub use litestream::Litestream;
pub use replicator::{Replicator, State};

/// How long a promotion watches the heartbeat. A live primary beats every
/// `BEAT_INTERVAL` and Litestream ships each beat within about a second,
/// so a heartbeat unchanged this long is a primary that is down.
pub const WATCH: Duration = Duration::from_secs(10);

/// Where `standby follow` keeps its copy, inside the data directory.
const FOLLOW_COPY: &str = "standby-copy.sqlite3";

/// A restored copy of the replica, for reading its lease.
const CHECK_COPY: &str = "replica-check.sqlite3";

fn replica_url(config: &Config) -> anyhow::Result<&str> {
    config.replica_url.as_deref().ok_or_else(|| {
        anyhow::anyhow!(
            "no replica_url is configured: set replication = \"litestream\" and replica_url \
             in clinicdesk.toml (`clinicdesk standby config` prints them)"
        )
    })
}

/// The newest lease on the replica: `None` for an empty replica,
/// `Some(None)` for a database without a lease.
fn replica_lease(
    config: &Config,
    program: &Litestream,
    copy: &Path,
) -> anyhow::Result<Option<Option<lease::Lease>>> {
    let url = replica_url(config)?;
    if !program.restore(url, copy)? {
        return Ok(None);
    }
    Ok(Some(lease::read_file(copy)?))
}

/// A server's start, before its database opens: when replicated, the
/// `litestream` it will run, once the replica is known to be its own.
pub fn before_open(config: &Config) -> anyhow::Result<Option<Litestream>> {
    if !config.replicated() {
        return Ok(None);
    }
    let program = Litestream::find(config)?;
    check_replica(config, &program)?;
    Ok(Some(program))
}

/// A server's start, once its database is open: takes the lease and
/// starts Litestream (or nothing, when not replicated).
pub fn after_open(
    config: &Config,
    db: &Db,
    program: Option<Litestream>,
) -> anyhow::Result<Replicator> {
    let Some(program) = program else {
        return Ok(Replicator::off());
    };
    let lease = hold_lease(config, db)?;
    tracing::info!(term = lease.term, "this machine holds the primary's lease");
    Replicator::start(config, program)
}

/// Before a replicated primary opens its database: refuses when the
/// replica belongs to another history or to a later promotion.
fn check_replica(config: &Config, program: &Litestream) -> anyhow::Result<()> {
    let database = config.database_path();
    let local = if database.exists() {
        lease::read_file(&database)?
    } else {
        None
    };
    let copy = config.data_dir.join(CHECK_COPY);
    let remote = replica_lease(config, program, &copy);
    litestream::remove_database(&copy)?;
    let url = replica_url(config)?;
    match (remote?, local) {
        // An empty replica (this database starts it), or its own history
        // at its own term: the arms below are the refusals.
        (None, _) => Ok(()),
        (Some(_), None) if !database.exists() => anyhow::bail!(
            "this machine has no database and the replica {url} holds the clinic's: this is a \
             standby. Run `clinicdesk standby follow` to keep it warm, and \
             `clinicdesk standby promote` to take over when the primary is down."
        ),
        (Some(_), None) => anyhow::bail!(
            "the replica {url} already holds a database, and this one is a new history (a new \
             or restored database). Point replica_url at a new, empty location (or empty this \
             one once nothing there is needed), then start again."
        ),
        (Some(None), Some(_)) => anyhow::bail!(
            "the replica {url} holds a database that is not this one's history. Point \
             replica_url at this database's replica, or at a new, empty location."
        ),
        (Some(Some(remote)), Some(local)) if remote.history != local.history => anyhow::bail!(
            "the replica {url} holds another database's history (its {}). Point replica_url \
             at this database's replica, or at a new, empty location.",
            remote.describe()
        ),
        (Some(Some(remote)), Some(local)) if remote.term > local.term => anyhow::bail!(
            "another machine was promoted in this one's place: the replica {url} is at its {}, \
             and this database stopped at promotion {}. Serving it would split the clinic's \
             records. To bring this machine back, make it the standby: move {} aside (keep it \
             until you are sure nothing in it is missing), then `clinicdesk standby follow`.",
            remote.describe(),
            local.term,
            database.display()
        ),
        (Some(Some(remote)), Some(local))
            if remote.term == local.term && remote.beats > local.beats =>
        {
            anyhow::bail!(
                "this database is older than its replica {url} (heartbeat {} here, {} there): \
                 it was copied back from somewhere. Restore from the replica instead \
                 (`clinicdesk standby promote` on this machine with the database moved aside).",
                local.beats,
                remote.beats
            )
        }
        #[allow(clippy::match_same_arms)]
        _ => Ok(()),
    }
}

/// After the database is open: takes the lease for this machine.
fn hold_lease(config: &Config, db: &Db) -> anyhow::Result<lease::Lease> {
    let holder = lease::holder_name(&config.data_dir);
    db.write_now(move |tx| Ok(lease::hold(tx, &holder)?))
        .map_err(|e| anyhow::anyhow!("cannot take the primary's lease: {e:?}"))
}

/// The serving primary's heartbeat, until the server shuts down.
pub async fn beat(db: Db, mut shutdown: rocket::Shutdown) {
    let mut ticks = rocket::tokio::time::interval(lease::BEAT_INTERVAL);
    loop {
        rocket::tokio::select! {
            _ = ticks.tick() => {}
            () = &mut shutdown => return,
        }
        if let Err(e) = db.write(|tx| Ok(lease::beat(tx)?)).await {
            tracing::warn!(error = ?e, "the primary's heartbeat could not be written");
        }
    }
}

/// `clinicdesk standby config`: the lines for clinicdesk.toml, the same on
/// both machines, and the `litestream.yml` the primary runs with.
pub fn print_config(config: &Config, replica: &str) {
    println!("# In clinicdesk.toml, on the primary and on the standby:");
    println!("replication = \"litestream\"");
    println!("replica_url = \"{}\"", replica.replace('"', "\\\""));
    println!();
    println!(
        "# The primary writes this to {} at every start and runs `litestream replicate` on it:",
        config.data_dir.join(litestream::CONFIG_FILE).display()
    );
    print!(
        "{}",
        litestream::config_yaml(&config.database_path(), replica)
    );
}

/// `clinicdesk standby follow`: keeps a copy of the replica a few seconds
/// behind, and prints whose heartbeat it sees, until stopped.
pub fn follow(config: &Config) -> anyhow::Result<()> {
    config.prepare_data_dir()?;
    let _lock = InstanceLock::acquire(&config.data_dir)
        .context("a clinicdesk is already running on this data directory")?;
    refuse_local_database(config)?;
    let url = replica_url(config)?;
    let program = Litestream::find(config)?;
    let copy = config.data_dir.join(FOLLOW_COPY);
    let mut child = program.follow(url, &copy)?;
    println!("Following {url} into {} (Ctrl-C stops).", copy.display());
    let mut last: Option<lease::Lease> = None;
    loop {
        std::thread::sleep(WATCH);
        // A replica with nothing yet (a standby set up before its primary
        // first ran), or a share gone for a moment, ends Litestream; a
        // standby keeps trying, as the service it is.
        if let Some(status) = child.try_wait()? {
            println!(
                "litestream restore -f stopped ({status}; see its messages above); \
                 trying again in {} s",
                WATCH.as_secs()
            );
            std::thread::sleep(WATCH);
            // Not even started (the share is still not there): the next
            // round tries again.
            match program.follow(url, &copy) {
                Ok(next) => child = next,
                Err(e) => println!("cannot follow yet: {e:#}"),
            }
            last = None;
            continue;
        }
        match copy.exists().then(|| lease::read_file(&copy)) {
            Some(Ok(Some(now))) => {
                let verdict = match &last {
                    None => "seen; watching its heartbeat",
                    Some(before) if before != &now => "beating",
                    Some(_) => "still: the primary may be down",
                };
                println!("{} {verdict}", now.describe());
                last = Some(now);
            }
            Some(Ok(None)) => println!("the replica's database has no primary lease yet"),
            Some(Err(e)) => println!("the copy cannot be read yet: {e:#}"),
            None => println!("waiting for the replica's first copy"),
        }
    }
}

/// What a promotion measured, for the person who ran it.
pub struct Promoted {
    pub lease: lease::Lease,
    pub restored_in: Duration,
    pub total: Duration,
}

/// `clinicdesk standby promote`: restores the replica, watches the
/// primary's heartbeat for `WATCH`, refuses if it moved, checks the copy's
/// integrity, takes the next term and puts the copy in place. The caller
/// then serves it.
pub fn promote(config: &Config) -> anyhow::Result<Promoted> {
    let started = Instant::now();
    config.prepare_data_dir()?;
    let lock = InstanceLock::acquire(&config.data_dir).context(
        "a clinicdesk is running on this data directory: stop `standby follow` (or the server) first",
    )?;
    refuse_local_database(config)?;
    let program = Litestream::find(config)?;
    let url = replica_url(config)?;
    let copy = config.data_dir.join(".promote.partial");
    let result = (|| {
        let first = match replica_lease(config, &program, &copy)? {
            None => anyhow::bail!("the replica {url} holds no database to promote"),
            Some(None) => anyhow::bail!(
                "the replica {url} holds a database without a primary lease; it was not \
                 written by a replicated clinicdesk"
            ),
            Some(Some(lease)) => lease,
        };
        let restored_in = started.elapsed();
        println!(
            "The replica's {}. Watching its heartbeat for {} s...",
            first.describe(),
            WATCH.as_secs()
        );
        std::thread::sleep(WATCH);
        let Some(Some(second)) = replica_lease(config, &program, &copy)? else {
            anyhow::bail!("the replica {url} changed under the promotion; nothing was changed here")
        };
        if second != first {
            anyhow::bail!(
                "the primary is alive: its heartbeat moved from {} to {} in {} s \
                 ({}). Promoting now would make two primaries. Stop it first, or \
                 promote only once it is down.",
                first.beats,
                second.beats,
                WATCH.as_secs(),
                second.describe()
            );
        }
        let conn = rusqlite::Connection::open(&copy)?;
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
        anyhow::ensure!(
            verdict == "ok",
            "the replica's copy fails its integrity check: {verdict}"
        );
        // Litestream takes a restored copy with no state of its own to be at
        // the replica's position ("database behind replica"), so it never
        // ships this write itself. It touches only the lease row's page,
        // which the serving primary's first heartbeat (`BEAT_INTERVAL`)
        // writes again, and that commit carries the new term to the replica.
        lease::promote(&conn, &lease::holder_name(&config.data_dir))?;
        let promoted = lease::read(&conn)?.context("the lease vanished")?;
        // The copy is whole on its own before it is moved into place.
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        Ok((promoted, restored_in))
    })();
    let (lease, restored_in) = match result {
        Ok(done) => done,
        Err(e) => {
            litestream::remove_database(&copy)?;
            return Err(e);
        }
    };
    let database = config.database_path();
    std::fs::rename(&copy, &database)
        .with_context(|| format!("cannot move the promoted copy to {}", database.display()))?;
    crate::config::restrict_to_owner(&database, 0o600)?;
    let stale = litestream::state_dir(&database);
    if stale.exists() {
        std::fs::remove_dir_all(&stale)?;
    }
    litestream::remove_database(&config.data_dir.join(FOLLOW_COPY))?;
    drop(lock);
    Ok(Promoted {
        lease,
        restored_in,
        total: started.elapsed(),
    })
}

/// After `clinicdesk restore` on a replicated primary: the restored file
/// forgets its lease (a new history) and Litestream's state beside it.
pub fn forget_history(config: &Config) -> anyhow::Result<()> {
    let database = config.database_path();
    lease::forget(&rusqlite::Connection::open(&database)?)?;
    let stale = litestream::state_dir(&database);
    if stale.exists() {
        std::fs::remove_dir_all(&stale)?;
    }
    Ok(())
}

/// A standby keeps no database of its own; one here is an old primary's
/// (or a mistake), and is never overwritten.
fn refuse_local_database(config: &Config) -> anyhow::Result<()> {
    let database: PathBuf = config.database_path();
    anyhow::ensure!(
        !database.exists(),
        "{} exists: this machine has a database of its own. A standby keeps none, and \
         clinicdesk never overwrites one. If it is an old primary's, move it aside (keep it \
         until you are sure nothing in it is missing) and run this again.",
        database.display()
    );
    Ok(())
}
