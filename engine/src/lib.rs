#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod call;
pub mod compact;
mod compile;
mod condition;
mod decision;
mod document;
mod error;
mod node;
mod path;
mod request;
#[cfg(feature = "yaml")]
pub mod test_file;
mod token;

pub use call::{decide_json, decide_many_json, parse_claims, parse_request};
pub use compile::PolicySet;
pub use compile::reach::{
    Conditional, ConditionalGrant, GrantReach, Grantors, Holder, Holders, PolicyGrant,
    PolicyHolders, Reach, ReachChange, ReachDiff, ReachError, ScopeReach, Standing, TargetName,
    TargetReach,
};
pub use compile::summary::{ReachSummary, SummaryRow, UsersCount};
pub use condition::{key_names, operator_names};
pub use decision::{
    Decision, DryRun, Name, NotMatched, Reason, ScopeDecision, StepUp, StepUpNeeds,
};
pub use error::{LoadError, RequestError, ValidationError};
pub use request::{Actor, Auth, Client, Context, GrantType, Request, Subject, Target, User};
