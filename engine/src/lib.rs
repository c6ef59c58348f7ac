#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod call;
mod compile;
mod decision;
mod document;
mod error;
mod eval;
mod node;
mod request;

pub use call::{decide_json, decide_many_json, parse_request};
pub use compile::PolicySet;
pub use decision::{Decision, DryRun, NotMatched, Reason, ScopeDecision};
pub use error::{LoadError, RequestError, ValidationError};
pub use request::{Actor, Client, Context, GrantType, Name, Request, Subject, Target, User};
