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
        assert_eq!(set.decide_typed(&r).expect("decides"), native.decide(&r));
    }
}

/// Addresses and times cross as typed WIT values (octets and groups; seconds and nanoseconds):
/// both IP families, a mapped IPv4 address, instants before the epoch with a fraction, and the
/// ends of the engine's time range all reach the guest as the instant and address the host had.
#[test]
fn addresses_and_times_cross_exactly() {
    let doc = r#"
version: 1
resources:
  - { id: api, audience: "https://api.example.com", kind: api, scopes: [read, write, admin] }
policies:
  - id: office
    subject: { conditions: [ { key: request.ip, op: inCidr, values: ["10.0.0.0/8", "2001:db8::/32", "::ffff:192.0.2.0/120"] } ] }
    targets: [ { resource: api, scopes: [read] } ]
  - id: hours
    subject: { conditions: [ { key: request.time, op: between, value: { from: "09:00", to: "17:00", days: [mon, tue, wed, thu, fri], tz: Europe/Paris } } ] }
    targets: [ { resource: api, scopes: [write] } ]
  - id: night
    subject: { conditions: [ { key: request.time, op: between, value: { from: "23:59", to: "00:01" } } ] }
    targets: [ { resource: api, scopes: [admin] } ]
"#;
    let engine = ComponentEngine::embedded(Limits::default()).expect("compiles");
    let mut set = engine.load(doc).expect("loads");
    let native = PolicySet::load(doc).expect("loads natively");
    let ips = [
        "10.1.2.3",
        "192.0.2.1",
        "2001:db8::1",
        "2001:db9:ffff:1:2:3:4:5",
        "::ffff:192.0.2.7",
        "::ffff:10.1.2.3",
        "::1",
    ];
    let times = [
        "2026-11-23T09:00:00Z",
        "2026-11-23T08:59:59.999999999+01:00",
        "2026-11-27T16:59:59.5+01:00",
        "1970-01-01T00:00:00Z",
        "1969-12-31T23:59:59.5Z",
        "1969-12-31T23:59:59.000000001Z",
        "1969-12-31T23:58:59.5Z",
        "2026-11-23T23:58:59.999999999Z",
        "2026-11-24T00:01:00Z",
        "1900-03-05T10:00:00.25+01:00",
        "-009999-01-02T01:59:59Z",
        "9999-12-30T22:00:00.999999999Z",
    ];
    let mut permitted = 0;
    for ip in ips {
        for time in times {
            let r: Request = serde_json::from_value(serde_json::json!({
                "grantType": "client_credentials",
                "client": { "clientId": "agent" },
                "target": { "resource": "api" },
                "context": { "ip": ip, "time": time },
                "explain": true
            }))
            .expect("request");
            let want = native.decide(&r);
            permitted += usize::from(want.permitted);
            assert_eq!(set.decide(&r).expect("decides"), want, "{ip} at {time}");
            assert_eq!(
                set.decide_typed(&r).expect("decides"),
                want,
                "{ip} at {time}"
            );
        }
    }
    // The table exercises both outcomes of each policy, not only refusals.
    assert!(permitted > 0 && permitted < ips.len() * times.len());
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
        let answer = if round % 2 == 0 {
            set.decide(&r)
        } else {
            set.decide_typed(&r)
        };
        assert_eq!(answer.expect("decides"), native.decide(&r), "round {round}");
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
