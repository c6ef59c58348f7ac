//! The decision corpus on the native engine (the `tollgate-engine` crate as a plain library).

use serde_json::Value;
use tollgate_engine::PolicySet;
use tollgate_tests::corpus::{
    Backend, NoDecision, case_count, corpus_files, relative_name, run_corpus,
};

/// The engine as a library: load through `PolicySet::from_value`, read each request's text with
/// the engine's own reader (`parse_request`, the one every JSON entry point uses).
#[derive(Debug, Default)]
struct Native {
    set: Option<PolicySet>,
}

impl Backend for Native {
    fn load(&mut self, document: &Value) -> Result<(), Vec<(String, String)>> {
        self.set = None;
        let set = PolicySet::from_value(document.clone()).map_err(|error| {
            error
                .errors()
                .into_iter()
                .map(|e| (e.path, e.message))
                .collect::<Vec<_>>()
        })?;
        self.set = Some(set);
        Ok(())
    }

    fn decide(&mut self, request: &str) -> Result<Value, NoDecision> {
        let set = self
            .set
            .as_ref()
            .ok_or_else(|| NoDecision::Failed("no document loaded".into()))?;
        let request = tollgate_engine::parse_request(request)
            .map_err(|e| NoDecision::Refused(e.to_string()))?;
        serde_json::to_value(set.decide(&request)).map_err(|e| NoDecision::Failed(e.to_string()))
    }
}

#[test]
fn native_engine_passes_the_corpus() {
    let cases = case_count(&corpus_files());
    assert!(
        cases >= 150,
        "the corpus has only {cases} cases, at least 150 are expected"
    );

    let report = run_corpus(&mut Native::default());
    // The summary always; every failure (not just the first) comes with the assertion below.
    println!("{}", report.summary());
    assert_eq!(
        report.passed + report.failed,
        cases,
        "every case must be run"
    );
    assert!(
        report.is_success(),
        "{} of {} corpus cases failed on the native engine:\n{report}",
        report.failed,
        cases
    );
}

/// `tollgate policy test` decides natively too, through its own runner over the engine's reader of
/// the format: every corpus file is a valid policy test file and passes there as well.
#[test]
fn policy_test_passes_the_corpus() {
    let files = corpus_files();
    let mut report = tollgate::policy_test::Report::default();
    for (path, _) in &files {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        report.run_file(&relative_name(path), &text);
    }
    println!("policy test: {} cases", report.outcomes.len());
    assert_eq!(report.outcomes.len(), case_count(&files));
    assert_eq!(report.failed(), 0, "{}", report.table());
}
