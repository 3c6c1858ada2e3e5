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

use crate::db::Db;
use crate::error::ApiError;
use crate::users;

/// Above this many accounts the map starts over (a clinic has dozens; this
/// only bounds memory against a flood of valid tokens for many accounts).
const MAX_KNOWN: usize = 10_000;

/// What authentication needs of an account.
pub type AccountState = users::sql::AuthState;

/// The map, managed by Rocket.
#[derive(Default)]
pub struct Accounts {
    inner: RwLock<Known>,
}

#[derive(Default)]
struct Known {
    /// Moves on with every forget.
    epoch: u64,
    states: HashMap<i64, AccountState>,
}

impl Accounts {
    /// A map that `db`'s writer keeps exact.
    pub fn watching(db: &Db) -> Arc<Self> {
        let accounts = Arc::new(Self::default());
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
        let state = db
            .read(move |conn| users::sql::auth_state(conn, id))
            .await?;
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
