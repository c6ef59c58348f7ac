//! The engine's request and decision as the WIT records, and back. Field for field: the guest
//! reads the text fields (claims, address, time) with the engine's own deserializers.

use tollgate_engine as engine;

use super::wit;

pub(super) fn request_to_wit(r: &engine::Request) -> wit::Request {
    wit::Request {
        grant_type: match r.grant_type {
            engine::GrantType::ClientCredentials => wit::GrantType::ClientCredentials,
            engine::GrantType::AuthorizationCode => wit::GrantType::AuthorizationCode,
            engine::GrantType::TokenExchange => wit::GrantType::TokenExchange,
            engine::GrantType::JwtBearer => wit::GrantType::JwtBearer,
        },
        client: r.client.as_ref().map(|c| wit::Client {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            tags: c.tags.clone(),
            registration_type: c.registration_type.clone(),
            status: c.status.clone(),
            allowed_scopes: c.allowed_scopes.as_ref().map(|m| {
                m.iter()
                    .map(|(target, scopes)| wit::TargetScopes {
                        target: target.clone(),
                        scopes: scopes.clone(),
                    })
                    .collect()
            }),
        }),
        user: r.user.as_ref().map(|u| wit::User {
            sub: u.sub.clone(),
            roles: u.roles.clone(),
            tenant_ids: u.tenant_ids.clone(),
            permissions: u.permissions.clone(),
        }),
        claims: r.claims.as_ref().map(|c| c.to_string()),
        actor: r.actor.as_ref().map(|a| wit::Actor {
            client_id: a.client_id.clone(),
            sub: a.sub.clone(),
        }),
        target: match &r.target {
            engine::Target::Resource(id) => wit::Target::Resource(id.clone()),
            engine::Target::Connection(id) => wit::Target::Connection(id.clone()),
        },
        requested_scopes: r.requested_scopes.clone(),
        consented_scopes: r.consented_scopes.clone(),
        context: r.context.as_ref().map(|c| wit::Context {
            ip: c.ip.map(|ip| ip.to_string()),
            time: c.time.map(|t| t.to_string()),
        }),
        explain: r.explain,
    }
}

fn names(list: Vec<String>) -> Vec<engine::Name> {
    list.into_iter().map(engine::Name::from).collect()
}

pub(super) fn decision_from_wit(d: wit::Decision) -> engine::Decision {
    engine::Decision {
        permitted: d.permitted,
        granted: names(d.granted),
        scopes: d
            .scopes
            .into_iter()
            .map(|s| engine::ScopeDecision {
                scope: s.scope.into(),
                granted: s.granted,
                by: names(s.by),
                reason: s.reason.map(|r| match r {
                    wit::Reason::UnknownTarget => engine::Reason::UnknownTarget,
                    wit::Reason::UnknownScope => engine::Reason::UnknownScope,
                    wit::Reason::NotAllowed => engine::Reason::NotAllowed,
                    wit::Reason::ClientConfig => engine::Reason::ClientConfig,
                    wit::Reason::NotConsented => engine::Reason::NotConsented,
                }),
            })
            .collect(),
        matched: names(d.matched),
        dry_run: d
            .dry_run
            .into_iter()
            .map(|r| engine::DryRun {
                policy: r.policy.into(),
                would_add: names(r.would_add),
                would_permit: r.would_permit,
            })
            .collect(),
        not_matched: d
            .not_matched
            .into_iter()
            .map(|n| engine::NotMatched {
                policy: n.policy.into(),
                failed: n.failed,
            })
            .collect(),
    }
}
