//! Engine component builds compared side by side in one process: the same decisions through each,
//! in interleaved rounds, and the native engine as the reference.
//!
//! On a shared two-core machine the same benchmark moves by up to 2× between runs minutes apart,
//! so a change to the guest is measured against the build before it in one process, each round
//! timing every build in turn. A build is a component file (`cargo run -p xtask -- componentize`);
//! with no files the embedded component is measured alone.
//!
//! ```text
//! AB_COMPONENTS=before.wasm,after.wasm cargo bench -p tollgate-bench --bench component_ab
//! AB_MODE=load AB_N=1000 AB_ITERS=30 AB_COMPONENTS=… cargo bench -p tollgate-bench --bench component_ab
//! ```
//!
//! Environment: `AB_N` policies (10), `AB_ITERS` decisions (200,000) or loads per round,
//! `AB_ROUNDS` (7), `AB_MODE` `decide` or `load`, `AB_SKIP_CHECK=1` to measure builds that do not
//! decide (for example a guest that returns an empty decision, to time the boundary alone),
//! `AB_CONTEXT=1` to give every request a context (an address and a time), as the server does,
//! or `AB_CONTEXT=both` to time each build on the requests without and with one; `AB_FORM=typed`
//! to decide through the typed records (`decide`) instead of the compact form the server uses
//! (`decide-compact`); `AB_CLAIMS=none` to take the claims out of every request; `AB_CLIENTS=one`
//! to give every request the first request's client (a server's token endpoint under one client).
//! Prints each file's compile time, then the median, fastest and slowest round per build. With
//! `TOLLGATE_PERFMAP=1` the host writes a perf map, so `perf record` names the guest's functions
//! (build the guest unstripped).

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark stops on a broken set-up; indices stay below the list lengths"
)]

use std::hint::black_box;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use ::tollgate::runtime::{ComponentEngine, Limits};
use tollgate_bench::{Workload, tollgate as translate};
use tollgate_engine::{Context, PolicySet, Request};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = setting("AB_N", 10);
    let iters = setting("AB_ITERS", 200_000).max(1);
    let rounds = setting("AB_ROUNDS", 7).max(1);
    let load_mode = std::env::var("AB_MODE").is_ok_and(|m| m == "load");
    let limits = Limits {
        decide_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let files: Vec<String> = std::env::var("AB_COMPONENTS")
        .map(|s| {
            s.split(',')
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    let builds: Vec<(String, ComponentEngine)> = if files.is_empty() {
        vec![(
            "embedded".to_owned(),
            ComponentEngine::embedded(limits).expect("the embedded component compiles"),
        )]
    } else {
        files
            .iter()
            .map(|f| {
                let t = Instant::now();
                let engine = ComponentEngine::from_file(Path::new(f), limits).expect("compiles");
                println!("{f}: compiled in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
                (f.clone(), engine)
            })
            .collect()
    };

    let w = Workload::generate(n, 42);
    let doc = translate::document(&w);
    let native = PolicySet::load(&doc).expect("loads natively");
    let context = std::env::var("AB_CONTEXT").unwrap_or_default();
    let typed = std::env::var("AB_FORM").is_ok_and(|f| f == "typed");
    let no_claims = std::env::var("AB_CLAIMS").is_ok_and(|c| c == "none");
    let one_client = std::env::var("AB_CLIENTS").is_ok_and(|c| c == "one");
    let plain: Vec<Request> = w
        .requests(7, 1_000)
        .iter()
        .map(|r| {
            let mut request: Request =
                serde_json::from_value(translate::request_json(&w, r, false))
                    .expect("the generator makes valid requests");
            if no_claims {
                request.claims = None;
            }
            request
        })
        .collect();
    let plain: Vec<Request> = if one_client {
        let client = plain.iter().find_map(|r| r.client.clone());
        plain
            .into_iter()
            .map(|mut r| {
                r.client = client.clone();
                r
            })
            .collect()
    } else {
        plain
    };
    // What the server passes with every decision: the caller's address and the time.
    let with_context = |mut request: Request| {
        request.context = Some(Context {
            ip: Some(IpAddr::from([203, 0, 113, 7])),
            time: Some("2026-12-03T09:15:00Z".parse().expect("an instant")),
        });
        request
    };
    let lists: Vec<(&str, Vec<Request>)> = match context.as_str() {
        "" => vec![("", plain)],
        "both" => {
            let contexts = plain.iter().cloned().map(with_context).collect();
            vec![("", plain), (" +context", contexts)]
        }
        _ => vec![("", plain.into_iter().map(with_context).collect())],
    };

    // One list of per-round figures per build and request list, then native's.
    let columns = builds.len() + 1;
    let mut rounds_of: Vec<Vec<f64>> = vec![Vec::new(); columns * lists.len()];
    if load_mode {
        let median_load = |load: &mut dyn FnMut()| {
            let mut samples: Vec<Duration> = (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    load();
                    t.elapsed()
                })
                .collect();
            samples.sort();
            samples[samples.len() / 2].as_secs_f64() * 1e3
        };
        for _ in 0..rounds {
            for (k, (_, engine)) in builds.iter().enumerate() {
                rounds_of[k].push(median_load(&mut || {
                    black_box(engine.load(&doc).expect("loads"));
                }));
            }
            rounds_of[builds.len()].push(median_load(&mut || {
                black_box(PolicySet::load(&doc).expect("loads"));
            }));
        }
    } else {
        let mut sets: Vec<_> = builds
            .iter()
            .map(|(_, e)| e.load(&doc).expect("loads"))
            .collect();
        if std::env::var_os("AB_SKIP_CHECK").is_none() {
            for r in lists.iter().flat_map(|(_, reqs)| reqs) {
                for set in &mut sets {
                    assert_eq!(set.decide(r).expect("decides"), native.decide(r));
                }
            }
        }
        for _ in 0..rounds {
            for (l, (_, reqs)) in lists.iter().enumerate() {
                for (k, set) in sets.iter_mut().enumerate() {
                    let t = Instant::now();
                    for i in 0..iters {
                        let r = &reqs[i % reqs.len()];
                        let answer = if typed {
                            set.decide_typed(r)
                        } else {
                            set.decide(r)
                        };
                        black_box(answer.expect("decides"));
                    }
                    rounds_of[l * columns + k].push(t.elapsed().as_secs_f64() * 1e6 / iters as f64);
                }
                let t = Instant::now();
                for i in 0..iters {
                    black_box(native.decide(&reqs[i % reqs.len()]));
                }
                rounds_of[l * columns + builds.len()]
                    .push(t.elapsed().as_secs_f64() * 1e6 / iters as f64);
            }
        }
    }

    let unit = if load_mode {
        "ms per load"
    } else {
        "µs per decision"
    };
    println!("{n} policies, {rounds} rounds, {unit}: median (fastest–slowest round)");
    // A load reads no request: one set of figures.
    let shown = if load_mode { 1 } else { lists.len() };
    let names = lists.iter().take(shown).flat_map(|(list, _)| {
        builds
            .iter()
            .map(|(name, _)| name.as_str())
            .chain(["native"])
            .map(move |name| format!("{name}{list}"))
    });
    for (name, mut figures) in names.zip(rounds_of) {
        figures.sort_by(f64::total_cmp);
        println!(
            "{name}: {:.3} ({:.3}–{:.3})",
            figures[figures.len() / 2],
            figures[0],
            figures[figures.len() - 1]
        );
    }
}
