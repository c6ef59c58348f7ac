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

/// Whether policy lets `request` (built by [`request_for`]) use `route` now. Only the
/// per-request fields of `request` are changed, so it can be kept with the cached token.
pub fn permits(
    policies: &PolicySet,
    request: &mut Request,
    route: &Route,
    time: Option<jiff::Timestamp>,
    ip: Option<IpAddr>,
) -> bool {
    if request.target.id() != route.resource {
        request.target = Target::Resource(route.resource.clone());
    }
    let requested = (!route.scopes.is_empty()).then_some(&route.scopes);
    if request.requested_scopes.as_ref() != requested {
        request.requested_scopes = requested.cloned();
    }
    request.context = Some(Context { ip, time });
    let decision = policies.decide(request);
    if route.scopes.is_empty() {
        decision.permitted
    } else {
        route
            .scopes
            .iter()
            .all(|scope| decision.granted.iter().any(|g| **g == **scope))
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
            permits(&set, &mut request, r, None, None)
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
        assert!(permits(
            &set,
            &mut request,
            &route("api", &["read"]),
            None,
            None
        ));
        assert!(!permits(
            &set,
            &mut request,
            &route("api", &["write"]),
            None,
            None
        ));
        assert!(permits(
            &set,
            &mut request,
            &route("api", &["read"]),
            None,
            None
        ));
    }
}
