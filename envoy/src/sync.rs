//! Keeping the remote sources (the JWKS from `jwks_cluster`, the policy bundle from
//! `bundle_cluster`) fresh on every worker, with one fetch per interval for the whole Envoy.
//!
//! Envoy runs one VM per worker; they share nothing but proxy-wasm *shared data* (a key-value
//! store with compare-and-swap). Per source, two keys:
//!
//! - `tollgate/<kind>/<cluster><path>`: the last good body, with its `ETag` (see [`encode`]).
//!   Only a body that loads (a JWKS with a usable key, a valid policy document) is ever written,
//!   so a failed or bad fetch leaves the last good one in place.
//! - the same key with `#due`: when the next fetch is due, in seconds since the epoch. On its
//!   tick, a worker that finds the fetch due moves this forward with compare-and-swap; only the
//!   worker whose swap succeeds fetches, so the workers do not fetch the same thing N times.
//!
//! Every worker checks the body's CAS value on its tick (every [`TICK`]) and reloads when it
//! changed. This module holds the pure parts; the host calls are in `filter.rs`.

use std::time::Duration;

use thiserror::Error;
use tollgate_engine::{LoadError, PolicySet};

use crate::config::Remote;
use crate::jwk::{JwksError, KeySet};

/// How often each worker looks at the shared data.
pub const TICK: Duration = Duration::from_secs(1);
/// How long a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest wait before retrying a failed fetch.
pub const MAX_RETRY_SECONDS: u64 = 5;

/// What a source provides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON Web Key Set.
    Jwks,
    /// A policy document (JSON), served as a bundle by the Tollgate server.
    Bundle,
}

/// A remote source and where its shared data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What it provides.
    pub kind: Kind,
    /// Where it is fetched from.
    pub remote: Remote,
}

/// A loaded body.
#[derive(Debug)]
pub enum Loaded {
    /// The signing keys.
    Keys(KeySet),
    /// The policy set.
    Policies(PolicySet),
}

impl Source {
    /// The shared-data key of the last good body.
    pub fn data_key(&self) -> String {
        let kind = match self.kind {
            Kind::Jwks => "jwks",
            Kind::Bundle => "bundle",
        };
        format!(
            "tollgate/{kind}/{}{}",
            self.remote.cluster, self.remote.path
        )
    }

    /// The shared-data key of the time the next fetch is due.
    pub fn due_key(&self) -> String {
        format!("{}#due", self.data_key())
    }

    /// Loads a fetched body; an error says why it cannot be used.
    pub fn load(&self, body: &[u8]) -> Result<Loaded, LoadFailed> {
        match self.kind {
            Kind::Jwks => Ok(Loaded::Keys(KeySet::parse(body)?.0)),
            Kind::Bundle => {
                let text = std::str::from_utf8(body).map_err(|_| LoadFailed::NotUtf8)?;
                Ok(Loaded::Policies(PolicySet::load(text)?))
            }
        }
    }

    /// Seconds until the next fetch after a failed one: soon, but not more often than the
    /// configured interval.
    pub fn retry_seconds(&self) -> u64 {
        self.remote.refresh_seconds.min(MAX_RETRY_SECONDS)
    }
}

/// Why a fetched body cannot be used.
#[derive(Debug, Error)]
pub enum LoadFailed {
    /// A key set that is not a usable JWKS.
    #[error(transparent)]
    Keys(#[from] JwksError),
    /// A policy bundle that is not UTF-8 text.
    #[error("the policy bundle is not UTF-8")]
    NotUtf8,
    /// A policy bundle the engine refuses.
    #[error(transparent)]
    Policies(#[from] LoadError),
}

/// The shared-data value of a body: its `ETag` (possibly empty), a newline, the body. An `ETag`
/// never holds a newline (RFC 9110 section 8.8.3).
pub fn encode(etag: Option<&str>, body: &[u8]) -> Vec<u8> {
    let etag = etag.unwrap_or("");
    let mut value = Vec::with_capacity(etag.len() + 1 + body.len());
    value.extend_from_slice(etag.as_bytes());
    value.push(b'\n');
    value.extend_from_slice(body);
    value
}

/// The `ETag` and body of a shared-data value written by [`encode`]; `None` for anything else.
pub fn decode(value: &[u8]) -> Option<(Option<&str>, &[u8])> {
    let newline = value.iter().position(|&b| b == b'\n')?;
    let (etag, rest) = value.split_at_checked(newline)?;
    let body = rest.get(1..)?;
    let etag = std::str::from_utf8(etag).ok()?;
    Some(((!etag.is_empty()).then_some(etag), body))
}

/// The due time stored under [`Source::due_key`]: 0 (due now) when absent or unreadable.
pub fn parse_due(value: Option<&[u8]>) -> u64 {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What became of a fetch.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new body to load.
    Fresh,
    /// 304: the body held is current.
    NotModified,
    /// Anything else; the last good body stays.
    Failed(String),
}

/// Classifies a fetch by its `:status` (absent when the call failed or timed out).
pub fn outcome(status: Option<&str>) -> Outcome {
    match status {
        Some("200") => Outcome::Fresh,
        Some("304") => Outcome::NotModified,
        Some(other) => Outcome::Failed(format!("status {other}")),
        None => Outcome::Failed("no response (connection failure or timeout)".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn source(kind: Kind) -> Source {
        Source {
            kind,
            remote: Remote {
                cluster: "tollgate".into(),
                path: "/jwks.json".into(),
                refresh_seconds: 300,
            },
        }
    }

    #[test]
    fn keys() {
        let jwks = source(Kind::Jwks);
        assert_eq!(jwks.data_key(), "tollgate/jwks/tollgate/jwks.json");
        assert_eq!(jwks.due_key(), "tollgate/jwks/tollgate/jwks.json#due");
        assert_eq!(
            source(Kind::Bundle).data_key(),
            "tollgate/bundle/tollgate/jwks.json"
        );
    }

    #[test]
    fn encode_and_decode() {
        let value = encode(Some("\"v1\""), b"{\"keys\":[]}\n");
        assert_eq!(
            decode(&value),
            Some((Some("\"v1\""), &b"{\"keys\":[]}\n"[..]))
        );
        assert_eq!(decode(&encode(None, b"x")), Some((None, &b"x"[..])));
        assert_eq!(decode(&encode(None, b"")), Some((None, &b""[..])));
        assert_eq!(decode(b"no newline"), None);
    }

    #[test]
    fn due_times() {
        assert_eq!(parse_due(None), 0);
        assert_eq!(parse_due(Some(b"junk")), 0);
        assert_eq!(parse_due(Some(b"1800000000")), 1_800_000_000);
    }

    #[test]
    fn outcomes() {
        assert_eq!(outcome(Some("200")), Outcome::Fresh);
        assert_eq!(outcome(Some("304")), Outcome::NotModified);
        assert!(matches!(outcome(Some("503")), Outcome::Failed(_)));
        assert!(matches!(outcome(None), Outcome::Failed(_)));
    }

    #[test]
    fn retry_is_bounded_by_the_interval() {
        let mut s = source(Kind::Jwks);
        assert_eq!(s.retry_seconds(), MAX_RETRY_SECONDS);
        s.remote.refresh_seconds = 2;
        assert_eq!(s.retry_seconds(), 2);
    }

    #[test]
    fn only_good_bodies_load() {
        let jwks = source(Kind::Jwks);
        let good = json!({ "keys": [ crate::testing::eddsa().jwk("k") ] }).to_string();
        assert!(matches!(jwks.load(good.as_bytes()), Ok(Loaded::Keys(_))));
        assert!(jwks.load(b"{\"keys\":[]}").is_err());
        assert!(jwks.load(b"<html>").is_err());

        let bundle = source(Kind::Bundle);
        let document = json!({
            "version": 1,
            "resources": [ { "id": "api", "audience": "https://a", "kind": "api", "scopes": ["r"] } ],
            "policies": [ { "id": "p", "targets": [ { "resource": "api", "scopes": "*" } ] } ]
        })
        .to_string();
        assert!(matches!(
            bundle.load(document.as_bytes()),
            Ok(Loaded::Policies(_))
        ));
        assert!(bundle.load(b"{\"version\": 2}").is_err());
        assert!(bundle.load(&[0xff, 0xfe]).is_err());
    }
}
