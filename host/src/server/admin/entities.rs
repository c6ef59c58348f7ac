//! The entity collections: `/admin/clients`, `/admin/users`, `/admin/resources`,
//! `/admin/connections` and `/admin/policies`, each with list, create, read, replace and delete.
//! The handlers parse the typed body and render what [`crate::admin::entities`] returns.

use crate::admin::entities::ADMIN_API;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::extract::{AdminJson, AdminPath};
use super::responses::{BadRequest, BodyRefused, Conflict, NotFound, Unauthorized, Unavailable};
use crate::admin::entities::{self, Entity};
use crate::admin::error::AdminError;
use crate::clock::now;
use crate::server::state::AppState;
use crate::store::Kind;

/// The answer to a list, a read, a creation or a replacement.
fn answer(status: StatusCode, result: Result<impl serde::Serialize, AdminError>) -> Response {
    match result {
        Ok(body) => (status, Json(body)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn list(state: &AppState, kind: Kind) -> Response {
    answer(StatusCode::OK, entities::list(&state.core, kind).await)
}

async fn read(state: &AppState, kind: Kind, id: &str) -> Response {
    answer(StatusCode::OK, entities::read(&state.core, kind, id).await)
}

async fn create(state: &AppState, entity: Result<Entity, AdminError>) -> Response {
    let result = match entity {
        Ok(entity) => entities::create(&state.core, entity, ADMIN_API, now()).await,
        Err(e) => Err(e),
    };
    answer(StatusCode::CREATED, result)
}

async fn replace(state: &AppState, id: &str, entity: Result<Entity, AdminError>) -> Response {
    let result = match entity {
        Ok(entity) => entities::replace(&state.core, id, entity, ADMIN_API, now()).await,
        Err(e) => Err(e),
    };
    answer(StatusCode::OK, result)
}

async fn delete(state: &AppState, kind: Kind, id: &str) -> Response {
    match entities::delete(&state.core, kind, id, ADMIN_API, now()).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => e.into_response(),
    }
}

/// One collection's five handlers and its router, documented for the OpenAPI document: `$body` is
/// the request and response schema, `$entity` the function that checks a body into an [`Entity`].
macro_rules! collection {
    ($router:ident, $list:ident, $create:ident, $read:ident, $replace:ident, $delete:ident,
     $kind:expr, $noun:literal, $tag:literal, $body:ty, $entity:path,
     $collection:literal, $item:literal) => {
        #[doc = concat!("The `", $collection, "` routes.")]
        fn $router() -> Router<AppState> {
            Router::new()
                .route($collection, get($list).post($create))
                .route($item, get($read).put($replace).delete($delete))
        }

        #[utoipa::path(
            get, path = $collection, tag = $tag,
            summary = concat!("List every ", $noun),
            responses(
                (status = 200, description = "every one, as stored", body = Vec<$body>),
                Unauthorized, Unavailable,
            ),
        )]
        pub async fn $list(State(state): State<AppState>) -> Response {
            list(&state, $kind).await
        }

        #[utoipa::path(
            post, path = $collection, tag = $tag,
            summary = concat!("Create a ", $noun),
            request_body = $body,
            responses(
                (status = 201, description = "created; secrets are never returned", body = $body),
                BadRequest, Unauthorized, Conflict, BodyRefused, Unavailable,
            ),
        )]
        pub async fn $create(
            State(state): State<AppState>,
            AdminJson(body): AdminJson<$body>,
        ) -> Response {
            create(&state, $entity(body)).await
        }

        #[utoipa::path(
            get, path = $item, tag = $tag,
            summary = concat!("Read a ", $noun),
            params(("id" = String, Path, description = "the id")),
            responses(
                (status = 200, description = "the entity, as stored", body = $body),
                Unauthorized, NotFound, Unavailable,
            ),
        )]
        pub async fn $read(
            State(state): State<AppState>,
            AdminPath(id): AdminPath<String>,
        ) -> Response {
            read(&state, $kind, &id).await
        }

        #[utoipa::path(
            put, path = $item, tag = $tag,
            summary = concat!("Replace a ", $noun, " the admin API created"),
            params(("id" = String, Path, description = "the id, also in the body")),
            request_body = $body,
            responses(
                (status = 200, description = "replaced", body = $body),
                BadRequest, Unauthorized, NotFound, Conflict, BodyRefused, Unavailable,
            ),
        )]
        pub async fn $replace(
            State(state): State<AppState>,
            AdminPath(id): AdminPath<String>,
            AdminJson(body): AdminJson<$body>,
        ) -> Response {
            replace(&state, &id, $entity(body)).await
        }

        #[utoipa::path(
            delete, path = $item, tag = $tag,
            summary = concat!("Delete a ", $noun, " the admin API created"),
            params(("id" = String, Path, description = "the id")),
            responses(
                (status = 204, description = "deleted"),
                Unauthorized, NotFound, Conflict, Unavailable,
            ),
        )]
        pub async fn $delete(
            State(state): State<AppState>,
            AdminPath(id): AdminPath<String>,
        ) -> Response {
            delete(&state, $kind, &id).await
        }
    };
}

collection!(
    clients_router,
    list_clients,
    create_client,
    read_client,
    replace_client,
    delete_client,
    Kind::Client,
    "client",
    "clients",
    crate::config::ClientConfig,
    crate::admin::clients::entity,
    "/admin/clients",
    "/admin/clients/{id}"
);
collection!(
    users_router,
    list_users,
    create_user,
    read_user,
    replace_user,
    delete_user,
    Kind::User,
    "user",
    "users",
    crate::config::UserConfig,
    crate::admin::users::entity,
    "/admin/users",
    "/admin/users/{id}"
);
collection!(
    resources_router,
    list_resources,
    create_resource,
    read_resource,
    replace_resource,
    delete_resource,
    Kind::Resource,
    "resource",
    "resources",
    crate::admin::resources::ResourceBody,
    crate::admin::resources::entity,
    "/admin/resources",
    "/admin/resources/{id}"
);
collection!(
    connections_router,
    list_connections,
    create_connection,
    read_connection,
    replace_connection,
    delete_connection,
    Kind::Connection,
    "connection",
    "connections",
    crate::admin::connections::ConnectionBody,
    crate::admin::connections::entity,
    "/admin/connections",
    "/admin/connections/{id}"
);
collection!(
    policies_router,
    list_policies,
    create_policy,
    read_policy,
    replace_policy,
    delete_policy,
    Kind::Policy,
    "policy",
    "policies",
    crate::admin::policies::PolicyBody,
    crate::admin::policies::entity,
    "/admin/policies",
    "/admin/policies/{id}"
);

/// Every collection's routes, and a JSON 404 for a collection that does not exist.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(clients_router())
        .merge(users_router())
        .merge(resources_router())
        .merge(connections_router())
        .merge(policies_router())
        .route("/admin/{collection}", axum::routing::any(unknown))
        .route("/admin/{collection}/{id}", axum::routing::any(unknown))
}

async fn unknown(AdminPath(params): AdminPath<Vec<(String, String)>>) -> AdminError {
    let collection = params
        .into_iter()
        .find(|(name, _)| name == "collection")
        .map(|(_, value)| value)
        .unwrap_or_default();
    AdminError::UnknownCollection(collection)
}
