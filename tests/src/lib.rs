//! Test support shared by every runtime's test suite: the YAML decision corpus and its loader, the
//! naive reference evaluator written straight from DESIGN.md, and the random policy/request
//! generators used by the property tests. Test code: it may panic on malformed fixtures.

pub mod corpus;
pub mod generate;
pub mod reference;
