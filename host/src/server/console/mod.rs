//! The console (`/console`): policies with a preview before saving, reach ("who can get what"),
//! the agents directory, connections and the audit log, in the browser. Server-rendered askama
//! templates (`host/templates/console/`); one small script (`host/static/console.js`) adds the
//! audit log's live tail and nothing a page needs to work.
//!
//! Only users the configuration names under `console:` sign in ([`crate::config::ConsoleSettings`]):
//! an administrator changes things, an auditor reads everything and changes nothing. The pages
//! call the admin domain functions ([`crate::admin`]) as the admin API does, and name the user in
//! the audit log (`console:<sub>`). See [`session`] for the cookie, CSRF and `Origin` checks.

mod agents;
mod audit;
mod chrome;
mod connections;
mod home;
mod message;
mod policies;
mod session;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use super::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(home::home))
        .route("/console/", get(home::home))
        .route(
            "/console/login",
            get(session::login_page).post(session::login),
        )
        .route("/console/logout", post(session::logout))
        .route("/console/reach", get(home::reach))
        .route("/console/simulate", get(home::simulate))
        .route("/console/policies", get(policies::list))
        .route("/console/policies/new", get(policies::new))
        .route("/console/policies/save", post(policies::save))
        .route("/console/policies/{id}", get(policies::edit))
        .route("/console/policies/{id}/history", get(policies::history))
        .route(
            "/console/policies/{id}/delete",
            get(policies::confirm_delete).post(policies::delete),
        )
        .route("/console/agents", get(agents::list))
        .route("/console/agents/{id}", get(agents::show))
        .route("/console/agents/{id}/{action}", post(agents::act))
        .route("/console/connections", get(connections::list))
        .route("/console/audit", get(audit::page))
        .route("/console/audit/events", get(audit::events))
        .layer(DefaultBodyLimit::max(MAX_FORM))
}

/// The largest form the console reads: a policy with every row filled is a few kilobytes.
const MAX_FORM: usize = 64 * 1024;
