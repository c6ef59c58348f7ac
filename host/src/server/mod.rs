//! The HTTP server: axum routes over the OAuth core. [`app`] is testable without a socket;
//! [`serve`] binds and runs it.
//!
//! Each route module exposes a `router()`; handlers parse HTTP and render what the OAuth and
//! admin functions return. [`state`], [`http`], [`html`] and [`session`] are what they share.

mod account;
mod admin;
mod assets;
mod connect;
mod console;
mod endpoints;
mod html;
pub mod http;
pub mod listen;
mod oauth_error;
mod pages;
mod registration;
mod routes;
mod session;
pub mod startup;
pub mod state;
pub mod sync;

pub use routes::app;
pub use startup::{EngineChoice, StartError, prepare, serve};
pub use state::AppState;
