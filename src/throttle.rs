//! Brute-force protection for login, per client address: at most
//! `MAX_FAILURES` failures a minute; past that, login answers `429 throttled`
//! with `Retry-After` until the minute is over, right password or not.
//! (Per account, see `users::sql::record_login_failure`: ten in a row lock it.)
//!
//! The address is the TCP peer. Headers such as `X-Forwarded-For` or
//! `X-Real-IP` are not trusted (anyone can send them), so a client cannot
//! reset its own count; only when the peer is a configured trusted proxy
//! (`trusted_proxies`) is the address that proxy reports used. Counts live
//! in memory: a restart forgets them.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rocket::request::{FromRequest, Outcome, Request};

use crate::config::Config;
use crate::error::ApiError;

/// Failed logins allowed per address within one `WINDOW`: above one
/// account's lockout (10), since several people share a reception PC.
const MAX_FAILURES: u32 = 20;
const WINDOW: Duration = Duration::from_secs(60);
/// Above this many tracked addresses, expired entries are swept out, so a
/// flood from many addresses cannot grow the map without bound.
const SWEEP_ABOVE: usize = 10_000;

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

/// Failed-login counts per address; managed by Rocket.
#[derive(Default)]
pub struct LoginThrottle(Mutex<HashMap<IpAddr, Window>>);

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

impl LoginThrottle {
    /// `429` if `addr` has used up its failures for the current window.
    pub fn check(&self, addr: ClientAddr) -> Result<(), ApiError> {
        let Ok(windows) = self.0.lock() else {
            return Ok(());
        };
        match windows.get(&addr.0) {
            Some(window)
                if window.failures >= MAX_FAILURES && window.started.elapsed() < WINDOW =>
            {
                let left = WINDOW.saturating_sub(window.started.elapsed());
                Err(ApiError::Throttled {
                    retry_after: left.as_secs().max(1),
                })
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed login from `addr`.
    pub fn record_failure(&self, addr: ClientAddr) {
        let Ok(mut windows) = self.0.lock() else {
            return;
        };
        if windows.len() > SWEEP_ABOVE {
            windows.retain(|_, window| window.started.elapsed() < WINDOW);
        }
        let now = Instant::now();
        let window = windows.entry(addr.0).or_insert(Window {
            started: now,
            failures: 0,
        });
        if window.started.elapsed() >= WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures += 1;
        if window.failures == MAX_FAILURES {
            tracing::warn!(client = %addr.0, "too many failed logins; throttling this address for a minute");
        }
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
    fn an_address_is_throttled_after_its_allowance_and_others_are_not() {
        let throttle = LoginThrottle::default();
        let attacker = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)));
        let colleague = ClientAddr(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 10)));
        for _ in 0..MAX_FAILURES {
            assert!(throttle.check(attacker).is_ok());
            throttle.record_failure(attacker);
        }
        let Err(ApiError::Throttled { retry_after }) = throttle.check(attacker) else {
            panic!("expected the attacker to be throttled");
        };
        assert!((1..=60).contains(&retry_after));
        assert!(throttle.check(colleague).is_ok());
    }
}
