//! Reading this server's tokens as the grants, introspection and policies see them: their
//! audiences, who may present them, the subject and acting parties, and the custom claims that
//! become `jwtClaims.*`.

use serde_json::{Map, Value};
use tollgate_engine::{Actor, Subject};

use crate::config::ClientConfig;
use crate::directory::Directory;

/// The subject token's claims as connection policies see them (`jwtClaims.*`): the custom claims
/// plus `client_id` and `scope`, so a policy can tell which client's token an MCP server exchanges.
pub fn connection_claims(subject: &Value) -> Map<String, Value> {
    let mut claims = custom_claims(subject);
    for key in ["client_id", "scope"] {
        if let Some(v) = subject.get(key) {
            claims.insert(key.to_owned(), v.clone());
        }
    }
    claims
}

/// Claims of a subject token that are not the registered ones: they become `jwtClaims.*`.
pub fn custom_claims(claims: &Value) -> Map<String, Value> {
    const REGISTERED: [&str; 9] = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "nbf",
        "jti",
        "scope",
        "client_id",
    ];
    claims
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, _)| !REGISTERED.contains(&k.as_str()) && k.as_str() != SUBJECT_KEY)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// The claims that say how the user signed in (`auth_time`, `amr`, `acr`): only this server
/// writes them into its tokens, from its own sign-ins. An assertion's or a directory user's
/// claims of these names are dropped, so no issuer or configuration can make a sign-in look
/// fresher or stronger than it was.
pub const AUTH_CLAIMS: [&str; 3] = ["auth_time", "amr", "acr"];

/// `claims` without [`AUTH_CLAIMS`].
pub fn without_auth_claims(mut claims: Map<String, Value>) -> Map<String, Value> {
    for name in AUTH_CLAIMS {
        claims.remove(name);
    }
    claims
}

/// The reserved key under which a refresh record derived by exchange keeps its subject token
/// (`jti`, `client_id`, `aud`): never a claim, never shown to policies as one.
pub const SUBJECT_KEY: &str = "tollgate:subject";

/// The audiences a token names (`aud`: a string or a list of strings).
pub fn audiences(claims: &Value) -> Vec<&str> {
    match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `client` may act on a token of this server: the token was issued to it, or its
/// audience is a resource the client serves (`serves`). RFC 8693 §2.1 and RFC 7662 §4 leave it to
/// the server to judge who may present whose token; this is that judgement.
pub fn entitled_to(directory: &Directory, client: &ClientConfig, claims: &Value) -> bool {
    if claims.get("client_id").and_then(Value::as_str) == Some(client.client_id.as_str()) {
        return true;
    }
    let served: Vec<&str> = client
        .serves
        .iter()
        .filter_map(|id| directory.resources.get(id))
        .map(|r| r.audience.as_str())
        .collect();
    audiences(claims).iter().any(|aud| served.contains(aud))
}

/// The party a token or an `act` claim names: its `client_id` and `sub`.
pub fn party_of(claims: &Value) -> Actor {
    let text = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    Actor {
        client_id: text("client_id"),
        sub: text("sub"),
    }
}

/// A subject token as policies see it (`subject.clientid`, `subject.audience`), from its claims
/// or from what a derived refresh family kept of them.
pub fn subject_of(claims: &Value) -> Subject {
    Subject {
        client_id: claims
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        audience: audiences(claims).first().map(|a| (*a).to_owned()),
    }
}

/// RFC 8693 §4.4: when the subject token says who may act for its subject (`may_act`), the
/// acting party must be one of them. Every member `may_act` names must match.
pub fn may_act_allows(subject: &Value, actor: &Actor) -> Option<bool> {
    let may_act = subject.get("may_act")?;
    let Some(may_act) = may_act.as_object() else {
        return Some(false);
    };
    let matches = |key: &str, have: Option<&String>| match may_act.get(key) {
        None => true,
        Some(Value::String(want)) => have.is_some_and(|h| h == want),
        Some(_) => false,
    };
    let actor_sub = actor.sub.as_ref().or(actor.client_id.as_ref());
    Some(
        !may_act.is_empty()
            && matches("client_id", actor.client_id.as_ref())
            && matches("sub", actor_sub),
    )
}
