//! Policy test files: how users test their policies in their own CI (`tollgate policy test`).
//!
//! A file holds a policy document and cases, each a request and the parts of the decision it
//! expects; keys left out of `expect` are not checked. A file may instead expect the document to
//! be refused, listing the errors (`path` exact, `message` a substring). The decision corpus under
//! `tests/corpus/` uses the same format, so every corpus file is also a valid test file.
//!
//! ```yaml
//! description: nightly worker
//! document: { version: 1, resources: [...], policies: [...] }
//! cases:
//!   - name: reads the ledger
//!     request: { grantType: client_credentials, client: { clientId: w }, target: { resource: billing-api } }
//!     expect: { permitted: true, granted: ["ledger:read"] }
//! ```

use serde::Deserialize;
use serde_json::Value;
use tollgate_engine::{PolicySet, Request};

/// A policy test file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestFile {
    /// What the file covers.
    #[serde(default)]
    pub description: Option<String>,
    /// The policy document.
    pub document: Value,
    /// Requests and the decisions they expect.
    #[serde(default)]
    pub cases: Vec<Case>,
    /// When the document must be refused: the errors it must produce, in order.
    #[serde(default)]
    pub expect_errors: Option<Vec<ExpectedError>>,
}

/// One request and what its decision must contain.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The case's name.
    pub name: String,
    /// The request (the engine's request JSON).
    pub request: Value,
    /// Decision keys and their expected values.
    pub expect: serde_json::Map<String, Value>,
}

/// A validation error a refused document must produce.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// The exact path.
    pub path: String,
    /// A substring of the message.
    pub message: String,
}

/// The outcome of one case.
#[derive(Debug)]
pub struct Outcome {
    /// The file.
    pub file: String,
    /// The case (or `(document)` for a file expecting errors).
    pub case: String,
    /// `None` when the case passed; what differed otherwise.
    pub failure: Option<String>,
}

/// The outcomes of every file run.
#[derive(Debug, Default)]
pub struct Report {
    /// Every case's outcome, in order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Runs one test file's text (YAML or JSON) and records its outcomes.
    pub fn run_file(&mut self, file: &str, text: &str) {
        let mut record = |case: &str, failure: Option<String>| {
            self.outcomes.push(Outcome {
                file: file.to_owned(),
                case: case.to_owned(),
                failure,
            });
        };
        let parsed: TestFile = match serde_norway::from_str(text) {
            Ok(f) => f,
            Err(e) => return record("(file)", Some(format!("not a policy test file: {e}"))),
        };
        let loaded = PolicySet::from_value(parsed.document);
        if let Some(expected) = parsed.expect_errors {
            let failure = match loaded {
                Ok(_) => Some("the document loaded, but errors were expected".to_owned()),
                Err(e) => compare_errors(&expected, &e.errors()),
            };
            return record("(document)", failure);
        }
        let set = match loaded {
            Ok(set) => set,
            Err(e) => return record("(document)", Some(e.to_string())),
        };
        for case in parsed.cases {
            record(&case.name, run_case(&set, &case));
        }
    }

    /// How many cases failed.
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_some()).count()
    }

    /// A plain-text table of every case, the failures' details, and a closing count line.
    pub fn table(&self) -> String {
        let mut out = String::new();
        for o in &self.outcomes {
            let verdict = if o.failure.is_some() { "FAIL" } else { "pass" };
            out.push_str(&format!("{verdict}  {} › {}\n", o.file, o.case));
            if let Some(f) = &o.failure {
                for line in f.lines() {
                    out.push_str(&format!("        {line}\n"));
                }
            }
        }
        let failed = self.failed();
        out.push_str(&format!(
            "policy tests: {} passed, {} failed\n",
            self.outcomes.len() - failed,
            failed
        ));
        out
    }
}

fn run_case(set: &PolicySet, case: &Case) -> Option<String> {
    let request = match Request::deserialize(&case.request) {
        Ok(r) => r,
        Err(e) => return Some(format!("invalid request: {e}")),
    };
    let decision = match serde_json::to_value(set.decide(&request)) {
        Ok(d) => d,
        Err(e) => return Some(format!("cannot render the decision: {e}")),
    };
    let mut differences = Vec::new();
    for (key, expected) in &case.expect {
        let actual = decision.get(key).unwrap_or(&Value::Null);
        if actual != expected {
            differences.push(format!("{key}: expected {expected}, got {actual}"));
        }
    }
    (!differences.is_empty()).then(|| differences.join("\n"))
}

fn compare_errors(
    expected: &[ExpectedError],
    actual: &[tollgate_engine::ValidationError],
) -> Option<String> {
    let fits = expected.len() == actual.len()
        && expected
            .iter()
            .zip(actual)
            .all(|(e, a)| e.path == a.path && a.message.contains(&e.message));
    if fits {
        return None;
    }
    let show = |items: Vec<String>| items.join("\n  ");
    Some(format!(
        "expected errors:\n  {}\ngot:\n  {}",
        show(
            expected
                .iter()
                .map(|e| format!("{}: …{}…", e.path, e.message))
                .collect()
        ),
        show(
            actual
                .iter()
                .map(|a| format!("{}: {}", a.path, a.message))
                .collect()
        ),
    ))
}
