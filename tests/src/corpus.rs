//! The decision corpus: the YAML files under `tests/corpus/`, which every runtime (native Rust, the
//! wasm component, JS) runs through one [`Backend`].
//!
//! A corpus file is a policy test file: the engine's [`tollgate_engine::test_file`] reads it and
//! holds the comparison rules (the same reader and rules as `tollgate policy test`), so the corpus
//! and users' test files cannot drift apart. A file holds one policy document and either cases or
//! the validation errors loading the document must produce:
//!
//! ```yaml
//! description: what this file covers
//! document: { version: 1, resources: [...], policies: [...] }
//! cases:
//!   - name: unique within the file
//!     request: { grantType: client_credentials, target: { resource: api } }
//!     expect: { permitted: true, granted: [read], matched: [p1] }
//!   - name: a request as raw JSON text, refused
//!     requestJson: '{"grantType": "client_credentials", "grantType": "jwt_bearer"}'
//!     expectError: "duplicate field `grantType`"
//! ```
//!
//! or, for a document that must not load, `expectErrors: [ { path, message } ]` instead of
//! `cases`.
//!
//! The corpus adds rules of its own to the format's: every file has a non-empty `description` and
//! a mapping as `document`, cases or a non-empty `expectErrors`, and every case that expects a
//! decision gives [`REQUIRED_KEYS`] (the other runtimes and the differential rely on them).
//! Validation errors come in document order: errors outside `policies[i]` first (top-level keys,
//! `version`, `resources`, `connections`), then each policy's errors, its undefined targets and
//! scopes included. A missing key is reported at the mapping that lacks it
//! (`policies[2].targets[0]`, not `….scopes`).
//!
//! Every backend receives each request as JSON text ([`Backend::decide`]): a `requestJson` case's
//! text exactly as written (a key written twice stays twice), a `request` mapping written as JSON.
//! A backend that could not hand a case to its runtime would have to fail it: the format has no
//! way to mark a case as skipped, and no runner skips one.
//!
//! Runtimes outside Rust read the same corpus as one JSON value: [`corpus_json`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use tollgate_engine::test_file::{
    self, CaseRequest, Expectation, ExpectedError, Mismatch, TestFile, TestFileError, errors_match,
};

/// The decision keys every case that expects a decision must give (the other runtimes and the
/// differential rely on them).
pub const REQUIRED_KEYS: [&str; 3] = ["permitted", "granted", "matched"];

/// A runtime the corpus can run against.
pub trait Backend {
    /// Loads a document (given as a JSON value); Err carries every validation error as (path, message).
    fn load(&mut self, document: &Value) -> Result<(), Vec<(String, String)>>;
    /// Decides one request on the loaded document and returns the decision as JSON. The request is
    /// JSON text, handed to the runtime as it is: it may name a key twice, which the runtime must
    /// refuse ([`NoDecision::Refused`]).
    fn decide(&mut self, request: &str) -> Result<Value, NoDecision>;
}

/// Why a backend returned no decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoDecision {
    /// The runtime refused the request (it cannot read it): its message, which `expectError`
    /// cases compare.
    Refused(String),
    /// The backend failed (nothing loaded, a trap, a decision it cannot render): never an answer
    /// a case can expect.
    Failed(String),
}

/// Why the corpus itself could not be read.
#[derive(Debug)]
pub enum CorpusError {
    /// A directory or file could not be read.
    Io {
        /// The path.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A file is not valid YAML of the corpus shape.
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A file parses but breaks a corpus rule (duplicate case names, a missing required key...).
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorpusError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            CorpusError::Parse { path, message } | CorpusError::Malformed { path, message } => {
                write!(f, "{}: {message}", path.display())
            }
        }
    }
}

impl std::error::Error for CorpusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CorpusError::Io { source, .. } => Some(source),
            CorpusError::Parse { .. } | CorpusError::Malformed { .. } => None,
        }
    }
}

/// The corpus directory, `tests/corpus`.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// A corpus file's name relative to the corpus directory, with `/` separators
/// (e.g. `operators/string.yaml`).
pub fn relative_name(path: &Path) -> String {
    let relative = path.strip_prefix(corpus_dir()).unwrap_or(path);
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every corpus file, parsed and checked, sorted by path.
pub fn try_corpus_files() -> Result<Vec<(PathBuf, TestFile)>, CorpusError> {
    let mut paths = Vec::new();
    collect_yaml(&corpus_dir(), &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let file = read_file(&path)?;
            Ok((path, file))
        })
        .collect()
}

/// Every corpus file, parsed and checked, sorted by path.
///
/// # Panics
///
/// When a file cannot be read or breaks the corpus format: the fixtures are wrong and no runtime
/// can be tested against them.
#[expect(
    clippy::panic,
    reason = "a malformed corpus is a broken fixture; every runtime's test must stop on it"
)]
pub fn corpus_files() -> Vec<(PathBuf, TestFile)> {
    match try_corpus_files() {
        Ok(files) => files,
        Err(error) => panic!("the decision corpus is malformed: {error}"),
    }
}

/// The number of cases plus validation files (each validation file counts as one case).
pub fn case_count(files: &[(PathBuf, TestFile)]) -> usize {
    files
        .iter()
        .map(|(_, file)| {
            if file.expect_errors.is_some() {
                1
            } else {
                file.cases.len()
            }
        })
        .sum()
}

/// The whole corpus as one JSON value, for runtimes outside Rust: an array of
/// `{ file, description, document, cases: [{ name, request | requestJson, expect | expectError }],
/// expectErrors? }`, sorted by `file` (the path relative to `tests/corpus`, `/`-separated). Each
/// case keeps the keys its file gives: `requestJson` is the text as written.
pub fn corpus_json() -> Value {
    Value::Array(
        corpus_files()
            .iter()
            .map(|(path, file)| file_json(&relative_name(path), file))
            .collect(),
    )
}

/// Writes [`corpus_json`] to `path` (pretty-printed), for test runners outside Rust.
pub fn write_corpus_json(path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&corpus_json()).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

fn file_json(name: &str, file: &TestFile) -> Value {
    let mut object = Map::new();
    object.insert("file".into(), Value::String(name.into()));
    object.insert(
        "description".into(),
        file.description.clone().map_or(Value::Null, Value::String),
    );
    object.insert("document".into(), file.document.clone());
    object.insert(
        "cases".into(),
        Value::Array(
            file.cases
                .iter()
                .map(|case| {
                    let (request_key, request) = match &case.request {
                        CaseRequest::Value(request) => ("request", request.clone()),
                        CaseRequest::Json(text) => ("requestJson", Value::String(text.clone())),
                    };
                    let (expect_key, expect) = match &case.expect {
                        Expectation::Decision(keys) => ("expect", Value::Object(keys.clone())),
                        Expectation::Error(text) => ("expectError", Value::String(text.clone())),
                    };
                    let mut object = Map::new();
                    object.insert("name".into(), Value::String(case.name.clone()));
                    object.insert(request_key.into(), request);
                    object.insert(expect_key.into(), expect);
                    Value::Object(object)
                })
                .collect(),
        ),
    );
    if let Some(errors) = &file.expect_errors {
        object.insert(
            "expectErrors".into(),
            Value::Array(
                errors
                    .iter()
                    .map(|e| serde_json::json!({ "path": e.path, "message": e.message }))
                    .collect(),
            ),
        );
    }
    Value::Object(object)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), CorpusError> {
    let io = |source| CorpusError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            out.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<TestFile, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file = test_file::parse(&text).map_err(|error| match error {
        TestFileError::Syntax(message) => CorpusError::Parse {
            path: path.to_path_buf(),
            message,
        },
        TestFileError::Rule(message) => CorpusError::Malformed {
            path: path.to_path_buf(),
            message,
        },
    })?;
    check_file(&file).map_err(|message| CorpusError::Malformed {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(file)
}

/// The corpus's own rules, on top of the format's (which [`test_file::parse`] checks).
fn check_file(file: &TestFile) -> Result<(), String> {
    if file
        .description
        .as_deref()
        .is_none_or(|d| d.trim().is_empty())
    {
        return Err("empty `description`".into());
    }
    if !file.document.is_object() {
        return Err("`document` is not a mapping".into());
    }
    match (&file.expect_errors, file.cases.is_empty()) {
        (None, true) => return Err("has neither `cases` nor `expectErrors`".into()),
        (Some(errors), _) if errors.is_empty() => {
            return Err("`expectErrors` is empty (a valid document needs cases)".into());
        }
        _ => {}
    }
    for case in &file.cases {
        if let Expectation::Decision(expect) = &case.expect
            && let Some(key) = REQUIRED_KEYS.iter().find(|k| !expect.contains_key(**k))
        {
            return Err(format!("case `{}`: `expect` lacks `{key}`", case.name));
        }
    }
    Ok(())
}

/// What went wrong in one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// The runtime's answer is not what the case expects (a decision key differs, a refusal where a
    /// decision was expected, or the other way round).
    Mismatch(Mismatch),
    /// The backend failed to answer (not a refusal of the request).
    DecideFailed(String),
    /// The document of a decision file did not load.
    LoadFailed(Vec<(String, String)>),
    /// A document that must fail validation loaded.
    Loaded,
    /// The validation errors differ from the expected ones.
    ErrorsDiffer {
        /// The expected errors, in order.
        expected: Vec<ExpectedError>,
        /// The errors the backend reported, in order.
        actual: Vec<(String, String)>,
    },
}

/// One failing case (a case can fail on several keys: one failure each).
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The corpus file, relative to `tests/corpus`.
    pub file: String,
    /// The case name (`expectErrors` for a validation file).
    pub case: String,
    /// What went wrong.
    pub problem: Problem,
}

/// The result of running the corpus on one backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Cases that passed.
    pub passed: usize,
    /// Cases that failed.
    pub failed: usize,
    /// Every failure, in corpus order.
    pub failures: Vec<Failure>,
}

impl Report {
    /// Whether every case passed.
    pub fn is_success(&self) -> bool {
        self.failed == 0
    }

    /// The one-line summary, e.g. `corpus: 173 passed, 0 failed`.
    pub fn summary(&self) -> String {
        format!("corpus: {} passed, {} failed", self.passed, self.failed)
    }

    fn record(&mut self, file: &str, case: &str, problems: Vec<Problem>) {
        if problems.is_empty() {
            self.passed += 1;
        } else {
            self.failed += 1;
            self.failures
                .extend(problems.into_iter().map(|problem| Failure {
                    file: file.into(),
                    case: case.into(),
                    problem,
                }));
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for failure in &self.failures {
            writeln!(f, "{failure}")?;
        }
        f.write_str(&self.summary())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FAIL {} / {}: ", self.file, self.case)?;
        match &self.problem {
            Problem::Mismatch(mismatch) => write!(f, "{mismatch}"),
            Problem::DecideFailed(message) => write!(f, "decide failed: {message}"),
            Problem::LoadFailed(errors) => {
                write!(f, "the document did not load:")?;
                for (path, message) in errors {
                    write!(f, "\n    {path}: {message}")?;
                }
                Ok(())
            }
            Problem::Loaded => write!(f, "the document loaded but must fail validation"),
            Problem::ErrorsDiffer { expected, actual } => {
                write!(f, "validation errors differ\n  expected:")?;
                for e in expected {
                    write!(f, "\n    {}: …{}…", e.path, e.message)?;
                }
                write!(f, "\n  actual:")?;
                for (path, message) in actual {
                    write!(f, "\n    {path}: {message}")?;
                }
                Ok(())
            }
        }
    }
}

/// Runs every corpus file and case on `backend`.
pub fn run_corpus(backend: &mut dyn Backend) -> Report {
    let mut report = Report::default();
    for (path, file) in corpus_files() {
        run_file(backend, &relative_name(&path), &file, &mut report);
    }
    report
}

/// Runs one file on `backend`, adding its results to `report`. `name` labels the failures.
pub fn run_file(backend: &mut dyn Backend, name: &str, file: &TestFile, report: &mut Report) {
    let loaded = backend.load(&file.document);
    if let Some(expected) = &file.expect_errors {
        let problems = match loaded {
            Ok(()) => vec![Problem::Loaded],
            Err(actual) if errors_match(expected, &actual) => Vec::new(),
            Err(actual) => vec![Problem::ErrorsDiffer {
                expected: expected.clone(),
                actual,
            }],
        };
        report.record(name, "expectErrors", problems);
        return;
    }
    if let Err(errors) = loaded {
        for case in &file.cases {
            report.record(name, &case.name, vec![Problem::LoadFailed(errors.clone())]);
        }
        return;
    }
    for case in &file.cases {
        let problems = match backend.decide(&case.request.json()) {
            Ok(decision) => mismatches(case.check(Ok(&decision))),
            Err(NoDecision::Refused(message)) => mismatches(case.check(Err(&message))),
            Err(NoDecision::Failed(message)) => vec![Problem::DecideFailed(message)],
        };
        report.record(name, &case.name, problems);
    }
}

fn mismatches(found: Vec<Mismatch>) -> Vec<Problem> {
    found.into_iter().map(Problem::Mismatch).collect()
}

#[cfg(test)]
mod tests {
    use tollgate_engine::test_file::compare_decision;

    use super::*;

    #[test]
    fn corpus_is_well_formed_and_large_enough() {
        let files = corpus_files();
        assert!(case_count(&files) >= 150, "{}", case_count(&files));
        assert!(files.iter().any(|(_, f)| f.expect_errors.is_some()));
    }

    #[test]
    fn json_form_keeps_every_case() {
        let files = corpus_files();
        let json = corpus_json();
        let array = json.as_array().expect("an array");
        assert_eq!(array.len(), files.len());
        let cases: usize = array
            .iter()
            .map(|f| f["cases"].as_array().expect("cases").len())
            .sum();
        assert_eq!(
            cases,
            files.iter().map(|(_, f)| f.cases.len()).sum::<usize>()
        );
        assert!(
            array
                .iter()
                .all(|f| f["file"].as_str().is_some_and(|n| n.ends_with(".yaml")))
        );
    }

    #[test]
    fn json_form_keeps_raw_requests_and_refusals_as_written() {
        let files = corpus_files();
        let json = corpus_json();
        let mut raw = 0;
        for ((_, file), object) in files.iter().zip(json.as_array().expect("an array")) {
            for (case, value) in file
                .cases
                .iter()
                .zip(object["cases"].as_array().expect("cases"))
            {
                assert_eq!(value["name"], case.name.as_str());
                match (&case.request, &case.expect) {
                    (CaseRequest::Json(text), Expectation::Error(message)) => {
                        raw += 1;
                        assert_eq!(value["requestJson"], text.as_str());
                        assert_eq!(value["expectError"], message.as_str());
                        assert!(value.get("request").is_none() && value.get("expect").is_none());
                    }
                    (CaseRequest::Value(request), Expectation::Decision(expect)) => {
                        assert_eq!(&value["request"], request);
                        assert_eq!(value["expect"].as_object(), Some(expect));
                    }
                    (CaseRequest::Json(text), Expectation::Decision(_)) => {
                        assert_eq!(value["requestJson"], text.as_str());
                    }
                    (CaseRequest::Value(_), Expectation::Error(message)) => {
                        assert_eq!(value["expectError"], message.as_str());
                    }
                }
            }
        }
        assert!(raw > 0, "the corpus has no raw-text refusal case");
    }

    #[test]
    fn corpus_rules_come_on_top_of_the_formats() {
        let file = |text: &str| {
            let file = test_file::parse(text).expect("a policy test file");
            check_file(&file)
        };
        let case = "{ name: a, request: { grantType: client_credentials }, expect: { permitted: true, granted: [], matched: [] } }";
        assert_eq!(
            file(&format!(
                "description: d\ndocument: {{}}\ncases: [ {case} ]"
            )),
            Ok(())
        );
        for (text, rule) in [
            (format!("document: {{}}\ncases: [ {case} ]"), "empty `description`"),
            (
                format!("description: ' '\ndocument: {{}}\ncases: [ {case} ]"),
                "empty `description`",
            ),
            (format!("description: d\ndocument: 1\ncases: [ {case} ]"), "not a mapping"),
            ("description: d\ndocument: {}".to_owned(), "neither"),
            ("description: d\ndocument: {}\nexpectErrors: []".to_owned(), "is empty"),
            (
                "description: d\ndocument: {}\ncases: [ { name: a, request: {}, expect: { permitted: true } } ]"
                    .to_owned(),
                "lacks `granted`",
            ),
        ] {
            let error = file(&text).expect_err(&text);
            assert!(error.contains(rule), "{text}: {error}");
        }
        // A refusal expects no decision keys.
        let refused = "description: d\ndocument: {}\ncases: [ { name: a, requestJson: '{}', expectError: x } ]";
        assert_eq!(file(refused), Ok(()));
    }

    #[test]
    fn comparison_checks_only_given_keys() {
        let expect: Map<String, Value> =
            serde_json::from_str(r#"{"permitted": true, "granted": ["a"]}"#).expect("json");
        let same = serde_json::json!({"permitted": true, "granted": ["a"], "matched": ["p"]});
        assert!(compare_decision(&expect, &same).is_empty());
        let other = serde_json::json!({"permitted": false, "granted": ["a"]});
        assert_eq!(compare_decision(&expect, &other).len(), 1);
    }

    #[test]
    fn error_matching_is_ordered_and_exact_on_paths() {
        let expected = vec![ExpectedError {
            path: "policies[0].id".into(),
            message: "Duplicate".into(),
        }];
        let ok = vec![("policies[0].id".to_owned(), "duplicate id `p`".to_owned())];
        assert!(errors_match(&expected, &ok));
        let wrong_path = vec![("policies[1].id".to_owned(), "duplicate id `p`".to_owned())];
        assert!(!errors_match(&expected, &wrong_path));
        let extra = vec![ok[0].clone(), ok[0].clone()];
        assert!(!errors_match(&expected, &extra));
    }

    /// A backend that answers from a script, to check how answers are judged.
    struct Scripted(Result<Value, NoDecision>);

    impl Backend for Scripted {
        fn load(&mut self, _: &Value) -> Result<(), Vec<(String, String)>> {
            Ok(())
        }
        fn decide(&mut self, _: &str) -> Result<Value, NoDecision> {
            self.0.clone()
        }
    }

    #[test]
    fn a_refusal_is_an_answer_and_a_backend_failure_never_is() {
        let file = test_file::parse(
            "description: d\ndocument: {}\ncases: [ { name: twice, requestJson: '{}', expectError: duplicate key `api` } ]",
        )
        .expect("a file");
        let run = |answer| {
            let mut report = Report::default();
            run_file(&mut Scripted(answer), "f.yaml", &file, &mut report);
            report
        };
        let refused = run(Err(NoDecision::Refused(
            "invalid request: client.allowedScopes: Duplicate key `api` at line 1".into(),
        )));
        assert!(refused.is_success(), "{refused}");
        // The same words from a failing backend (a trap, say) do not pass the case.
        let failed = run(Err(NoDecision::Failed("trap: duplicate key `api`".into())));
        assert_eq!(failed.failed, 1);
        assert!(matches!(
            failed.failures.as_slice(),
            [Failure {
                problem: Problem::DecideFailed(_),
                ..
            }]
        ));
        let decided = run(Ok(serde_json::json!({ "permitted": true })));
        assert_eq!(
            decided.failures.first().map(|f| &f.problem),
            Some(&Problem::Mismatch(Mismatch::Decided))
        );
    }
}
