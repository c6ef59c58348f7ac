//! Reach on a small document, answer by answer: what a client and user can obtain, who can obtain
//! a scope, conditional grants, the client's configuration, dry-run policies, and the errors.
//! (`tests/tests/reach.rs` checks reach against brute-force decisions on random documents.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a broken set-up fails the test"
)]

use std::collections::BTreeMap;

use serde_json::json;
use tollgate_engine::{Client, GrantType, PolicySet, ReachError, Target, User};

const DOCUMENT: &str = r#"
version: 1
resources:
  - { id: incidents-api, audience: "https://incidents.example.com", kind: api,
      scopes: [incidents:read, incidents:write, runbook:execute] }
connections:
  - { id: pagerduty, kind: api_key }
  - { id: calendar, kind: oauth, scopes: [calendar.readonly, calendar] }
policies:
  - id: ops-agent-sre
    subject:
      clients: [ops-agent]
      conditions: [ { key: user.roles, op: contains, value: SRE } ]
    grantTypes: [authorization_code]
    targets:
      - { resource: incidents-api, scopes: [incidents:write, runbook:execute] }
      - { connection: pagerduty }
  - id: readers
    targets: [ { resource: incidents-api, scopes: [incidents:read] } ]
  - id: office-network
    subject:
      clients: [ops-agent]
      conditions: [ { key: request.ip, op: inCidr, values: ["10.0.0.0/8"] },
                    { key: client.status, op: equal, value: verified } ]
    targets: [ { connection: calendar, scopes: "*" } ]
  - id: trial
    mode: dry-run
    targets: [ { resource: incidents-api, scopes: "*" } ]
"#;

fn client(id: &str) -> Client {
    Client {
        client_id: Some(id.to_owned()),
        status: Some("verified".to_owned()),
        ..Client::default()
    }
}

fn user(sub: &str, roles: &[&str]) -> User {
    User {
        sub: Some(sub.to_owned()),
        roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
        ..User::default()
    }
}

#[test]
fn what_a_client_and_user_can_obtain() {
    let set = PolicySet::load(DOCUMENT).unwrap();
    let sre = user("u-1", &["SRE"]);
    let reach = set.reach(
        &client("ops-agent"),
        Some(&sre),
        Some(GrantType::AuthorizationCode),
    );
    assert_eq!(
        serde_json::to_value(&reach).unwrap(),
        json!({ "grants": [ { "grantType": "authorization_code", "targets": [
            { "resource": "incidents-api", "scopes": [
                { "scope": "incidents:read", "by": ["readers"] },
                { "scope": "incidents:write", "by": ["ops-agent-sre"] },
                { "scope": "runbook:execute", "by": ["ops-agent-sre"] } ] },
            { "connection": "calendar", "scopes": [
                { "scope": "calendar.readonly", "by": [], "conditional": [ { "policy": "office-network",
                    "conditions": ["condition 0: request.ip inCidr [10.0.0.0/8]"] } ] },
                { "scope": "calendar", "by": [], "conditional": [ { "policy": "office-network",
                    "conditions": ["condition 0: request.ip inCidr [10.0.0.0/8]"] } ] } ] },
            { "connection": "pagerduty", "credential": { "by": ["ops-agent-sre"] } }
        ] } ] })
    );

    // Without the role, only what every client gets and the conditional calendar.
    let analyst = user("u-2", &["analyst"]);
    let reach = set.reach(
        &client("ops-agent"),
        Some(&analyst),
        Some(GrantType::AuthorizationCode),
    );
    let targets = &reach.grants[0].targets;
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0].scopes.len(), 1);
    assert_eq!(targets[0].scopes[0].scope, "incidents:read");

    // Every grant type: the SRE policy is authorization_code only; under client_credentials
    // requests carry no user, so the user given is not used.
    let reach = set.reach(&client("ops-agent"), Some(&sre), None);
    let grants: Vec<GrantType> = reach.grants.iter().map(|g| g.grant_type).collect();
    assert_eq!(grants, GrantType::ALL);
    for grant in &reach.grants {
        let write = grant.targets[0]
            .scopes
            .iter()
            .any(|s| s.scope == "incidents:write");
        assert_eq!(
            write,
            grant.grant_type == GrantType::AuthorizationCode,
            "{}",
            grant.grant_type
        );
    }
}

#[test]
fn the_client_configuration_narrows_reach() {
    let set = PolicySet::load(DOCUMENT).unwrap();
    let mut configured = client("ops-agent");
    configured.allowed_scopes = Some(BTreeMap::from([(
        "incidents-api".to_owned(),
        vec!["incidents:write".to_owned()],
    )]));
    let reach = set.reach(
        &configured,
        Some(&user("u-1", &["SRE"])),
        Some(GrantType::AuthorizationCode),
    );
    let scopes: Vec<&str> = reach.grants[0].targets[0]
        .scopes
        .iter()
        .map(|s| s.scope)
        .collect();
    assert_eq!(scopes, ["incidents:write"]);
}

#[test]
fn who_can_obtain_a_scope() {
    let set = PolicySet::load(DOCUMENT).unwrap();
    let clients = [client("ops-agent"), client("billing-bot")];
    let users = [user("u-1", &["SRE"]), user("u-2", &["analyst"])];
    let resource = Target::Resource("incidents-api".to_owned());

    let holders = set
        .who_can(&resource, Some("incidents:write"), &clients, &users)
        .unwrap();
    assert_eq!(
        serde_json::to_value(&holders).unwrap(),
        json!({ "holders": [ { "grantType": "authorization_code", "client": "ops-agent",
                               "user": "u-1", "by": ["ops-agent-sre"] } ] })
    );

    // incidents:read: everyone, under every grant type, with the users each grant type's requests
    // carry (none under client_credentials, one under authorization_code and jwt_bearer, one or
    // none under token_exchange).
    let holders = set
        .who_can(&resource, Some("incidents:read"), &clients, &users)
        .unwrap();
    let combinations: Vec<(GrantType, &str, Option<&str>)> = holders
        .holders
        .iter()
        .map(|h| (h.grant_type, h.client, h.user))
        .collect();
    let mut expected = Vec::new();
    for g in GrantType::ALL {
        for c in ["ops-agent", "billing-bot"] {
            if matches!(g, GrantType::ClientCredentials | GrantType::TokenExchange) {
                expected.push((g, c, None));
            }
            if g != GrantType::ClientCredentials {
                expected.push((g, c, Some("u-1")));
                expected.push((g, c, Some("u-2")));
            }
        }
    }
    assert_eq!(combinations, expected);

    // The scope-less connection, asked without a scope.
    let pagerduty = Target::Connection("pagerduty".to_owned());
    let holders = set.who_can(&pagerduty, None, &clients, &users).unwrap();
    assert_eq!(holders.holders.len(), 1);
    assert_eq!(holders.holders[0].user, Some("u-1"));
}

#[test]
fn who_can_refuses_what_the_document_does_not_define() {
    let set = PolicySet::load(DOCUMENT).unwrap();
    let ask = |target: Target, scope: Option<&str>| {
        set.who_can(&target, scope, &[], &[])
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        ask(Target::Resource("ghost".to_owned()), Some("x")),
        "the policy document defines no resource `ghost`"
    );
    assert_eq!(
        ask(Target::Resource("incidents-api".to_owned()), Some("nope")),
        "resource `incidents-api` defines no scope `nope`"
    );
    assert_eq!(
        ask(Target::Resource("incidents-api".to_owned()), None),
        "resource `incidents-api` has scopes: name one"
    );
    assert_eq!(
        ask(Target::Connection("pagerduty".to_owned()), Some("x")),
        "connection `pagerduty` has no scopes: ask without one"
    );
    assert!(matches!(
        set.who_can(
            &Target::Connection("incidents-api".to_owned()),
            None,
            &[],
            &[]
        ),
        Err(ReachError::UnknownTarget(_))
    ));
}

#[test]
fn comparing_two_sets_lists_what_changes() {
    let set = PolicySet::load(DOCUMENT).unwrap();
    let clients = [client("ops-agent"), client("billing-bot")];
    let users = [user("u-1", &["SRE"])];
    let incidents = Target::Resource("incidents-api".to_owned());
    let pagerduty = Target::Connection("pagerduty".to_owned());
    let targets = [incidents.clone(), pagerduty.clone()];
    assert_eq!(
        set.compare(&set, &targets, &clients, &users),
        tollgate_engine::ReachDiff::default()
    );

    // Without the SRE policy: the SRE's agent loses two scopes and the credential; nobody gains.
    let without = PolicySet::load(
        &DOCUMENT.replace("id: ops-agent-sre", "id: ops-agent-sre\n    mode: dry-run"),
    )
    .unwrap();
    let diff = set.compare(&without, &targets, &clients, &users);
    assert!(diff.gained.is_empty());
    let lost: Vec<(Option<&str>, &Target)> = diff
        .lost
        .iter()
        .map(|c| (c.scope.as_deref(), &c.target))
        .collect();
    assert_eq!(
        lost,
        [
            (Some("incidents:write"), &incidents),
            (Some("runbook:execute"), &incidents),
            (None, &pagerduty),
        ]
    );
    assert!(diff.lost.iter().all(|c| c.client == "ops-agent"
        && c.user.as_deref() == Some("u-1")
        && c.grant_type == GrantType::AuthorizationCode
        && c.before == tollgate_engine::Standing::Certain
        && c.after == tollgate_engine::Standing::None
        && c.by == ["ops-agent-sre"]));
    // And back: the same combinations, gained.
    assert_eq!(
        without
            .compare(&set, &targets, &clients, &users)
            .gained
            .len(),
        3
    );
}
