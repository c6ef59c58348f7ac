//! Parse + validate + decide on arbitrary input: nothing may panic, hang or disagree with itself.
//!
//! The input is split at the first NUL byte: the part before is a policy document (JSON or YAML),
//! the part after a request (JSON). When both are valid the decision must also be the same when
//! the document is loaded a second time from its JSON value.
//!
//! Run from engine/: `cargo +nightly fuzz run decide -- -max_total_time=600`
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_engine::{PolicySet, parse_request};

fuzz_target!(|data: &[u8]| {
    let (doc, req) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(doc) = std::str::from_utf8(doc) else { return };
    let Ok(set) = PolicySet::load(doc) else { return };
    let Ok(req) = std::str::from_utf8(req) else { return };
    let Ok(request) = parse_request(req) else { return };
    let decision = set.decide(&request);
    // Invariants of every decision.
    if !decision.granted.is_empty() {
        assert!(decision.permitted);
    }
    if decision.permitted {
        assert!(!decision.matched.is_empty());
    }
    for g in &decision.granted {
        assert!(decision.scopes.iter().any(|s| s.granted && &s.scope == g));
    }
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(doc) {
        if let Ok(again) = PolicySet::from_value(value) {
            assert_eq!(again.decide(&request), decision);
        }
    }
});
