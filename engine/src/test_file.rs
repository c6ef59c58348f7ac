//! Policy test files: a policy document with requests and what each must get (a decision, or a
//! refusal), or the validation errors the document must produce instead.
//!
//! `tollgate policy test` runs them in users' CI, and the decision corpus under `tests/corpus/` is
//! written in the same format and run by every runtime. This module is the one reader of the
//! format and holds its comparison rules, so the two cannot drift apart. It reads text and compares
//! answers; reading files and running a runtime are the caller's.
//!
//! ```yaml
//! description: nightly worker                 # optional
//! document: { version: 1, resources: [...], policies: [...] }
//! cases:
//!   - name: reads the ledger                  # unique within the file
//!     request: { grantType: client_credentials, client: { clientId: w }, target: { resource: billing-api } }
//!     expect: { permitted: true, granted: ["ledger:read"] }
//!   - name: a target named twice is refused
//!     requestJson: '{"grantType": "client_credentials", "target": {"resource": "billing-api"},
//!       "client": {"allowedScopes": {"billing-api": [], "billing-api": []}}}'
//!     expectError: "client.allowedScopes: duplicate key `billing-api`"
//! ```
//!
//! or, for a document that must not load, `expectErrors: [ { path, message } ]` instead of `cases`.
//!
//! The rules:
//!
//! - A case gives its request as `request`, a mapping in the engine's request shape, or as
//!   `requestJson`, its JSON text, handed to the runtime as written: for what a parsed mapping
//!   cannot hold, such as a key written twice.
//! - A case expects either `expect`, decision keys and their values, or `expectError`, text the
//!   refusal of the request must contain. Under `expect` only the keys given are checked; each is
//!   equal when the decision has the key with an equal JSON value (a key the decision lacks is
//!   not `null`), and a key no decision has is an error in the file, not a silent pass.
//! - Messages (`expectError`, and each `message` of `expectErrors`) match when the actual message
//!   contains the expected text, ASCII case ignored: runtimes may word a message differently
//!   (capitalise it, add a position) but must agree on what is wrong and where. The paths of
//!   `expectErrors` must be equal, and the errors come in the order the engine reports them.
//! - A file has `cases` or `expectErrors`, not both; case names are unique within a file.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde_json::{Map, Value};
use thiserror::Error;

/// The keys of a decision, as the decision JSON spells them: the only keys `expect` may give.
pub const DECISION_KEYS: [&str; 7] = [
    "permitted",
    "granted",
    "scopes",
    "matched",
    "dryRun",
    "notMatched",
    "stepUp",
];

/// A policy test file.
#[derive(Debug, Clone, PartialEq)]
pub struct TestFile {
    /// What the file covers.
    pub description: Option<String>,
    /// The policy document, as written (YAML read into JSON).
    pub document: Value,
    /// Requests and what they must get (empty for a file expecting errors).
    pub cases: Vec<TestCase>,
    /// For a document that must fail to load: every error, in order.
    pub expect_errors: Option<Vec<ExpectedError>>,
}

/// One request and what it must get.
#[derive(Debug, Clone, PartialEq)]
pub struct TestCase {
    /// A short name, unique within its file.
    pub name: String,
    /// The request.
    pub request: CaseRequest,
    /// The decision keys it must have, or the refusal it must get.
    pub expect: Expectation,
}

/// How a case gives its request.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseRequest {
    /// `request`: a mapping in the engine's request shape.
    Value(Value),
    /// `requestJson`: the request's JSON text, exactly as written.
    Json(String),
}

impl CaseRequest {
    /// The JSON text to hand a runtime: the text as written, or the mapping written as JSON.
    pub fn json(&self) -> Cow<'_, str> {
        match self {
            CaseRequest::Value(value) => Cow::Owned(value.to_string()),
            CaseRequest::Json(text) => Cow::Borrowed(text),
        }
    }
}

/// What a case's request must get.
#[derive(Debug, Clone, PartialEq)]
pub enum Expectation {
    /// `expect`: these decision keys, with these values.
    Decision(Map<String, Value>),
    /// `expectError`: a refusal whose message contains this text (ASCII case ignored).
    Error(String),
}

/// One validation error a document must produce.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// The exact path, e.g. `policies[0].subject.conditions[1].op`.
    pub path: String,
    /// Text the message must contain (ASCII case ignored).
    pub message: String,
}

/// Why a text is not a policy test file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TestFileError {
    /// Not YAML or JSON of the file's shape (an unknown key, a case without a name, ...).
    #[error("not a policy test file: {0}")]
    Syntax(String),
    /// Of the shape, but against a rule of the format.
    #[error("not a policy test file: {0}")]
    Rule(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawFile {
    #[serde(default)]
    description: Option<String>,
    document: Value,
    #[serde(default)]
    cases: Vec<RawCase>,
    #[serde(default)]
    expect_errors: Option<Vec<ExpectedError>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RawCase {
    name: String,
    #[serde(default)]
    request: Option<Value>,
    #[serde(default)]
    request_json: Option<String>,
    #[serde(default)]
    expect: Option<Map<String, Value>>,
    #[serde(default)]
    expect_error: Option<String>,
}

/// Reads a policy test file (YAML, or JSON, which is YAML too) and checks the format's rules.
pub fn parse(text: &str) -> Result<TestFile, TestFileError> {
    let raw: RawFile =
        serde_norway::from_str(text).map_err(|e| TestFileError::Syntax(e.to_string()))?;
    if raw.expect_errors.is_some() && !raw.cases.is_empty() {
        return Err(TestFileError::Rule(
            "a file has `cases` or `expectErrors`, not both".into(),
        ));
    }
    let mut cases: Vec<TestCase> = Vec::with_capacity(raw.cases.len());
    for case in raw.cases {
        if cases.iter().any(|c| c.name == case.name) {
            return Err(TestFileError::Rule(format!(
                "duplicate case name `{}`",
                case.name
            )));
        }
        cases.push(read_case(case).map_err(TestFileError::Rule)?);
    }
    Ok(TestFile {
        description: raw.description,
        document: raw.document,
        cases,
        expect_errors: raw.expect_errors,
    })
}

fn read_case(case: RawCase) -> Result<TestCase, String> {
    let name = case.name;
    let request = match (case.request, case.request_json) {
        (Some(value), None) if value.is_object() => CaseRequest::Value(value),
        (Some(_), None) => return Err(format!("case `{name}`: `request` is not a mapping")),
        (None, Some(text)) => CaseRequest::Json(text),
        (Some(_), Some(_)) => {
            return Err(format!(
                "case `{name}`: give `request` or `requestJson`, not both"
            ));
        }
        (None, None) => return Err(format!("case `{name}`: missing `request`")),
    };
    let expect = match (case.expect, case.expect_error) {
        (Some(keys), None) => {
            if let Some(key) = keys.keys().find(|k| !DECISION_KEYS.contains(&k.as_str())) {
                return Err(format!(
                    "case `{name}`: `expect` has `{key}`, not a decision key; expected one of {}",
                    DECISION_KEYS.map(|k| format!("`{k}`")).join(", ")
                ));
            }
            Expectation::Decision(keys)
        }
        (None, Some(text)) => Expectation::Error(text),
        (Some(_), Some(_)) => {
            return Err(format!(
                "case `{name}`: give `expect` or `expectError`, not both"
            ));
        }
        (None, None) => {
            return Err(format!(
                "case `{name}`: missing `expect` (or `expectError`)"
            ));
        }
    };
    Ok(TestCase {
        name,
        request,
        expect,
    })
}

/// How a runtime's answer to a case differs from what the case expects.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// A decision key differs (`actual` is `None` when the decision lacks the key).
    Differs {
        /// The decision key.
        key: String,
        /// What the case expects.
        expected: Value,
        /// What the runtime decided.
        actual: Option<Value>,
    },
    /// A decision was expected; the runtime refused the request with this message.
    Refused(String),
    /// A refusal was expected; the runtime decided the request.
    Decided,
    /// The runtime refused the request, but not with the expected error.
    OtherRefusal {
        /// The text the message had to contain.
        expected: String,
        /// The runtime's message.
        actual: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Differs {
                key,
                expected,
                actual,
            } => {
                let actual = actual
                    .as_ref()
                    .map_or_else(|| "(missing)".to_owned(), Value::to_string);
                write!(f, "`{key}`: expected {expected}, got {actual}")
            }
            Mismatch::Refused(message) => write!(f, "the request was refused: {message}"),
            Mismatch::Decided => f.write_str("the request was decided, but must be refused"),
            Mismatch::OtherRefusal { expected, actual } => write!(
                f,
                "the request was refused with `{actual}`, not with an error containing `{expected}`"
            ),
        }
    }
}

impl TestCase {
    /// How a runtime's answer (the decision as JSON, or the message it refused the request with)
    /// differs from what the case expects; empty when the case passes.
    pub fn check(&self, answer: Result<&Value, &str>) -> Vec<Mismatch> {
        match (&self.expect, answer) {
            (Expectation::Decision(expect), Ok(decision)) => compare_decision(expect, decision),
            (Expectation::Decision(_), Err(message)) => vec![Mismatch::Refused(message.into())],
            (Expectation::Error(_), Ok(_)) => vec![Mismatch::Decided],
            (Expectation::Error(expected), Err(actual)) if message_matches(expected, actual) => {
                Vec::new()
            }
            (Expectation::Error(expected), Err(actual)) => vec![Mismatch::OtherRefusal {
                expected: expected.clone(),
                actual: actual.into(),
            }],
        }
    }
}

/// Every expected key whose value differs from the decision's, in `expect` order. A key the
/// decision lacks differs from every value, `null` included.
pub fn compare_decision(expect: &Map<String, Value>, decision: &Value) -> Vec<Mismatch> {
    expect
        .iter()
        .filter_map(|(key, expected)| {
            let actual = decision.get(key);
            (actual != Some(expected)).then(|| Mismatch::Differs {
                key: key.clone(),
                expected: expected.clone(),
                actual: actual.cloned(),
            })
        })
        .collect()
}

/// Whether a message contains the expected text, ASCII case ignored.
pub fn message_matches(expected: &str, actual: &str) -> bool {
    actual
        .to_ascii_lowercase()
        .contains(&expected.to_ascii_lowercase())
}

/// Whether reported validation errors, as (path, message), are the expected ones: as many, in the
/// same order, each path equal and each message matching ([`message_matches`]).
pub fn errors_match<P: AsRef<str>, M: AsRef<str>>(
    expected: &[ExpectedError],
    actual: &[(P, M)],
) -> bool {
    expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, (path, message))| {
            path.as_ref() == e.path && message_matches(&e.message, message.as_ref())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = "document: { version: 1 }\n";

    #[test]
    fn a_case_gives_its_request_one_way_and_expects_one_thing() {
        let file = parse(&format!(
            r#"{DOCUMENT}cases:
  - {{ name: a, request: {{ grantType: client_credentials }}, expect: {{ permitted: true }} }}
  - name: b
    requestJson: '{{"grantType": "client_credentials", "grantType": "jwt_bearer"}}'
    expectError: duplicate field
"#
        ))
        .expect("a test file");
        assert_eq!(file.description, None);
        let [a, b] = file.cases.as_slice() else {
            panic!("two cases: {file:?}");
        };
        assert_eq!(a.request.json(), r#"{"grantType":"client_credentials"}"#);
        assert_eq!(
            b.request.json(),
            r#"{"grantType": "client_credentials", "grantType": "jwt_bearer"}"#
        );
        assert_eq!(b.expect, Expectation::Error("duplicate field".into()));

        for (case, rule) in [
            ("{ name: a, expect: {} }", "missing `request`"),
            (
                "{ name: a, request: 5, expect: {} }",
                "`request` is not a mapping",
            ),
            (
                "{ name: a, request: {}, requestJson: '{}', expect: {} }",
                "not both",
            ),
            ("{ name: a, request: {} }", "missing `expect`"),
            (
                "{ name: a, request: {}, expect: {}, expectError: x }",
                "not both",
            ),
            (
                "{ name: a, request: {}, expect: { permited: true } }",
                "not a decision key",
            ),
        ] {
            let error = parse(&format!("{DOCUMENT}cases: [ {case} ]")).expect_err(case);
            assert!(error.to_string().contains(rule), "{case}: {error}");
        }
        let twice = format!(
            "{DOCUMENT}cases: [ {{ name: a, request: {{}}, expect: {{}} }}, {{ name: a, request: {{}}, expect: {{}} }} ]"
        );
        assert!(parse(&twice).is_err());
        let both = format!(
            "{DOCUMENT}expectErrors: [ {{ path: version, message: x }} ]\ncases: [ {{ name: a, request: {{}}, expect: {{}} }} ]"
        );
        assert!(parse(&both).is_err());
        assert!(matches!(
            parse("document: {}\ncolour: 1"),
            Err(TestFileError::Syntax(_))
        ));
    }

    #[test]
    fn a_decision_key_is_checked_only_when_given_and_absent_is_not_null() {
        let expect: Map<String, Value> =
            serde_json::from_str(r#"{"permitted": true, "dryRun": null}"#).expect("JSON");
        let case = TestCase {
            name: "c".into(),
            request: CaseRequest::Json("{}".into()),
            expect: Expectation::Decision(expect),
        };
        let decision = serde_json::json!({ "permitted": true, "granted": [] });
        assert_eq!(
            case.check(Ok(&decision)),
            vec![Mismatch::Differs {
                key: "dryRun".into(),
                expected: Value::Null,
                actual: None
            }]
        );
        let with_null = serde_json::json!({ "permitted": true, "dryRun": null });
        assert!(case.check(Ok(&with_null)).is_empty());
        assert_eq!(case.check(Err("no")), vec![Mismatch::Refused("no".into())]);
    }

    #[test]
    fn messages_match_ignoring_ascii_case() {
        let case = TestCase {
            name: "c".into(),
            request: CaseRequest::Json("{}".into()),
            expect: Expectation::Error("Duplicate Key `a`".into()),
        };
        assert!(
            case.check(Err("invalid request: x: duplicate key `a` at line 1"))
                .is_empty()
        );
        assert!(matches!(
            case.check(Err("invalid request: duplicate key `b`"))
                .as_slice(),
            [Mismatch::OtherRefusal { .. }]
        ));
        assert_eq!(case.check(Ok(&Value::Null)), vec![Mismatch::Decided]);

        let expected = [ExpectedError {
            path: "policies[0].id".into(),
            message: "Duplicate".into(),
        }];
        assert!(errors_match(
            &expected,
            &[("policies[0].id", "duplicate id `p`")]
        ));
        assert!(!errors_match(
            &expected,
            &[("policies[1].id", "duplicate id `p`")]
        ));
        assert!(!errors_match(
            &expected,
            &[("policies[0].id", "unknown key")]
        ));
        let none: [(&str, &str); 0] = [];
        assert!(!errors_match(&expected, &none));
    }
}
