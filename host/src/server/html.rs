//! The pages' shell: the layout, the headers every page carries, and the short message pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::http::no_store;
use crate::oauth::authorize;

/// A whole page around `body`.
pub(super) fn layout(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Tollgate</title>
<style>
:root {{ color-scheme: light dark; --fg:#1b1f24; --muted:#57606a; --bg:#f6f8fa; --card:#fff; --line:#d0d7de; --accent:#0b5cad; --warn-bg:#fff8c5; --warn-fg:#4d3800; --bad:#b42318; }}
@media (prefers-color-scheme: dark) {{ :root {{ --fg:#e6edf3; --muted:#9da7b3; --bg:#0d1117; --card:#161b22; --line:#30363d; --accent:#4493f8; --warn-bg:#3b2e00; --warn-fg:#f2cc60; --bad:#ff7b72; }} }}
* {{ box-sizing: border-box; }}
body {{ margin:0; font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif; color:var(--fg); background:var(--bg); }}
header {{ padding:1rem 1.5rem; font-weight:600; letter-spacing:.02em; }}
header span {{ color:var(--accent); }}
main {{ max-width:30rem; margin:1rem auto 3rem; padding:2rem; background:var(--card); border:1px solid var(--line); border-radius:12px; }}
h1 {{ font-size:1.35rem; line-height:1.3; margin:0 0 1rem; }}
p {{ margin:.5rem 0; }}
.muted {{ color:var(--muted); font-size:.9rem; }}
.client {{ border:1px solid var(--line); border-radius:8px; padding:.75rem 1rem; margin:1rem 0; }}
.client dl {{ display:grid; grid-template-columns:auto 1fr; gap:.25rem 1rem; margin:.5rem 0 0; font-size:.9rem; }}
.client dt {{ color:var(--muted); }} .client dd {{ margin:0; overflow-wrap:anywhere; }}
.badge {{ display:inline-block; padding:0 .5rem; border-radius:999px; font-size:.8rem; border:1px solid var(--line); }}
.warn {{ background:var(--warn-bg); color:var(--warn-fg); border-radius:8px; padding:.5rem .75rem; font-size:.9rem; }}
.error {{ color:var(--bad); font-weight:600; }}
label {{ display:block; font-weight:600; margin:1rem 0 .25rem; }}
input[type=text], input[type=password] {{ width:100%; padding:.6rem .7rem; font:inherit; color:inherit; background:transparent; border:1px solid var(--line); border-radius:6px; }}
fieldset {{ border:1px solid var(--line); border-radius:8px; margin:1rem 0; padding:.5rem 1rem 1rem; }}
legend {{ font-weight:600; padding:0 .25rem; }}
.scope {{ display:flex; gap:.6rem; align-items:flex-start; margin:.6rem 0 0; font-weight:400; }}
.scope input {{ margin-top:.3rem; width:1.1rem; height:1.1rem; }}
code {{ font-family:ui-monospace,SFMono-Regular,Menlo,monospace; font-size:.9em; }}
.actions {{ display:flex; gap:.75rem; margin-top:1.5rem; flex-wrap:wrap; }}
button {{ font:inherit; font-weight:600; padding:.6rem 1.2rem; border-radius:6px; border:1px solid var(--line); background:transparent; color:inherit; cursor:pointer; }}
button.primary {{ background:var(--accent); border-color:var(--accent); color:#fff; }}
:focus-visible {{ outline:3px solid var(--accent); outline-offset:2px; }}
</style>
</head>
<body>
<header><span aria-hidden="true">◆</span> Tollgate</header>
<main>
{body}
</main>
</body>
</html>
"#,
        title = html_escape(title),
    )
}

/// Adds the headers every page carries: never cached, never framed, no scripts, no referrer
/// for other sites.
pub(super) fn page_response(status: StatusCode, html: String) -> Response {
    let mut response = no_store(
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
    );
    let h = response.headers_mut();
    // No `form-action`: Chromium applies it to the redirect after the consent form, which goes to
    // the client.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` Chromium sends `Origin: null` on the
    // page's own form posts, and the origin check below needs the real one. The client's
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

pub(super) fn message_page(status: u16, title: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p class=\"muted\">Go back to the application and start again.</p>",
        html_escape(title),
        html_escape(message)
    );
    page_response(
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        layout(title, &body),
    )
}

pub(super) fn expired() -> Response {
    message_page(
        400,
        "This sign-in has expired",
        "The request is no longer valid in this browser.",
    )
}

pub(super) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    no_store(response)
}

pub(super) fn bad_form() -> Response {
    message_page(400, "This form is not valid", "The form could not be read.")
}

pub(super) fn login_refused(refused: authorize::LoginRefused) -> String {
    match refused {
        authorize::LoginRefused::Wrong => "The user name or password is not correct.".to_owned(),
        authorize::LoginRefused::Throttled(seconds) => {
            format!("Too many failed sign-ins from this address. Try again in {seconds} seconds.")
        }
    }
}

pub(super) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
