//! The admin API's errors as HTTP: a status and a JSON body, `{"error": …, "errors": [{path,
//! message}, …]}`, for every [`AdminError`].

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::admin::error::AdminError;

/// An error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in one sentence.
    pub error: String,
    /// Every problem with the input, each with where it is (`body.grantTypes[0]`,
    /// `policies[3].targets[0].resource`), when there are any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// One problem with the input.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldError {
    /// Where: `body.…` for the body, `owner` or `limit` for a parameter, `policies[…]…` for the
    /// policy document after the change; empty for the whole input.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl AdminError {
    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            AdminError::Unauthorized => StatusCode::UNAUTHORIZED,
            AdminError::Off
            | AdminError::UnknownCollection(_)
            | AdminError::NotFound { .. }
            | AdminError::NoCredential { .. } => StatusCode::NOT_FOUND,
            AdminError::Exists { .. } | AdminError::Declared { .. } | AdminError::VaultOff => {
                StatusCode::CONFLICT
            }
            AdminError::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AdminError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AdminError::Invalid { .. } | AdminError::Problems { .. } | AdminError::Document(_) => {
                StatusCode::BAD_REQUEST
            }
            AdminError::Decide(_)
            | AdminError::Store(_)
            | AdminError::Vault(_)
            | AdminError::Keys(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            // The caller learns only that the server could not; the log has why.
            let mut causes = Vec::new();
            let mut source = std::error::Error::source(&self);
            while let Some(cause) = source {
                causes.push(cause.to_string());
                source = cause.source();
            }
            tracing::error!(error = %self, causes = ?causes, "admin API failure");
        }
        let errors = self.errors();
        let body = ErrorBody {
            error: self.to_string(),
            errors: (!errors.is_empty()).then(|| {
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        path: e.path,
                        message: e.message,
                    })
                    .collect()
            }),
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"tollgate-admin\""),
            );
        }
        response
    }
}
