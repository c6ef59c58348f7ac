//! The browser side of the authorization endpoint: the sign-in and consent pages
//! (`sign_in.html`, `consent.html` and `client_card.html` in host/templates).
//!
//! Forms are protected by the session's CSRF token and by the `Origin` header when the browser
//! sends one; the session cookie is `HttpOnly`, `SameSite=Lax`, and `Secure` when the issuer is
//! https. Pages may not be framed.

use std::net::IpAddr;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::html::{bad_form, expired, login_refused, message_page, page, see_other, store_failed};
use super::http::Peer;
use super::session::{browser_session, posted_form, set_cookie, sign_in_with};
use super::state::AppState;
use crate::clock::now;
use crate::config::{ClientStatus, RegistrationType};
use crate::oauth::authorization_request::{Prompt, Validated};
use crate::oauth::authorize::{self, AuthorizeError, Offer};
use crate::oauth::browser::Session;
use crate::oauth::policy_input::SignInCan;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/authorize", get(authorize_page))
        .route("/login", post(login))
        .route("/consent", get(consent_page).post(consent))
}

fn stopped(e: AuthorizeError) -> Response {
    match e {
        AuthorizeError::Page {
            status,
            title,
            message,
        } => message_page(status, title, &message),
        AuthorizeError::Redirect(url) => see_other(&url),
    }
}

/// Who the client is, as the user should see it before trusting it (`client_card.html`).
struct ClientCard {
    /// The client's name, or its id when it has none.
    name: String,
    verified: bool,
    /// How the client came to be known.
    registration: &'static str,
    /// The host of a client ID metadata document's URL.
    published_by: Option<String>,
    client_id: String,
    /// The resource the client asks access to.
    audience: String,
    /// Where the answer goes, for a client that registered itself.
    returns_to: Option<String>,
}

impl ClientCard {
    /// The card of a checked request: the one place the pages read how a client was registered
    /// and whether it is verified.
    fn of(p: &Validated) -> ClientCard {
        let c = &p.client;
        let host = |url: &str| {
            url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
        };
        let (registration, published_by, self_registered) = match c.registration_type {
            RegistrationType::Cimd => ("Client ID metadata document", host(&c.client_id), true),
            RegistrationType::Dcr => ("Registered itself (dynamic registration)", None, true),
            // Only a configured client's name is vouched for.
            RegistrationType::Static => ("Configured by your administrator", None, false),
        };
        ClientCard {
            name: c.name.clone().unwrap_or_else(|| c.client_id.clone()),
            verified: c.status == ClientStatus::Verified,
            registration,
            published_by,
            client_id: c.client_id.clone(),
            audience: p.resource.audience.clone(),
            // A self-registered client's name proves nothing: show where the answer goes.
            returns_to: self_registered.then(|| host(&p.redirect_uri)).flatten(),
        }
    }
}

/// The sign-in page of an authorization request.
#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage<'a> {
    card: ClientCard,
    /// The pending request's id.
    request: &'a str,
    csrf: &'a str,
    error: Option<&'a str>,
    /// Why the user is asked to sign in again.
    notice: Option<&'a str>,
}

fn login_page(p: &Validated, request: &str, csrf: &str, error: Option<&str>) -> Response {
    sign_in_page(p, request, csrf, error, None)
}

/// The client's name as pages show it.
fn client_name(p: &Validated) -> &str {
    p.client.name.as_deref().unwrap_or(&p.client.client_id)
}

/// The sign-in page, with a notice when the user is asked to sign in again (step-up).
fn sign_in_page(
    p: &Validated,
    request: &str,
    csrf: &str,
    error: Option<&str>,
    notice: Option<&str>,
) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(
        status,
        &SignInPage {
            card: ClientCard::of(p),
            request,
            csrf,
            error,
            notice,
        },
    )
}

/// The consent page: the scopes on offer, to approve one by one.
#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    card: ClientCard,
    /// The signed-in user's display name.
    user: &'a str,
    /// The pending request's id.
    request: &'a str,
    csrf: &'a str,
    offered: &'a [String],
    unavailable: &'a [String],
}

fn consent_html(
    p: &Validated,
    request: &str,
    session: &Session,
    user: &str,
    offer: &Offer,
) -> Response {
    page(
        StatusCode::OK,
        &ConsentPage {
            card: ClientCard::of(p),
            user,
            request,
            csrf: &session.csrf,
            offered: &offer.offered,
            unavailable: &offer.unavailable,
        },
    )
}

// ------------------------------------------------------------------------------------------
// Handlers

/// `GET /authorize`: checks the request, then asks the user to sign in, or (already signed in)
/// for consent.
async fn authorize_page(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let core = &state.core;
    let now = now();
    let ip = peer.map(|p| p.ip());
    let validated =
        match authorize::validate(core, query.as_deref().unwrap_or_default(), ip, now).await {
            Ok(v) => v,
            Err(e) => return stopped(e),
        };
    let existing = match browser_session(core, &headers, now).await {
        Ok(existing) => existing,
        Err(page) => return page,
    };
    if validated.prompt == Prompt::None {
        let signed_in = existing.as_ref().is_some_and(|(_, s)| s.sub.is_some());
        let (error, why) = if signed_in {
            (
                "consent_required",
                "this server asks the user to consent on a page",
            )
        } else {
            ("login_required", "the user is not signed in")
        };
        return stopped(authorize::error_redirect(
            core,
            &validated.redirect_uri,
            validated.state.as_deref(),
            error,
            why,
        ));
    }
    let (cookie, session, fresh) = match existing {
        Some((c, s)) => (c, s, false),
        None => match core.browser.start(None, Vec::new(), now).await {
            Ok((c, s)) => (c, s, true),
            Err(e) => return store_failed(&e),
        },
    };
    let id = match core.browser.begin(&validated, &cookie, now).await {
        Ok(id) => id,
        Err(e) => return store_failed(&e),
    };
    let mut response = match &session.sub {
        // `prompt=login` or `max_age`: this sign-in is not recent enough for the client.
        Some(_) if validated.wants_new_sign_in(session.auth_time, now) => {
            let notice = format!(
                "Sign in again to continue: {} asks for a recent sign-in.",
                client_name(&validated)
            );
            sign_in_page(&validated, &id, &session.csrf, None, Some(&notice))
        }
        Some(sub) => {
            show_consent(
                &state,
                &id,
                &session,
                sub,
                &validated,
                peer.map(|p| p.ip()),
                now,
            )
            .await
        }
        None => login_page(&validated, &id, &session.csrf, None),
    };
    if fresh {
        set_cookie(&state, &mut response, &cookie, session.expires_at - now);
    }
    response
}

async fn show_consent(
    state: &AppState,
    id: &str,
    session: &Session,
    sub: &str,
    pending: &Validated,
    ip: Option<IpAddr>,
    now: i64,
) -> Response {
    let can = SignInCan::of(&state.core, Some(sub)).await;
    match authorize::offer(&state.core, pending, session, can, ip, now) {
        Ok(offer) if !offer.sign_in_again.is_empty() => {
            let notice = format!(
                "Sign in again to continue: {} asks for {}, which needs a recent sign-in.",
                client_name(pending),
                offer.sign_in_again.join(", ")
            );
            sign_in_page(pending, id, &session.csrf, None, Some(&notice))
        }
        Ok(offer) => {
            let directory = state.core.directory();
            let user = directory
                .users
                .get(sub)
                .and_then(|u| u.username.clone())
                .unwrap_or_else(|| sub.to_owned());
            consent_html(pending, id, session, &user, &offer)
        }
        Err(e) => {
            if let Err(failed) = state.core.browser.finish(id).await {
                return store_failed(&failed);
            }
            stopped(e)
        }
    }
}

/// `POST /login`: signs the user in and goes on to the consent page.
async fn login(
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
    let request = form.one("request").unwrap_or_default();
    let pending = match core.browser.pending(request, &cookie, now).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired(),
        Err(e) => return store_failed(&e),
    };
    let signed_in = match sign_in_with(&state, &form, peer.map(|p| p.ip()), now).await {
        Ok(signed_in) => signed_in,
        Err(refused) => {
            return login_page(
                &pending,
                request,
                &session.csrf,
                Some(&login_refused(refused)),
            );
        }
    };
    // Signing in again (a recent sign-in asked for) does not switch users: who consents stays
    // who was signed in.
    let authorize::SignedIn { sub, methods } = signed_in;
    if session
        .sub
        .as_ref()
        .is_some_and(|signed_in| *signed_in != sub)
    {
        return login_page(
            &pending,
            request,
            &session.csrf,
            Some("Sign in as the account already signed in in this browser."),
        );
    }
    // A new session id for the signed-in user (no fixation), with the request moved over.
    let renewed = async {
        core.browser.end(&cookie).await?;
        let (new_cookie, new_session) = core.browser.start(Some(sub), methods, now).await?;
        core.browser
            .rebind(request, &cookie, &new_cookie, now)
            .await?;
        Ok::<_, crate::store::StoreError>((new_cookie, new_session))
    };
    let (new_cookie, new_session) = match renewed.await {
        Ok(renewed) => renewed,
        Err(e) => return store_failed(&e),
    };
    let mut response = see_other(&format!(
        "/consent?request={}",
        form_urlencoded::byte_serialize(request.as_bytes()).collect::<String>()
    ));
    set_cookie(
        &state,
        &mut response,
        &new_cookie,
        new_session.expires_at - now,
    );
    response
}

/// `GET /consent?request=…`: the consent page of a signed-in user.
async fn consent_page(
    State(state): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let core = &state.core;
    let now = now();
    let request = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let (cookie, session) = match browser_session(core, &headers, now).await {
        Ok(Some(found)) => found,
        Ok(None) => return expired(),
        Err(page) => return page,
    };
    let pending = match core.browser.pending(&request, &cookie, now).await {
        Ok(pending) => pending,
        Err(e) => return store_failed(&e),
    };
    let (Some(sub), Some(pending)) = (session.sub.clone(), pending) else {
        return expired();
    };
    show_consent(
        &state,
        &request,
        &session,
        &sub,
        &pending,
        peer.map(|p| p.ip()),
        now,
    )
    .await
}

/// `POST /consent`: the user's answer; the browser goes back to the client.
async fn consent(
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
    let request = form.one("request").unwrap_or_default().to_owned();
    let allow = match form.one("decision") {
        Some("allow") => true,
        Some("deny") => false,
        _ => return bad_form(),
    };
    if session.sub.is_none() {
        return expired();
    }
    // Taken away as it is read: of two answers (a double click, two servers), one goes on.
    let pending = match core.browser.answer(&request, &cookie, now).await {
        Ok(Some(pending)) => pending,
        Ok(None) => return expired(),
        Err(e) => return store_failed(&e),
    };
    let answer = authorize::consent(
        core,
        &pending,
        &session,
        form.all("scope"),
        allow,
        peer.map(|p| p.ip()),
        now,
    )
    .await;
    match answer {
        Ok(url) => see_other(&url),
        Err(e) => stopped(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    fn hostile_card() -> ClientCard {
        ClientCard {
            name: TEXT.to_owned(),
            verified: false,
            registration: "Client ID metadata document",
            published_by: Some(TEXT.to_owned()),
            client_id: TEXT.to_owned(),
            audience: TEXT.to_owned(),
            returns_to: Some(TEXT.to_owned()),
        }
    }

    #[test]
    fn the_sign_in_page_escapes_the_client_and_the_error() {
        let html = SignInPage {
            card: hostile_card(),
            request: TEXT,
            csrf: TEXT,
            error: Some(TEXT),
            notice: Some(TEXT),
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        assert!(
            html.contains("role=\"status\" id=\"sign-in-notice\""),
            "{html}"
        );
        assert!(html.contains("role=\"alert\" id=\"login-error\""), "{html}");
        assert_eq!(html.matches("aria-describedby=\"login-error\"").count(), 3);
        assert_eq!(html.matches("<h1>").count(), 1);
    }

    #[test]
    fn the_consent_page_escapes_the_client_the_user_and_the_scopes() {
        let scopes = [TEXT.to_owned()];
        let html = ConsentPage {
            card: hostile_card(),
            user: TEXT,
            request: TEXT,
            csrf: TEXT,
            offered: &scopes,
            unavailable: &scopes,
        }
        .render()
        .expect("render");
        assert_escaped(&html);
        assert_eq!(html.matches("name=\"scope\"").count(), 1);
        assert!(html.contains("Returns you to"), "{html}");
        assert!(html.contains("has not verified"), "{html}");
    }
}
