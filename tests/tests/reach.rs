//! Reach against brute-force decisions, on the random documents and requests of
//! `tollgate_tests::generate` (every condition key and operator, dry-run policies, grant type
//! lists, client lists, client configurations, `"*"` scopes, scope-less connections).
//!
//! For each generated request, its client and user are asked what they can reach
//! ([`PolicySet::reach`]), and the request is then decided again for every target and every
//! scope of the document, as a server makes requests under its grant type (consent left out, as
//! reach leaves it out; no user and no inbound token under `client_credentials`, an actor and a
//! subject token only in a token exchange). For each of those decisions, the policies that give
//! the scope (`by`) must include every policy reach lists as certain and be among the policies
//! reach lists as certain or conditional, a granted scope must be in reach (a certain one always
//! is granted), and a conditional policy that did not give it must have failed on one of the
//! conditions reach listed for it (the decision's explanation says which). Then the directory of every client and user of the case is
//! asked, per target and scope, who can obtain it ([`PolicySet::who_can`]); its answer must be
//! exactly the (grant type, client, user) combinations whose own reach lists that scope, with the
//! same policies.
//!
//! `cargo test -p tollgate-tests --test reach`; `PROPTEST_CASES=N` sets the number of documents.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;
use tollgate_engine::{
    Client, GrantType, Grantors, PolicySet, Reach, Request, Target, TargetName, User,
};
use tollgate_tests::generate;

/// Documents in the default run; each gives hundreds of comparisons.
const DEFAULT_CASES: u32 = 500;

/// The default run must compare at least this many decisions with reach.
const MIN_COMPARISONS: usize = 10_000;

/// A target of the document and its scopes (`None`: a scope-less connection).
struct TargetDef {
    target: Target,
    scopes: Option<Vec<String>>,
}

fn targets(document: &Value) -> Vec<TargetDef> {
    let mut out = Vec::new();
    for (section, resource) in [("resources", true), ("connections", false)] {
        for def in document[section].as_array().into_iter().flatten() {
            let id = def["id"].as_str().unwrap_or_default().to_owned();
            let kind = def["kind"].as_str().unwrap_or_default();
            let scoped = resource || !matches!(kind, "api_key" | "certificate");
            let scopes: Vec<String> = def["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect();
            out.push(TargetDef {
                target: if resource {
                    Target::Resource(id)
                } else {
                    Target::Connection(id)
                },
                scopes: scoped.then_some(scopes),
            });
        }
    }
    out
}

/// The grantors reach lists for a target and scope (`None` scope: the credential), if any.
fn listed<'r>(
    reach: &'r Reach<'_>,
    target: &Target,
    scope: Option<&str>,
) -> Option<&'r Grantors<'r>> {
    let grant = reach.grants.first()?;
    let entry = grant.targets.iter().find(|t| match (t.target, target) {
        (TargetName::Resource(a), Target::Resource(b)) => a == b,
        (TargetName::Connection(a), Target::Connection(b)) => a == b,
        _ => false,
    })?;
    match scope {
        Some(scope) => entry
            .scopes
            .iter()
            .find(|s| s.scope == scope)
            .map(|s| &s.grantors),
        None => entry.credential.as_ref(),
    }
}

fn ids(grantors: Option<&Grantors<'_>>) -> (BTreeSet<String>, BTreeSet<String>) {
    let Some(g) = grantors else {
        return (BTreeSet::new(), BTreeSet::new());
    };
    (
        g.by.iter().map(|s| (*s).to_owned()).collect(),
        g.conditional.iter().map(|c| c.policy.to_owned()).collect(),
    )
}

fn fail(what: &str, document: &Value, detail: String) -> TestCaseError {
    TestCaseError::fail(format!(
        "{what}\n{detail}\ndocument:\n{}",
        serde_json::to_string_pretty(document).unwrap_or_default()
    ))
}

/// What a run saw, so that a run that never met a kind of answer fails instead of passing empty.
#[derive(Default)]
struct Seen {
    compared: Cell<usize>,
    /// Changes the comparisons found.
    diffs: Cell<usize>,
    certain: Cell<usize>,
    conditional: Cell<usize>,
    holders: Cell<usize>,
}

fn bump(cell: &Cell<usize>, n: usize) {
    cell.set(cell.get() + n);
}

/// Checks one generated case.
fn check(document: &Value, requests: &[Value], seen: &Seen) -> Result<(), TestCaseError> {
    let set = PolicySet::from_value(document.clone()).map_err(|e| {
        fail(
            "a generated document failed to load",
            document,
            format!("{e:?}"),
        )
    })?;
    let targets = targets(document);
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    let mut users: BTreeMap<String, User> = BTreeMap::new();

    for raw in requests {
        let request: Request = serde_json::from_value(raw.clone()).map_err(|e| {
            fail(
                "a generated request does not parse",
                document,
                e.to_string(),
            )
        })?;
        let client = request.client.clone().unwrap_or_default();
        if let Some(id) = &client.client_id {
            clients.entry(id.clone()).or_insert_with(|| client.clone());
        }
        if let Some(user) = &request.user
            && let Some(sub) = &user.sub
        {
            users.entry(sub.clone()).or_insert_with(|| user.clone());
        }
        let g = request.grant_type;
        let reach = set.reach(&client, request.user.as_ref(), Some(g));
        // Asked without a user, reach answers authorization_code and jwt_bearer for any user;
        // requests there always carry one, so there is no decision to compare with.
        if request.user.is_none()
            && matches!(g, GrantType::AuthorizationCode | GrantType::JwtBearer)
        {
            continue;
        }

        for def in &targets {
            let scopes: Vec<Option<&str>> = match &def.scopes {
                Some(list) => list.iter().map(|s| Some(s.as_str())).collect(),
                None => vec![None],
            };
            for scope in scopes {
                // The request as a server makes it under this grant type: no user, no
                // authentication of one and no inbound token under client_credentials, an actor
                // and a subject token only in a token exchange.
                let mut probe = request.clone();
                probe.client = Some(client.clone());
                if g == GrantType::ClientCredentials {
                    probe.user = None;
                    probe.claims = None;
                    probe.auth = None;
                }
                if g != GrantType::TokenExchange {
                    probe.actor = None;
                    probe.subject = None;
                }
                probe.target = def.target.clone();
                probe.requested_scopes = scope.map(|s| vec![s.to_owned()]);
                probe.consented_scopes = None;
                probe.explain = true;
                let decision = set.decide(&probe);
                let (decided, granted): (BTreeSet<String>, bool) = match scope {
                    Some(_) => {
                        let verdict = decision.scopes.first();
                        (
                            verdict
                                .map(|v| v.by.iter().map(|p| p.to_string()).collect())
                                .unwrap_or_default(),
                            verdict.is_some_and(|v| v.granted),
                        )
                    }
                    None => (
                        decision.matched.iter().map(|p| p.to_string()).collect(),
                        decision.permitted,
                    ),
                };
                let grantors = listed(&reach, &def.target, scope);
                let (certain, conditional) = ids(grantors);
                let detail = || {
                    format!(
                        "request:\n{}\ntarget {} scope {scope:?}\ndecided by {decided:?} \
                         (granted {granted})\nreach: certain {certain:?}, conditional \
                         {conditional:?}",
                        serde_json::to_string_pretty(&probe).unwrap_or_default(),
                        def.target
                    )
                };
                // Policies the configuration rules out still give the scope in a decision
                // (`by`, reason `client_config`); reach lists only what can be obtained.
                let configured_out = decision
                    .scopes
                    .first()
                    .is_some_and(|v| v.reason == Some(tollgate_engine::Reason::ClientConfig));
                if configured_out {
                    if grantors.is_some() {
                        return Err(fail(
                            "reach lists a scope the client's configuration rules out",
                            document,
                            detail(),
                        ));
                    }
                } else {
                    if !certain.is_subset(&decided) {
                        return Err(fail(
                            "a policy reach calls certain did not give the scope",
                            document,
                            detail(),
                        ));
                    }
                    if !decided
                        .iter()
                        .all(|p| certain.contains(p) || conditional.contains(p))
                    {
                        return Err(fail(
                            "a policy gave the scope that reach does not list",
                            document,
                            detail(),
                        ));
                    }
                    if granted && grantors.is_none() {
                        return Err(fail("a granted scope is not in reach", document, detail()));
                    }
                    if !certain.is_empty() && !granted {
                        return Err(fail("a certain scope was not granted", document, detail()));
                    }
                    // Only what reach cannot decide is left as a condition: the address and
                    // time, the inbound token's claims where one comes in, how the user
                    // authenticated where a user can be, the exchange's parties in an exchange.
                    for c in grantors
                        .map(|g| g.conditional.as_slice())
                        .unwrap_or_default()
                    {
                        for text in &c.conditions {
                            let key = text.split_once(": ").map_or("", |(_, rest)| rest);
                            let undecided = key.starts_with("request.")
                                || ((key.starts_with("jwtClaims") || key.starts_with("auth."))
                                    && g != GrantType::ClientCredentials)
                                || ((key.starts_with("actor.") || key.starts_with("subject."))
                                    && g == GrantType::TokenExchange);
                            if !undecided {
                                return Err(fail(
                                    "reach left a decidable condition undecided",
                                    document,
                                    format!("{}\npolicy {}: {text}", detail(), c.policy),
                                ));
                            }
                        }
                    }
                    // A conditional policy that did not give the scope failed on one of the
                    // conditions reach listed for it, never on anything reach decided.
                    for c in grantors
                        .map(|g| g.conditional.as_slice())
                        .unwrap_or_default()
                    {
                        if decided.contains(c.policy) {
                            continue;
                        }
                        let failed = decision
                            .not_matched
                            .iter()
                            .find(|n| n.policy == c.policy)
                            .map(|n| n.failed.to_string());
                        if !failed.as_deref().is_some_and(|f| c.conditions.contains(&f)) {
                            return Err(fail(
                                "a conditional policy failed on something reach decided",
                                document,
                                format!("{}\npolicy {} failed on {failed:?}", detail(), c.policy),
                            ));
                        }
                    }
                }
                bump(&seen.compared, 1);
                bump(&seen.certain, usize::from(!certain.is_empty()));
                bump(&seen.conditional, usize::from(!conditional.is_empty()));
            }
        }
    }

    // Who can obtain each scope, against each combination's own reach.
    let clients: Vec<Client> = clients.into_values().collect();
    let users: Vec<User> = users.into_values().collect();
    for def in &targets {
        let scopes: Vec<Option<&str>> = match &def.scopes {
            Some(list) => list.iter().map(|s| Some(s.as_str())).collect(),
            None => vec![None],
        };
        for scope in scopes {
            let holders = set
                .who_can(&def.target, scope, &clients, &users)
                .map_err(|e| {
                    fail(
                        "who_can refused a defined target and scope",
                        document,
                        e.to_string(),
                    )
                })?;
            let mut expected = Vec::new();
            for g in GrantType::ALL {
                let (without, with) = match g {
                    GrantType::ClientCredentials => (true, false),
                    GrantType::AuthorizationCode | GrantType::JwtBearer => (false, true),
                    GrantType::TokenExchange => (true, true),
                };
                for client in &clients {
                    let mut options: Vec<Option<&User>> = Vec::new();
                    if without {
                        options.push(None);
                    }
                    if with {
                        options.extend(users.iter().map(Some));
                    }
                    for user in options {
                        let reach = set.reach(client, user, Some(g));
                        if let Some(grantors) = listed(&reach, &def.target, scope) {
                            expected.push((
                                g,
                                client.client_id.clone().unwrap_or_default(),
                                user.and_then(|u| u.sub.clone()),
                                ids(Some(grantors)),
                            ));
                        }
                    }
                }
            }
            let actual: Vec<_> = holders
                .holders
                .iter()
                .map(|h| {
                    (
                        h.grant_type,
                        h.client.to_owned(),
                        h.user.map(str::to_owned),
                        ids(Some(&h.grantors)),
                    )
                })
                .collect();
            bump(&seen.holders, actual.len());
            // The factored answer, expanded: each policy's grant types × clients × users (or no
            // user), with (certain, conditional) policies as who_can lists them.
            let by_policy = set
                .who_can_by_policy(&def.target, scope, &clients, &users)
                .map_err(|e| fail("who_can_by_policy refused", document, e.to_string()))?;
            type Key = (GrantType, String, Option<String>);
            let mut expanded: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = BTreeMap::new();
            for p in &by_policy {
                for grant in &p.grants {
                    let (without, with) = match grant.grant_type {
                        GrantType::ClientCredentials => (true, false),
                        GrantType::AuthorizationCode | GrantType::JwtBearer => (false, true),
                        GrantType::TokenExchange => (true, true),
                    };
                    let mut who: Vec<Option<String>> = Vec::new();
                    if without && p.without_user {
                        who.push(None);
                    }
                    if with {
                        who.extend(p.users.iter().map(|u| Some((*u).to_owned())));
                    }
                    for client in &p.clients {
                        for user in &who {
                            let entry = expanded
                                .entry((grant.grant_type, (*client).to_owned(), user.clone()))
                                .or_default();
                            if grant.conditions.is_empty() {
                                entry.0.insert(p.policy.to_owned());
                            } else {
                                entry.1.insert(p.policy.to_owned());
                            }
                        }
                    }
                }
            }
            let listed: BTreeMap<Key, (BTreeSet<String>, BTreeSet<String>)> = actual
                .iter()
                .map(|(g, c, u, ids)| ((*g, c.clone(), u.clone()), ids.clone()))
                .collect();
            if expanded != listed {
                return Err(fail(
                    "who_can_by_policy, expanded, disagrees with who_can",
                    document,
                    format!(
                        "target {} scope {scope:?}\nby policy: {by_policy:#?}\nwho_can: {listed:#?}",
                        def.target
                    ),
                ));
            }
            if actual != expected {
                return Err(fail(
                    "who_can disagrees with the reach of each client and user",
                    document,
                    format!(
                        "target {} scope {scope:?}\nwho_can: {actual:#?}\nreach: {expected:#?}",
                        def.target
                    ),
                ));
            }
        }
    }

    // A change told to the comparison (each policy deleted, then created again) answers as the
    // comparison over the whole directory does.
    let all: Vec<tollgate_engine::Target> = targets.iter().map(|d| d.target.clone()).collect();
    let policies = document
        .get("policies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for policy in policies.iter().take(3) {
        let Some(id) = policy.get("id").and_then(Value::as_str) else {
            continue;
        };
        let mut without = document.clone();
        if let Some(list) = without.get_mut("policies").and_then(Value::as_array_mut) {
            list.retain(|p| p.get("id").and_then(Value::as_str) != Some(id));
        }
        // Replaced: with one more condition on the address (the same policy, now conditional),
        // and with fewer grant types (the same conditions, given to fewer).
        let replaced = |change: &dyn Fn(&mut Value)| {
            let mut changed = document.clone();
            if let Some(p) = changed
                .get_mut("policies")
                .and_then(Value::as_array_mut)
                .and_then(|list| {
                    list.iter_mut()
                        .find(|p| p.get("id").and_then(Value::as_str) == Some(id))
                })
            {
                change(p);
            }
            PolicySet::from_value(changed).ok()
        };
        let narrower = replaced(&|p: &mut Value| {
            if let Some(p) = p.as_object_mut() {
                p.insert("grantTypes".into(), serde_json::json!(["token_exchange"]));
            }
        });
        let conditional = replaced(&|p: &mut Value| {
            let condition =
                serde_json::json!({"key": "request.ip", "op": "inCidr", "values": ["10.0.0.0/8"]});
            let Some(p) = p.as_object_mut() else { return };
            let subject = p
                .entry("subject")
                .or_insert_with(|| serde_json::json!({}))
                .as_object_mut();
            if let Some(list) = subject.and_then(|subject| {
                subject
                    .entry("conditions")
                    .or_insert_with(|| serde_json::json!([]))
                    .as_array_mut()
            }) {
                list.push(condition);
            }
        });
        let Ok(draft) = PolicySet::from_value(without) else {
            continue;
        };
        let mut pairs: Vec<(&PolicySet, &PolicySet)> = vec![(&set, &draft), (&draft, &set)];
        for other in [&narrower, &conditional].into_iter().flatten() {
            pairs.push((&set, other));
            pairs.push((other, &set));
        }
        for (from, to) in pairs {
            let full = from.compare(to, &all, &clients, &users);
            let told = from.compare_changed(to, &[id], &all, &clients, &users);
            // Counted: the same combinations, grouped per grant type, client, target and scope.
            let summary = from.compare_summary(to, &[id], &all, &clients, &users, 3);
            type Group = (GrantType, String, String, Option<String>);
            let mut grouped: BTreeMap<Group, [usize; 3]> = BTreeMap::new();
            for (k, list) in [&full.gained, &full.lost, &full.changed]
                .into_iter()
                .enumerate()
            {
                for c in list {
                    let key = (
                        c.grant_type,
                        c.client.clone(),
                        c.target.to_string(),
                        c.scope.clone(),
                    );
                    if let Some(n) = grouped.entry(key).or_default().get_mut(k) {
                        *n += 1;
                    }
                }
            }
            let counted: BTreeMap<Group, [usize; 3]> = summary
                .rows
                .iter()
                .map(|r| {
                    (
                        (
                            r.grant_type,
                            r.client.clone(),
                            r.target.to_string(),
                            r.scope.clone(),
                        ),
                        [
                            r.gained.combinations(),
                            r.lost.combinations(),
                            r.changed.combinations(),
                        ],
                    )
                })
                .collect();
            if counted != grouped
                || summary.gained != full.gained.len()
                || summary.lost != full.lost.len()
                || summary.changed != full.changed.len()
            {
                return Err(fail(
                    "compare_summary disagrees with compare",
                    document,
                    format!("policy {id}\ncompare: {grouped:#?}\ncompare_summary: {counted:#?}"),
                ));
            }
            bump(
                &seen.diffs,
                full.gained.len() + full.lost.len() + full.changed.len(),
            );
            if full != told {
                return Err(fail(
                    "compare_changed disagrees with compare",
                    document,
                    format!("policy {id}\ncompare: {full:#?}\ncompare_changed: {told:#?}"),
                ));
            }
        }
    }
    Ok(())
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn reach_agrees_with_decisions() {
    let cases = cases_from_env(DEFAULT_CASES);
    let started = Instant::now();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 300_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let seen = Seen::default();
    let result = runner.run(&generate::case_with(60, 6), |(document, requests)| {
        check(&document, &requests, &seen)
    });
    match result {
        Ok(()) => {
            let diffs = seen.diffs.get();
            let (compared, certain, conditional, holders) = (
                seen.compared.get(),
                seen.certain.get(),
                seen.conditional.get(),
                seen.holders.get(),
            );
            eprintln!(
                "reach: {cases} documents, {compared} decisions agree with reach ({certain} with \
                 certain policies, {conditional} with conditional ones); {holders} holders agree; \
                 {diffs} changes compared ({:.1?})",
                started.elapsed()
            );
            if cases >= DEFAULT_CASES {
                assert!(
                    compared >= MIN_COMPARISONS,
                    "only {compared} decisions were compared"
                );
                assert!(
                    certain > 0 && conditional > 0 && holders > 0 && diffs > 0,
                    "a kind of answer never met"
                );
            }
        }
        Err(TestError::Fail(reason, _)) => panic!("{reason}"),
        Err(TestError::Abort(reason)) => panic!("aborted: {reason}"),
    }
}
