//! Throttling of failed authentications (client secrets, user passwords) with exponential
//! backoff, so guessing is slow without letting an attacker lock anyone out for long.
//!
//! The policy: failures are counted per key, where a key is a principal seen from one address
//! (`client|ip`, `user|ip`) and an address alone (`ip`). After [`PRINCIPAL_FREE`] failures of a
//! principal from one address (or [`ADDRESS_FREE`] from one address in all), every further
//! attempt must wait `2^(failures − free)` seconds after the last failure, at most
//! [`MAX_BACKOFF`] seconds; an attempt made sooner is refused at once (429 with `Retry-After`),
//! is not counted, and costs no hash. A success resets the principal's count; counts are
//! forgotten after [`FORGET_AFTER`] seconds without a failure. Nothing is ever locked
//! permanently, and since the keys include the address, an attacker slows down only guesses
//! from their own addresses: the same principal keeps working from anywhere else.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};

/// Failures of one principal from one address before backoff starts.
pub const PRINCIPAL_FREE: u32 = 5;
/// Failures from one address (all principals) before backoff starts.
pub const ADDRESS_FREE: u32 = 20;
/// The longest wait, in seconds.
pub const MAX_BACKOFF: i64 = 60;
/// Seconds without a failure after which a key's count is forgotten.
pub const FORGET_AFTER: i64 = 900;
/// Keys remembered at most; beyond it the oldest are forgotten first.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: i64,
}

/// Failed authentications, per key.
#[derive(Debug, Default)]
pub struct Throttle {
    keys: Mutex<HashMap<String, Failures>>,
}

/// What is being authenticated.
#[derive(Debug, Clone, Copy)]
pub enum Principal<'a> {
    /// A client, by id.
    Client(&'a str),
    /// A user, by the name typed at sign-in.
    User(&'a str),
}

fn keys(principal: Principal<'_>, ip: Option<IpAddr>) -> [(String, u32); 2] {
    let ip = ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
    let who = match principal {
        Principal::Client(id) => format!("client:{id}"),
        Principal::User(name) => format!("user:{name}"),
    };
    [
        (format!("{who}|{ip}"), PRINCIPAL_FREE),
        (format!("ip:{ip}"), ADDRESS_FREE),
    ]
}

fn wait(f: Failures, free: u32, now: i64) -> i64 {
    if f.count < free || now - f.last >= FORGET_AFTER {
        return 0;
    }
    let exponent = (f.count - free).min(6);
    let backoff = (1i64 << exponent).min(MAX_BACKOFF);
    (f.last + backoff - now).max(0)
}

impl Throttle {
    /// Seconds the caller must still wait before this attempt may be checked; 0 when it may.
    pub fn wait(&self, principal: Principal<'_>, ip: Option<IpAddr>, now: i64) -> i64 {
        let keys_held = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        // The usual case on the token path: no failures anywhere, no keys to format.
        if keys_held.is_empty() {
            return 0;
        }
        keys(principal, ip)
            .iter()
            .filter_map(|(key, free)| keys_held.get(key).map(|f| wait(*f, *free, now)))
            .max()
            .unwrap_or(0)
    }

    /// Counts a failed attempt.
    pub fn failed(&self, principal: Principal<'_>, ip: Option<IpAddr>, now: i64) {
        let mut held = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if held.len() >= MAX_KEYS {
            held.retain(|_, f| now - f.last < FORGET_AFTER);
            if held.len() >= MAX_KEYS {
                // Still full: forget the quietest half.
                let mut lasts: Vec<i64> = held.values().map(|f| f.last).collect();
                lasts.sort_unstable();
                let median = lasts.get(lasts.len() / 2).copied().unwrap_or(now);
                held.retain(|_, f| f.last > median);
            }
        }
        for (key, _) in keys(principal, ip) {
            let entry = held.entry(key).or_insert(Failures {
                count: 0,
                last: now,
            });
            if now - entry.last >= FORGET_AFTER {
                entry.count = 0;
            }
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Forgets a principal's failures from this address after a success.
    pub fn succeeded(&self, principal: Principal<'_>, ip: Option<IpAddr>) {
        let mut held = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if held.is_empty() {
            return;
        }
        let [(key, _), _] = keys(principal, ip);
        held.remove(&key);
    }
}

/// A fixed-window count per address (dynamic registration: so many per hour).
#[derive(Debug, Default)]
pub struct RateLimit {
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimit {
    /// Counts one event from `ip`; false when it is over `per_hour` in the current hour.
    pub fn allow(&self, ip: Option<IpAddr>, per_hour: u32, now: i64) -> bool {
        let Some(ip) = ip else {
            return true;
        };
        let window = now.div_euclid(3600);
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        if windows.len() >= MAX_KEYS {
            windows.retain(|_, (w, _)| *w == window);
        }
        let entry = windows.entry(ip).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= per_hour {
            return false;
        }
        entry.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_after_the_free_failures_doubles_and_is_capped() {
        let t = Throttle::default();
        let ip = Some(IpAddr::from([127, 0, 0, 2]));
        let who = Principal::Client("c");
        for _ in 0..PRINCIPAL_FREE {
            assert_eq!(t.wait(who, ip, 100), 0);
            t.failed(who, ip, 100);
        }
        assert_eq!(t.wait(who, ip, 100), 1);
        assert_eq!(t.wait(who, ip, 101), 0);
        t.failed(who, ip, 101);
        assert_eq!(t.wait(who, ip, 101), 2);
        for _ in 0..20 {
            t.failed(who, ip, 200);
        }
        assert_eq!(t.wait(who, ip, 200), MAX_BACKOFF);
        // Another address is not slowed down for this principal (below the address's own limit).
        assert_eq!(t.wait(who, Some(IpAddr::from([127, 0, 0, 3])), 200), 0);
        // Forgotten after a quiet period, and reset by a success.
        assert_eq!(t.wait(who, ip, 200 + FORGET_AFTER), 0);
        t.succeeded(who, ip);
        assert!(
            t.wait(Principal::Client("c"), ip, 201) > 0,
            "the address stays slowed"
        );
    }
}
