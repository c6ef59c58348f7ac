//! The pages' static assets (`host/static/`): the stylesheet, and the console's stylesheet and
//! script, compiled into the binary and served from this server, so the pages'
//! Content-Security-Policy can allow styles and scripts from `'self'` only, nothing inline.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

use super::state::AppState;

/// One static file, compiled in.
struct Asset {
    path: &'static str,
    content_type: &'static str,
    body: &'static str,
    /// The first 16 hex digits of the body's SHA-256.
    version: LazyLock<String>,
    /// The path with `?v=` and the version: the URL pages link.
    href: LazyLock<String>,
}

macro_rules! asset {
    ($path:literal, $file:literal, $type:literal) => {
        Asset {
            path: $path,
            content_type: $type,
            body: include_str!($file),
            version: LazyLock::new(|| version_of(include_str!($file))),
            href: LazyLock::new(|| format!("{}?v={}", $path, version_of(include_str!($file)))),
        }
    };
}

fn version_of(body: &str) -> String {
    Sha256::digest(body.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The sign-in and consent pages' stylesheet.
static STYLESHEET: Asset = asset!(
    "/static/tollgate.css",
    "../../static/tollgate.css",
    "text/css; charset=utf-8"
);
/// The console's stylesheet (on top of the first).
static CONSOLE_CSS: Asset = asset!(
    "/static/console.css",
    "../../static/console.css",
    "text/css; charset=utf-8"
);
/// The console's script: progressive enhancements only (the pages work without it).
static CONSOLE_JS: Asset = asset!(
    "/static/console.js",
    "../../static/console.js",
    "text/javascript; charset=utf-8"
);

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(STYLESHEET.path, get(|q, h| serve(&STYLESHEET, q, h)))
        .route(CONSOLE_CSS.path, get(|q, h| serve(&CONSOLE_CSS, q, h)))
        .route(CONSOLE_JS.path, get(|q, h| serve(&CONSOLE_JS, q, h)))
}

/// The stylesheet's URL as the pages link it (`base.html` calls this): with its version, so the
/// URL changes whenever the stylesheet does.
pub(super) fn stylesheet_href() -> &'static str {
    &STYLESHEET.href
}

/// The console stylesheet's URL, with its version.
pub(super) fn console_css_href() -> &'static str {
    &CONSOLE_CSS.href
}

/// The console script's URL, with its version.
pub(super) fn console_js_href() -> &'static str {
    &CONSOLE_JS.href
}

/// `GET` of an asset. The URL the pages link (`?v=` and the current version) names one body for
/// ever, so its answer is kept for a year without a round trip (`immutable`). Any other URL (no
/// version, or the version of another binary during a rolling upgrade) is answered `no-cache`,
/// revalidated by its ETag, so a browser never keeps a file under a version it does not have.
async fn serve(asset: &'static Asset, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    let version = asset.version.as_str();
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
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
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
        for asset in [&STYLESHEET, &CONSOLE_CSS, &CONSOLE_JS] {
            assert_eq!(asset.version.len(), 16);
            assert_eq!(*asset.href, format!("{}?v={}", asset.path, *asset.version));
        }
    }

    #[test]
    fn the_stylesheet_holds_every_rule_the_pages_use() {
        for class in [
            ".client", ".badge", ".warn", ".error", ".scope", ".actions", ".muted", ".hint",
            ".notice", ".qr",
        ] {
            assert!(STYLESHEET.body.contains(class), "{class}");
        }
    }
}
