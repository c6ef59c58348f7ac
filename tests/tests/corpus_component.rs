//! The decision corpus through the engine component, run by the server's own wasmtime runtime.
//! Every decision must be exactly the native one (the corpus expectations are the native ones).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use serde_json::Value;
use tollgate::runtime::{ComponentEngine, Limits, LoadedSet, RuntimeError};
use tollgate_tests::corpus::{Backend, case_count, corpus_files, run_corpus};

struct Component {
    engine: ComponentEngine,
    set: Option<LoadedSet>,
}

impl Backend for Component {
    fn load(&mut self, document: &Value) -> Result<(), Vec<(String, String)>> {
        self.set = None;
        match self.engine.load(&document.to_string()) {
            Ok(set) => {
                self.set = Some(set);
                Ok(())
            }
            Err(RuntimeError::Invalid(errors)) => {
                Err(errors.into_iter().map(|e| (e.path, e.message)).collect())
            }
            Err(other) => Err(vec![(String::new(), other.to_string())]),
        }
    }

    fn decide(&mut self, request: &Value) -> Result<Value, String> {
        let set = self.set.as_mut().ok_or("no document loaded")?;
        let request =
            tollgate_engine::parse_request(&request.to_string()).map_err(|e| e.to_string())?;
        let decision = set.decide(&request).map_err(|e| e.to_string())?;
        serde_json::to_value(decision).map_err(|e| e.to_string())
    }
}

#[test]
fn component_passes_the_corpus() {
    let cases = case_count(&corpus_files());
    let mut backend = Component {
        engine: ComponentEngine::embedded(Limits::default())
            .expect("the embedded component compiles"),
        set: None,
    };
    let report = run_corpus(&mut backend);
    println!("{}", report.summary());
    assert_eq!(
        report.passed + report.failed,
        cases,
        "every case must be run"
    );
    assert!(
        report.is_success(),
        "{} of {cases} corpus cases failed through the component:\n{report}",
        report.failed
    );
}
