//! Differential tests (house style habit 10): the indexed, compiled engine against the naive
//! reference evaluator in `tollgate_tests::reference`, on random valid documents and requests
//! from `tollgate_tests::generate`.
//!
//! Each case is one generated document and 1 to 8 requests decided against it. For every request
//! the two must agree on the whole decision: `permitted`, `granted` (same order), `matched` (same
//! order), the per-scope verdicts (`scopes`: scope, granted, `by`, reason), `dryRun` and
//! `notMatched`. A generated document that fails to load, or a generated request that does not
//! parse, is a failure too. On a failure proptest shrinks the case (fewer policies, conditions,
//! requests; earlier vocabulary) and the message shows the smallest document and request found,
//! with both decisions.
//!
//! `cargo test -p tollgate-tests --test differential` runs the default size (see
//! `DEFAULT_CASES`); `PROPTEST_CASES=N` overrides the number of documents. The long run:
//!
//! ```text
//! cargo test -p tollgate-tests --release --test differential -- --ignored differential_million
//! ```

use std::cell::Cell;
use std::time::Instant;

use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::Value;
use tollgate_engine::{Decision, PolicySet, Request};
use tollgate_tests::generate;
use tollgate_tests::reference::{self, RefDecision};

/// Documents in the default run (the issue's 10,000 cases). Each carries 1 to 8 requests (4.5 on
/// average), so this is about 45,000 decisions, about half a minute in a debug build.
const DEFAULT_CASES: u32 = 10_000;

/// The default run must decide at least this many requests.
const MIN_DECISIONS: usize = 10_000;

/// The engine's decision in the reference's terms, for comparison and display.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    permitted: bool,
    granted: Vec<String>,
    matched: Vec<String>,
    scopes: Vec<(String, bool, Vec<String>, Option<String>)>,
    dry_run: Vec<(String, Vec<String>, bool)>,
    not_matched: Vec<(String, String)>,
    /// (policy, scopes, methods, levels, max age)
    step_up: Vec<StepUpSeen>,
}

type StepUpSeen = (String, Vec<String>, Vec<String>, Vec<String>, Option<u64>);

fn names(list: &[tollgate_engine::Name<'_>]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn from_engine(d: &Decision<'_>) -> Seen {
    Seen {
        permitted: d.permitted,
        granted: names(&d.granted),
        matched: names(&d.matched),
        scopes: d
            .scopes
            .iter()
            .map(|s| {
                (
                    s.scope.to_string(),
                    s.granted,
                    names(&s.by),
                    s.reason.map(|r| r.as_str().to_owned()),
                )
            })
            .collect(),
        dry_run: d
            .dry_run
            .iter()
            .map(|r| (r.policy.to_string(), names(&r.would_add), r.would_permit))
            .collect(),
        not_matched: d
            .not_matched
            .iter()
            .map(|n| (n.policy.to_string(), normalise_failed(&n.failed)))
            .collect(),
        step_up: d
            .step_up
            .iter()
            .map(|s| {
                (
                    s.policy.to_string(),
                    names(&s.scopes),
                    names(&s.methods),
                    names(&s.levels),
                    s.max_age,
                )
            })
            .collect(),
    }
}

/// DESIGN.md and the engine's README do not say in which order the lists of a `grant type:` or
/// `client:` explanation are written (the engine sorts client ids; the reference writes them as
/// the policy does), so those lists are compared as sets.
fn normalise_failed(failed: &str) -> String {
    if !(failed.starts_with("grant type: ") || failed.starts_with("client: ")) {
        return failed.to_owned();
    }
    match (failed.find(" not in ["), failed.strip_suffix(']')) {
        (Some(at), Some(body)) => {
            let (head, list) = body.split_at(at + " not in [".len());
            let mut items: Vec<&str> = list.split(", ").collect();
            items.sort_unstable();
            format!("{head}{}]", items.join(", "))
        }
        _ => failed.to_owned(),
    }
}

fn from_reference(d: &RefDecision) -> Seen {
    Seen {
        permitted: d.permitted,
        granted: d.granted.clone(),
        matched: d.matched.clone(),
        scopes: d
            .scopes
            .iter()
            .map(|s| {
                (
                    s.scope.clone(),
                    s.granted,
                    s.by.clone(),
                    s.reason.map(str::to_owned),
                )
            })
            .collect(),
        dry_run: d
            .dry_run
            .iter()
            .map(|r| (r.policy.clone(), r.would_add.clone(), r.would_permit))
            .collect(),
        not_matched: d
            .not_matched
            .iter()
            .map(|n| (n.policy.clone(), normalise_failed(&n.failed)))
            .collect(),
        step_up: d
            .step_up
            .iter()
            .map(|s| {
                (
                    s.policy.clone(),
                    s.scopes.clone(),
                    s.methods.clone(),
                    s.levels.clone(),
                    s.max_age,
                )
            })
            .collect(),
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("<{e}>"))
}

/// Which parts of two decisions differ, most important first.
fn differences(expected: &Seen, actual: &Seen) -> Vec<&'static str> {
    let mut out = Vec::new();
    if expected.permitted != actual.permitted {
        out.push("permitted");
    }
    if expected.granted != actual.granted {
        out.push("granted");
    }
    if expected.matched != actual.matched {
        out.push("matched");
    }
    if expected.scopes != actual.scopes {
        out.push("scopes");
    }
    if expected.dry_run != actual.dry_run {
        out.push("dryRun");
    }
    if expected.not_matched != actual.not_matched {
        out.push("notMatched");
    }
    if expected.step_up != actual.step_up {
        out.push("stepUp");
    }
    out
}

/// Loads the document into the engine and decides every request with both evaluators. Returns
/// the number of decisions compared.
fn check(document: &Value, requests: &[Value]) -> Result<usize, TestCaseError> {
    let set = PolicySet::from_value(document.clone()).map_err(|e| {
        let errors: Vec<String> = e.errors().iter().map(ToString::to_string).collect();
        TestCaseError::fail(format!(
            "a generated document failed to load:\n  {}\ndocument:\n{}",
            errors.join("\n  "),
            pretty(document)
        ))
    })?;
    for request in requests {
        let parsed: Request = serde_json::from_value(request.clone()).map_err(|e| {
            TestCaseError::fail(format!(
                "a generated request does not parse: {e}\nrequest:\n{}",
                pretty(request)
            ))
        })?;
        let actual = from_engine(&set.decide(&parsed));
        let expected = from_reference(&reference::evaluate(document, request));
        let differ = differences(&expected, &actual);
        if !differ.is_empty() {
            return Err(TestCaseError::fail(format!(
                "the engine and the reference disagree on {}\n\
                 document:\n{}\nrequest:\n{}\nreference (expected):\n{expected:#?}\n\
                 engine (actual):\n{actual:#?}",
                differ.join(", "),
                pretty(document),
                pretty(request),
            )));
        }
    }
    Ok(requests.len())
}

/// Runs `cases` generated documents; returns the number of decisions compared, or the smallest
/// failing case's report.
fn run(cases: u32) -> Result<usize, String> {
    let config = Config {
        cases,
        // A failure is reported with its shrunk document and request; nothing is written next to
        // the sources.
        failure_persistence: None,
        // Shrinking a few hundred policies in a debug build can take a while; bound it.
        max_shrink_time: 300_000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let decisions = Cell::new(0usize);
    let result = runner.run(&generate::case_with(300, 8), |(document, requests)| {
        let n = check(&document, &requests)?;
        decisions.set(decisions.get() + n);
        Ok(())
    });
    match result {
        Ok(()) => Ok(decisions.get()),
        Err(TestError::Fail(reason, _)) => Err(format!("{reason}")),
        Err(TestError::Abort(reason)) => Err(format!("aborted: {reason}")),
    }
}

fn cases_from_env(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn differential() {
    let cases = cases_from_env(DEFAULT_CASES);
    let started = Instant::now();
    match run(cases) {
        Ok(decisions) => {
            eprintln!(
                "differential: {cases} documents, {decisions} decisions agree ({:.1?})",
                started.elapsed()
            );
            if cases >= DEFAULT_CASES {
                assert!(
                    decisions >= MIN_DECISIONS,
                    "only {decisions} decisions were compared"
                );
            }
        }
        Err(report) => panic!("{report}"),
    }
}

/// The long run: a million documents (about 4.5 million decisions). Release build only; about 20
/// to 25 minutes on a 2-core machine (100,000 documents took 130 s in release):
/// `cargo test -p tollgate-tests --release --test differential -- --ignored differential_million`
#[test]
#[ignore = "long: a million generated documents; run in release"]
fn differential_million() {
    let cases = cases_from_env(1_000_000);
    let started = Instant::now();
    match run(cases) {
        Ok(decisions) => eprintln!(
            "differential_million: {cases} documents, {decisions} decisions agree ({:.1?})",
            started.elapsed()
        ),
        Err(report) => panic!("{report}"),
    }
}
