//! What every handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;

use crate::oauth::state::Core;

/// Shared state of every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The OAuth core.
    pub core: Arc<Core>,
    /// The admin bearer token; `None` turns the admin API off.
    pub admin_token: Option<Arc<str>>,
    /// Prometheus rendering.
    pub metrics: Option<PrometheusHandle>,
    /// Whether `GET /policies/bundle` serves the policy document.
    pub publish_bundle: bool,
    /// Who may use the console, and its sessions.
    pub console: Arc<crate::config::ConsoleSettings>,
}
