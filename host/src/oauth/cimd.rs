//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, as the MCP
//! authorization specification uses them): a client whose `client_id` is an `https` URL is
//! described by the JSON document at that URL.
//!
//! The fetch is the dangerous part: the URL comes from whoever starts an authorization request.
//! So it never follows redirects, reads at most [`MAX_DOCUMENT`] bytes, gives up after a few
//! seconds, goes through no proxy, and connects only to public addresses: the resolver below
//! drops every special-use address (RFC 6890) before reqwest sees it, so a name that resolves to
//! loopback or a private network cannot be reached, even if its DNS answer changes between two
//! requests. `allowLocalMetadataDocuments` lifts that (and allows `http`) for local testing.
//!
//! Anyone can name a URL, so the fetches are bounded too: a document is cached for at least
//! [`MIN_FRESHNESS`] seconds whatever its `Cache-Control` says, a full cache forgets the entry
//! closest to expiry instead of caching nothing, at most [`MAX_FETCHES`] fetches run at once,
//! and one address may cause at most [`FETCHES_PER_HOUR`] fetches an hour. A failed fetch is not
//! cached (a client fixing its document is not kept waiting), so the per-address budget is what
//! keeps the server from being used to send requests to a URL that fails.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use reqwest::Url;
use serde_json::Value;

use crate::config::{
    ClientConfig, ClientStatus, GrantTypeName, PUBLIC_CLIENT_GRANTS, RegistrationSettings,
    RegistrationType, TokenEndpointAuthMethod,
};

/// The largest document accepted, in bytes.
pub const MAX_DOCUMENT: usize = 5 * 1024;
/// The longest a document stays cached, whatever its `Cache-Control` says.
const MAX_FRESHNESS: i64 = 24 * 3600;
/// The shortest a document stays cached, even when it asks for no caching.
pub const MIN_FRESHNESS: i64 = 60;
/// Fetches one address may cause an hour (cache hits are free).
pub const FETCHES_PER_HOUR: u32 = 120;
/// How many documents (and failures) are cached at most.
const MAX_CACHED: usize = 1024;
/// How many fetches may run at once; further requests naming an uncached URL are refused.
pub const MAX_FETCHES: usize = 16;

/// Why a metadata document cannot be used. The message is safe to show to the user and to the
/// client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CimdError(pub String);

fn fail(message: impl Into<String>) -> CimdError {
    CimdError(message.into())
}

/// Fetches, checks and caches metadata documents.
#[derive(Debug)]
pub struct MetadataDocuments {
    settings: RegistrationSettings,
    http: reqwest::Client,
    cache: Mutex<HashMap<String, Cached>>,
    fetches: tokio::sync::Semaphore,
    per_address: crate::throttle::RateLimit,
}

#[derive(Debug, Clone)]
struct Cached {
    client: ClientConfig,
    fresh_until: i64,
}

impl MetadataDocuments {
    /// A fetcher for these settings.
    pub fn new(settings: RegistrationSettings) -> Result<MetadataDocuments, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicOnly {
                allow_local: settings.allow_local_metadata_documents,
            }))
            .user_agent(concat!("tollgate/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(MetadataDocuments {
            settings,
            http,
            cache: Mutex::new(HashMap::new()),
            fetches: tokio::sync::Semaphore::new(MAX_FETCHES),
            per_address: crate::throttle::RateLimit::default(),
        })
    }

    /// Whether metadata documents are enabled.
    pub fn enabled(&self) -> bool {
        self.settings.metadata_documents
    }

    /// Whether `client_id` is meant as a metadata document URL (whatever its other faults).
    pub fn looks_like_url(client_id: &str) -> bool {
        client_id.starts_with("https://") || client_id.starts_with("http://")
    }

    /// The client a metadata document URL describes: from the cache while fresh, else fetched
    /// (counted against the budget of `ip`, the address of the request that names it).
    pub async fn client(
        &self,
        client_id: &str,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<ClientConfig, CimdError> {
        if !self.enabled() {
            return Err(fail(
                "this server does not accept client ID metadata documents",
            ));
        }
        let url = self.check_url(client_id)?;
        if let Some(hit) = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(client_id)
            .filter(|c| c.fresh_until > now)
        {
            return Ok(hit.client.clone());
        }
        if !self.per_address.allow(ip, FETCHES_PER_HOUR, now) {
            return Err(fail(
                "too many client metadata documents were fetched for this address; try again later",
            ));
        }
        let Ok(_permit) = self.fetches.try_acquire() else {
            return Err(fail(
                "too many client metadata documents are being fetched; try again shortly",
            ));
        };
        let (document, freshness) = self.fetch(url, now).await?;
        let client = client_from_document(client_id, &document)?;
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.retain(|_, c| c.fresh_until > now);
        if cache.len() >= MAX_CACHED
            && let Some(soonest) = cache
                .iter()
                .min_by_key(|(_, c)| c.fresh_until)
                .map(|(k, _)| k.clone())
        {
            cache.remove(&soonest);
        }
        cache.insert(
            client_id.to_owned(),
            Cached {
                client: client.clone(),
                fresh_until: now.saturating_add(freshness.clamp(MIN_FRESHNESS, MAX_FRESHNESS)),
            },
        );
        Ok(client)
    }

    /// The URL rules: `https` (or `http` when local documents are allowed), a path other than
    /// `/`, no fragment, no user or password, no `.` or `..` segments; the host, when an
    /// address, must be a public one.
    fn check_url(&self, client_id: &str) -> Result<Url, CimdError> {
        let url = Url::parse(client_id)
            .map_err(|e| fail(format!("the client_id is not a valid URL: {e}")))?;
        match url.scheme() {
            "https" => {}
            "http" if self.settings.allow_local_metadata_documents => {}
            other => {
                return Err(fail(format!(
                    "a client_id URL must use https, not `{other}`"
                )));
            }
        }
        if url.fragment().is_some() || client_id.contains('#') {
            return Err(fail("a client_id URL must not have a fragment"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(fail(
                "a client_id URL must not carry a user name or password",
            ));
        }
        // `Url` normalizes dot segments away, so look at what was written.
        let path = client_id
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or("");
        let path = path.split(['?', '#']).next().unwrap_or("");
        if path.is_empty() || path == "/" {
            return Err(fail("a client_id URL must have a path"));
        }
        if path.split('/').any(|s| s == "." || s == "..") {
            return Err(fail(
                "a client_id URL must not have `.` or `..` path segments",
            ));
        }
        if let Some(host) = url.host() {
            let literal = match host {
                url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
                url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
                url::Host::Domain(_) => None,
            };
            if let Some(ip) = literal
                && !self.settings.allow_local_metadata_documents
                && is_special_use(ip)
            {
                return Err(fail(format!(
                    "the client_id URL names a special-use address ({ip}), which this server does not fetch from"
                )));
            }
        }
        Ok(url)
    }

    /// Fetches a document: no redirects, at most [`MAX_DOCUMENT`] bytes, JSON. Returns it with
    /// how long it may be cached (seconds; 0 = not at all).
    async fn fetch(&self, url: Url, now: i64) -> Result<(Value, i64), CimdError> {
        let mut response = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| fail(describe_fetch_error(&e)))?;
        let status = response.status();
        if status.is_redirection() {
            return Err(fail(format!(
                "the client metadata document answered with a redirect ({status}); redirects are not followed"
            )));
        }
        if !status.is_success() {
            return Err(fail(format!(
                "the client metadata document could not be fetched: HTTP {status}"
            )));
        }
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT as u64)
        {
            return Err(too_large());
        }
        let freshness = freshness(response.headers(), now);
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fail(format!("reading the client metadata document failed: {e}")))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let document: Value = serde_json::from_slice(&body)
            .map_err(|e| fail(format!("the client metadata document is not JSON: {e}")))?;
        Ok((document, freshness))
    }
}

fn too_large() -> CimdError {
    fail(format!(
        "the client metadata document is larger than {MAX_DOCUMENT} bytes"
    ))
}

/// Finds our own refusal in reqwest's error chain, so the message says why.
fn describe_fetch_error(e: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<Refused>() {
            return refused.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "the client metadata document did not arrive in time".into()
    } else if e.is_connect() {
        "cannot connect to the client metadata document's host".into()
    } else {
        format!("the client metadata document could not be fetched: {e}")
    }
}

/// Seconds a response may be cached (RFC 9111 §4.2.1, for a private cache): `no-store` and
/// `no-cache` mean not at all; `max-age` wins over `Expires`; without either, nothing is cached
/// (no heuristic freshness).
fn freshness(headers: &reqwest::header::HeaderMap, now: i64) -> i64 {
    let mut max_age = None;
    for value in headers.get_all(reqwest::header::CACHE_CONTROL) {
        let Ok(text) = value.to_str() else { continue };
        for directive in text.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return 0;
            }
            if let Some(n) = directive.strip_prefix("max-age=") {
                max_age = Some(n.trim_matches('"').parse::<i64>().unwrap_or(0).max(0));
            }
        }
    }
    if let Some(age) = max_age {
        return age;
    }
    let date = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|t| jiff::fmt::rfc2822::parse(t).ok())
            .map(|z| z.timestamp().as_second())
    };
    match (date(reqwest::header::EXPIRES), date(reqwest::header::DATE)) {
        (Some(expires), Some(date)) => (expires - date).max(0),
        (Some(expires), None) => (expires - now).max(0),
        _ => 0,
    }
}

/// Checks a document and turns it into a client: its `client_id` must be the URL; it must not
/// use a shared secret; it needs `redirect_uris`; it may use the authorization code grant (and
/// refresh) only.
pub fn client_from_document(client_id: &str, document: &Value) -> Result<ClientConfig, CimdError> {
    let object = document
        .as_object()
        .ok_or_else(|| fail("the client metadata document is not a JSON object"))?;
    match object.get("client_id").and_then(Value::as_str) {
        Some(id) if id == client_id => {}
        Some(id) => {
            return Err(fail(format!(
                "the client metadata document's client_id `{id}` is not its URL `{client_id}`"
            )));
        }
        None => return Err(fail("the client metadata document has no client_id")),
    }
    let method = object
        .get("token_endpoint_auth_method")
        .map(|m| m.as_str().unwrap_or_default())
        .unwrap_or("none");
    match method {
        "none" => {}
        "client_secret_basic" | "client_secret_post" | "client_secret_jwt" => {
            return Err(fail(format!(
                "a client metadata document cannot use a shared secret (`{method}`)"
            )));
        }
        other => {
            return Err(fail(format!(
                "token_endpoint_auth_method `{other}` is not supported for metadata documents; use `none`"
            )));
        }
    }
    for secret in ["client_secret", "client_secret_expires_at"] {
        if object.contains_key(secret) {
            return Err(fail(format!(
                "a client metadata document must not contain `{secret}`"
            )));
        }
    }
    let redirect_uris = string_list(object.get("redirect_uris"), "redirect_uris")?;
    if redirect_uris.is_empty() {
        return Err(fail("the client metadata document has no redirect_uris"));
    }
    for uri in &redirect_uris {
        super::redirect_uri::check_redirect_uri(uri).map_err(|e| CimdError(e.to_string()))?;
    }
    let names = match object.get("grant_types") {
        None => vec!["authorization_code".to_owned()],
        Some(v) => string_list(Some(v), "grant_types")?,
    };
    let mut grant_types = Vec::with_capacity(names.len());
    for g in &names {
        match GrantTypeName::from_name(g) {
            Some(grant) if PUBLIC_CLIENT_GRANTS.contains(&grant) => grant_types.push(grant),
            _ => {
                return Err(fail(format!(
                    "grant type `{g}` is not available to metadata document clients"
                )));
            }
        }
    }
    grant_types.dedup();
    if let Some(types) = object.get("response_types") {
        let types = string_list(Some(types), "response_types")?;
        if types.iter().any(|t| t != "code") {
            return Err(fail("only the `code` response type is supported"));
        }
    }
    let name = match object.get("client_name") {
        None => None,
        Some(Value::String(n)) => Some(n.clone()),
        Some(_) => return Err(fail("client_name must be a string")),
    };
    Ok(ClientConfig {
        client_id: client_id.to_owned(),
        name,
        secret: None,
        token_endpoint_auth_method: TokenEndpointAuthMethod::None,
        grant_types,
        tags: Vec::new(),
        registration_type: RegistrationType::Cimd,
        status: ClientStatus::Unverified,
        allowed_scopes: Default::default(),
        redirect_uris,
        jwks: None,
        tenant_id: None,
        serves: Vec::new(),
        owner: None,
        disabled: false,
        tokens_not_before: None,
    })
}

fn string_list(value: Option<&Value>, name: &str) -> Result<Vec<String>, CimdError> {
    match value {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| fail(format!("{name} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(fail(format!("{name} must be a list of strings"))),
    }
}

/// The resolver's refusal, found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error(
    "the client_id URL's host `{0}` resolves only to special-use addresses, which this server does not fetch from"
)]
struct Refused(String);

/// Resolves with the system resolver and keeps public addresses only (unless local documents
/// are allowed).
#[derive(Debug)]
struct PublicOnly {
    allow_local: bool,
}

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_local = self.allow_local;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow_local || !is_special_use(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Refused(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Whether an address is in one of the special-use blocks of the IANA registries RFC 6890
/// set up (loopback, private, link-local, shared, documentation, benchmarking, multicast,
/// reserved, unspecified, and IPv6's unique-local, translation and tunnel prefixes). IPv4-mapped
/// IPv6 addresses are judged as their IPv4 address.
pub fn is_special_use(ip: IpAddr) -> bool {
    const V4: [(Ipv4Addr, u8); 17] = [
        (Ipv4Addr::new(0, 0, 0, 0), 8),
        (Ipv4Addr::new(10, 0, 0, 0), 8),
        (Ipv4Addr::new(100, 64, 0, 0), 10),
        (Ipv4Addr::new(127, 0, 0, 0), 8),
        (Ipv4Addr::new(169, 254, 0, 0), 16),
        (Ipv4Addr::new(172, 16, 0, 0), 12),
        (Ipv4Addr::new(192, 0, 0, 0), 24),
        (Ipv4Addr::new(192, 0, 2, 0), 24),
        (Ipv4Addr::new(192, 31, 196, 0), 24),
        (Ipv4Addr::new(192, 52, 193, 0), 24),
        (Ipv4Addr::new(192, 88, 99, 0), 24),
        (Ipv4Addr::new(192, 168, 0, 0), 16),
        (Ipv4Addr::new(192, 175, 48, 0), 24),
        (Ipv4Addr::new(198, 18, 0, 0), 15),
        (Ipv4Addr::new(198, 51, 100, 0), 24),
        (Ipv4Addr::new(203, 0, 113, 0), 24),
        (Ipv4Addr::new(224, 0, 0, 0), 3),
    ];
    const V6: [(Ipv6Addr, u8); 11] = [
        // IPv4-compatible addresses (`::a.b.c.d`, deprecated by RFC 4291 §2.5.5.1) with `::` and
        // `::1`: some stacks route them to the IPv4 address.
        (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96),
        // Site-local (RFC 3879 deprecated it, but a network may still route it privately).
        (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10),
        (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96),
        (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48),
        (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64),
        (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23),
        (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32),
        (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16),
        (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10),
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
    ];
    match ip {
        IpAddr::V4(v4) => V4.iter().any(|(net, len)| {
            Ipv4Net::new(*net, *len).is_ok_and(|n| IpNet::V4(n).contains(&IpAddr::V4(v4)))
        }),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_special_use(IpAddr::V4(v4));
            }
            V6.iter().any(|(net, len)| {
                Ipv6Net::new(*net, *len).is_ok_and(|n| IpNet::V6(n).contains(&IpAddr::V6(v6)))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_use_addresses() {
        for special in [
            "127.0.0.1",
            "10.1.2.3",
            "172.20.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "::7f00:1",
            "::a00:1",
            "::169.254.169.254",
            "fec0::1",
        ] {
            assert!(
                is_special_use(special.parse().unwrap_or(IpAddr::V4(Ipv4Addr::BROADCAST))),
                "{special} is special-use"
            );
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "1.1.1.1"] {
            let ip: IpAddr = public.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(!is_special_use(ip), "{public} is public");
        }
    }

    #[test]
    fn freshness_follows_cache_control_and_expires() {
        use reqwest::header::{CACHE_CONTROL, DATE, EXPIRES, HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        assert_eq!(freshness(&h, 0), 0);
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=120"),
        );
        assert_eq!(freshness(&h, 0), 120);
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("max-age=120, no-store"),
        );
        assert_eq!(freshness(&h, 0), 0);
        h.remove(CACHE_CONTROL);
        h.insert(
            DATE,
            HeaderValue::from_static("Mon, 23 Nov 2026 10:00:00 GMT"),
        );
        h.insert(
            EXPIRES,
            HeaderValue::from_static("Mon, 23 Nov 2026 10:05:00 GMT"),
        );
        assert_eq!(freshness(&h, 0), 300);
    }

    #[test]
    fn documents_are_checked() {
        let id = "https://app.example.com/oauth/client.json";
        let good = serde_json::json!({
            "client_id": id, "client_name": "App", "redirect_uris": ["https://app.example.com/cb"]
        });
        let client = client_from_document(id, &good);
        assert!(
            client
                .as_ref()
                .is_ok_and(|c| c.registration_type == RegistrationType::Cimd
                    && c.status == ClientStatus::Unverified
                    && c.is_public())
        );
        let mut wrong = good.clone();
        wrong["client_id"] = "https://evil.example/x".into();
        assert!(client_from_document(id, &wrong).is_err());
        let mut secret = good.clone();
        secret["token_endpoint_auth_method"] = "client_secret_basic".into();
        assert!(client_from_document(id, &secret).is_err());
        let mut no_redirects = good;
        no_redirects["redirect_uris"] = serde_json::json!([]);
        assert!(client_from_document(id, &no_redirects).is_err());
    }
}
