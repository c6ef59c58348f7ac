//! The browser side of the connect flow: the start link a user opens at Tollgate (signed in as
//! the user who asked for it, which binds the flow to this browser session), the confirmation
//! that names the Tollgate account being linked, and the provider's redirect back
//! (`connect_sign_in.html`, `connect_confirm.html` and `connected.html` in host/templates).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;

use super::html::{bad_form, login_refused, message_page, page, see_other, store_failed};
use super::http::Peer;
use super::session::{browser_session, posted_form, set_cookie, sign_in_with};
use super::state::AppState;
use crate::clock::now;
use crate::oauth::{self, ConnectError, ConnectFlow};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/connections/start", get(start_page).post(start_form))
        .route("/connections/callback", get(callback))
}

fn refused(e: &ConnectError) -> Response {
    message_page(e.status, "Could not connect the account", &e.message)
}

/// The user's display name (their login name when they have one).
fn display_name(state: &AppState, sub: &str) -> String {
    state
        .core
        .directory()
        .users
        .get(sub)
        .and_then(|u| u.username.clone())
        .unwrap_or_else(|| sub.to_owned())
}

/// Asks the signed-in user to confirm which Tollgate account the provider account joins.
#[derive(Template)]
#[template(path = "connect_confirm.html")]
struct ConfirmPage<'a> {
    connection: &'a str,
    /// The signed-in user's display name.
    user: &'a str,
    flow: &'a str,
    csrf: &'a str,
}

fn confirm_page(state: &AppState, flow: &str, f: &ConnectFlow, csrf: &str) -> Response {
    page(
        StatusCode::OK,
        &ConfirmPage {
            connection: &f.connection,
            user: &display_name(state, &f.sub),
            flow,
            csrf,
        },
    )
}

/// Asks for the Tollgate sign-in of the user the flow was started for.
#[derive(Template)]
#[template(path = "connect_sign_in.html")]
struct SignInPage<'a> {
    connection: &'a str,
    flow: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
}

fn sign_in_page(flow: &str, f: &ConnectFlow, csrf: &str, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(
        status,
        &SignInPage {
            connection: &f.connection,
            flow,
            csrf,
            error,
        },
    )
}

/// Says which connection the account joined, with the scopes granted.
#[derive(Template)]
#[template(path = "connected.html")]
struct ConnectedPage<'a> {
    connection: &'a str,
    /// The scopes granted, or `none`.
    scope: &'a str,
}

/// `GET /connections/start?flow=…`: the link `POST /connections/{id}/connect` answers with.
async fn start_page(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    let now = now();
    let flow = query.get("flow").map(String::as_str).unwrap_or_default();
    let f = match oauth::connect_flow(core, flow, now).await {
        Ok(f) => f,
        Err(e) => return refused(&e),
    };
    let existing = match browser_session(core, &headers, now).await {
        Ok(existing) => existing,
        Err(page) => return page,
    };
    match existing {
        Some((_, session)) if session.sub.as_deref() == Some(f.sub.as_str()) => {
            confirm_page(&state, flow, &f, &session.csrf)
        }
        Some((_, session)) => sign_in_page(flow, &f, &session.csrf, None),
        None => {
            let (cookie, session) = match core.browser.start(None, Vec::new(), now).await {
                Ok(started) => started,
                Err(e) => return store_failed(&e),
            };
            let mut response = sign_in_page(flow, &f, &session.csrf, None);
            set_cookie(&state, &mut response, &cookie, session.expires_at - now);
            response
        }
    }
}

/// `POST /connections/start`: signs in (`action=login`) or binds the flow and continues to the
/// provider (`action=continue`).
async fn start_form(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let core = &state.core;
    let now = now();
    let (form, cookie, session) = match posted_form(&state, &headers, &body, now).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let flow = form.one("flow").unwrap_or_default();
    let f = match oauth::connect_flow(core, flow, now).await {
        Ok(f) => f,
        Err(e) => return refused(&e),
    };
    match form.one("action") {
        Some("login") => {
            let signed_in = match sign_in_with(&state, &form, peer.map(|p| p.ip()), now).await {
                Ok(signed_in) => signed_in,
                Err(refused) => {
                    return sign_in_page(flow, &f, &session.csrf, Some(&login_refused(refused)));
                }
            };
            let oauth::authorize::SignedIn { sub, methods } = signed_in;
            if sub != f.sub {
                return message_page(
                    403,
                    "This link is for another account",
                    "This connect link was started for another Tollgate account; nothing was linked.",
                );
            }
            // A new session id for the signed-in user (no fixation).
            let renewed = async {
                core.browser.end(&cookie).await?;
                core.browser.start(Some(sub), methods, now).await
            };
            let (new_cookie, new_session) = match renewed.await {
                Ok(renewed) => renewed,
                Err(e) => return store_failed(&e),
            };
            let mut response = confirm_page(&state, flow, &f, &new_session.csrf);
            set_cookie(
                &state,
                &mut response,
                &new_cookie,
                new_session.expires_at - now,
            );
            response
        }
        Some("continue") => {
            match oauth::connect_confirm(core, flow, &cookie, session.sub.as_deref(), now).await {
                Ok(url) => see_other(&url),
                Err(e) => refused(&e),
            }
        }
        _ => bad_form(),
    }
}

/// `GET /connections/callback`: where the provider sends the user back; a page saying what
/// happened.
async fn callback(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let core = &state.core;
    let now = now();
    let session = match browser_session(core, &headers, now).await {
        Ok(session) => session,
        Err(page) => return page,
    };
    let session_view = session
        .as_ref()
        .map(|(cookie, s)| (cookie.as_str(), s.sub.as_deref()));
    match oauth::connect_callback(core, &query, session_view, now).await {
        Ok((connection, scope)) => page(
            StatusCode::OK,
            &ConnectedPage {
                connection: &connection,
                scope: if scope.is_empty() { "none" } else { &scope },
            },
        ),
        Err(e) => refused(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn the_confirmation_escapes_the_connection_and_the_user() {
        let html = ConfirmPage {
            connection: TEXT,
            user: TEXT,
            flow: TEXT,
            csrf: TEXT,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
    }

    #[test]
    fn the_sign_in_page_escapes_the_connection_and_the_error() {
        let html = SignInPage {
            connection: TEXT,
            flow: TEXT,
            csrf: TEXT,
            error: Some(TEXT),
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        assert!(html.contains("role=\"alert\""), "{html}");
    }

    #[test]
    fn the_connected_page_escapes_the_connection_and_the_scopes() {
        let html = ConnectedPage {
            connection: TEXT,
            scope: TEXT,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
    }
}
