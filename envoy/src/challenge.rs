//! The `WWW-Authenticate` challenges of RFC 6750 section 3, with the RFC 9728
//! `resource_metadata` parameter that sends clients (MCP clients in particular) to the protected
//! resource metadata and from there to the authorization server.

/// Why a request to a protected route is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Challenge<'a> {
    /// The request carries no bearer token: 401 without an error code, so a client learns where
    /// to get one without being told it did something wrong.
    MissingToken,
    /// The token is malformed, expired, revoked, for another audience or badly signed: 401
    /// `invalid_token`.
    InvalidToken,
    /// The token is valid but lacks scopes the route needs: 403 `insufficient_scope`, naming them.
    InsufficientScope {
        /// The scopes the route needs (the `scope` parameter; omitted when empty).
        scopes: &'a [String],
    },
    /// The token is valid, but policy gives the route only to a fresher or stronger
    /// authentication of its user: 401 `insufficient_user_authentication` (RFC 9470 section 3),
    /// with what the authorization server should ask for.
    InsufficientUserAuthentication {
        /// Acceptable authentication levels (`acr_values`, space-separated; omitted when empty).
        acr_values: &'a [String],
        /// The greatest age the authentication may have, in seconds (`max_age`).
        max_age: Option<u64>,
    },
}

impl Challenge<'_> {
    /// The HTTP status code that carries this challenge.
    pub fn status(&self) -> u32 {
        match self {
            Challenge::MissingToken
            | Challenge::InvalidToken
            | Challenge::InsufficientUserAuthentication { .. } => 401,
            Challenge::InsufficientScope { .. } => 403,
        }
    }

    /// The `WWW-Authenticate` header value, e.g.
    /// `Bearer error="invalid_token", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource"`.
    /// `resource_metadata` is left out when the filter has none configured.
    pub fn header_value(&self, resource_metadata: Option<&str>) -> String {
        let mut params: Vec<(&str, String)> = Vec::new();
        match self {
            Challenge::MissingToken => {}
            Challenge::InvalidToken => params.push(("error", "invalid_token".to_owned())),
            Challenge::InsufficientScope { scopes } => {
                params.push(("error", "insufficient_scope".to_owned()));
                if !scopes.is_empty() {
                    params.push(("scope", scopes.join(" ")));
                }
            }
            Challenge::InsufficientUserAuthentication {
                acr_values,
                max_age,
            } => {
                params.push(("error", "insufficient_user_authentication".to_owned()));
                params.push((
                    "error_description",
                    "a more recent or stronger authentication of the user is required".to_owned(),
                ));
                if !acr_values.is_empty() {
                    params.push(("acr_values", acr_values.join(" ")));
                }
                if let Some(max_age) = max_age {
                    params.push(("max_age", max_age.to_string()));
                }
            }
        }
        if let Some(url) = resource_metadata {
            params.push(("resource_metadata", url.to_owned()));
        }
        let params: Vec<String> = params
            .into_iter()
            .map(|(name, value)| format!("{name}={}", quoted_string(&value)))
            .collect();
        if params.is_empty() {
            "Bearer".to_owned()
        } else {
            format!("Bearer {}", params.join(", "))
        }
    }
}

/// An RFC 9110 `quoted-string`. The configuration already refuses `"`, `\` and control
/// characters in scopes and URLs; escaping anyway keeps the header well-formed whatever it holds.
fn quoted_string(value: &str) -> String {
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            quoted.push('\\');
        }
        if !c.is_control() {
            quoted.push(c);
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = "https://api.example.com/.well-known/oauth-protected-resource";

    #[test]
    fn missing_token() {
        let challenge = Challenge::MissingToken;
        assert_eq!(challenge.status(), 401);
        assert_eq!(
            challenge.header_value(Some(METADATA)),
            format!("Bearer resource_metadata=\"{METADATA}\"")
        );
        assert_eq!(challenge.header_value(None), "Bearer");
    }

    #[test]
    fn invalid_token() {
        let challenge = Challenge::InvalidToken;
        assert_eq!(challenge.status(), 401);
        assert_eq!(
            challenge.header_value(Some(METADATA)),
            format!("Bearer error=\"invalid_token\", resource_metadata=\"{METADATA}\"")
        );
        assert_eq!(
            challenge.header_value(None),
            "Bearer error=\"invalid_token\""
        );
    }

    #[test]
    fn insufficient_scope() {
        let scopes = ["incidents:write".to_owned(), "runbook:execute".to_owned()];
        let challenge = Challenge::InsufficientScope { scopes: &scopes };
        assert_eq!(challenge.status(), 403);
        assert_eq!(
            challenge.header_value(Some(METADATA)),
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"incidents:write runbook:execute\", \
                 resource_metadata=\"{METADATA}\""
            )
        );
        assert_eq!(
            Challenge::InsufficientScope { scopes: &[] }.header_value(None),
            "Bearer error=\"insufficient_scope\""
        );
    }

    #[test]
    fn insufficient_user_authentication() {
        let levels = ["urn:x:mfa".to_owned(), "urn:x:hwk".to_owned()];
        let challenge = Challenge::InsufficientUserAuthentication {
            acr_values: &levels,
            max_age: Some(299),
        };
        assert_eq!(challenge.status(), 401);
        assert_eq!(
            challenge.header_value(Some(METADATA)),
            format!(
                "Bearer error=\"insufficient_user_authentication\", error_description=\"a more \
                 recent or stronger authentication of the user is required\", acr_values=\"urn:x:mfa \
                 urn:x:hwk\", max_age=\"299\", resource_metadata=\"{METADATA}\""
            )
        );
        let methods_only = Challenge::InsufficientUserAuthentication {
            acr_values: &[],
            max_age: None,
        };
        assert_eq!(
            methods_only.header_value(None),
            "Bearer error=\"insufficient_user_authentication\", error_description=\"a more recent \
             or stronger authentication of the user is required\""
        );
    }

    #[test]
    fn values_are_quoted_strings() {
        assert_eq!(quoted_string(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted_string("a\r\nb"), "\"ab\"");
    }
}
