//! The pages' static assets: the stylesheet (`host/static/tollgate.css`), compiled into the
//! binary and served from this server, so the pages' Content-Security-Policy can allow styles
//! from `'self'` only, with no inline styles.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

use super::state::AppState;

/// The pages' stylesheet.
const STYLESHEET: &str = include_str!("../../static/tollgate.css");

/// Where the stylesheet is served.
const STYLESHEET_PATH: &str = "/static/tollgate.css";

/// The stylesheet's version: the first 16 hex digits of its SHA-256.
static STYLESHEET_VERSION: LazyLock<String> = LazyLock::new(|| {
    Sha256::digest(STYLESHEET.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
});

/// See [`stylesheet_href`].
static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| format!("{STYLESHEET_PATH}?v={}", *STYLESHEET_VERSION));

pub(super) fn router() -> Router<AppState> {
    Router::new().route(STYLESHEET_PATH, get(stylesheet))
}

/// The stylesheet's URL as the pages link it (`base.html` calls this): with its version, so the
/// URL changes whenever the stylesheet does.
pub(super) fn stylesheet_href() -> &'static str {
    &STYLESHEET_HREF
}

/// `GET /static/tollgate.css`. The URL the pages link (`?v=` and the current version) names one
/// stylesheet for ever, so its answer is kept for a year without a round trip (`immutable`).
/// Any other URL (no version, or the version of another binary during a rolling upgrade) is
/// answered `no-cache`, revalidated by its ETag, so a browser never keeps a stylesheet under a
/// version it does not have.
async fn stylesheet(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let version = STYLESHEET_VERSION.as_str();
    let etag = format!("\"{version}\"");
    let current = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(k, v)| k == "v" && v == version);
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
            STYLESHEET,
        )
            .into_response()
    };
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if current {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stylesheet_link_carries_its_version() {
        assert_eq!(STYLESHEET_VERSION.len(), 16);
        assert_eq!(
            stylesheet_href(),
            format!("/static/tollgate.css?v={}", *STYLESHEET_VERSION)
        );
    }

    #[test]
    fn the_stylesheet_holds_every_rule_the_pages_use() {
        for class in [
            ".client", ".badge", ".warn", ".error", ".scope", ".actions", ".muted",
        ] {
            assert!(STYLESHEET.contains(class), "{class}");
        }
    }
}
