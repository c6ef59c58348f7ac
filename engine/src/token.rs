//! The request a verified access token stands for: what a runtime that re-checks tokens against
//! today's policies (the Envoy filter's live check) asks the engine, so that access a policy change
//! removed is refused even for tokens issued before the change.
//!
//! Its rules are in [`Request::from_token_claims`]; the Envoy filter calls it (`envoy/src/live.rs`).

use serde_json::{Map, Value};

use crate::error::RequestError;
use crate::request::{Actor, Auth, Client, GrantType, Request, Target, User};

impl Request {
    /// The request a verified access token stands for, to decide it against today's policies.
    /// Refused when the token's `grant_type` claim names no grant type the engine knows: such a
    /// token cannot be judged (fail closed).
    ///
    /// The caller picks out `sub` and the client id (where it finds them, `client_id` or else
    /// `azp` say, is its own concern) and names the target. What each request field comes from:
    ///
    /// | request field | from the token |
    /// | --- | --- |
    /// | `grantType` | the `grant_type` claim when it carries one (a policy-document name such as `authorization_code`, or a token endpoint value such as an RFC grant URN: [`GrantType::from_oauth_grant_type`]); otherwise inferred: `act` present → `token_exchange`; no `sub`, or `sub` equal to the client id (RFC 9068 section 2.2 for grants without a user) → `client_credentials`; else `authorization_code`. A `grant_type` claim with any other value refuses the request (the policy cannot be evaluated: fail closed) |
    /// | `client.clientId` | the client id given |
    /// | `user` | absent for `client_credentials`; otherwise `sub` = the `sub` given, `roles` = `roles`, `tenantIds` = `tenant_ids`, `permissions` = `permissions` (each a list of strings; another type counts as absent) |
    /// | `actor` | `act.client_id` and `act.sub` (RFC 8693 section 4.1) |
    /// | `auth` | with a user, when the token says how the user authenticated: `methods` = `amr` (a list of strings), `level` = `acr` (a string); `age` is left to [`Request::set_auth_age`], which needs the request's time |
    /// | `claims` | every claim of the token (`jwtClaims.*`) |
    /// | `target` | the target given |
    /// | `requestedScopes`, `consentedScopes`, `subject`, `context` | absent: the caller sets what applies (a route's scopes, the time and address of the request) |
    /// | `explain` | `true`, as in a JSON request; a hot path turns it off |
    pub fn from_token_claims(
        claims: &Map<String, Value>,
        sub: Option<&str>,
        client_id: Option<&str>,
        target: Target,
    ) -> Result<Request, RequestError> {
        let grant_type = grant_type(claims, sub, client_id)?;
        let user = (grant_type != GrantType::ClientCredentials).then(|| User {
            sub: sub.map(str::to_owned),
            roles: strings(claims, "roles"),
            tenant_ids: strings(claims, "tenant_ids"),
            permissions: strings(claims, "permissions"),
        });
        let actor = claims
            .get("act")
            .and_then(Value::as_object)
            .map(|act| Actor {
                client_id: string(act, "client_id"),
                sub: string(act, "sub"),
            });
        let auth = user
            .as_ref()
            .and_then(|_| Auth::from_token_claims(claims, None));
        Ok(Request {
            grant_type,
            client: client_id.map(|id| Client {
                client_id: Some(id.to_owned()),
                ..Client::default()
            }),
            user,
            claims: Some(Value::Object(claims.clone())),
            actor,
            subject: None,
            auth,
            target,
            requested_scopes: None,
            consented_scopes: None,
            context: None,
            explain: true,
        })
    }
}

impl Auth {
    /// How a token says its user authenticated (OpenID Connect Core section 2, RFC 9068 section
    /// 2.2.1): `methods` = `amr` (a list of strings; another type counts as absent), `level` =
    /// `acr` (a string), and `age` from `auth_time` when the request's time `now` is given
    /// ([`Auth::age_at`]). `None` when the token says none of it.
    pub fn from_token_claims(
        claims: &Map<String, Value>,
        now: Option<jiff::Timestamp>,
    ) -> Option<Auth> {
        let auth_time = auth_time(claims);
        let auth = Auth {
            methods: strings(claims, "amr"),
            level: string(claims, "acr"),
            age: auth_time
                .zip(now)
                .and_then(|(auth_time, now)| Auth::age_at(auth_time, now)),
        };
        (auth != Auth::default() || auth_time.is_some()).then_some(auth)
    }
}

impl Request {
    /// Sets `auth.age` from the token's `auth_time` claim (seconds since the epoch, OpenID Connect
    /// Core section 2) for a request made at `now`, on a request [`Request::from_token_claims`]
    /// made with a user. Without the claim, or without `auth`, nothing changes.
    pub fn set_auth_age(&mut self, now: jiff::Timestamp) {
        let Some(auth_time) = self
            .claims
            .as_ref()
            .and_then(Value::as_object)
            .and_then(auth_time)
        else {
            return;
        };
        if let Some(auth) = &mut self.auth {
            auth.age = Auth::age_at(auth_time, now);
        }
    }
}

/// The `auth_time` claim: a whole number of seconds (a float is cut to its whole seconds).
fn auth_time(claims: &Map<String, Value>) -> Option<i64> {
    let value = claims.get("auth_time")?;
    value.as_i64().or_else(|| {
        value
            .as_f64()
            .filter(|f| f.is_finite() && f.abs() < 9.2e18)
            .map(|f| f.trunc() as i64)
    })
}

fn grant_type(
    claims: &Map<String, Value>,
    sub: Option<&str>,
    client_id: Option<&str>,
) -> Result<GrantType, RequestError> {
    match claims.get("grant_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) => {
            return GrantType::from_name(name)
                .or_else(|| GrantType::from_oauth_grant_type(name))
                .ok_or_else(|| {
                    RequestError::Invalid(format!(
                        "the token's `grant_type` claim `{name}` is not a grant type policy can judge"
                    ))
                });
        }
        Some(_) => {
            return Err(RequestError::Invalid(
                "the token's `grant_type` claim is not a string".to_owned(),
            ));
        }
    }
    Ok(if claims.get("act").is_some_and(Value::is_object) {
        GrantType::TokenExchange
    } else if sub.is_none() || sub == client_id {
        GrantType::ClientCredentials
    } else {
        GrantType::AuthorizationCode
    })
}

fn string(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// A list of strings; any other value, or a list with a non-string element, counts as absent.
fn strings(claims: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    claims
        .get(name)?
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn request(claims: Value) -> Result<Request, RequestError> {
        let claims = claims.as_object().cloned().unwrap_or_default();
        let sub = claims.get("sub").and_then(Value::as_str);
        let client_id = claims.get("client_id").and_then(Value::as_str);
        Request::from_token_claims(&claims, sub, client_id, Target::Resource("api".into()))
    }

    fn grant(claims: Value) -> Option<GrantType> {
        request(claims).ok().map(|r| r.grant_type)
    }

    #[test]
    fn the_grant_type_is_the_claim_or_inferred() {
        use GrantType::*;
        assert_eq!(
            grant(json!({ "grant_type": "jwt_bearer", "sub": "u" })),
            Some(JwtBearer)
        );
        assert_eq!(
            grant(json!({ "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer" })),
            Some(JwtBearer)
        );
        assert_eq!(
            grant(json!({ "grant_type": "client_credentials", "sub": "u", "client_id": "c" })),
            Some(ClientCredentials)
        );
        assert_eq!(grant(json!({ "grant_type": "refresh_token" })), None);
        assert_eq!(grant(json!({ "grant_type": "password" })), None);
        assert_eq!(grant(json!({ "grant_type": ["jwt_bearer"] })), None);
        assert_eq!(
            grant(json!({ "grant_type": null, "sub": "u", "client_id": "c" })),
            Some(AuthorizationCode)
        );
        assert_eq!(
            grant(json!({ "sub": "u", "act": "not an object" })),
            Some(AuthorizationCode)
        );
        assert_eq!(grant(json!({})), Some(ClientCredentials));
    }

    #[test]
    fn an_unknown_grant_type_says_which() {
        let error = request(json!({ "grant_type": "password" })).expect_err("refused");
        assert_eq!(
            error.to_string(),
            "invalid request: the token's `grant_type` claim `password` is not a grant type policy can judge"
        );
    }

    #[test]
    fn the_request_carries_the_token_and_the_target() {
        let claims =
            json!({ "sub": "u-1", "client_id": "agent", "roles": ["SRE", 5], "dept": "ops" });
        let request = request(claims.clone()).expect("a request");
        assert_eq!(request.target, Target::Resource("api".into()));
        assert_eq!(request.claims, Some(claims));
        assert_eq!(
            request.user.and_then(|u| u.roles),
            None,
            "a list with a number is absent"
        );
        assert!(request.explain);
        assert_eq!(request.requested_scopes, None);
        assert_eq!(request.context, None);
        assert_eq!(request.auth, None, "no authentication claims");
    }

    #[test]
    fn the_authentication_comes_from_amr_acr_and_auth_time() {
        let claims = json!({ "sub": "u-1", "client_id": "agent", "amr": ["pwd", "otp"],
                             "acr": "urn:example:mfa", "auth_time": 1_800_000_000 });
        let mut request = request(claims).expect("a request");
        let now: jiff::Timestamp = "2027-01-15T08:00:00Z".parse().unwrap();
        request.set_auth_age(now);
        assert_eq!(
            request.auth,
            Some(Auth {
                methods: Some(vec!["pwd".into(), "otp".into()]),
                level: Some("urn:example:mfa".into()),
                age: Some(u64::try_from(now.as_second() - 1_800_000_000).unwrap()),
            })
        );
        // An authentication up to a minute after the request's time is 0 seconds old; one later
        // than that has no age (it cannot be, so it grants nothing).
        let at = |auth_time: i64| {
            let mut request = self::request(json!({ "sub": "u", "client_id": "c",
                                                    "auth_time": auth_time }))
            .unwrap();
            request.set_auth_age(now);
            request.auth.and_then(|a| a.age)
        };
        assert_eq!(at(now.as_second() + 60), Some(0));
        assert_eq!(at(now.as_second() + 61), None);
        assert_eq!(at(4_000_000_000), None);
        // No user, no authentication: a client's own token.
        let request =
            self::request(json!({ "sub": "c", "client_id": "c", "amr": ["pwd"] })).unwrap();
        assert_eq!(request.auth, None);
    }
}
