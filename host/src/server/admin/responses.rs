//! The error answers each operation documents in the OpenAPI document, by status. Each is an
//! [`ErrorBody`] as [`AdminError`](crate::admin::error::AdminError) renders it.
#![expect(
    dead_code,
    reason = "these types only describe answers for the OpenAPI document; none is built"
)]

use utoipa::IntoResponses;

use super::error::ErrorBody;

/// The body or a parameter is invalid; every problem is listed.
#[derive(IntoResponses)]
#[response(status = 400)]
pub struct BadRequest(pub ErrorBody);

/// No admin bearer token, or the wrong one.
#[derive(IntoResponses)]
#[response(
    status = 401,
    headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"tollgate-admin\"`"))
)]
pub struct Unauthorized(pub ErrorBody);

/// No such entity (or credential).
#[derive(IntoResponses)]
#[response(status = 404)]
pub struct NotFound(pub ErrorBody);

/// The entity exists already, the configuration file declares it, or the vault is off.
#[derive(IntoResponses)]
#[response(status = 409)]
pub struct Conflict(pub ErrorBody);

/// The body is too large, or not `application/json`.
#[derive(IntoResponses)]
pub enum BodyRefused {
    /// The body is too large.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// The body is not `application/json`.
    #[response(status = 415)]
    NotJson(ErrorBody),
}

/// The store (or the engine) is unavailable; nothing changed.
#[derive(IntoResponses)]
#[response(status = 503)]
pub struct Unavailable(pub ErrorBody);
