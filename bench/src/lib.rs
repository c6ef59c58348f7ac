//! Workload generation and peer translations for the Tollgate decision benchmark.
//!
//! [`workload::Workload::generate`] makes a deterministic, realistic policy set of N policies and
//! [`workload::Workload::requests`] a request stream of which about a quarter is permitted. The
//! same workload is then expressed as a Tollgate policy document ([`tollgate`]), as Cedar policies
//! ([`cedar`], with and without a per-target index) and as Rego modules for regorus ([`rego`]).
//! The benchmark itself is `benches/decide.rs`; see the README for what it measures.
//!
//! This library does not depend on the engine: the benchmark links both, and the translations can
//! be tested against [`workload::Workload::granted`], a naive evaluator of the generated model.

pub mod cedar;
pub mod rego;
pub mod rng;
pub mod tollgate;
pub mod workload;

pub use workload::{Req, Workload};

#[cfg(test)]
mod tests;
