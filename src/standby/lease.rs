//! The primary's lease: one row (migration 0017) that says which history
//! this database is, which promotion it is at, and whether its primary is
//! still beating. It is replicated with the records, so a standby, and a
//! primary starting up, read it from a restored copy of the replica.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction};

use crate::db;

/// How often a serving primary counts its heartbeat up.
pub const BEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// What the lease row holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub history: String,
    pub term: i64,
    pub holder: String,
    pub beats: i64,
    pub renewed_at: String,
}

impl Lease {
    /// For a person: who holds it, and since when it last beat.
    pub fn describe(&self) -> String {
        format!(
            "primary {} (promotion {}, heartbeat {} at {})",
            self.holder, self.term, self.beats, self.renewed_at
        )
    }
}

/// The lease, if the database has one. A database from before migration
/// 0017, or one never replicated, has none.
pub fn read(conn: &Connection) -> rusqlite::Result<Option<Lease>> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'primary_lease')",
        [],
        |row| row.get(0),
    )?;
    if !has_table {
        return Ok(None);
    }
    conn.query_row(
        "SELECT history, term, holder, beats, renewed_at FROM primary_lease WHERE id = 1",
        [],
        |row| {
            Ok(Lease {
                history: row.get(0)?,
                term: row.get(1)?,
                holder: row.get(2)?,
                beats: row.get(3)?,
                renewed_at: row.get(4)?,
            })
        },
    )
    .optional()
}

/// The lease of a database file that nothing else may be writing (a
/// restored copy, or the local file before the server opens it).
pub fn read_file(path: &Path) -> anyhow::Result<Option<Lease>> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    Ok(read(&conn)?)
}

/// At a replicated start: the lease, created with a new history if the
/// database has none, now held by `holder`.
pub fn hold(tx: &Transaction<'_>, holder: &str) -> anyhow::Result<Lease> {
    tx.execute(
        "INSERT INTO primary_lease (id, history, term, holder, renewed_at) VALUES (1, ?1, 1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET holder = excluded.holder, renewed_at = excluded.renewed_at",
        (new_history()?, holder, db::now()),
    )?;
    read(tx)?.ok_or_else(|| anyhow::anyhow!("the lease row was not written"))
}

/// One heartbeat of a serving primary.
pub fn beat(tx: &Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE primary_lease SET beats = beats + 1, renewed_at = ?1 WHERE id = 1",
        [db::now()],
    )?;
    Ok(())
}

/// A promotion: the next term, held by `holder`, beating from zero.
pub fn promote(conn: &Connection, holder: &str) -> rusqlite::Result<()> {
    let changed = conn.execute(
        "UPDATE primary_lease SET term = term + 1, holder = ?1, beats = 0, renewed_at = ?2 WHERE id = 1",
        (holder, db::now()),
    )?;
    if changed == 1 {
        Ok(())
    } else {
        Err(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// A restored backup is a new history: it forgets the lease it was copied
/// with, so it is never taken for the replica's continuation.
pub fn forget(conn: &Connection) -> rusqlite::Result<()> {
    if read(conn)?.is_some() {
        conn.execute("DELETE FROM primary_lease", [])?;
    }
    Ok(())
}

/// This machine as a lease names it: the computer's name and the data
/// directory, so two data directories on one computer are told apart.
pub fn holder_name(data_dir: &Path) -> String {
    let host = std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this computer".into());
    let mut name = format!("{host}:{}", data_dir.display());
    // The column's limit; a longer path is cut on a character boundary.
    while name.len() > 200 {
        name.pop();
    }
    name
}

fn new_history() -> anyhow::Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leased() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(include_str!("../../migrations/0017_primary_lease.sql"))
            .unwrap();
        conn
    }

    #[test]
    fn a_first_hold_starts_a_history_and_later_holds_keep_it() {
        let mut conn = leased();
        assert_eq!(read(&conn).unwrap(), None);
        let tx = conn.transaction().unwrap();
        let first = hold(&tx, "front-desk:/data").unwrap();
        beat(&tx).unwrap();
        let again = hold(&tx, "front-desk:/data").unwrap();
        tx.commit().unwrap();
        assert_eq!((first.term, first.beats), (1, 0));
        assert_eq!(again.history, first.history);
        assert_eq!(again.beats, 1);
    }

    #[test]
    fn a_promotion_takes_the_next_term_and_a_restore_forgets_the_history() {
        let mut conn = leased();
        let tx = conn.transaction().unwrap();
        let before = hold(&tx, "front-desk:/data").unwrap();
        beat(&tx).unwrap();
        tx.commit().unwrap();
        promote(&conn, "back-office:/data").unwrap();
        let after = read(&conn).unwrap().unwrap();
        assert_eq!(after.history, before.history);
        assert_eq!((after.term, after.beats), (2, 0));
        assert_eq!(after.holder, "back-office:/data");
        forget(&conn).unwrap();
        assert_eq!(read(&conn).unwrap(), None);
        assert!(promote(&conn, "back-office:/data").is_err());
    }

    #[test]
    fn a_database_from_before_the_lease_has_none() {
        let conn = Connection::open_in_memory().unwrap();
        assert_eq!(read(&conn).unwrap(), None);
        forget(&conn).unwrap();
    }
}
