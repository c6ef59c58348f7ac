//! The engine component under the host runtime: limits hold, traps are contained, swaps are atomic.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tollgate::runtime::{ComponentEngine, Limits, PolicyRuntime, RuntimeError};
use tollgate_engine::{PolicySet, Request};

/// `n` policies on one resource, each pinned to its own client; policy `grant` (when asked for)
/// gives `scope` to client `agent`.
fn document(n: usize, scope: &str) -> String {
    let mut doc = String::from(
        "version: 1\nresources:\n  - { id: api, audience: \"https://api.example.com\", kind: api, scopes: [read, write] }\npolicies:\n",
    );
    doc.push_str(&format!(
        "  - {{ id: grant, subject: {{ clients: [agent] }}, targets: [{{ resource: api, scopes: [{scope}] }}] }}\n"
    ));
    for i in 0..n {
        doc.push_str(&format!(
            "  - {{ id: p{i}, subject: {{ clients: [c{i}] }}, targets: [{{ resource: api, scopes: [read] }}] }}\n"
        ));
    }
    doc
}

fn request(explain: bool) -> Request {
    serde_json::from_value(serde_json::json!({
        "grantType": "client_credentials",
        "client": { "clientId": "agent" },
        "target": { "resource": "api" },
        "explain": explain
    }))
    .expect("request")
}

#[test]
fn decisions_match_the_native_engine() {
    let engine = ComponentEngine::embedded(Limits::default()).expect("compiles");
    let doc = document(50, "write");
    let mut set = engine.load(&doc).expect("loads");
    let native = PolicySet::load(&doc).expect("loads natively");
    for explain in [false, true] {
        let r = request(explain);
        assert_eq!(set.decide(&r).expect("decides"), native.decide(&r));
    }
}

/// The guest serves short-lived blocks from a 64 KiB per-call arena and falls back to its system
/// allocator for what does not fit: answers far larger than the arena (every one of 3,000
/// policies explained), small ones before and after them, and batches all stay exact.
#[test]
fn answers_larger_than_the_guest_arena_and_many_calls_stay_exact() {
    let engine = ComponentEngine::embedded(Limits::default()).expect("compiles");
    let doc = document(3_000, "write");
    let mut set = engine.load(&doc).expect("loads");
    let native = PolicySet::load(&doc).expect("loads natively");
    let large = request(true);
    assert!(
        native.decide(&large).not_matched.len() >= 3_000,
        "the explained answer must be far larger than the arena"
    );
    for round in 0..200 {
        let r = request(round % 10 == 0);
        assert_eq!(
            set.decide(&r).expect("decides"),
            native.decide(&r),
            "round {round}"
        );
    }
    let batch: Vec<Request> = (0..40).map(|i| request(i % 20 == 0)).collect();
    let answers = set.decide_many(&batch).expect("decides many");
    for (r, answer) in batch.iter().zip(answers) {
        assert_eq!(answer.expect("decides"), native.decide(r));
    }
    let small = request(false);
    assert_eq!(set.decide(&small).expect("decides"), native.decide(&small));
}

#[test]
fn invalid_documents_report_every_error() {
    let engine = ComponentEngine::embedded(Limits::default()).expect("compiles");
    let doc = "version: 1\npolicies:\n  - { id: a, targets: [{ resource: nope, scopes: [x] }] }\n  - { id: a, mode: later, targets: [] }\n";
    let Err(RuntimeError::Invalid(errors)) = engine.load(doc) else {
        panic!("expected validation errors")
    };
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "policies[0].targets[0].resource",
            "policies[1].mode",
            "policies[1].targets",
            "policies[1].id"
        ],
        "{errors:?}"
    );
}

#[test]
fn the_memory_limit_stops_a_load_and_the_host_carries_on() {
    let engine = ComponentEngine::embedded(Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    })
    .expect("compiles");
    let huge = document(40_000, "write");
    match engine.load(&huge) {
        Err(RuntimeError::Trap(message)) => assert!(!message.is_empty()),
        other => panic!("expected a trap, got {other:?}"),
    }
    // The same engine still serves a document that fits.
    let mut set = engine
        .load(&document(10, "write"))
        .expect("a small document loads");
    assert!(set.decide(&request(false)).expect("decides").permitted);
}

#[test]
fn a_decision_past_its_deadline_traps_and_the_next_one_gets_a_fresh_instance() {
    let engine = Arc::new(
        ComponentEngine::embedded(Limits {
            decide_deadline: Duration::from_millis(1),
            ..Limits::default()
        })
        .expect("compiles"),
    );
    // Explaining 100,000 candidates takes far longer than one epoch tick.
    let runtime =
        PolicyRuntime::new(Arc::clone(&engine), &document(100_000, "write")).expect("loads");
    let mut trapped = false;
    for _ in 0..5 {
        match runtime.decide(&request(true)) {
            Err(RuntimeError::Trap(message)) => {
                assert!(message.contains("interrupt"), "{message}");
                trapped = true;
                break;
            }
            Ok(_) => continue,
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    assert!(trapped, "the deadline never fired");
    // The trapped instance is gone; a cheap decision runs on a freshly loaded one. The deadline
    // is one 5 ms epoch tick, so on a busy machine a tick can land even inside a cheap call (the
    // thread descheduled mid-call): that too is a trap and a fresh instance, so allow a few.
    let mut answered = None;
    for _ in 0..10 {
        match runtime.decide(&request(false)) {
            Ok(answer) => {
                answered = Some(answer);
                break;
            }
            Err(RuntimeError::Trap(message)) => assert!(message.contains("interrupt"), "{message}"),
            Err(other) => panic!("unexpected error {other}"),
        }
    }
    let (decision, version) = answered.expect("decides after a trap");
    assert!(decision.permitted);
    assert_eq!(version, 1);
}

#[test]
fn swapped_policy_sets_never_mix_within_a_decision() {
    let engine = Arc::new(ComponentEngine::embedded(Limits::default()).expect("compiles"));
    let read = document(200, "read");
    let write = document(200, "write");
    let runtime = Arc::new(PolicyRuntime::new(engine, &read).expect("loads"));
    let expect_read = PolicySet::load(&read)
        .expect("loads")
        .decide(&request(true))
        .into_owned();
    let expect_write = PolicySet::load(&write)
        .expect("loads")
        .decide(&request(true))
        .into_owned();
    assert_ne!(expect_read, expect_write);

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (runtime, stop) = (Arc::clone(&runtime), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut swaps = 0;
            while !stop.load(Ordering::Relaxed) && swaps < 40 {
                // Versions alternate: odd = read, even = write.
                let doc = if swaps % 2 == 0 { &write } else { &read };
                runtime.replace(doc).expect("replaces");
                swaps += 1;
            }
            swaps
        })
    };
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let runtime = Arc::clone(&runtime);
            let (expect_read, expect_write) = (expect_read.clone(), expect_write.clone());
            std::thread::spawn(move || {
                for _ in 0..300 {
                    let (decision, version) = runtime.decide(&request(true)).expect("decides");
                    let expected = if version % 2 == 1 {
                        &expect_read
                    } else {
                        &expect_write
                    };
                    assert_eq!(&decision, expected, "version {version} mixed policy sets");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(swaps > 0);
    assert_eq!(runtime.version(), 1 + swaps);
}
