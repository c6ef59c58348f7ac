//! Every route of the server, in one router.

use axum::Router;

use super::state::AppState;
use super::{account, admin, assets, connect, console, endpoints, pages, registration};

/// Builds the router.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(endpoints::router())
        .merge(admin::router(&state))
        .merge(pages::router())
        .merge(account::router())
        .merge(registration::router())
        .merge(connect::router())
        .merge(console::router())
        .merge(assets::router())
        .with_state(state)
}
