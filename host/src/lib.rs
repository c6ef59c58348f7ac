//! Tollgate: the OAuth authorization server and command-line tool around the policy engine.
#![deny(missing_docs)]

pub mod admin;
pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod directory;
pub mod files;
pub mod jwt;
pub mod keys;
pub mod oauth;
pub mod policy;
pub mod policy_test;
pub mod runtime;
pub mod server;
pub mod store;
pub mod throttle;
pub mod vault;
