//! The admin API's extractors: a JSON body, path parameters and the query, each refused with an
//! [`AdminError`] (a JSON answer naming where the problem is) instead of axum's plain-text
//! rejections.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequest, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;

use crate::admin::error::AdminError;
use crate::server::http::media_type;

/// A JSON body of type `T`. The content type must be `application/json` (or `…+json`); a body that
/// does not parse is refused with the path of what is wrong (`body.grantTypes[0]`).
#[derive(Debug, Clone)]
pub struct AdminJson<T>(pub T);

/// A JSON body as bytes, the content type checked (for bodies another parser reads).
#[derive(Debug, Clone)]
pub struct JsonBytes(pub Bytes);

fn is_json(headers: &HeaderMap) -> bool {
    let mime = media_type(headers).to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<Bytes, AdminError> {
    Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AdminError::TooLarge
        } else {
            AdminError::invalid("body", "the body could not be read")
        }
    })
}

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AdminError> {
        if !is_json(request.headers()) {
            return Err(AdminError::ContentType);
        }
        read(request, state).await.map(JsonBytes)
    }
}

/// Parses a JSON body; the error names the path of what is wrong under `body`.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AdminError> {
    let not_json =
        |e: &serde_json::Error| AdminError::invalid("body", format!("the body is not JSON: {e}"));
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut reader).map_err(|e| {
        let path = match e.path().to_string() {
            root if root == "." => "body".to_owned(),
            path => format!("body.{path}"),
        };
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            not_json(&inner)
        } else {
            AdminError::invalid(path, without_position(&inner))
        }
    })?;
    reader.end().map_err(|e| not_json(&e))?;
    Ok(value)
}

/// serde_json's message without its ` at line 1 column 42`: the path says where.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AdminJson<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AdminError> {
        let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
        parse(&bytes).map(AdminJson)
    }
}

/// An optional body: none when the request has no content type and no body.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for AdminJson<T> {
    type Rejection = AdminError;

    async fn from_request(request: Request, state: &S) -> Result<Option<Self>, AdminError> {
        if request.headers().contains_key(header::CONTENT_TYPE) {
            let JsonBytes(bytes) = JsonBytes::from_request(request, state).await?;
            return parse(&bytes).map(|v| Some(AdminJson(v)));
        }
        if read(request, state).await?.is_empty() {
            Ok(None)
        } else {
            Err(AdminError::ContentType)
        }
    }
}

/// Path parameters (entity ids, credential owners), refused as JSON when they do not decode.
#[derive(Debug, Clone)]
pub struct AdminPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for AdminPath<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AdminError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| AdminPath(v))
            .map_err(|_| AdminError::invalid("path", "a path parameter is not valid UTF-8"))
    }
}
