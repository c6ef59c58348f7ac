//! Every route of the server, in one router.

use axum::Router;

use super::state::AppState;
use super::{admin, connect, endpoints, pages};

/// Builds the router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::router())
        .merge(admin::router(&state))
        .merge(pages::router())
        .merge(connect::router())
        .with_state(state)
}
