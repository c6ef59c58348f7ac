//! Browser sessions and the authorization requests under way in them.
//!
//! They live in the store, so a restart signs nobody out and any server sharing the store can
//! take the next step of a flow another began. A session is stored under the SHA-256 of its
//! cookie, never the cookie; a request under its random id, with the digest of the session it
//! belongs to as its owner.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::authorization_request::Validated;
use super::secrets::{random_id, token_hash};
use crate::store::{FlowKind, FlowRecord, Store, StoreError};

/// How long a user has to log in and consent (seconds).
const REQUEST_TTL: i64 = 600;
/// Anonymous sessions, and requests, kept at most across every server sharing the store; beyond
/// this, expired ones go first, then those closest to expiry. Signed-in sessions never give way
/// to them.
pub(crate) const MAX_PENDING: i64 = 10_000;
/// Signed-in sessions one user keeps at most (signing in again elsewhere ends the oldest).
pub(crate) const SESSIONS_PER_USER: i64 = 32;
/// Requests one browser session keeps under way at most (a new one ends the oldest).
pub(crate) const REQUESTS_PER_SESSION: i64 = 16;

/// A browser session: anonymous until its user logs in. Its CSRF token goes into every form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// The signed-in user.
    pub sub: Option<String>,
    /// The form token.
    pub csrf: String,
    /// When the user signed in (Unix seconds): the tokens' `auth_time`.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// How the user signed in: the tokens' `amr` values (`pwd`).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Unix seconds.
    #[serde(skip)]
    pub expires_at: i64,
}

/// Sessions and requests under way, in the store.
#[derive(Debug)]
pub struct Browser {
    store: Arc<dyn Store>,
    session_ttl: i64,
}

impl Browser {
    /// Sessions lasting `session_ttl` seconds, kept in `store`.
    pub fn new(store: Arc<dyn Store>, session_ttl: i64) -> Browser {
        Browser { store, session_ttl }
    }

    /// The session behind a cookie value, while it lasts.
    pub async fn session(&self, cookie: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let Some(flow) = self
            .store
            .get_flow(FlowKind::Session, &token_hash(cookie), now)
            .await?
        else {
            return Ok(None);
        };
        // One that does not read back (stored by another version) is as good as gone.
        Ok(serde_json::from_str::<Session>(&flow.body)
            .ok()
            .map(|session| Session {
                expires_at: flow.expires_at,
                ..session
            }))
    }

    /// Starts a session; returns the cookie value and the session. A login starts a new one, so
    /// an id planted before the login is worth nothing after it; it records the sign-in's time
    /// and `methods` (`amr`: `pwd`, `otp`) for the tokens and for policies (`auth.*`).
    pub async fn start(
        &self,
        sub: Option<String>,
        methods: Vec<String>,
        now: i64,
    ) -> Result<(String, Session), StoreError> {
        let cookie = random_id();
        let ttl = if sub.is_some() {
            self.session_ttl
        } else {
            REQUEST_TTL
        };
        let signed_in = sub.is_some();
        let session = Session {
            sub,
            csrf: random_id(),
            auth_time: signed_in.then_some(now),
            methods: if signed_in { methods } else { Vec::new() },
            expires_at: now.saturating_add(ttl),
        };
        let flow = FlowRecord {
            kind: FlowKind::Session,
            id: token_hash(&cookie),
            owner: session.sub.clone(),
            body: serde_json::to_string(&session)?,
            // A flood of new visitors cannot sign anyone out.
            evictable: session.sub.is_none(),
            expires_at: session.expires_at,
        };
        self.store
            .put_flow(&flow, MAX_PENDING, SESSIONS_PER_USER, now)
            .await?;
        Ok((cookie, session))
    }

    /// Ends a session.
    pub async fn end(&self, cookie: &str) -> Result<(), StoreError> {
        self.store
            .delete_flow(FlowKind::Session, &token_hash(cookie))
            .await?;
        Ok(())
    }

    /// Keeps a validated request for the session behind `cookie`; returns its id.
    pub async fn begin(
        &self,
        request: &Validated,
        cookie: &str,
        now: i64,
    ) -> Result<String, StoreError> {
        let id = random_id();
        self.put_request(&id, request, cookie, now.saturating_add(REQUEST_TTL), now)
            .await?;
        Ok(id)
    }

    async fn put_request(
        &self,
        id: &str,
        request: &Validated,
        cookie: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<(), StoreError> {
        let flow = FlowRecord {
            kind: FlowKind::Request,
            id: id.to_owned(),
            owner: Some(token_hash(cookie)),
            body: serde_json::to_string(request)?,
            evictable: true,
            expires_at,
        };
        self.store
            .put_flow(&flow, MAX_PENDING, REQUESTS_PER_SESSION, now)
            .await
    }

    /// The request `id`, if it belongs to the session behind `cookie` and has not expired.
    pub async fn pending(
        &self,
        id: &str,
        cookie: &str,
        now: i64,
    ) -> Result<Option<Validated>, StoreError> {
        let Some(flow) = self.store.get_flow(FlowKind::Request, id, now).await? else {
            return Ok(None);
        };
        if !same_session(flow.owner.as_deref(), cookie) {
            return Ok(None);
        }
        Ok(serde_json::from_str(&flow.body).ok())
    }

    /// Moves the request `id` of the session `from` to the session `to` (after a login renewed
    /// it).
    pub async fn rebind(&self, id: &str, from: &str, to: &str, now: i64) -> Result<(), StoreError> {
        let Some(flow) = self.store.get_flow(FlowKind::Request, id, now).await? else {
            return Ok(());
        };
        if !same_session(flow.owner.as_deref(), from) {
            return Ok(());
        }
        // Only if it is still there and still `from`'s: a request answered meanwhile (at
        // another server) stays answered.
        let moved = FlowRecord {
            owner: Some(token_hash(to)),
            ..flow
        };
        self.store
            .update_flow(&moved, &token_hash(from), now)
            .await?;
        Ok(())
    }

    /// Takes the request `id` of the session behind `cookie` away, as one step: a request is
    /// answered once, whichever server the answers reach.
    pub async fn answer(
        &self,
        id: &str,
        cookie: &str,
        now: i64,
    ) -> Result<Option<Validated>, StoreError> {
        let taken = self
            .store
            .take_flow(FlowKind::Request, id, &token_hash(cookie), now)
            .await?;
        Ok(taken.and_then(|flow| serde_json::from_str(&flow.body).ok()))
    }

    /// Drops the request `id` (refused before the user could answer).
    pub async fn finish(&self, id: &str) -> Result<(), StoreError> {
        self.store.delete_flow(FlowKind::Request, id).await?;
        Ok(())
    }
}

/// Whether a request's owner is the session behind `cookie` (compared in constant time).
fn same_session(owner: Option<&str>, cookie: &str) -> bool {
    owner.is_some_and(|owner| {
        bool::from(subtle::ConstantTimeEq::ct_eq(
            owner.as_bytes(),
            token_hash(cookie).as_bytes(),
        ))
    })
}
