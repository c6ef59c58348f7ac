//! One decision through the engine component (wasmtime, as the server runs it: `decide-compact`)
//! against the native engine, at 10, 1,000 and 100,000 policies; the same through the typed
//! records (`decide`, what a host built from the WIT alone may use); `decide-many` for 100
//! requests; and instantiating the component with 1,000 policies loaded.
//!
//! `cargo bench -p tollgate-bench --bench component`
//!
//! The workload is the decision benchmark's (bench/src): same generator, same seeds.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "a benchmark stops on a broken set-up; indices stay below the request count"
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use ::tollgate::runtime::{ComponentEngine, Limits};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tollgate_bench::{Workload, tollgate as translate};
use tollgate_engine::{PolicySet, Request};

const SIZES: [usize; 3] = [10, 1_000, 100_000];

fn requests(w: &Workload) -> Vec<Request> {
    w.requests(7, 1_000)
        .iter()
        .map(|r| {
            serde_json::from_value(translate::request_json(w, r, false))
                .expect("the generator makes valid requests")
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn benches(c: &mut Criterion) {
    let limits = Limits {
        decide_deadline: Duration::from_secs(5),
        ..Limits::default()
    };
    let started = Instant::now();
    let engine = ComponentEngine::embedded(limits).expect("the embedded component compiles");
    println!("compile the embedded component: {:?}", started.elapsed());
    let mut table = Vec::new();

    for n in SIZES {
        let w = Workload::generate(n, 42);
        let doc = translate::document(&w);
        let native = PolicySet::load(&doc).expect("loads natively");
        let mut component = engine.load(&doc).expect("loads in the component");
        let reqs = requests(&w);
        // Both engines must agree on every benchmarked request.
        for r in &reqs {
            assert_eq!(
                component.decide(r).expect("decides"),
                native.decide(r),
                "component and native disagree"
            );
            assert_eq!(
                component.decide_typed(r).expect("decides"),
                native.decide(r),
                "the typed form and native disagree"
            );
        }
        let time = |f: &mut dyn FnMut(&Request)| {
            let mut samples: Vec<Duration> = Vec::with_capacity(reqs.len() * 10);
            for _ in 0..10 {
                for r in &reqs {
                    let t = Instant::now();
                    f(r);
                    samples.push(t.elapsed());
                }
            }
            samples.sort();
            (percentile(&samples, 0.5), percentile(&samples, 0.99))
        };
        let (np50, np99) = time(&mut |r| {
            black_box(native.decide(black_box(r)));
        });
        let (cp50, cp99) = time(&mut |r| {
            black_box(component.decide(black_box(r)).expect("decides"));
        });
        let (tp50, _) = time(&mut |r| {
            black_box(component.decide_typed(black_box(r)).expect("decides"));
        });
        let batch: Vec<Request> = reqs.iter().take(100).cloned().collect();
        let t = Instant::now();
        for _ in 0..20 {
            black_box(component.decide_many(&batch).expect("decides many"));
        }
        let many = t.elapsed() / 20;
        table.push((n, np50, np99, cp50, cp99, tp50, many));

        let mut group = c.benchmark_group("decide");
        group.sample_size(30);
        let mut i = 0;
        group.bench_function(BenchmarkId::new("native", n), |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(native.decide(&reqs[i]))
            })
        });
        group.bench_function(BenchmarkId::new("component", n), |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(component.decide(&reqs[i]).expect("decides"))
            })
        });
        group.bench_function(BenchmarkId::new("component typed", n), |b| {
            b.iter(|| {
                i = (i + 1) % reqs.len();
                black_box(component.decide_typed(&reqs[i]).expect("decides"))
            })
        });
        group.bench_function(BenchmarkId::new("component decide-many x100", n), |b| {
            b.iter(|| black_box(component.decide_many(&batch).expect("decides many")))
        });
        group.finish();
    }

    // A fresh instance with 1,000 policies loaded (what a new pooled worker costs).
    let doc = translate::document(&Workload::generate(1_000, 42));
    let mut loads: Vec<Duration> = (0..30)
        .map(|_| {
            let t = Instant::now();
            black_box(engine.load(&doc).expect("loads"));
            t.elapsed()
        })
        .collect();
    loads.sort();
    c.bench_function("instantiate + load 1000 policies", |b| {
        b.iter(|| black_box(engine.load(&doc).expect("loads")))
    });

    println!(
        "\n| N | native p50 | native p99 | component p50 | component p99 | component − native (p50) | typed records p50 | decide-many ×100, typed (per request) |"
    );
    println!("|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (n, np50, np99, cp50, cp99, tp50, many) in table {
        println!(
            "| {n} | {:.2} µs | {:.2} µs | {:.2} µs | {:.2} µs | {:+.2} µs | {:.2} µs | {:.1} µs ({:.2} µs) |",
            us(np50),
            us(np99),
            us(cp50),
            us(cp99),
            us(cp50) - us(np50),
            us(tp50),
            us(many),
            us(many) / 100.0
        );
    }
    println!(
        "\ninstantiate + load 1,000 policies: p50 {:.2} ms, p99 {:.2} ms",
        ms(percentile(&loads, 0.5)),
        ms(percentile(&loads, 0.99))
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

criterion_group!(component, benches);
criterion_main!(component);
