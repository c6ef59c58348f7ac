//! The decision corpus: the YAML files under `tests/corpus/`, which every runtime (native Rust, the
//! wasm component, JS, Envoy) runs through one [`Backend`].
//!
//! A file holds one policy document and either decision cases or the validation errors loading
//! the document must produce:
//!
//! ```yaml
//! description: what this file covers
//! document: { version: 1, resources: [...], policies: [...] }
//! cases:
//!   - name: unique within the file
//!     request: { grantType: client_credentials, target: { resource: api } }
//!     expect: { permitted: true, granted: [read], matched: [p1] }
//! ```
//!
//! or, for a document that must not load, `expectErrors: [ { path, message } ]` instead of
//! `cases`.
//!
//! Comparison rules. A decision case passes when, for every key under `expect`, the decision's
//! key is equal as JSON; keys left out are not checked. Every case gives `permitted`, `granted` and
//! `matched`. A validation file passes when loading fails with exactly the expected errors, in
//! order: each path equal, each message containing the expected text (ignoring ASCII case), since
//! runtimes may word messages differently but must agree on where the problems are. The order is
//! document order: errors outside `policies[i]` first (top-level keys, `version`, `resources`,
//! `connections`), then each policy's errors, its undefined targets and scopes included. A missing
//! key is reported at the mapping that lacks it (`policies[2].targets[0]`, not `….scopes`).
//!
//! Runtimes outside Rust read the same corpus as one JSON value: [`corpus_json`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The keys of a decision, as the request/decision JSON spells them.
pub const DECISION_KEYS: [&str; 6] = [
    "permitted",
    "granted",
    "scopes",
    "matched",
    "dryRun",
    "notMatched",
];

/// The decision keys every case must give (the other runtimes and the differential rely on them).
pub const REQUIRED_KEYS: [&str; 3] = ["permitted", "granted", "matched"];

/// One corpus file: a policy document and what it must do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct File {
    /// What the file covers.
    pub description: String,
    /// The policy document, as written (YAML read into JSON).
    pub document: Value,
    /// Decision cases on the document (empty for a validation file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<Case>,
    /// For a document that must fail to load: every error, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_errors: Option<Vec<ExpectedError>>,
}

/// One decision case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// A short name, unique within its file.
    pub name: String,
    /// The request, as the JSON every runtime accepts.
    pub request: Value,
    /// Decision keys and the values they must have.
    pub expect: Map<String, Value>,
}

/// One validation error a document must produce.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedError {
    /// The exact path, e.g. `policies[0].subject.conditions[1].op`.
    pub path: String,
    /// Text the message must contain (ASCII case ignored).
    pub message: String,
}

/// A runtime the corpus can run against.
pub trait Backend {
    /// Loads a document (given as a JSON value); Err carries every validation error as (path, message).
    fn load(&mut self, document: &Value) -> Result<(), Vec<(String, String)>>;
    /// Decides one request (JSON) on the loaded document; returns the decision as JSON.
    fn decide(&mut self, request: &Value) -> Result<Value, String>;
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
pub fn try_corpus_files() -> Result<Vec<(PathBuf, File)>, CorpusError> {
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
pub fn corpus_files() -> Vec<(PathBuf, File)> {
    match try_corpus_files() {
        Ok(files) => files,
        Err(error) => panic!("the decision corpus is malformed: {error}"),
    }
}

/// The number of decision cases plus validation files (each validation file counts as one case).
pub fn case_count(files: &[(PathBuf, File)]) -> usize {
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
/// `{ file, description, document, cases: [{ name, request, expect }], expectErrors? }`, sorted by
/// `file` (the path relative to `tests/corpus`, `/`-separated).
pub fn corpus_json() -> Value {
    Value::Array(
        corpus_files()
            .iter()
            .map(|(path, file)| file_json(&relative_name(path), file))
            .collect(),
    )
}

/// Writes [`corpus_json`] to `path` (pretty-printed), for JS and Envoy test runners.
pub fn write_corpus_json(path: &Path) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(&corpus_json()).map_err(std::io::Error::other)?;
    std::fs::write(path, text + "\n")
}

fn file_json(name: &str, file: &File) -> Value {
    let mut object = Map::new();
    object.insert("file".into(), Value::String(name.into()));
    object.insert(
        "description".into(),
        Value::String(file.description.clone()),
    );
    object.insert("document".into(), file.document.clone());
    object.insert(
        "cases".into(),
        Value::Array(
            file.cases
                .iter()
                .map(|case| {
                    serde_json::json!({
                        "name": case.name,
                        "request": case.request,
                        "expect": case.expect,
                    })
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

fn read_file(path: &Path) -> Result<File, CorpusError> {
    let text = std::fs::read_to_string(path).map_err(|source| CorpusError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let file: File = serde_norway::from_str(&text).map_err(|e| CorpusError::Parse {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    check_file(&file).map_err(|message| CorpusError::Malformed {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(file)
}

/// The corpus rules a parsed file must follow.
fn check_file(file: &File) -> Result<(), String> {
    if file.description.trim().is_empty() {
        return Err("empty `description`".into());
    }
    if !file.document.is_object() {
        return Err("`document` is not a mapping".into());
    }
    match (&file.expect_errors, file.cases.is_empty()) {
        (Some(_), false) => return Err("has both `cases` and `expectErrors`".into()),
        (None, true) => return Err("has neither `cases` nor `expectErrors`".into()),
        (Some(errors), true) if errors.is_empty() => {
            return Err("`expectErrors` is empty (a valid document needs cases)".into());
        }
        _ => {}
    }
    let mut names = std::collections::BTreeSet::new();
    for case in &file.cases {
        if !names.insert(case.name.as_str()) {
            return Err(format!("duplicate case name `{}`", case.name));
        }
        if !case.request.is_object() {
            return Err(format!("case `{}`: `request` is not a mapping", case.name));
        }
        if let Some(key) = case
            .expect
            .keys()
            .find(|k| !DECISION_KEYS.contains(&k.as_str()))
        {
            return Err(format!(
                "case `{}`: `expect` has `{key}`, not a decision key",
                case.name
            ));
        }
        if let Some(key) = REQUIRED_KEYS
            .iter()
            .find(|k| !case.expect.contains_key(**k))
        {
            return Err(format!("case `{}`: `expect` lacks `{key}`", case.name));
        }
    }
    Ok(())
}

/// What went wrong in one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Problem {
    /// A decision key differs (`actual` is `None` when the decision lacks the key).
    Differs {
        /// The decision key.
        key: String,
        /// What the corpus expects.
        expected: Value,
        /// What the backend returned.
        actual: Option<Value>,
    },
    /// The backend could not decide the request.
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
            Problem::Differs {
                key,
                expected,
                actual,
            } => {
                let actual = actual
                    .as_ref()
                    .map_or_else(|| "(missing)".to_owned(), Value::to_string);
                write!(
                    f,
                    "`{key}` differs\n    expected: {expected}\n    actual:   {actual}"
                )
            }
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
pub fn run_file(backend: &mut dyn Backend, name: &str, file: &File, report: &mut Report) {
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
        let problems = match backend.decide(&case.request) {
            Ok(decision) => compare_decision(&case.expect, &decision),
            Err(message) => vec![Problem::DecideFailed(message)],
        };
        report.record(name, &case.name, problems);
    }
}

/// Every expected key whose value differs from the decision's, in `expect` order.
pub fn compare_decision(expect: &Map<String, Value>, decision: &Value) -> Vec<Problem> {
    expect
        .iter()
        .filter_map(|(key, expected)| {
            let actual = decision.get(key);
            (actual != Some(expected)).then(|| Problem::Differs {
                key: key.clone(),
                expected: expected.clone(),
                actual: actual.cloned(),
            })
        })
        .collect()
}

/// Whether reported validation errors match the expected ones: same number, same order, each path
/// equal and each message containing the expected text (ASCII case ignored).
pub fn errors_match(expected: &[ExpectedError], actual: &[(String, String)]) -> bool {
    expected.len() == actual.len()
        && expected.iter().zip(actual).all(|(e, (path, message))| {
            *path == e.path
                && message
                    .to_ascii_lowercase()
                    .contains(&e.message.to_ascii_lowercase())
        })
}

#[cfg(test)]
mod tests {
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
}
