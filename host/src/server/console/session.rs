//! Console sessions: a cookie of their own (`tollgate_console`: `HttpOnly`, `SameSite=Strict`,
//! `Path=/console`, `Secure` on https), stored under its SHA-256 like the sign-in sessions, with a
//! CSRF token in every form. Every post must come with this server's `Origin` (browsers send it
//! on every form post; a post without one is refused), the session's CSRF token, and — to change
//! anything — the administrator role. The role is read from the configuration on every request,
//! so taking it away there (and restarting) ends what the user can do at once.

use std::net::IpAddr;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq as _;

use super::message::console_message;
use crate::clock::now;
use crate::config::ConsoleRole;
use crate::oauth::authorize;
use crate::oauth::browser::SESSIONS_PER_USER;
use crate::oauth::secrets::{random_id, token_hash};
use crate::server::html::{console_page, login_refused, see_other, store_failed};
use crate::server::http::Peer;
use crate::server::session::Form;
use crate::server::session::issuer_origin;
use crate::server::state::AppState;
use crate::store::{FlowKind, FlowRecord};

/// The console cookie's name.
const COOKIE: &str = "tollgate_console";

/// A signed-in console user.
#[derive(Debug, Clone)]
pub(super) struct Staff {
    pub(super) sub: String,
    /// The user's login name, or `sub`.
    pub(super) name: String,
    pub(super) role: ConsoleRole,
    /// The form token.
    pub(super) csrf: String,
    /// The cookie value (to end the session).
    cookie: String,
}

impl Staff {
    /// Whether the user may change things.
    pub(super) fn is_administrator(&self) -> bool {
        self.role == ConsoleRole::Administrator
    }

    /// How the audit log names the user.
    pub(super) fn actor(&self) -> String {
        crate::admin::entities::console_actor(&self.sub)
    }
}

/// What the store keeps of a console session.
#[derive(Serialize, Deserialize)]
struct Stored {
    sub: String,
    csrf: String,
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    crate::server::session::cookie_named(headers, COOKIE)
}

fn set_cookie(state: &AppState, response: &mut Response, value: &str, max_age: i64) {
    let secure = if state.core.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Where a page asks to go back to after signing in: a console path, nothing else.
fn console_path(next: &str) -> Option<&str> {
    (next.starts_with("/console") && !next.contains("//") && !next.contains('\\')).then_some(next)
}

/// The signed-in user of a request, or the response to give instead: the sign-in page (a
/// redirect back to `path` after it) when there is no session, or it has ended, or the user has
/// no console role any more.
pub(super) async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
) -> Result<Staff, Response> {
    let to_login = || {
        let next: String = form_urlencoded::byte_serialize(path.as_bytes()).collect();
        see_other(&format!("/console/login?next={next}"))
    };
    let Some(cookie) = cookie_value(headers) else {
        return Err(to_login());
    };
    let flow = match state
        .core
        .store
        .get_flow(FlowKind::Console, &token_hash(cookie), now())
        .await
    {
        Ok(Some(flow)) => flow,
        Ok(None) => return Err(to_login()),
        Err(e) => return Err(store_failed(&e)),
    };
    let Ok(stored) = serde_json::from_str::<Stored>(&flow.body) else {
        return Err(to_login());
    };
    let Some(role) = state.console.role_of(&stored.sub) else {
        return Err(to_login());
    };
    let directory = state.core.directory();
    let Some(user) = directory.users.get(&stored.sub) else {
        return Err(to_login());
    };
    Ok(Staff {
        name: user.username.clone().unwrap_or_else(|| stored.sub.clone()),
        sub: stored.sub,
        role,
        csrf: stored.csrf,
        cookie: cookie.to_owned(),
    })
}

/// Whether a post comes from this server's own pages: its `Origin` is this server.
fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    origin == Some(issuer_origin(&state.core.issuer).as_str())
}

/// The answer to a post from elsewhere (or without an `Origin`).
fn foreign() -> Response {
    console_message(
        StatusCode::FORBIDDEN,
        "This form came from another site",
        "The console accepts forms from its own pages only.",
    )
}

/// A posted console form, checked: this server's `Origin`, a session, and its CSRF token. Any
/// role: previews and sign-out change nothing.
pub(super) async fn posted(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    path: &str,
) -> Result<(Staff, Form), Response> {
    if !same_origin(state, headers) {
        return Err(foreign());
    }
    let form = Form::parse(headers, body).ok_or_else(|| {
        console_message(
            StatusCode::BAD_REQUEST,
            "This form is not valid",
            "The form could not be read.",
        )
    })?;
    let staff = signed_in(state, headers, path).await?;
    let sent = form.one("csrf").unwrap_or_default();
    if !bool::from(sent.as_bytes().ct_eq(staff.csrf.as_bytes())) {
        return Err(console_message(
            StatusCode::FORBIDDEN,
            "This form is not valid",
            "The form's security token does not match your session. Reload the page and try again.",
        ));
    }
    Ok((staff, form))
}

/// A posted form that changes something: [`posted`], by an administrator.
pub(super) async fn changing(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
    path: &str,
) -> Result<(Staff, Form), Response> {
    let (staff, form) = posted(state, headers, body, path).await?;
    if !staff.is_administrator() {
        return Err(read_only());
    }
    Ok((staff, form))
}

/// The answer to an auditor's change.
pub(super) fn read_only() -> Response {
    console_message(
        StatusCode::FORBIDDEN,
        "Auditors cannot change anything",
        "Your console role is auditor: you can read every page, and an administrator makes changes.",
    )
}

/// The sign-in page.
#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    next: &'a str,
    username: &'a str,
    error: Option<&'a str>,
}

fn next_of(query: Option<&str>) -> String {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "next")
        .and_then(|(_, v)| console_path(&v).map(str::to_owned))
        .unwrap_or_else(|| "/console".to_owned())
}

/// `GET /console/login`.
pub(super) async fn login_page(RawQuery(query): RawQuery) -> Response {
    let next = next_of(query.as_deref());
    console_page(
        StatusCode::OK,
        &LoginPage {
            next: &next,
            username: "",
            error: None,
        },
    )
}

/// The message of a sign-in refused for want of a console role: the same as a wrong password's,
/// so that the page tells a guesser nothing about the password.
const NO_ROLE: &str = "The user name, password or one-time code is not correct, or the account has \
     no console access.";

/// `POST /console/login`: the server's own user login (throttled per address like the
/// authorization endpoint's), then the console role.
pub(super) async fn login(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !same_origin(&state, &headers) {
        return foreign();
    }
    let Some(form) = Form::parse(&headers, &body) else {
        return console_message(
            StatusCode::BAD_REQUEST,
            "This form is not valid",
            "The form could not be read.",
        );
    };
    let now = now();
    let next = console_path(form.one("next").unwrap_or_default())
        .unwrap_or("/console")
        .to_owned();
    let username = form.one("username").unwrap_or_default();
    let ip: Option<IpAddr> = peer.map(|p| p.ip());
    let refuse = |message: &str| {
        console_page(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                next: &next,
                username,
                error: Some(message),
            },
        )
    };
    let sub = match super::super::session::sign_in_with(&state, &form, ip, now).await {
        Ok(signed_in) => signed_in.sub,
        // A wrong code says no more than a wrong password: not that the password was right.
        Err(authorize::LoginRefused::Wrong | authorize::LoginRefused::Code) => {
            return refuse(NO_ROLE);
        }
        Err(other) => return refuse(&login_refused(other)),
    };
    if state.console.role_of(&sub).is_none() {
        return refuse(NO_ROLE);
    }
    // A new cookie at every sign-in: one planted before is worth nothing after it, and the
    // session the browser had ends.
    if let Some(old) = cookie_value(&headers)
        && let Err(e) = state
            .core
            .store
            .delete_flow(FlowKind::Console, &token_hash(old))
            .await
    {
        return store_failed(&e);
    }
    let cookie = random_id();
    let ttl = i64::try_from(state.console.session_ttl).unwrap_or(i64::MAX);
    let stored = Stored {
        sub: sub.clone(),
        csrf: random_id(),
    };
    let flow = FlowRecord {
        kind: FlowKind::Console,
        id: token_hash(&cookie),
        owner: Some(sub),
        body: serde_json::to_string(&stored).unwrap_or_default(),
        evictable: false,
        expires_at: now.saturating_add(ttl),
    };
    if let Err(e) = state
        .core
        .store
        .put_flow(
            &flow,
            crate::oauth::browser::MAX_PENDING,
            SESSIONS_PER_USER,
            now,
        )
        .await
    {
        return store_failed(&e);
    }
    let mut response = see_other(&next);
    set_cookie(&state, &mut response, &cookie, ttl);
    response
}

/// `POST /console/logout`: ends the session.
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let staff = match posted(&state, &headers, &body, "/console").await {
        Ok((staff, _)) => staff,
        Err(r) => return r,
    };
    if let Err(e) = state
        .core
        .store
        .delete_flow(FlowKind::Console, &token_hash(&staff.cookie))
        .await
    {
        return store_failed(&e);
    }
    let mut response = see_other("/console/login");
    set_cookie(&state, &mut response, "", 0);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn only_console_paths_are_followed_after_sign_in() {
        assert_eq!(console_path("/console/policies"), Some("/console/policies"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/consoles\\x",
            "/console//evil",
        ] {
            assert_eq!(console_path(bad), None, "{bad}");
        }
        assert_eq!(next_of(Some("next=%2F%2Fevil.example")), "/console");
    }

    #[test]
    fn the_sign_in_page_escapes_what_it_shows_again() {
        let html = LoginPage {
            next: TEXT,
            username: TEXT,
            error: Some(TEXT),
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        assert_eq!(html.matches("<h1").count(), 1);
    }
}
