//! The account state every request checks (role, active, temporary
//! password, token version), kept in memory so authenticating a request costs no database
//! hop. It is exact, not a cache that may lag: every change to an account
//! goes through the database's one writer, which tells this map which
//! `users` rows a commit touched before it answers the write (`Db::watch`),
//! so a demotion or deactivation takes effect at that account's very next
//! request.
//!
//! The one race, a request that read an account just before a change and
//! stores it just after, is closed by an epoch: every forget moves it on,
//! and a state read under an older epoch is answered but not kept.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use rusqlite::Connection;

use super::Role;
use crate::db::Db;
use crate::error::ApiError;

/// Above this many accounts the map starts over (a clinic has dozens; this
/// only bounds memory against a flood of valid tokens for many accounts).
const MAX_KNOWN: usize = 10_000;

/// What every authenticated request checks of its token's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountState {
    pub role: Role,
    pub is_active: bool,
    pub must_change_password: bool,
    /// Access tokens issued under an older version are refused (logout,
    /// password change and deactivation move it on).
    pub token_version: i64,
}

/// Reads one account's state (`None`: no such account). Accounts are a
/// resource above identity (`users`), so the server passes its reader in.
pub type ReadState = fn(&Connection, i64) -> Result<Option<AccountState>, ApiError>;

/// The map, managed by Rocket.
pub struct Accounts {
    inner: RwLock<Known>,
    read: ReadState,
}

#[derive(Default)]
struct Known {
    /// Moves on with every forget.
    epoch: u64,
    states: HashMap<i64, AccountState>,
}

impl Accounts {
    /// A map that `db`'s writer keeps exact, filled through `read`.
    pub fn watching(db: &Db, read: ReadState) -> Arc<Self> {
        let accounts = Arc::new(Self {
            inner: RwLock::default(),
            read,
        });
        let watched = Arc::clone(&accounts);
        db.watch("users", Arc::new(move |ids: &[i64]| watched.forget(ids)));
        accounts
    }

    /// The state of account `id` now (`None`: no such account).
    pub async fn state(&self, db: &Db, id: i64) -> Result<Option<AccountState>, ApiError> {
        let epoch = {
            let known = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(state) = known.states.get(&id) {
                return Ok(Some(*state));
            }
            known.epoch
        };
        let read = self.read;
        let state = db.read(move |conn| read(conn, id)).await?;
        if let Some(state) = state {
            let mut known = self.inner.write().unwrap_or_else(PoisonError::into_inner);
            if known.epoch == epoch {
                if known.states.len() >= MAX_KNOWN {
                    known.states.clear();
                }
                known.states.insert(id, state);
            }
        }
        Ok(state)
    }

    fn forget(&self, ids: &[i64]) {
        let mut known = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        known.epoch += 1;
        for id in ids {
            known.states.remove(id);
        }
    }
}
