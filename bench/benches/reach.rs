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
        let mut clients: BTreeMap<String, Client> = BTreeMap::new();
        let mut users: BTreeMap<String, User> = BTreeMap::new();
        for r in w.requests(11, 2_000) {
            let request: Request = serde_json::from_value(tollgate::request_json(&w, &r, false))
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
        let clients: Vec<Client> = clients.into_values().collect();
        let users: Vec<User> = users.into_values().collect();
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
    c.final_summary();
}
