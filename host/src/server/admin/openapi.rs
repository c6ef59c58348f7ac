//! The admin API's OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! attributes and the request and response types. Served at `GET /admin/openapi.json` without the
//! admin token: it describes the API's shape only (no entity, id or setting of this server), and
//! it is not served while the admin API is off.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::{ErrorBody, FieldError};
use super::{credentials, entities, operations};
use crate::admin::error::AdminError;
use crate::server::state::AppState;

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tollgate admin API",
        description = "Clients, users, resources, connections and policies; connection \
            credentials; decisions simulated on the current policy set; reach (what a client can obtain, who can obtain a scope); policy changes previewed before they are saved; the audit trail; signing \
            key rotation. Every operation needs the admin bearer token (`TOLLGATE_ADMIN_TOKEN`). \
            Entities the configuration file declares are read-only here (409).",
    ),
    paths(
        entities::list_clients, entities::create_client, entities::read_client,
        entities::replace_client, entities::delete_client,
        entities::list_users, entities::create_user, entities::read_user,
        entities::replace_user, entities::delete_user,
        entities::list_resources, entities::create_resource, entities::read_resource,
        entities::replace_resource, entities::delete_resource,
        entities::list_connections, entities::create_connection, entities::read_connection,
        entities::replace_connection, entities::delete_connection,
        entities::list_policies, entities::create_policy, entities::read_policy,
        entities::replace_policy, entities::delete_policy,
        credentials::list, credentials::put, credentials::delete,
        operations::decide, operations::reach, operations::preview, operations::audit,
        operations::disable_client, operations::enable_client, operations::sign_out_user, operations::reset_second_factor,
        operations::rotate_keys,
    ),
    components(schemas(ErrorBody, FieldError)),
    modifiers(&AdminBearer),
    security(("admin" = [])),
)]
pub struct AdminApi;

/// The bearer scheme every operation requires.
struct AdminBearer;

impl Modify for AdminBearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("the admin token, `TOLLGATE_ADMIN_TOKEN`"))
                    .build(),
            ),
        );
    }
}

/// `GET /admin/openapi.json`.
pub async fn document(State(state): State<AppState>) -> Response {
    if state.admin_token.is_none() {
        return AdminError::Off.into_response();
    }
    Json(AdminApi::openapi()).into_response()
}
