//! The pages' shell: rendering a page with the headers every page carries, and the short
//! message pages.
//!
//! Every page is an askama template in `host/templates/` (askama's default directory, next to
//! host/Cargo.toml) that extends `base.html`, which links the stylesheet [`super::assets`]
//! serves. Askama escapes every interpolation in an `.html` template, so no handler builds
//! markup or escapes text itself (STYLE.md habit 15).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::http::no_store;
use crate::oauth::authorize;

/// The sign-in and consent pages' Content-Security-Policy: no scripts, styles from this server.
/// No `form-action`: Chromium applies it to the redirect after the consent form, which goes to
/// the client.
const PAGE_CSP: &str =
    "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The console's: its script and styles from this server, its own fetches, forms to itself.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; \
     connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// A page from its template, with the headers every page carries.
pub(super) fn page(status: StatusCode, template: &impl Template) -> Response {
    rendered(status, template, PAGE_CSP)
}

/// A console page from its template, with the headers every page carries.
pub(super) fn console_page(status: StatusCode, template: &impl Template) -> Response {
    rendered(status, template, CONSOLE_CSP)
}

fn rendered(status: StatusCode, template: &impl Template, csp: &'static str) -> Response {
    match template.render() {
        Ok(html) => page_response(status, html, csp),
        Err(e) => {
            // Only a failing `Display` of a field can get here; the pages' fields are strings.
            tracing::error!(error = %e, "a page could not be rendered");
            page_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be shown".to_owned(),
                csp,
            )
        }
    }
}

/// Adds the headers every page carries: never cached, never framed, scripts and styles (`csp`)
/// from this server only, no referrer for other sites.
fn page_response(status: StatusCode, html: String, csp: &'static str) -> Response {
    let mut response = no_store(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` Chromium sends `Origin: null` on the
    // page's own form posts, and the origin check (`session.rs`) needs the real one. The client's
    // redirect URI (another origin) still gets no referrer.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A short page saying what stopped the user, and to start again.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    title: &'a str,
    message: &'a str,
}

/// The message page (`message.html`) with `status` (400 when it is not a status code).
pub(super) fn message_page(status: u16, title: &str, message: &str) -> Response {
    page(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        &MessagePage { title, message },
    )
}

/// A form or page whose pending request is gone, or belongs to another browser.
pub(super) fn expired() -> Response {
    message_page(
        400,
        "This sign-in has expired",
        "The request is no longer valid in this browser.",
    )
}

/// The store failed: 503 with `Retry-After` when it could not be reached in time (the step may
/// succeed in a moment), 500 otherwise. The details are logged, not shown.
pub(super) fn store_failed(e: &crate::store::StoreError) -> Response {
    if e.is_unavailable() {
        tracing::warn!(error = %e, "the store is unavailable");
        let mut response = message_page(
            503,
            "Temporarily unavailable",
            "The server cannot complete this step right now. Try again in a moment.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        response
    } else {
        tracing::error!(error = %e, "the store failed");
        message_page(
            500,
            "Something went wrong",
            "The server could not complete this step.",
        )
    }
}

/// `303 See Other` to `location`, never cached.
pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(response)
}

/// A form that could not be read, or lacks a field it needs.
pub(super) fn bad_form() -> Response {
    message_page(400, "This form is not valid", "The form could not be read.")
}

/// The message a refused sign-in shows.
pub(super) fn login_refused(refused: authorize::LoginRefused) -> String {
    match refused {
        authorize::LoginRefused::Wrong => "The user name or password is not correct.".to_owned(),
        authorize::LoginRefused::Unavailable => {
            "The server cannot check your password right now. Try again in a moment.".to_owned()
        }
        authorize::LoginRefused::Code => {
            "Enter a current code from your authenticator app (or one of your recovery codes)."
                .to_owned()
        }
        authorize::LoginRefused::Throttled(seconds) => {
            format!("Too many failed sign-ins from this address. Try again in {seconds} seconds.")
        }
    }
}

/// Hostile text for the templates' tests, and the check that a page shows it only escaped.
#[cfg(test)]
pub(super) mod hostile {
    /// Breaks out of an element, or of an attribute in either quote, unless it is escaped.
    pub(in crate::server) const TEXT: &str = "<script>alert(\"x\")</script>' onfocus='x";

    /// Checks that [`TEXT`] appears in `html` only escaped.
    pub(in crate::server) fn assert_escaped(html: &str) {
        assert!(!html.contains("<script>"), "{html}");
        assert!(
            !html.contains("\"x\"") && !html.contains("' onfocus"),
            "{html}"
        );
        assert!(
            html.contains("&#60;script&#62;alert(&#34;x&#34;)"),
            "{html}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::hostile::{TEXT, assert_escaped};
    use super::*;

    #[test]
    fn the_message_page_escapes_its_title_and_message() {
        let html = MessagePage {
            title: TEXT,
            message: TEXT,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        assert_eq!(html.matches("<h1>").count(), 1);
        assert!(
            html.contains(crate::server::assets::stylesheet_href()),
            "{html}"
        );
    }
}
