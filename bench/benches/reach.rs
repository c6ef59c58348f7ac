//! Reach on the decision benchmark's generated policy sets (10 to 100,000 policies) over a
//! directory of the clients and users of 2,000 generated requests: what one client and user can
//! obtain under every grant type (`PolicySet::reach`), who can obtain one scope
//! (`PolicySet::who_can`), and what removing one policy changes on its target
//! (`PolicySet::compare`). Admin operations, not the hot path: the figures say what the console
//! and `POST /admin/reach` / `/admin/preview` cost as the set grows.
//!
//! `cargo bench -p tollgate-bench --bench reach`; `TOLLGATE_BENCH_SIZES=10,1000` picks the sizes.

#![allow(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark set-up: a broken generated workload fails the run"
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::Criterion;
use tollgate_bench::{Workload, tollgate};
use tollgate_engine::{Client, PolicySet, Request, Target, User};

fn sizes() -> Vec<usize> {
    std::env::var("TOLLGATE_BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10, 1_000, 100_000])
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(10)
        .configure_from_args();
    for n in sizes() {
        let w = Workload::generate(n, 7);
        let document = tollgate::document(&w);
        let set = PolicySet::load(&document).expect("the generated document loads");
        let (clients, users) = directory(&w, 2_000);
        let target = Target::Resource(w.resources[0].id.clone());
        let scope = w.resources[0].scopes[0].clone();
        // The set without its first policy on that target: the preview of a deletion.
        let removed = w.by_target[0].first().map(|&p| w.policies[p].id.clone());
        let draft = removed.as_ref().map(|id| {
            let mut value: serde_json::Value = serde_json::from_str(&document).expect("JSON");
            if let Some(list) = value["policies"].as_array_mut() {
                list.retain(|p| p["id"].as_str() != Some(id));
            }
            PolicySet::from_value(value).expect("the draft loads")
        });
        let holders = set
            .who_can(&target, Some(&scope), &clients, &users)
            .expect("defined")
            .holders
            .len();
        eprintln!(
            "reach: N = {n}: {} clients, {} users; {holders} holders of `{scope}`",
            clients.len(),
            users.len()
        );
        let mut group = c.benchmark_group(format!("reach/{n}"));
        group.bench_function("reach (one client and user, every grant type)", |b| {
            b.iter(|| set.reach(black_box(&clients[0]), users.first(), None));
        });
        group.bench_function("who_can (one scope)", |b| {
            b.iter(|| set.who_can(black_box(&target), Some(&scope), &clients, &users));
        });
        if let Some(draft) = &draft {
            group.bench_function("compare (one policy removed, its target)", |b| {
                b.iter(|| {
                    set.compare(
                        black_box(draft),
                        std::slice::from_ref(&target),
                        &clients,
                        &users,
                    )
                });
            });
        }
        group.finish();
    }
    goals(&mut c);
    c.final_summary();
}

/// The clients and users of `count` generated requests of `w`.
fn directory(w: &Workload, count: usize) -> (Vec<Client>, Vec<User>) {
    let mut clients: BTreeMap<String, Client> = BTreeMap::new();
    let mut users: BTreeMap<String, User> = BTreeMap::new();
    for r in w.requests(11, count) {
        let request: Request = serde_json::from_value(tollgate::request_json(w, &r, false))
            .expect("a generated request parses");
        if let Some(c) = request.client
            && let Some(id) = c.client_id.clone()
        {
            clients.entry(id).or_insert(c);
        }
        if let Some(u) = request.user
            && let Some(sub) = u.sub.clone()
        {
            users.entry(sub).or_insert(u);
        }
    }
    (
        clients.into_values().collect(),
        users.into_values().collect(),
    )
}

/// `clients` grown to `n`: the generated clients, then copies of their attributes under new ids
/// (`agent-00042`), which policies pinned to client ids do not name, as most clients of a large
/// directory are.
fn grown(clients: &[Client], n: usize) -> Vec<Client> {
    let mut out: Vec<Client> = clients.iter().take(n).cloned().collect();
    let mut i = 0;
    while out.len() < n {
        let mut c = clients[i % clients.len()].clone();
        c.client_id = Some(format!("agent-{i:05}"));
        out.push(c);
        i += 1;
    }
    out
}

/// Issue #23's targets: reach for one client over 10,000 policies and 1,000 targets; who can get
/// one scope over 10,000 clients; the preview of a change over 1,000 clients and 1,000 policies
/// (a deletion and a creation, compared over the whole directory and as told which policy
/// changed, as the server does).
fn goals(c: &mut Criterion) {
    let mut group = c.benchmark_group("reach/goals");

    let w = Workload::generate_over(10_000, 1_000, 7);
    let set = PolicySet::load(&tollgate::document(&w)).expect("loads");
    let (clients, users) = directory(&w, 2_000);
    eprintln!(
        "goals: reach over {} policies, {} targets",
        set.len(),
        w.resources.len()
    );
    group.bench_function("reach, 10,000 policies, 1,000 targets", |b| {
        b.iter(|| set.reach(black_box(&clients[0]), users.first(), None));
    });

    let w = Workload::generate(10_000, 7);
    let set = PolicySet::load(&tollgate::document(&w)).expect("loads");
    let (clients, users) = directory(&w, 2_000);
    let clients = grown(&clients, 10_000);
    let target = Target::Resource(w.resources[0].id.clone());
    let scope = w.resources[0].scopes[0].clone();
    // The combinations expanded would be clients × users per grant type (millions here): the
    // answer by policy lists each policy's clients and users once.
    let by_policy = set
        .who_can_by_policy(&target, Some(&scope), &clients, &users)
        .expect("defined");
    eprintln!(
        "goals: who can over {} clients, {} users, 10,000 policies: {} policies give `{scope}`, \
         naming {} clients and {} users in all",
        clients.len(),
        users.len(),
        by_policy.len(),
        by_policy.iter().map(|p| p.clients.len()).sum::<usize>(),
        by_policy.iter().map(|p| p.users.len()).sum::<usize>(),
    );
    group.bench_function("who can, by policy, 10,000 clients", |b| {
        b.iter(|| set.who_can_by_policy(black_box(&target), Some(&scope), &clients, &users));
    });

    let w = Workload::generate(1_000, 7);
    let document = tollgate::document(&w);
    let set = PolicySet::load(&document).expect("loads");
    let (clients, users) = directory(&w, 2_000);
    let clients = grown(&clients, 1_000);
    let target = Target::Resource(w.resources[0].id.clone());
    let without = |id: &str| {
        let mut value: serde_json::Value = serde_json::from_str(&document).expect("JSON");
        if let Some(list) = value["policies"].as_array_mut() {
            list.retain(|p| p["id"].as_str() != Some(id));
        }
        PolicySet::from_value(value).expect("the draft loads")
    };
    // A policy pinned to its clients (a third of the generated ones are), and the first policy of
    // the target, which applies to every client.
    // The pinned one: the first whose deletion takes something away from someone.
    let pinned = w.by_target[0]
        .iter()
        .map(|&p| &w.policies[p])
        .filter(|p| p.clients.is_some())
        .find(|p| {
            !set.compare_changed(
                &without(&p.id),
                &[&p.id],
                std::slice::from_ref(&target),
                &clients,
                &users,
            )
            .lost
            .is_empty()
        })
        .expect("a pinned policy on the first target whose deletion loses something")
        .id
        .clone();
    let open = w.policies[w.by_target[0][0]].id.clone();
    for (kind, id) in [("pinned", &pinned), ("open", &open)] {
        let draft = without(id);
        let started = std::time::Instant::now();
        let full = set.compare(&draft, std::slice::from_ref(&target), &clients, &users);
        let full_time = started.elapsed();
        let started = std::time::Instant::now();
        let told = set.compare_changed(
            &draft,
            &[id],
            std::slice::from_ref(&target),
            &clients,
            &users,
        );
        let told_time = started.elapsed();
        assert_eq!(full, told, "compare_changed must answer as compare");
        eprintln!(
            "goals: preview of deleting the {kind} policy {id} over {} clients, {} users, \
             1,000 policies: {} lost, {} changed; once: whole directory {full_time:.2?}, told \
             the policy {told_time:.2?}",
            clients.len(),
            users.len(),
            full.lost.len(),
            full.changed.len(),
        );
        let summary = set.compare_summary(
            &draft,
            &[id],
            std::slice::from_ref(&target),
            &clients,
            &users,
            5,
        );
        assert_eq!(
            (summary.lost, summary.changed),
            (full.lost.len(), full.changed.len()),
            "compare_summary must count what compare lists"
        );
        for (name, from, to) in [("deletion", &set, &draft), ("creation", &draft, &set)] {
            group.bench_function(
                format!("preview of the {kind} policy's {name}, counted"),
                |b| {
                    b.iter(|| {
                        from.compare_summary(
                            black_box(to),
                            &[id],
                            std::slice::from_ref(&target),
                            &clients,
                            &users,
                            5,
                        )
                    });
                },
            );
        }
        if kind == "pinned" {
            for (name, from, to) in [("deletion", &set, &draft), ("creation", &draft, &set)] {
                group.bench_function(format!("preview of a pinned policy's {name}"), |b| {
                    b.iter(|| {
                        from.compare_changed(
                            black_box(to),
                            &[id],
                            std::slice::from_ref(&target),
                            &clients,
                            &users,
                        )
                    });
                });
            }
        }
    }
    group.finish();
}
