//! The proxy-wasm glue: read the configuration and the request headers, keep the remote sources
//! fresh, carry out the verdict. Every decision is made in [`crate::config`], [`crate::check`]
//! and [`crate::sync`], which are tested natively.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel, MapType, MetricType};

use crate::abi_headers::{self, Malformed};
use crate::cache::TokenCache;
use crate::check::{self, Fetched, RequestHead, Verdict};
use crate::config::{Config, Jwks, Policies, Signatures};
use crate::headers;
use crate::signature::{self, Host, InFilter};
use crate::sync::{self, Kind, Loaded, Outcome, Source};

/// What one worker holds besides the configuration, shared by its root context (which refreshes
/// it) and its HTTP contexts (which read it). A worker is single-threaded and the host never
/// calls into a context while another runs, so the `RefCell` borrows never overlap.
#[derive(Debug)]
pub(crate) struct State {
    fetched: Fetched,
    cache: TokenCache,
    proxy: ProxySignatures,
}

/// Envoy's `verify_signature` foreign function as the filter's [`Host`] for signatures: RSA and
/// ECDSA checked by Envoy's BoringSSL ([`crate::signature`]).
#[derive(Debug)]
pub(crate) struct ProxySignatures {
    /// False once the host has answered that it has no such function: the filter then checks
    /// every signature itself without asking again.
    available: Cell<bool>,
    /// Whether a failed call was logged already (one warning per worker, not one per request).
    warned: Cell<bool>,
    /// The counter of signatures the proxy checked (`wasmcustom.tollgate_signatures_by_proxy` in
    /// Envoy's statistics), when the host defined it.
    counter: Option<u32>,
}

/// The name of [`ProxySignatures::counter`].
const SIGNATURES_BY_PROXY: &str = "tollgate_signatures_by_proxy";

impl ProxySignatures {
    fn new() -> ProxySignatures {
        ProxySignatures {
            available: Cell::new(true),
            warned: Cell::new(false),
            counter: define_counter(SIGNATURES_BY_PROXY),
        }
    }

    fn warn_once(&self, message: &str) {
        if !self.warned.replace(true) {
            log(LogLevel::Warn, message);
        }
    }
}

impl Host for ProxySignatures {
    fn verify_sha256(&self, request: &signature::Request<'_>) -> Option<bool> {
        const NOT_FOUND: u32 = 1;
        if !self.available.get() {
            return None;
        }
        let arguments = signature::encode_arguments(request);
        match call_foreign_function(signature::FOREIGN_FUNCTION, &arguments) {
            Ok(answer) => match signature::decode_result(&answer) {
                Ok((valid, reason)) => {
                    if let Some(counter) = self.counter {
                        let _ = hostcalls::increment_metric(counter, 1);
                    }
                    if !valid && !reason.is_empty() {
                        // Usually a forged or corrupted token; the library's words help when it
                        // is not (a key Envoy could not use).
                        log(
                            LogLevel::Debug,
                            &format!("tollgate: the proxy refused a signature: {reason}"),
                        );
                    }
                    Some(valid)
                }
                Err(error) => {
                    self.warn_once(&format!(
                        "tollgate: `{}` answered something unreadable ({error}); checking \
                         signatures in the filter",
                        signature::FOREIGN_FUNCTION
                    ));
                    None
                }
            },
            Err(NOT_FOUND) => {
                self.available.set(false);
                log(
                    LogLevel::Info,
                    &format!(
                        "tollgate: the proxy offers no `{}`; RSA and ECDSA signatures are \
                         checked in the filter",
                        signature::FOREIGN_FUNCTION
                    ),
                );
                None
            }
            Err(status) => {
                self.warn_once(&format!(
                    "tollgate: `{}` failed with status {status}; checking signatures in the \
                     filter",
                    signature::FOREIGN_FUNCTION
                ));
                None
            }
        }
    }
}

/// A remote source as this worker sees it.
struct Tracked {
    source: Source,
    /// The CAS value of the body this worker loaded last (`None`: nothing loaded yet).
    cas: Option<u32>,
    /// The `ETag` of that body.
    etag: Option<String>,
    /// Whether this worker has a fetch of it in flight.
    in_flight: bool,
}

/// The root context: one per plugin per worker; it owns the configuration and refreshes the
/// remote sources on its tick.
#[derive(Default)]
pub(crate) struct Root {
    /// `None` until a configuration has been accepted.
    config: Option<Rc<Config>>,
    state: Option<Rc<RefCell<State>>>,
    sources: Vec<Tracked>,
    /// Fetches in flight: the host's call token → index in `sources`.
    calls: HashMap<u32, usize>,
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        _num_headers: usize,
        body_size: usize,
        _num_trailers: usize,
    ) {
        let Some(index) = self.calls.remove(&token_id) else {
            return;
        };
        let now = self.seconds();
        let status = self.get_http_call_response_header(":status");
        let etag = self.get_http_call_response_header("etag");
        let body = self
            .get_http_call_response_body(0, body_size)
            .unwrap_or_default();
        let Some(tracked) = self.sources.get_mut(index) else {
            return;
        };
        tracked.in_flight = false;
        let source = tracked.source.clone();
        let next = match sync::outcome(status.as_deref()) {
            Outcome::Fresh => match source.load(&body) {
                Ok(loaded) => {
                    let etag = etag.filter(|e| !e.contains('\n'));
                    let value = sync::encode(etag.as_deref(), &body);
                    if let Err(status) =
                        hostcalls::set_shared_data(&source.data_key(), Some(&value), None)
                    {
                        log(
                            LogLevel::Warn,
                            &format!("tollgate: cannot share {}: {status:?}", describe(&source)),
                        );
                    }
                    // This worker applies it now; the others see the new CAS on their tick.
                    let (_, cas) =
                        hostcalls::get_shared_data(&source.data_key()).unwrap_or((None, None));
                    self.apply(index, loaded, cas, etag);
                    now + source.remote.refresh_seconds
                }
                Err(why) => {
                    log(
                        LogLevel::Warn,
                        &format!(
                            "tollgate: ignoring {} ({why}); keeping the last good one",
                            describe(&source)
                        ),
                    );
                    now + source.retry_seconds()
                }
            },
            Outcome::NotModified => now + source.remote.refresh_seconds,
            Outcome::Failed(why) => {
                log(
                    LogLevel::Warn,
                    &format!(
                        "tollgate: fetching {} failed: {why}; keeping the last good one",
                        describe(&source)
                    ),
                );
                now + source.retry_seconds()
            }
        };
        set_due(&source, next);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        let config = match Config::parse(&bytes) {
            Ok(config) => config,
            Err(error) => {
                // Returning false makes Envoy refuse the plugin. A worker that already has a good
                // configuration keeps it.
                log(
                    LogLevel::Error,
                    &format!("tollgate: refusing the plugin configuration: {error}"),
                );
                return false;
            }
        };
        log(
            LogLevel::Info,
            &format!(
                "tollgate: configured {} route(s) for issuer `{}`",
                config.routes.routes().len(),
                config.issuer
            ),
        );
        let mut sources = Vec::new();
        if let Jwks::Remote(remote) = &config.jwks {
            sources.push(Source {
                kind: Kind::Jwks,
                remote: remote.clone(),
            });
        }
        if let Some(Policies::Bundle(remote)) = &config.policies {
            sources.push(Source {
                kind: Kind::Bundle,
                remote: remote.clone(),
            });
        }
        self.sources = sources
            .into_iter()
            .map(|source| Tracked {
                source,
                cas: None,
                etag: None,
                in_flight: false,
            })
            .collect();
        self.calls.clear();
        self.state = Some(Rc::new(RefCell::new(State {
            fetched: Fetched::default(),
            cache: TokenCache::new(config.token_cache_size),
            proxy: ProxySignatures::new(),
        })));
        self.config = Some(Rc::new(config));
        if !self.sources.is_empty() {
            self.set_tick_period(sync::TICK);
            // Take what another worker fetched already. No fetch from here: at configure time
            // Envoy's clusters may not be ready, and a claimed fetch that cannot complete would
            // hold every worker back until it times out. The first tick fetches.
            for index in 0..self.sources.len() {
                self.load_shared(index);
            }
        }
        true
    }

    fn on_tick(&mut self) {
        self.refresh();
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            config: self.config.clone(),
            state: self.state.clone(),
        }))
    }
}

impl Root {
    fn seconds(&self) -> u64 {
        self.get_current_time()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }

    /// Loads what other workers fetched, and fetches what is due.
    fn refresh(&mut self) {
        let now = self.seconds();
        for index in 0..self.sources.len() {
            self.load_shared(index);
            self.fetch_if_due(index, now);
        }
    }

    /// Loads the shared body of a source when it changed since this worker loaded it.
    fn load_shared(&mut self, index: usize) {
        let Some(tracked) = self.sources.get(index) else {
            return;
        };
        let Ok((Some(value), cas)) = hostcalls::get_shared_data(&tracked.source.data_key()) else {
            return;
        };
        if cas == tracked.cas {
            return;
        }
        let source = tracked.source.clone();
        match sync::decode(&value).map(|(etag, body)| (etag, source.load(body))) {
            Some((etag, Ok(loaded))) => {
                let etag = etag.map(str::to_owned);
                self.apply(index, loaded, cas, etag);
            }
            other => {
                // Only loadable bodies are written, so this is another plugin version's format.
                let why = match other {
                    Some((_, Err(why))) => why.to_string(),
                    _ => "unknown format".to_owned(),
                };
                log(
                    LogLevel::Warn,
                    &format!(
                        "tollgate: cannot load the shared {}: {why}",
                        describe(&source)
                    ),
                );
                if let Some(tracked) = self.sources.get_mut(index) {
                    tracked.cas = cas;
                }
            }
        }
    }

    /// Starts a fetch when it is due and this worker wins the compare-and-swap on the due time.
    fn fetch_if_due(&mut self, index: usize, now: u64) {
        let Some(tracked) = self.sources.get(index) else {
            return;
        };
        if tracked.in_flight {
            return;
        }
        let source = tracked.source.clone();
        let (due, cas) = match hostcalls::get_shared_data(&source.due_key()) {
            Ok((value, cas)) => (sync::parse_due(value.as_deref()), cas),
            Err(_) => (0, None),
        };
        if now < due {
            return;
        }
        // Claim the fetch: a worker that lost the race sees a CAS mismatch and leaves it.
        let claim = (now + sync::FETCH_TIMEOUT.as_secs() + 1).to_string();
        if hostcalls::set_shared_data(&source.due_key(), Some(claim.as_bytes()), cas).is_err() {
            return;
        }
        let mut request_headers = vec![
            (":method", "GET"),
            (":path", source.remote.path.as_str()),
            (":authority", source.remote.cluster.as_str()),
            ("accept", "application/json"),
        ];
        if let Some(etag) = &tracked.etag {
            request_headers.push(("if-none-match", etag.as_str()));
        }
        match self.dispatch_http_call(
            &source.remote.cluster,
            request_headers,
            None,
            Vec::new(),
            sync::FETCH_TIMEOUT,
        ) {
            Ok(token) => {
                self.calls.insert(token, index);
                if let Some(tracked) = self.sources.get_mut(index) {
                    tracked.in_flight = true;
                }
            }
            Err(status) => {
                log(
                    LogLevel::Warn,
                    &format!(
                        "tollgate: cannot fetch {}: {status:?} (is the cluster defined?)",
                        describe(&source)
                    ),
                );
                set_due(&source, now + source.retry_seconds());
            }
        }
    }

    /// Swaps a loaded body in for this worker.
    fn apply(&mut self, index: usize, loaded: Loaded, cas: Option<u32>, etag: Option<String>) {
        let Some(tracked) = self.sources.get_mut(index) else {
            return;
        };
        tracked.cas = cas;
        tracked.etag = etag;
        let Some(state) = &self.state else {
            return;
        };
        let mut state = state.borrow_mut();
        let what = match loaded {
            Loaded::Keys(keys) => {
                let what = format!("{} signing key(s)", keys.len());
                state.fetched.keys = Some(keys);
                // A withdrawn key must stop working at once, cached tokens included.
                state.cache.clear();
                what
            }
            Loaded::Policies(set) => {
                let what = format!("{} policies", set.len());
                state.fetched.policies = Some(set);
                what
            }
        };
        log(
            LogLevel::Info,
            &format!("tollgate: loaded {what} from {}", describe(&tracked.source)),
        );
    }
}

fn describe(source: &Source) -> String {
    let what = match source.kind {
        Kind::Jwks => "the JWKS",
        Kind::Bundle => "the policy bundle",
    };
    format!(
        "{what} at `{}` `{}`",
        source.remote.cluster, source.remote.path
    )
}

fn set_due(source: &Source, due: u64) {
    let due = due.to_string();
    if let Err(status) = hostcalls::set_shared_data(&source.due_key(), Some(due.as_bytes()), None) {
        log(
            LogLevel::Warn,
            &format!("tollgate: cannot schedule {}: {status:?}", describe(source)),
        );
    }
}

/// One HTTP request.
struct Filter {
    /// `None` when the plugin has no accepted configuration: every request is refused.
    config: Option<Rc<Config>>,
    state: Option<Rc<RefCell<State>>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes, not strings: the SDK's string accessor panics on a header value that is not
        // UTF-8, and any client can send one. Read in place (see `abi_headers`).
        let buffer = match request_header_map() {
            Ok(buffer) => buffer,
            Err(status) => {
                log(
                    LogLevel::Error,
                    &format!(
                        "tollgate: the host cannot give the request headers (status {status})"
                    ),
                );
                self.send_http_response(500, Vec::new(), None);
                return Action::Pause;
            }
        };
        let headers = match abi_headers::pairs(&buffer) {
            Ok(headers) => headers,
            Err(Malformed::NameNotUtf8) => {
                // A client's doing (Envoy's codecs refuse such names before this).
                self.send_http_response(400, Vec::new(), None);
                return Action::Pause;
            }
            Err(Malformed::Layout) => {
                // The host broke the ABI: refuse rather than guess (fail closed).
                log(
                    LogLevel::Error,
                    "tollgate: the request header map is malformed",
                );
                self.send_http_response(500, Vec::new(), None);
                return Action::Pause;
            }
        };

        for name in headers::reserved_names(headers.iter().map(|(name, _)| *name)) {
            self.set_http_request_header(name, None);
        }

        let (Some(config), Some(state)) = (&self.config, &self.state) else {
            // Fail closed: an unconfigured filter protects everything.
            self.send_http_response(500, Vec::new(), None);
            return Action::Pause;
        };

        // The first `:method` and `:path`, and the first two `Authorization` values (a second
        // one makes the credentials malformed, whatever it holds). Values that are not UTF-8 are
        // read lossily; valid ones are borrowed, not copied.
        let mut method = None;
        let mut path = None;
        let mut authorization: [Cow<'_, str>; 2] = [Cow::Borrowed(""), Cow::Borrowed("")];
        let mut authorizations = 0;
        for (name, value) in &headers {
            if method.is_none() && name.eq_ignore_ascii_case(":method") {
                method = Some(String::from_utf8_lossy(value));
            } else if path.is_none() && name.eq_ignore_ascii_case(":path") {
                path = Some(String::from_utf8_lossy(value));
            } else if name.eq_ignore_ascii_case("authorization") {
                if let Some(slot) = authorization.get_mut(authorizations) {
                    *slot = String::from_utf8_lossy(value);
                }
                authorizations += 1;
            }
        }
        let [first, second] = &authorization;
        let authorization: [&str; 2] = [first, second];
        let head = RequestHead {
            method: method.as_deref(),
            path: path.as_deref(),
            authorization: authorization
                .get(..authorizations.min(2))
                .unwrap_or_default(),
        };

        let now = jiff::Timestamp::try_from(self.get_current_time())
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let verdict = {
            let mut state = state.borrow_mut();
            let State {
                fetched,
                cache,
                proxy,
            } = &mut *state;
            let signatures: &dyn Host = match config.signatures {
                Signatures::Proxy => proxy,
                Signatures::Filter => &InFilter,
            };
            check::check(config, &head, fetched, cache, signatures, now, || {
                self.downstream_ip()
            })
        };

        match verdict {
            Verdict::Continue => Action::Continue,
            Verdict::Authorized(identity) => {
                // Every reserved header was removed above, so adding is enough (replacing would
                // search the header map first).
                for (name, value) in headers::identity_headers(&identity) {
                    self.add_http_request_header(name, value);
                }
                Action::Continue
            }
            Verdict::Respond(reply) => {
                let mut response_headers: Vec<(&str, &str)> = Vec::new();
                if let Some(challenge) = &reply.www_authenticate {
                    response_headers.push(("www-authenticate", challenge));
                }
                self.send_http_response(reply.status, response_headers, None);
                Action::Pause
            }
        }
    }
}

impl Filter {
    /// The downstream address (`request.ip` for policies), from Envoy's `source.address`
    /// attribute: `ip:port`, or `[ip]:port` for IPv6.
    fn downstream_ip(&self) -> Option<IpAddr> {
        let address = self.get_property(vec!["source", "address"])?;
        let address = std::str::from_utf8(&address).ok()?;
        address
            .parse::<SocketAddr>()
            .map(|a| a.ip())
            .or_else(|_| address.parse::<IpAddr>())
            .ok()
    }
}

/// The request's header map as the host serialises it (see [`abi_headers`]): empty when the host
/// has no header to give, or the host's status code when it fails.
#[expect(
    unsafe_code,
    reason = "the ABI call the SDK makes in get_http_request_headers_bytes, without its copies"
)]
fn request_header_map() -> Result<Vec<u8>, u32> {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        // The status is read as a plain `u32`: the host may answer codes the SDK's `Status` has
        // no variant for, and reading one of those as the enum would be undefined behaviour.
        fn proxy_get_header_map_pairs(
            map_type: MapType,
            return_map_data: *mut *mut u8,
            return_map_size: *mut usize,
        ) -> u32;
    }
    const OK: u32 = 0;
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the host writes a pointer and a size through the two out-pointers, which are valid
    // for writes. On success the buffer came from this module's allocator export (`malloc` on
    // wasm32-unknown-unknown), which the SDK implements as a `Vec<u8>` of exactly `size` bytes
    // turned into a boxed slice, so it is owned here as a `Vec` of that length and capacity, as
    // the SDK's own `get_map_bytes` does.
    unsafe {
        match proxy_get_header_map_pairs(MapType::HttpRequestHeaders, &mut data, &mut size) {
            OK if data.is_null() => Ok(Vec::new()),
            OK => Ok(Vec::from_raw_parts(data, size, size)),
            status => Err(status),
        }
    }
}

/// Defines a counter in the host's statistics: its id, or `None` when the host has none (the SDK's
/// `define_metric` would trap on any status but `Ok`).
#[expect(
    unsafe_code,
    reason = "the ABI call the SDK makes in define_metric, reading the status as a number"
)]
fn define_counter(name: &str) -> Option<u32> {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        fn proxy_define_metric(
            metric_type: MetricType,
            name_data: *const u8,
            name_size: usize,
            return_id: *mut u32,
        ) -> u32;
    }
    const OK: u32 = 0;
    let mut id: u32 = 0;
    // SAFETY: the name is valid for reads of its length for the whole call, and the host writes
    // the id through a pointer valid for writes.
    let status =
        unsafe { proxy_define_metric(MetricType::Counter, name.as_ptr(), name.len(), &mut id) };
    (status == OK).then_some(id)
}

/// Calls the host's foreign function `name` with `arguments`: its answer, or the host's status
/// code when it fails (1, `NotFound`: the host has no such function).
#[expect(
    unsafe_code,
    reason = "the ABI call the SDK makes in call_foreign_function, reading the status as a number"
)]
fn call_foreign_function(name: &str, arguments: &[u8]) -> Result<Vec<u8>, u32> {
    #[link(wasm_import_module = "env")]
    unsafe extern "C" {
        // A plain `u32` status, as in `request_header_map`: Envoy answers codes for this call
        // (`InvalidMemoryAccess`, 6) that the SDK's `Status` has no variant for.
        fn proxy_call_foreign_function(
            function_name_data: *const u8,
            function_name_size: usize,
            arguments_data: *const u8,
            arguments_size: usize,
            results_data: *mut *mut u8,
            results_size: *mut usize,
        ) -> u32;
    }
    const OK: u32 = 0;
    let mut data: *mut u8 = std::ptr::null_mut();
    let mut size: usize = 0;
    // SAFETY: the name and arguments are valid for reads of their lengths for the whole call; the
    // host writes a pointer and a size through the two out-pointers, which are valid for writes.
    // On success the buffer came from this module's allocator export, a `Vec<u8>` of exactly
    // `size` bytes (see `request_header_map`), so it is owned here as such a `Vec`.
    unsafe {
        match proxy_call_foreign_function(
            name.as_ptr(),
            name.len(),
            arguments.as_ptr(),
            arguments.len(),
            &mut data,
            &mut size,
        ) {
            OK if data.is_null() => Ok(Vec::new()),
            OK => Ok(Vec::from_raw_parts(data, size, size)),
            status => Err(status),
        }
    }
}

fn log(level: LogLevel, message: &str) {
    // Nothing better to do if the host cannot log.
    let _ = hostcalls::log(level, message);
}
