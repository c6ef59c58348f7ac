//! The policy engine as the server uses it: the engine component by default (wasmtime), or the
//! native engine for comparison (`--engine native`).

use std::sync::{Arc, PoisonError, RwLock};

use tollgate_engine::{Decision, PolicySet, Request, ValidationError};

use crate::runtime::{ComponentEngine, PolicyRuntime, RuntimeError};

/// The engine deciding for the server.
#[derive(Debug)]
pub enum PolicyEngine {
    /// The engine component in wasmtime.
    Component(PolicyRuntime),
    /// The engine compiled into the server.
    Native(RwLock<(u64, Arc<PolicySet>)>),
}

impl PolicyEngine {
    /// The component engine with a first document.
    pub fn component(
        engine: Arc<ComponentEngine>,
        document: &str,
    ) -> Result<PolicyEngine, RuntimeError> {
        PolicyRuntime::new(engine, document).map(PolicyEngine::Component)
    }

    /// The native engine with a first document.
    pub fn native(document: &str) -> Result<PolicyEngine, RuntimeError> {
        let set = PolicySet::load(document).map_err(|e| RuntimeError::Invalid(e.errors()))?;
        Ok(PolicyEngine::Native(RwLock::new((1, Arc::new(set)))))
    }

    /// Decides; returns the decision and the policy-set version that made it.
    pub fn decide(&self, request: &Request) -> Result<(Decision<'static>, u64), RuntimeError> {
        let started = std::time::Instant::now();
        let result = match self {
            PolicyEngine::Component(runtime) => runtime.decide(request),
            PolicyEngine::Native(current) => {
                let (version, set) = {
                    let guard = current.read().unwrap_or_else(PoisonError::into_inner);
                    (guard.0, Arc::clone(&guard.1))
                };
                Ok((set.decide(request).into_owned(), version))
            }
        };
        metrics::histogram!("tollgate_decision_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        if let Ok((decision, _)) = &result {
            let outcome = if decision.permitted {
                "permitted"
            } else {
                "refused"
            };
            metrics::counter!("tollgate_decisions_total", "outcome" => outcome).increment(1);
        }
        result
    }

    /// Replaces the policy document, reporting `label` (the store-wide version) as its version;
    /// an invalid one changes nothing and returns every error.
    pub fn replace(&self, document: &str, label: u64) -> Result<u64, Vec<ValidationError>> {
        match self {
            PolicyEngine::Component(runtime) => {
                runtime.replace_as(document, label).map_err(|e| match e {
                    RuntimeError::Invalid(errors) => errors,
                    other => vec![ValidationError {
                        path: String::new(),
                        message: other.to_string(),
                    }],
                })
            }
            PolicyEngine::Native(current) => {
                let set = PolicySet::load(document).map_err(|e| e.errors())?;
                *current.write().unwrap_or_else(PoisonError::into_inner) = (label, Arc::new(set));
                Ok(label)
            }
        }
    }

    /// Reports `label` as the current policy set's version from now on (the store-wide version
    /// moved on, the policies did not change).
    pub fn relabel(&self, label: u64) {
        match self {
            PolicyEngine::Component(runtime) => runtime.relabel(label),
            PolicyEngine::Native(current) => {
                current.write().unwrap_or_else(PoisonError::into_inner).0 = label;
            }
        }
    }

    /// The current policy-set version.
    pub fn version(&self) -> u64 {
        match self {
            PolicyEngine::Component(runtime) => runtime.version(),
            PolicyEngine::Native(current) => {
                current.read().unwrap_or_else(PoisonError::into_inner).0
            }
        }
    }
}
