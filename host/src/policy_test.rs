//! Policy test files: how users test their policies in their own CI (`tollgate policy test`).
//!
//! The format and its comparison rules are the engine's ([`tollgate_engine::test_file`]): a policy
//! document and cases, each a request (a mapping, or raw JSON text as `requestJson`) and either the
//! parts of the decision it expects or the refusal it must get (`expectError`); or, instead of
//! cases, the errors the document must be refused with. The decision corpus under `tests/corpus/`
//! is read by the same reader and judged by the same rules, so every corpus file is also a valid
//! test file. This module runs a file on the engine compiled into this binary, reading each
//! request's text with the engine's `parse_request` as every JSON entry point does, and prints a
//! table.
//!
//! ```yaml
//! description: nightly worker
//! document: { version: 1, resources: [...], policies: [...] }
//! cases:
//!   - name: reads the ledger
//!     request: { grantType: client_credentials, client: { clientId: w }, target: { resource: billing-api } }
//!     expect: { permitted: true, granted: ["ledger:read"] }
//! ```

use tollgate_engine::test_file::{self, ExpectedError, TestCase};
use tollgate_engine::{PolicySet, ValidationError};

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
        let parsed = match test_file::parse(text) {
            Ok(f) => f,
            Err(e) => return record("(file)", Some(e.to_string())),
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
        for case in &parsed.cases {
            record(&case.name, run_case(&set, case));
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

fn run_case(set: &PolicySet, case: &TestCase) -> Option<String> {
    let answer = match tollgate_engine::parse_request(&case.request.json()) {
        Ok(request) => match serde_json::to_value(set.decide(&request)) {
            Ok(decision) => Ok(decision),
            Err(e) => return Some(format!("cannot render the decision: {e}")),
        },
        Err(refusal) => Err(refusal.to_string()),
    };
    let mismatches = case.check(answer.as_ref().map_err(String::as_str));
    (!mismatches.is_empty()).then(|| {
        mismatches
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

fn compare_errors(expected: &[ExpectedError], actual: &[ValidationError]) -> Option<String> {
    let reported: Vec<(&str, &str)> = actual
        .iter()
        .map(|a| (a.path.as_str(), a.message.as_str()))
        .collect();
    if test_file::errors_match(expected, &reported) {
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

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"document:
  version: 1
  resources: [ { id: api, audience: "https://api.example.com", kind: api, scopes: [read, write] } ]
  policies: [ { id: p, targets: [ { resource: api, scopes: [read] } ] } ]
"#;

    fn run(cases: &str) -> Report {
        let mut report = Report::default();
        report.run_file("t.yaml", &format!("{DOCUMENT}cases:\n{cases}"));
        report
    }

    fn failures(report: &Report) -> Vec<(&str, &str)> {
        report
            .outcomes
            .iter()
            .filter_map(|o| o.failure.as_deref().map(|f| (o.case.as_str(), f)))
            .collect()
    }

    #[test]
    fn policy_test_runs_mapping_and_raw_text_requests() {
        let report = run(r#"
  - name: mapping
    request: { grantType: client_credentials, target: { resource: api } }
    expect: { permitted: true, granted: [read], matched: [p] }
  - name: raw text, decided
    requestJson: '{"grantType": "client_credentials", "target": {"resource": "api"}}'
    expect: { granted: [read] }
  - name: raw text, a target named twice
    requestJson: '{"grantType": "client_credentials", "target": {"resource": "api"},
      "client": {"allowedScopes": {"api": ["read"], "api": []}}}'
    expectError: "client.allowedScopes: duplicate key `api`"
  - name: raw text, a claim named twice
    requestJson: '{"grantType": "client_credentials", "target": {"resource": "api"},
      "claims": {"org": {"dept": 1, "dept": 2}}}'
    expectError: "claims.org: duplicate key `dept`"
"#);
        assert_eq!(failures(&report), Vec::<(&str, &str)>::new());
        assert_eq!(report.outcomes.len(), 4);
        assert!(
            report
                .table()
                .ends_with("policy tests: 4 passed, 0 failed\n"),
            "{}",
            report.table()
        );
    }

    #[test]
    fn policy_test_reports_the_wrong_answer() {
        let report = run(r#"
  - name: refused, a decision expected
    requestJson: '{"grantType": "client_credentials", "grantType": "jwt_bearer", "target": {"resource": "api"}}'
    expect: { permitted: true }
  - name: decided, a refusal expected
    request: { grantType: client_credentials, target: { resource: api } }
    expectError: duplicate key
  - name: another refusal
    requestJson: '{"grantType": "client_credentials"}'
    expectError: duplicate key
  - name: a key differs
    request: { grantType: client_credentials, target: { resource: api } }
    expect: { permitted: true, granted: [read, write] }
"#);
        let found = failures(&report);
        assert_eq!(found.len(), 4, "{found:?}");
        let [refused, decided, other, differs] = found.as_slice() else {
            panic!("{found:?}");
        };
        assert!(
            refused.1.contains("refused") && refused.1.contains("duplicate field `grantType`"),
            "{refused:?}"
        );
        assert!(decided.1.contains("must be refused"), "{decided:?}");
        assert!(other.1.contains("missing field `target`"), "{other:?}");
        assert!(differs.1.starts_with("`granted`: expected"), "{differs:?}");
        assert_eq!(report.failed(), 4);
    }

    /// The rules this runner used to have on its own, and which differed from the corpus's: a
    /// message is matched ignoring ASCII case, and a key the decision lacks is not `null`.
    #[test]
    fn policy_test_judges_by_the_corpus_rules() {
        let report = run(r#"
  - name: case ignored
    requestJson: '{"grantType": "client_credentials", "target": {"resource": "api"}, "target": {"resource": "api"}}'
    expectError: DUPLICATE FIELD `target`
  - name: absent is not null
    request: { grantType: client_credentials, target: { resource: api } }
    expect: { dryRun: null }
"#);
        let found = failures(&report);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found.first().map(|f| f.0), Some("absent is not null"));

        let mut refused = Report::default();
        refused.run_file(
            "e.yaml",
            "document: { version: 2 }\nexpectErrors: [ { path: version, message: UNSUPPORTED } ]",
        );
        let mut other_path = Report::default();
        other_path.run_file(
            "e.yaml",
            "document: { version: 2 }\nexpectErrors: [ { path: policies, message: version } ]",
        );
        assert_eq!(refused.failed(), 0, "{}", refused.table());
        assert_eq!(other_path.failed(), 1, "{}", other_path.table());
    }

    #[test]
    fn policy_test_refuses_a_file_against_the_format() {
        for (text, rule) in [
            (
                format!(
                    "{DOCUMENT}cases: [ {{ name: a, request: {{}}, expect: {{ permited: true }} }} ]"
                ),
                "not a decision key",
            ),
            (
                format!(
                    "{DOCUMENT}cases: [ {{ name: a, request: {{}}, requestJson: '{{}}', expect: {{}} }} ]"
                ),
                "not both",
            ),
            (format!("{DOCUMENT}colour: 1"), "not a policy test file"),
        ] {
            let mut report = Report::default();
            report.run_file("bad.yaml", &text);
            let [outcome] = report.outcomes.as_slice() else {
                panic!("one outcome for {text}: {report:?}");
            };
            assert_eq!(outcome.case, "(file)");
            let failure = outcome.failure.as_deref().unwrap_or_default();
            assert!(failure.contains(rule), "{text}: {failure}");
        }
    }
}
