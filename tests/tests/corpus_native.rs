//! The decision corpus on the native engine (the `tollgate-engine` crate as a plain library).

use serde_json::Value;
use tollgate_engine::PolicySet;
use tollgate_tests::corpus::{Backend, case_count, corpus_files, run_corpus};

/// The engine as a library: load through `PolicySet::from_value`, decide through the same request
/// parsing every shim uses.
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

    fn decide(&mut self, request: &Value) -> Result<Value, String> {
        let set = self.set.as_ref().ok_or("no document loaded")?;
        let request =
            tollgate_engine::parse_request(&request.to_string()).map_err(|e| e.to_string())?;
        serde_json::to_value(set.decide(&request)).map_err(|e| e.to_string())
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
