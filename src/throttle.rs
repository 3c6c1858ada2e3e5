//! Brute-force protection for sign-in, as OWASP and ASVS (V2.2.1) advise:
//! throttling, never a lockout. Failed sign-ins are counted per client
//! address and per (account, address) pair. Past an allowance, each further
//! failure makes that address, or that pair, wait longer before its next
//! attempt is even checked (`429 throttled` with `Retry-After`): 30 s, then
//! 60 s, 120 s and so on, at most 15 minutes. The right password from an
//! address that is not itself failing always signs in, however hard another
//! address hammers the account, so nobody can lock a colleague (or the
//! admin) out by knowing their email.
//!
//! A success clears that pair's count (not the address's, so one account of
//! the attacker's own cannot wipe their address's record). Counts are
//! forgotten an hour after their last failure. `clinicdesk admin unlock`
//! (and an admin's "unlock") clears one account's delays, also in a running
//! server: the account's `throttle_resets` moves on, and delays recorded
//! under an older value are dropped at the next attempt.
//!
//! The address is the TCP peer. Headers such as `X-Forwarded-For` or
//! `X-Real-IP` are not trusted (anyone can send them), so a client cannot
//! reset its own count; only when the peer is a configured trusted proxy
//! (`trusted_proxies`) is the address that proxy reports used. Counts live
//! in memory: a restart forgets them (and a restart is itself slow enough
//! not to help a guesser).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::request::{FromRequest, Outcome, Request};

use crate::config::Config;
use crate::error::ApiError;

/// The address a request came from (the TCP peer).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for ClientAddr {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        Outcome::Success(Self::of(req))
    }
}

impl ClientAddr {
    pub fn of(req: &Request<'_>) -> Self {
        // Only an in-process test client has no peer; it shares one bucket.
        let peer = req
            .remote()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |peer| peer.ip());
        let trusted = req
            .rocket()
            .state::<Config>()
            .map_or(&[][..], |c| c.trusted_proxies.as_slice());
        Self(client_behind(
            peer,
            trusted,
            req.headers().get("X-Forwarded-For"),
        ))
    }
}

/// The client's address: the TCP peer, unless the peer is a configured
/// trusted proxy; then the nearest `X-Forwarded-For` hop that is not one
/// (each proxy appends the address it saw, so hops further left could be
/// anything a client chose to send).
fn client_behind<'a>(
    peer: IpAddr,
    trusted: &[IpAddr],
    forwarded: impl Iterator<Item = &'a str>,
) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<&str> = forwarded.flat_map(|value| value.split(',')).collect();
    for hop in hops.into_iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(&ip) => {}
            Ok(ip) => return ip,
            Err(_) => return peer,
        }
    }
    peer
}

/// How failures of one kind of key turn into delays.
struct Policy {
    /// Failures before the first delay.
    allowance: u32,
    /// The first delay; each further failure doubles it.
    first: Duration,
}

/// One account from one address: a person mistyping gets five tries.
const PAIR: Policy = Policy {
    allowance: 5,
    first: Duration::from_secs(30),
};
/// One address over every account: several people share a reception PC.
const ADDRESS: Policy = Policy {
    allowance: 20,
    first: Duration::from_secs(30),
};
/// The longest delay.
const LONGEST: Duration = Duration::from_secs(15 * 60);
/// A count with no failure for this long is forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Above this many tracked keys, forgotten entries are swept out, so a
/// flood from many addresses cannot grow the maps without bound.
const SWEEP_ABOVE: usize = 10_000;

impl Policy {
    /// The wait after the `failures`-th failure in a row.
    fn delay(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.allowance)?;
        let factor = 1u32.checked_shl(beyond.min(16)).unwrap_or(u32::MAX);
        Some(self.first.saturating_mul(factor).min(LONGEST))
    }
}

/// Whose sign-in is being tried: an account, or a name no account has
/// (counted the same way, so the answers do not tell the two apart).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Account(i64),
    Unknown(String),
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
    /// No attempt is checked before this.
    until: Option<Instant>,
    /// The account's `throttle_resets` when counting began.
    resets: i64,
}

impl Strikes {
    fn forgotten(&self) -> bool {
        self.last.elapsed() >= FORGET_AFTER
    }

    fn waiting(&self) -> Option<Duration> {
        self.until
            .map(|until| until.saturating_duration_since(Instant::now()))
            .filter(|left| !left.is_zero())
    }

    /// Counts a failure; `true` if it started a delay.
    fn fail(&mut self, policy: &Policy) -> bool {
        if self.forgotten() {
            self.failures = 0;
        }
        self.failures = self.failures.saturating_add(1);
        self.last = Instant::now();
        let delay = policy.delay(self.failures);
        self.until = delay.map(|d| self.last + d);
        delay.is_some()
    }
}

fn fresh(resets: i64) -> Strikes {
    Strikes {
        failures: 0,
        last: Instant::now(),
        until: None,
        resets,
    }
}

fn throttled(left: Duration) -> ApiError {
    // Rounded up: a client that waits `Retry-After` seconds is let in.
    let whole = left.as_secs() + u64::from(left.subsec_nanos() > 0);
    ApiError::Throttled {
        retry_after: whole.max(1),
    }
}

#[derive(Default)]
struct Counts {
    addresses: HashMap<IpAddr, Strikes>,
    pairs: HashMap<(Subject, IpAddr), Strikes>,
}

/// Failed sign-ins per address and per (account, address); managed by Rocket.
#[derive(Default)]
pub struct LoginThrottle(Mutex<Counts>);

impl LoginThrottle {
    /// `429` while `addr` is waiting out a delay: checked before anything
    /// else, so a throttled address costs no password check.
    pub fn check_address(&self, addr: ClientAddr) -> Result<(), ApiError> {
        let Ok(counts) = self.0.lock() else {
            return Ok(());
        };
        match counts.addresses.get(&addr.0).and_then(Strikes::waiting) {
            Some(left) => Err(throttled(left)),
            None => Ok(()),
        }
    }

    /// `429` while this account (or unknown name) is waiting out a delay
    /// from `addr`. `resets`: the account's `throttle_resets` now; delays
    /// counted under an older value were cleared by an admin.
    pub fn check_pair(&self, who: &Subject, addr: ClientAddr, resets: i64) -> Result<(), ApiError> {
        let Ok(mut counts) = self.0.lock() else {
            return Ok(());
        };
        let key = (who.clone(), addr.0);
        match counts.pairs.get(&key) {
            Some(strikes) if strikes.resets < resets => {
                counts.pairs.remove(&key);
                Ok(())
            }
            Some(strikes) => strikes
                .waiting()
                .map_or(Ok(()), |left| Err(throttled(left))),
            None => Ok(()),
        }
    }

    /// Counts one failed sign-in; `true` if it started a delay (for the
    /// pair or the address), which the audit trail records.
    pub fn record_failure(&self, who: &Subject, addr: ClientAddr, resets: i64) -> bool {
        let Ok(mut counts) = self.0.lock() else {
            return false;
        };
        if counts.addresses.len() + counts.pairs.len() > SWEEP_ABOVE {
            counts.addresses.retain(|_, strikes| !strikes.forgotten());
            counts.pairs.retain(|_, strikes| !strikes.forgotten());
        }
        let pair = counts
            .pairs
            .entry((who.clone(), addr.0))
            .or_insert_with(|| fresh(resets))
            .fail(&PAIR);
        let address = counts
            .addresses
            .entry(addr.0)
            .or_insert_with(|| fresh(0))
            .fail(&ADDRESS);
        if address {
            tracing::warn!(client = %addr.0, "repeated failed sign-ins; this address must wait before its next attempt");
        }
        pair || address
    }

    /// A successful sign-in clears that account's count from `addr`.
    pub fn record_success(&self, who: &Subject, addr: ClientAddr) {
        if let Ok(mut counts) = self.0.lock() {
            counts.pairs.remove(&(who.clone(), addr.0));
        }
    }

    /// Forgets every delay of an account in this server at once (an
    /// admin's unlock here; the command line's reaches it via `resets`).
    pub fn clear_account(&self, account: i64) {
        if let Ok(mut counts) = self.0.lock() {
            counts
                .pairs
                .retain(|(who, _), _| *who != Subject::Account(account));
        }
    }

    /// When the longest sign-in delay of an account (from any address)
    /// ends, if one is running (what admins see as `locked_until`).
    pub fn delayed_until(&self, account: i64) -> Option<std::time::SystemTime> {
        let counts = self.0.lock().ok()?;
        counts
            .pairs
            .iter()
            .filter(|((who, _), _)| *who == Subject::Account(account))
            .filter_map(|(_, strikes)| strikes.waiting())
            .max()
            .map(|left| std::time::SystemTime::now() + left)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().expect("ip");
        let client: IpAddr = "10.0.0.7".parse().expect("ip");
        let spoofed = ["6.6.6.6, 10.0.0.7"];
        assert_eq!(client_behind(client, &[], spoofed.into_iter()), client);
        assert_eq!(client_behind(proxy, &[], spoofed.into_iter()), proxy);
        assert_eq!(client_behind(proxy, &[proxy], spoofed.into_iter()), client);
        assert_eq!(client_behind(proxy, &[proxy], ["junk"].into_iter()), proxy);
        assert_eq!(client_behind(proxy, &[proxy], [].into_iter()), proxy);
    }

    #[test]
    fn delays_begin_after_the_allowance_and_double_up_to_the_longest() {
        assert_eq!(PAIR.delay(4), None);
        assert_eq!(PAIR.delay(5), Some(Duration::from_secs(30)));
        assert_eq!(PAIR.delay(6), Some(Duration::from_secs(60)));
        assert_eq!(PAIR.delay(7), Some(Duration::from_secs(120)));
        assert_eq!(PAIR.delay(40), Some(LONGEST));
        assert_eq!(ADDRESS.delay(19), None);
    }

    #[test]
    fn a_failing_pair_waits_but_the_same_account_from_another_address_does_not() {
        let throttle = LoginThrottle::default();
        let attacker = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        let colleague = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)));
        let nurse = Subject::Account(7);
        for _ in 0..PAIR.allowance {
            assert!(throttle.check_pair(&nurse, attacker, 0).is_ok());
            throttle.record_failure(&nurse, attacker, 0);
        }
        let Err(ApiError::Throttled { retry_after }) = throttle.check_pair(&nurse, attacker, 0)
        else {
            panic!("expected the attacker to wait");
        };
        assert!((1..=30).contains(&retry_after));
        assert!(
            throttle.check_address(attacker).is_ok(),
            "under the address allowance"
        );
        assert!(throttle.check_pair(&nurse, colleague, 0).is_ok());
        assert!(throttle.delayed_until(7).is_some());
        // An admin's unlock (a newer reset count) clears it.
        assert!(throttle.check_pair(&nurse, attacker, 1).is_ok());
        assert!(throttle.delayed_until(7).is_none());
    }

    #[test]
    fn an_address_failing_on_many_names_waits_for_all_of_them() {
        let throttle = LoginThrottle::default();
        let attacker = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        let colleague = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)));
        for n in 0..ADDRESS.allowance {
            assert!(throttle.check_address(attacker).is_ok());
            throttle.record_failure(&Subject::Unknown(format!("n{n}")), attacker, 0);
        }
        assert!(throttle.check_address(attacker).is_err());
        assert!(throttle.check_address(colleague).is_ok());
    }
}
