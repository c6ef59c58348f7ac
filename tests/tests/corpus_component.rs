//! The decision corpus through the engine component, run by the server's own wasmtime runtime, in
//! both of the WIT interface's forms: the compact form the server uses (`decide-compact`) and the
//! typed records (`decide`). Every decision must be exactly the native one (the corpus
//! expectations are the native ones).
//!
//! Neither form is JSON text: the server reads a request's
//! JSON with the engine's `parse_request` and hands the result to the component (`tollgate decide
//! --engine component`, the admin API). This backend does the same with each case's text, so a
//! request with a key written twice is refused by that reader, before it crosses. The component's
//! own refusal of a target listed twice in the WIT list, or of claims text naming a key twice, is
//! tested in `host/src/runtime/convert.rs` (`the_guest_refuses_a_key_given_twice_as_the_engine_does`).

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a broken set-up fails the test"
)]

use serde_json::Value;
use tollgate::runtime::{ComponentEngine, Limits, LoadedSet, RuntimeError};
use tollgate_tests::corpus::{Backend, NoDecision, case_count, corpus_files, run_corpus};

/// Which of the component's two forms of a decision the backend uses.
#[derive(Clone, Copy)]
enum Form {
    /// `decide-compact`, what the server uses.
    Compact,
    /// `decide`, the typed records a host built from the WIT alone would use.
    Typed,
}

struct Component {
    engine: ComponentEngine,
    set: Option<LoadedSet>,
    form: Form,
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

    fn decide(&mut self, request: &str) -> Result<Value, NoDecision> {
        let set = self
            .set
            .as_mut()
            .ok_or_else(|| NoDecision::Failed("no document loaded".into()))?;
        let request = tollgate_engine::parse_request(request)
            .map_err(|e| NoDecision::Refused(e.to_string()))?;
        let decision = match self.form {
            Form::Compact => set.decide(&request),
            Form::Typed => set.decide_typed(&request),
        };
        let decision = decision.map_err(|e| match e {
            // The guest could not read what crossed (a time out of range, claims it refuses).
            RuntimeError::Request(message) => NoDecision::Refused(message),
            other => NoDecision::Failed(other.to_string()),
        })?;
        serde_json::to_value(decision).map_err(|e| NoDecision::Failed(e.to_string()))
    }
}

fn passes_the_corpus(form: Form) {
    let cases = case_count(&corpus_files());
    let mut backend = Component {
        engine: ComponentEngine::embedded(Limits::default())
            .expect("the embedded component compiles"),
        set: None,
        form,
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

#[test]
fn component_passes_the_corpus_in_compact_form() {
    passes_the_corpus(Form::Compact);
}

#[test]
fn component_passes_the_corpus_in_typed_form() {
    passes_the_corpus(Form::Typed);
}
