//! The live policy check: the engine's decision for a verified token on a route, so that access a
//! policy change removed is refused at once, even for tokens issued before the change.
//!
//! The filter builds the engine request for a token with the engine's own
//! [`Request::from_token_claims`] (its table says which claim becomes which request field) and
//! asks [`PolicySet::decide`]; no policy logic lives here. What the filter itself supplies:
//!
//! | request field | from |
//! | --- | --- |
//! | `sub`, `client.clientId` (given to the engine) | the token's `sub`; its `client_id`, else `azp` ([`Verified`]) |
//! | `target` | the route's `resource` |
//! | `requestedScopes` | the route's `scopes`; a route without scopes asks for everything policy allows |
//! | `context` | `time` from the host clock, `ip` from the downstream address |
//! | `explain` | `false`: the filter needs only the answer |
//!
//! A token whose `grant_type` claim names a grant type the engine does not know cannot be judged
//! and is refused (fail closed). A route with scopes passes when the decision grants every one of
//! them; a route without scopes passes when the decision permits the resource at all.
//!
//! How the user authenticated comes from the token too (`amr`, `acr`, and `auth_time` with the
//! host clock for the age: [`Request::set_auth_age`]). When the route is refused but the
//! decision's step-up entries would give what it lacks, the answer is [`Live::StepUp`]: the filter
//! then asks for a new authentication (RFC 9470) instead of refusing the scope outright.

use std::net::IpAddr;

use tollgate_engine::{Context, PolicySet, Request, Target};

use crate::jwt::Verified;
use crate::route::Route;

/// The engine request for a token, without the per-request parts (target, requested scopes,
/// context), which [`permits`] sets. `None` when the token names a grant type the engine does not
/// know.
pub fn request_for(token: &Verified) -> Option<Request> {
    let mut request = Request::from_token_claims(
        &token.claims,
        token.sub.as_deref(),
        token.client_id.as_deref(),
        Target::Resource(String::new()),
    )
    .ok()?;
    request.explain = false;
    Some(request)
}

/// What policy says about a token on a route now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Live {
    /// The route may be used.
    Permitted,
    /// It may not.
    Refused,
    /// It may not, but a fresher or stronger authentication of the token's user would be given
    /// everything the route lacks: one of `levels` (any, when empty), at most `max_age` old.
    StepUp {
        /// Acceptable `acr` values, in the order the policies give them.
        levels: Vec<String>,
        /// The greatest acceptable age of the authentication, in seconds.
        max_age: Option<u64>,
    },
}

/// What policy says about `request` (built by [`request_for`]) on `route` now. Only the
/// per-request fields of `request` are changed, so it can be kept with the cached token.
pub fn permits(
    policies: &PolicySet,
    request: &mut Request,
    route: &Route,
    time: Option<jiff::Timestamp>,
    ip: Option<IpAddr>,
) -> Live {
    if request.target.id() != route.resource {
        request.target = Target::Resource(route.resource.clone());
    }
    let requested = (!route.scopes.is_empty()).then_some(&route.scopes);
    if request.requested_scopes.as_ref() != requested {
        request.requested_scopes = requested.cloned();
    }
    request.context = Some(Context { ip, time });
    if let Some(now) = time {
        request.set_auth_age(now);
    }
    let decision = policies.decide(request);
    let missing: Vec<&String> = route
        .scopes
        .iter()
        .filter(|scope| !decision.granted.iter().any(|g| **g == ***scope))
        .collect();
    let passes = if route.scopes.is_empty() {
        decision.permitted
    } else {
        missing.is_empty()
    };
    if passes {
        return Live::Permitted;
    }
    // Step-up only when the policies offering it would give everything missing (for a route
    // without scopes: the resource at all).
    match decision.step_up_for(&missing, |_| true) {
        Some(needs) => Live::StepUp {
            levels: needs.levels,
            max_age: needs.max_age,
        },
        None => Live::Refused,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};
    use tollgate_engine::GrantType;

    use super::*;
    use crate::route::PathMatch;

    fn token(claims: Value) -> Verified {
        let claims = claims.as_object().unwrap().clone();
        Verified {
            exp: 0,
            sub: claims.get("sub").and_then(Value::as_str).map(str::to_owned),
            client_id: claims
                .get("client_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            scopes: Vec::new(),
            claims,
        }
    }

    fn grant(claims: Value) -> Option<GrantType> {
        request_for(&token(claims)).map(|r| r.grant_type)
    }

    #[test]
    fn grant_type_from_claim_or_inferred() {
        use GrantType::*;
        assert_eq!(
            grant(json!({ "grant_type": "jwt_bearer", "sub": "u" })),
            Some(JwtBearer)
        );
        assert_eq!(
            grant(json!({ "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange" })),
            Some(TokenExchange)
        );
        assert_eq!(grant(json!({ "grant_type": "password" })), None);
        assert_eq!(grant(json!({ "grant_type": 5 })), None);
        assert_eq!(
            grant(json!({ "sub": "u", "client_id": "c", "act": { "sub": "agent" } })),
            Some(TokenExchange)
        );
        assert_eq!(grant(json!({ "client_id": "c" })), Some(ClientCredentials));
        assert_eq!(
            grant(json!({ "sub": "c", "client_id": "c" })),
            Some(ClientCredentials)
        );
        assert_eq!(
            grant(json!({ "sub": "u", "client_id": "c" })),
            Some(AuthorizationCode)
        );
    }

    #[test]
    fn request_fields_from_claims() {
        let request = request_for(&token(json!({
            "sub": "u-1", "client_id": "agent", "roles": ["SRE"], "tenant_ids": ["t1"],
            "permissions": "not-a-list", "act": { "client_id": "ops", "sub": "s" },
            "dept": "ops",
        })))
        .unwrap();
        let user = request.user.unwrap();
        assert_eq!(user.sub.as_deref(), Some("u-1"));
        assert_eq!(user.roles, Some(vec!["SRE".to_owned()]));
        assert_eq!(user.tenant_ids, Some(vec!["t1".to_owned()]));
        assert_eq!(user.permissions, None);
        assert_eq!(request.client.unwrap().client_id.as_deref(), Some("agent"));
        assert_eq!(request.actor.unwrap().client_id.as_deref(), Some("ops"));
        assert_eq!(request.claims.unwrap()["dept"], "ops");
        assert!(!request.explain);

        let machine = request_for(&token(json!({ "client_id": "worker" }))).unwrap();
        assert_eq!(machine.user, None);
    }

    fn route(resource: &str, scopes: &[&str]) -> Route {
        Route {
            path: PathMatch::Prefix("/".into()),
            methods: None,
            resource: resource.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn decisions() {
        let set = PolicySet::from_value(json!({
            "version": 1,
            "resources": [ { "id": "api", "audience": "https://api.example.com", "kind": "api",
                             "scopes": ["read", "write"] } ],
            "policies": [
                { "id": "sre-writes", "subject": { "conditions": [
                    { "key": "user.roles", "op": "contains", "value": "SRE" } ] },
                  "targets": [ { "resource": "api", "scopes": "*" } ] },
                { "id": "agent-reads", "subject": { "clients": ["agent"] },
                  "targets": [ { "resource": "api", "scopes": ["read"] } ] },
            ]
        }))
        .unwrap();
        let sre = token(json!({ "sub": "u", "client_id": "x", "roles": ["SRE"] }));
        let agent = token(json!({ "sub": "u", "client_id": "agent" }));
        let nobody = token(json!({ "sub": "u", "client_id": "other" }));
        let check = |t: &Verified, r: &Route| {
            let mut request = request_for(t).unwrap();
            permits(&set, &mut request, r, None, None) == Live::Permitted
        };
        assert!(check(&sre, &route("api", &["read", "write"])));
        assert!(check(&agent, &route("api", &["read"])));
        assert!(
            !check(&agent, &route("api", &["read", "write"])),
            "all scopes needed"
        );
        assert!(
            check(&agent, &route("api", &[])),
            "no scopes: anything allowed"
        );
        assert!(!check(&nobody, &route("api", &[])));
        assert!(!check(&sre, &route("unknown", &["read"])));

        // The cached request is reused across routes.
        let mut request = request_for(&agent).unwrap();
        let mut on =
            |scopes: &[&str]| permits(&set, &mut request, &route("api", scopes), None, None);
        assert_eq!(on(&["read"]), Live::Permitted);
        assert_eq!(on(&["write"]), Live::Refused);
        assert_eq!(on(&["read"]), Live::Permitted);
    }

    #[test]
    fn a_route_policy_gives_a_fresher_authentication_asks_for_one() {
        let set = PolicySet::from_value(json!({
            "version": 1,
            "resources": [ { "id": "api", "audience": "https://api.example.com", "kind": "api",
                             "scopes": ["read", "write", "admin"] } ],
            "policies": [
                { "id": "read", "targets": [ { "resource": "api", "scopes": ["read"] } ] },
                { "id": "write-fresh", "subject": { "conditions": [
                    { "key": "auth.methods", "op": "contains", "value": "otp" },
                    { "key": "auth.age", "op": "lessThan", "value": 300 } ] },
                  "targets": [ { "resource": "api", "scopes": ["write"] } ] },
                { "id": "write-hwk", "subject": { "conditions": [
                    { "key": "auth.level", "op": "equal", "value": "urn:x:hwk" },
                    { "key": "auth.age", "op": "lessThan", "value": 60 } ] },
                  "targets": [ { "resource": "api", "scopes": ["write"] } ] },
                { "id": "admin-never-fresh", "subject": { "conditions": [
                    { "key": "auth.age", "op": "greaterThan", "value": 300 } ] },
                  "targets": [ { "resource": "api", "scopes": ["admin"] } ] },
            ]
        }))
        .unwrap();
        let now: jiff::Timestamp = "2027-01-15T08:00:00Z".parse().unwrap();
        let at = |age: i64, amr: &[&str]| {
            token(json!({ "sub": "u", "client_id": "app", "amr": amr,
                          "auth_time": now.as_second() - age }))
        };
        let decide = |t: &Verified, scopes: &[&str]| {
            let mut request = request_for(t).unwrap();
            permits(&set, &mut request, &route("api", scopes), Some(now), None)
        };
        assert_eq!(
            decide(&at(10, &["pwd", "otp"]), &["read", "write"]),
            Live::Permitted
        );
        // Too old: either policy would give write after a new authentication; the first in the
        // document that gives it alone says what to ask for.
        assert_eq!(
            decide(&at(301, &["pwd", "otp"]), &["write"]),
            Live::StepUp {
                levels: Vec::new(),
                max_age: Some(299)
            }
        );
        assert_eq!(decide(&at(10, &["pwd"]), &["read"]), Live::Permitted);
        // A scope no authentication would give: refused.
        assert_eq!(decide(&at(10, &["pwd"]), &["admin"]), Live::Refused);
        assert_eq!(
            decide(&at(10, &["pwd"]), &["write", "admin"]),
            Live::Refused
        );
        // Without auth_time the age is unknown: absent data never grants, step-up is offered.
        let unknown = token(json!({ "sub": "u", "client_id": "app", "amr": ["otp"] }));
        assert_eq!(
            decide(&unknown, &["write"]),
            Live::StepUp {
                levels: Vec::new(),
                max_age: Some(299)
            }
        );
        // A client's own token has no user to authenticate again.
        let machine = token(json!({ "client_id": "app", "sub": "app" }));
        assert_eq!(decide(&machine, &["write"]), Live::Refused);
    }
}
