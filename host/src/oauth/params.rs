//! A token-endpoint request as the OAuth functions see it, read once from the form with its
//! bounds checked, so no request can make the engine or the store do unbounded work.

use std::collections::HashMap;
use std::net::IpAddr;

use super::error::OAuthError;

/// The longest parameter value accepted (a token, an assertion, a URL), in bytes.
pub const MAX_PARAM_BYTES: usize = 16 * 1024;
/// The most scopes one request may name.
pub const MAX_SCOPES: usize = 64;
/// The longest scope name, in bytes.
pub const MAX_SCOPE_BYTES: usize = 256;
/// The most `resource` parameters one request may carry.
pub const MAX_RESOURCES: usize = 8;

/// Checks a `scope` value against the bounds (RFC 6749 §3.3 leaves them to the server), so no
/// request can make the policy engine or the store do unbounded work.
pub fn check_scope_bounds(scope: &str) -> Result<(), OAuthError> {
    let mut count = 0usize;
    for name in scope.split(' ').filter(|s| !s.is_empty()) {
        count += 1;
        if count > MAX_SCOPES {
            return Err(OAuthError::invalid_scope(format!(
                "at most {MAX_SCOPES} scopes may be requested at once"
            )));
        }
        if name.len() > MAX_SCOPE_BYTES {
            return Err(OAuthError::invalid_scope(format!(
                "a scope name is at most {MAX_SCOPE_BYTES} bytes long"
            )));
        }
        if name
            .chars()
            .any(|c| c == '"' || c == '\\' || c.is_control())
        {
            return Err(OAuthError::invalid_scope(
                "a scope name may not contain `\"`, `\\` or control characters (RFC 6749 §3.3)",
            ));
        }
    }
    Ok(())
}

/// The request as the OAuth functions see it.
#[derive(Debug, Clone, Default)]
pub struct Params {
    /// Form parameters; each appears once (repeats are refused when parsing).
    pub form: HashMap<String, String>,
    /// `resource` parameters (RFC 8707 allows several; Tollgate issues for one).
    pub resources: Vec<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// The caller's address.
    pub ip: Option<IpAddr>,
    /// Now, in unix seconds.
    pub now: i64,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body. A parameter sent twice is an error
    /// (RFC 6749 §3.1), except `resource` (RFC 8707 §2).
    pub fn parse(
        body: &[u8],
        authorization: Option<String>,
        ip: Option<IpAddr>,
        now: i64,
    ) -> Result<Params, OAuthError> {
        let mut form = HashMap::new();
        let mut resources = Vec::new();
        for (key, value) in form_urlencoded::parse(body) {
            if key.len() > 64 {
                return Err(OAuthError::invalid_request(
                    "a parameter name is longer than 64 bytes",
                ));
            }
            if key == "scope" {
                check_scope_bounds(&value)?;
            }
            if value.len() > MAX_PARAM_BYTES {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{key}` is longer than {MAX_PARAM_BYTES} bytes"
                )));
            }
            if key == "resource" {
                if resources.len() == MAX_RESOURCES {
                    return Err(OAuthError::invalid_target(format!(
                        "at most {MAX_RESOURCES} `resource` parameters"
                    )));
                }
                resources.push(value.into_owned());
                continue;
            }
            if form.insert(key.to_string(), value.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter `{key}` appears more than once"
                )));
            }
        }
        Ok(Params {
            form,
            resources,
            authorization,
            ip,
            now,
        })
    }

    /// A parameter, treating an empty value as absent (RFC 6749 §3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.form
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("the parameter `{key}` is missing")))
    }
}

/// Splits a `scope` parameter into its scopes (RFC 6749 §3.3), each once, in first-seen order.
pub fn split_scope(scope: Option<&str>) -> Option<Vec<String>> {
    scope.map(|s| {
        let mut out: Vec<String> = Vec::new();
        for name in s.split(' ').filter(|s| !s.is_empty()) {
            if !out.iter().any(|o| o == name) {
                out.push(name.to_owned());
            }
        }
        out
    })
}
