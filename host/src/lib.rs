//! Tollgate: the OAuth authorization server and command-line tool around the policy engine.
#![deny(missing_docs)]

pub mod cli;
pub mod policy_test;
pub mod runtime;
