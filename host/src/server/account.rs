//! `/account`: a signed-in user's own page, where a second factor is set up (an RFC 6238
//! authenticator app, shown as a QR code, confirmed with a code, with recovery codes shown once).
//! It uses the browser session of the sign-in pages (cookie, CSRF token in every form, `Origin`
//! checked); signing in here is the same sign-in as at `/authorize`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};

use super::html::{bad_form, login_refused, message_page, page, see_other, store_failed};
use super::http::Peer;
use super::session::{browser_session, posted_form, set_cookie, sign_in_with};
use super::state::AppState;
use crate::clock::now;
use crate::oauth::authorize::SignedIn;
use crate::oauth::second_factor::{self, SecondFactorError};
use crate::store::FlowKind;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(account))
        .route("/account/login", post(login))
        .route("/account/second-factor", post(second_factor))
}

/// How recent a sign-in must be to set up a second factor (seconds).
const ENROL_WITHIN_SECONDS: i64 = 300;

/// What the account page shows.
enum AccountView {
    /// The sign-in form.
    SignIn,
    /// The signed-in user and whether a second factor is on.
    Status { user: String, enrolled: bool },
    /// An enrolment under way: the key as a QR code and as text, and the confirmation form.
    Enrol { secret: String, qr_svg: String },
    /// The recovery codes, once.
    Recovery { codes: Vec<String> },
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    view: AccountView,
    csrf: &'a str,
    error: Option<&'a str>,
    notice: Option<&'a str>,
}

fn account_page(view: AccountView, csrf: &str, error: Option<&str>) -> Response {
    let status = if error.is_some() {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    page(
        status,
        &AccountPage {
            view,
            csrf,
            error,
            notice: None,
        },
    )
}

fn unavailable(e: &SecondFactorError) -> Response {
    match e {
        SecondFactorError::NoVault => message_page(
            409,
            "A second factor is not available",
            "This server keeps second factors sealed with its vault key, and it has none. Ask \
             its administrator to configure `vault`.",
        ),
        SecondFactorError::NotStarted => message_page(
            409,
            "Nothing to confirm",
            "Start setting up the second factor again from your account page.",
        ),
        SecondFactorError::AlreadyOn => message_page(
            409,
            "Your second factor is already on",
            "Sign-ins already ask for a code from your authenticator app. To replace it, ask an \
             administrator to reset it.",
        ),
        SecondFactorError::Unreadable(_)
        | SecondFactorError::Show(_)
        | SecondFactorError::Vault(_)
        | SecondFactorError::Store(_) => {
            tracing::error!(error = %e, "a second factor could not be read or stored");
            message_page(
                503,
                "Temporarily unavailable",
                "The server could not complete the request. Try again in a moment.",
            )
        }
    }
}

/// The user's display name: the configured user name, else the `sub`.
fn display_name(state: &AppState, sub: &str) -> String {
    state
        .core
        .directory()
        .users
        .get(sub)
        .and_then(|u| u.username.clone())
        .unwrap_or_else(|| sub.to_owned())
}

/// `GET /account`: the status for a signed-in session, else the sign-in form (on a new anonymous
/// session, whose cookie carries the form's CSRF token).
async fn account(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let core = &state.core;
    let now = now();
    let existing = match browser_session(core, &headers, now).await {
        Ok(existing) => existing,
        Err(page) => return page,
    };
    if let Some((_, session)) = &existing
        && let Some(sub) = &session.sub
    {
        return match second_factor::enrolled(core, sub).await {
            Ok(enrolled) => account_page(
                AccountView::Status {
                    user: display_name(&state, sub),
                    enrolled,
                },
                &session.csrf,
                None,
            ),
            Err(e) => unavailable(&e),
        };
    }
    match existing {
        Some((_, session)) => account_page(AccountView::SignIn, &session.csrf, None),
        None => match core.browser.start(None, Vec::new(), now).await {
            Ok((cookie, session)) => {
                let mut response = account_page(AccountView::SignIn, &session.csrf, None);
                set_cookie(&state, &mut response, &cookie, session.expires_at - now);
                response
            }
            Err(e) => store_failed(&e),
        },
    }
}

/// `POST /account/login`: signs in (with the code when the user has a second factor) on a new
/// session, then back to `/account`.
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
    let SignedIn { sub, methods } =
        match sign_in_with(&state, &form, peer.map(|p| p.ip()), now).await {
            Ok(signed_in) => signed_in,
            Err(refused) => {
                return account_page(
                    AccountView::SignIn,
                    &session.csrf,
                    Some(&login_refused(refused)),
                );
            }
        };
    let renewed = async {
        core.browser.end(&cookie).await?;
        core.browser.start(Some(sub), methods, now).await
    };
    match renewed.await {
        Ok((new_cookie, new_session)) => {
            let mut response = see_other("/account");
            set_cookie(
                &state,
                &mut response,
                &new_cookie,
                new_session.expires_at - now,
            );
            response
        }
        Err(e) => store_failed(&e),
    }
}

/// `POST /account/second-factor`: `action=start` begins an enrolment (only without a second
/// factor already on: replacing one is not offered here), `action=confirm` turns it on with a
/// code from the app and shows the recovery codes once.
async fn second_factor(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let core = &state.core;
    let now = now();
    let (form, _, session) = match posted_form(&state, &headers, &body, now).await {
        Ok(posted) => posted,
        Err(r) => return r,
    };
    let Some(sub) = session.sub.clone() else {
        return see_other("/account");
    };
    // Setting up a second factor needs a recent sign-in: a session left open, or a password
    // someone else learnt long after, is not enough to put their own app in place.
    let fresh = session
        .auth_time
        .is_some_and(|t| now.saturating_sub(t) <= ENROL_WITHIN_SECONDS);
    if !fresh {
        return account_page(
            AccountView::SignIn,
            &session.csrf,
            Some(
                "Sign in again: setting up a second factor needs a sign-in from the last 5 minutes.",
            ),
        );
    }
    let name = display_name(&state, &sub);
    match form.one("action") {
        Some("start") => match second_factor::begin(core, &sub, &name, now).await {
            Ok(enrolment) => account_page(
                AccountView::Enrol {
                    secret: enrolment.secret,
                    qr_svg: enrolment.qr_svg,
                },
                &session.csrf,
                None,
            ),
            Err(e) => unavailable(&e),
        },
        Some("confirm") => {
            let code = form.one("code").unwrap_or_default();
            match second_factor::confirm(core, &sub, code, now).await {
                Ok(Some(codes)) => {
                    // Every browser session of the user ends, this one included: from now on a
                    // sign-in needs the code.
                    if let Err(e) = core.store.delete_flows_of(FlowKind::Session, &sub).await {
                        return store_failed(&e);
                    }
                    account_page(AccountView::Recovery { codes }, &session.csrf, None)
                }
                // The key is not shown again: a new one is set up instead.
                Ok(None) => account_page(
                    AccountView::Status {
                        user: name,
                        enrolled: false,
                    },
                    &session.csrf,
                    Some(
                        "That code was not the one your app showed. Set up the second factor again (with a new key).",
                    ),
                ),
                Err(e) => unavailable(&e),
            }
        }
        _ => bad_form(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::html::hostile::{TEXT, assert_escaped};

    #[test]
    fn the_account_page_escapes_the_user_the_codes_and_the_error() {
        for view in [
            AccountView::SignIn,
            AccountView::Status {
                user: TEXT.to_owned(),
                enrolled: false,
            },
            AccountView::Recovery {
                codes: vec![TEXT.to_owned()],
            },
            AccountView::Enrol {
                secret: TEXT.to_owned(),
                qr_svg: "<svg></svg>".to_owned(),
            },
        ] {
            let html = AccountPage {
                view,
                csrf: TEXT,
                error: Some(TEXT),
                notice: Some(TEXT),
            }
            .render()
            .expect("render");
            assert_escaped(&html);
            assert_eq!(html.matches("<h1>").count(), 1);
        }
    }
}
