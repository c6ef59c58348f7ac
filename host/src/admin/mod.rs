//! The admin domain: entity changes (clients, users, resources, connections, policies),
//! connection credentials and signing key rotation, as plain functions over the [`Core`], the
//! parsed input and the request's `now`, returning an [`error::AdminError`]. The admin API's
//! handlers (`server/admin/`) only parse the request and render what these return.
//!
//! Changes are serialized by [`Core::admin_lock`], which client registration takes too.
//!
//! [`Core`]: crate::oauth::state::Core
//! [`Core::admin_lock`]: crate::oauth::state::Core::admin_lock

pub mod clients;
pub mod connections;
pub mod credentials;
pub mod entities;
pub mod error;
pub mod keys;
pub mod policies;
pub mod preview;
pub mod reach;
pub mod resources;
pub mod simulate;
pub mod users;
