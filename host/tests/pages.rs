//! The browser pages over real HTTP: what a client or a request controls is shown escaped, the
//! pages' Content-Security-Policy allows styles from this server only, and the stylesheet the
//! pages link is served as CSS with the caching its URL allows.

#![allow(
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "integration tests"
)]

mod common;

use common::{Server, start};
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap};
use serde_json::{Value, json};

const EXAMPLE: &str = include_str!("../../examples/mcp-server/tollgate.yaml");
const CALENDAR: &str = "http://127.0.0.1:3001/mcp";
const DESKTOP_REDIRECT: &str = "http://127.0.0.1:33418/callback";
const HOSTILE: &str = "<script>alert(\"x\")</script>' onfocus='x";
const CSP: &str = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A client without cookies or redirects.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `/authorize` for `client_id`, with a PKCE challenge.
fn authorize_query(client_id: &str, redirect_uri: &str) -> String {
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", client_id)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("state", "st-123")
        .append_pair(
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGjSstw-cM",
        )
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", CALENDAR)
        .finish();
    format!("/authorize?{q}")
}

/// The value of a hidden input on a page.
fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).expect(name) + marker.len();
    let end = start + page[start..].find('"').expect("end of value");
    page[start..end].to_owned()
}

/// The session cookie an answer sets.
fn cookie(headers: &HeaderMap) -> String {
    let set = headers
        .get(header::SET_COOKIE)
        .expect("a session cookie")
        .to_str()
        .expect("cookie text");
    set.split(';').next().expect("pair").to_owned()
}

/// Checks that [`HOSTILE`] appears on `page` only escaped, and that the page carries the
/// pages' headers.
fn assert_escaped_page(headers: &HeaderMap, page: &str) {
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("' onfocus"), "{page}");
    assert!(
        page.contains("&#60;script&#62;alert(&#34;x&#34;)&#60;/script&#62;&#39; onfocus=&#39;x"),
        "{page}"
    );
    assert_eq!(headers[header::CONTENT_SECURITY_POLICY], CSP);
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert_eq!(headers[header::REFERRER_POLICY], "same-origin");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
}

/// Registers a public client whose name is [`HOSTILE`]; returns its id.
async fn hostile_client(s: &Server) -> String {
    let created: Value = http()
        .post(format!("{}/register", s.base))
        .json(&json!({
            "client_name": HOSTILE, "redirect_uris": [DESKTOP_REDIRECT],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    created["client_id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn security_a_client_name_is_shown_escaped_on_the_sign_in_and_consent_pages() {
    let s = start("pages-escape", EXAMPLE, None).await;
    let id = hostile_client(&s).await;
    let http = http();

    let login = http
        .get(format!(
            "{}{}",
            s.base,
            authorize_query(&id, DESKTOP_REDIRECT)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(login.status(), StatusCode::OK);
    let headers = login.headers().clone();
    let session = cookie(&headers);
    let page = login.text().await.expect("body");
    assert!(page.contains("action=\"/login\""), "{page}");
    assert_escaped_page(&headers, &page);

    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("request", &hidden(&page, "request"))
        .append_pair("csrf", &hidden(&page, "csrf"))
        .append_pair("username", "ada")
        .append_pair("password", "ada-dev-password")
        .finish();
    let signed_in = http
        .post(format!("{}/login", s.base))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, session)
        .body(form)
        .send()
        .await
        .expect("send");
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = cookie(signed_in.headers());
    let location = signed_in.headers()[header::LOCATION]
        .to_str()
        .expect("location")
        .to_owned();

    let consent = http
        .get(format!("{}{location}", s.base))
        .header(header::COOKIE, session)
        .send()
        .await
        .expect("send");
    assert_eq!(consent.status(), StatusCode::OK);
    let headers = consent.headers().clone();
    let page = consent.text().await.expect("body");
    assert!(page.contains("action=\"/consent\""), "{page}");
    assert!(page.contains("<h1>Allow &#60;script&#62;"), "{page}");
    assert_escaped_page(&headers, &page);
}

#[tokio::test]
async fn security_a_redirect_uri_in_an_error_page_is_shown_escaped() {
    let s = start("pages-error", EXAMPLE, None).await;
    let answer = http()
        .get(format!(
            "{}{}",
            s.base,
            authorize_query("calendar-desktop", HOSTILE)
        ))
        .send()
        .await
        .expect("send");
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(answer.headers().get(header::LOCATION).is_none());
    let headers = answer.headers().clone();
    let page = answer.text().await.expect("body");
    assert!(page.contains("is not a redirect URI registered"), "{page}");
    assert_escaped_page(&headers, &page);
}

#[tokio::test]
async fn the_stylesheet_the_pages_link_is_served_as_css() {
    let s = start("pages-css", EXAMPLE, None).await;
    let http = http();
    let page = http
        .get(format!(
            "{}{}",
            s.base,
            authorize_query("calendar-desktop", DESKTOP_REDIRECT)
        ))
        .send()
        .await
        .expect("send")
        .text()
        .await
        .expect("body");
    assert!(
        !page.contains("<style") && !page.contains("style="),
        "{page}"
    );
    let marker = "<link rel=\"stylesheet\" href=\"";
    let start = page.find(marker).expect("a stylesheet link") + marker.len();
    let href = &page[start..start + page[start..].find('"').expect("end of href")];
    assert!(href.starts_with("/static/tollgate.css?v="), "{href}");

    // The linked (versioned) URL: CSS, kept for a year.
    let css = http
        .get(format!("{}{href}", s.base))
        .send()
        .await
        .expect("send");
    assert_eq!(css.status(), StatusCode::OK);
    let headers = css.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let etag = headers[header::ETAG].to_str().expect("etag").to_owned();
    let text = css.text().await.expect("body");
    assert!(
        text.contains(".client {") && text.contains("color-scheme"),
        "{text}"
    );

    // Revalidation by the ETag.
    let again = http
        .get(format!("{}{href}", s.base))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.text().await.expect("body"), "");

    // Without its version (or with another), the URL may name another stylesheet later.
    for query in ["", "?v=0000000000000000"] {
        let other = http
            .get(format!("{}/static/tollgate.css{query}", s.base))
            .send()
            .await
            .expect("send");
        assert_eq!(other.status(), StatusCode::OK, "{query}");
        assert_eq!(
            other.headers()[header::CACHE_CONTROL],
            "no-cache",
            "{query}"
        );
        assert_eq!(other.headers()[header::ETAG], etag.as_str(), "{query}");
    }
}
