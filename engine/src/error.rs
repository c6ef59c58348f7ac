//! Errors: one enum per operation, messages lowercase, user input in backticks.

use thiserror::Error;

/// One problem found in a policy document, with where it is.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("{path}: {message}")]
pub struct ValidationError {
    /// Where the problem is, e.g. `policies[3].subject.conditions[1].op` (empty for the document).
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Why a policy document could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LoadError {
    /// The text is not well-formed JSON or YAML.
    #[error("the document is not valid {format}: {message}")]
    Syntax {
        /// `JSON` or `YAML`.
        format: &'static str,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The document is well-formed but invalid; every problem is listed.
    #[error("the document has {} error{}:\n{}", .0.len(), if .0.len() == 1 { "" } else { "s" }, display_all(.0))]
    Invalid(Vec<ValidationError>),
}

impl LoadError {
    /// Every problem as a list of path + message (a syntax error is one entry with an empty path).
    pub fn errors(&self) -> Vec<ValidationError> {
        match self {
            LoadError::Syntax { .. } => vec![ValidationError {
                path: String::new(),
                message: self.to_string(),
            }],
            LoadError::Invalid(errors) => errors.clone(),
        }
    }
}

fn display_all(errors: &[ValidationError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Why a request could not be decided.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RequestError {
    /// The request JSON is malformed or has the wrong shape.
    #[error("invalid request: {0}")]
    Invalid(String),
}
