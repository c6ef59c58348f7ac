//! The proxy-wasm glue: read the configuration and the request headers, carry out the verdict.
//! Every decision is made in [`crate::config`] and [`crate::check`], which are tested natively.

use std::borrow::Cow;
use std::rc::Rc;

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, ContextType, LogLevel};

use crate::check::{self, RequestHead, Verdict};
use crate::config::Config;
use crate::headers;

/// The root context: one per plugin per worker; it owns the configuration.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "only the wasm entry point constructs it")
)]
#[derive(Default)]
pub(crate) struct Root {
    /// `None` until a configuration has been accepted.
    config: Option<Rc<Config>>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let bytes = self.get_plugin_configuration().unwrap_or_default();
        match Config::parse(&bytes) {
            Ok(config) => {
                log(
                    LogLevel::Info,
                    &format!(
                        "tollgate: configured {} route(s) for issuer `{}`",
                        config.routes.routes().len(),
                        config.issuer
                    ),
                );
                self.config = Some(Rc::new(config));
                true
            }
            Err(error) => {
                // Returning false makes Envoy refuse the plugin. A worker that already has a good
                // configuration keeps it.
                log(
                    LogLevel::Error,
                    &format!("tollgate: refusing the plugin configuration: {error}"),
                );
                false
            }
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter {
            config: self.config.clone(),
        }))
    }
}

/// One HTTP request.
#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "only the wasm entry point constructs it")
)]
struct Filter {
    /// `None` when the plugin has no accepted configuration: every request is refused.
    config: Option<Rc<Config>>,
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, _end_of_stream: bool) -> Action {
        // Bytes, not strings: the SDK's string accessor panics on a header value that is not
        // UTF-8, and any client can send one.
        let headers: Vec<(String, Vec<u8>)> = self.get_http_request_headers_bytes();

        for name in headers::reserved_names(headers.iter().map(|(name, _)| name.as_str())) {
            self.set_http_request_header(name, None);
        }

        let Some(config) = &self.config else {
            // Fail closed: an unconfigured filter protects everything.
            self.send_http_response(500, Vec::new(), None);
            return Action::Pause;
        };

        let value = |wanted: &str| -> Vec<Cow<'_, str>> {
            headers
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
                .map(|(_, value)| String::from_utf8_lossy(value))
                .collect()
        };
        let method = value(":method");
        let path = value(":path");
        let authorization = value("authorization");
        let authorization: Vec<&str> = authorization.iter().map(|v| v.as_ref()).collect();
        let head = RequestHead {
            method: method.first().map(|v| v.as_ref()),
            path: path.first().map(|v| v.as_ref()),
            authorization: &authorization,
        };

        match check::check(config, &head) {
            Verdict::Continue => Action::Continue,
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

#[cfg_attr(
    not(target_arch = "wasm32"),
    expect(dead_code, reason = "only the wasm entry point constructs it")
)]
fn log(level: LogLevel, message: &str) {
    // Nothing better to do if the host cannot log.
    let _ = hostcalls::log(level, message);
}
