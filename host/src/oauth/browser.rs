//! Browser sessions and the authorization requests under way in them.
//!
//! They live in this process's memory: a restart signs users out and drops unfinished requests
//! (the client simply starts again).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::authorization_request::Validated;
use super::secrets::{random_id, token_hash};

/// How long a user has to log in and consent (seconds).
const REQUEST_TTL: i64 = 600;
/// Sessions and requests kept at most (signed-in sessions excepted); beyond this, expired ones
/// go first, then the oldest requests and anonymous sessions.
pub(crate) const MAX_PENDING: usize = 10_000;

/// A browser session: anonymous until its user logs in. Its CSRF token goes into every form.
#[derive(Debug, Clone)]
pub struct Session {
    /// The signed-in user.
    pub sub: Option<String>,
    /// The form token.
    pub csrf: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// A validated authorization request waiting for its user, in one browser session.
#[derive(Debug)]
struct Pending {
    /// The request (for a metadata document client, its document as it was at the time).
    request: Validated,
    /// The session it belongs to (digest of the session id).
    session: String,
    /// Unix seconds.
    expires_at: i64,
}

/// Sessions and requests under way.
#[derive(Debug)]
pub struct Browser {
    sessions: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, Pending>>,
    session_ttl: i64,
}

impl Browser {
    /// Empty, with sessions lasting `session_ttl` seconds.
    pub fn new(session_ttl: i64) -> Browser {
        Browser {
            sessions: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            session_ttl,
        }
    }

    /// The session behind a cookie value, while it lasts.
    pub fn session(&self, cookie: &str, now: i64) -> Option<Session> {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&token_hash(cookie))
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    /// Starts a session; returns the cookie value and the session. A login starts a new one, so
    /// an id planted before the login is worth nothing after it.
    pub fn start(&self, sub: Option<String>, now: i64) -> (String, Session) {
        let cookie = random_id();
        let ttl = if sub.is_some() {
            self.session_ttl
        } else {
            REQUEST_TTL
        };
        let session = Session {
            sub,
            csrf: random_id(),
            expires_at: now.saturating_add(ttl),
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        if sessions.len() >= MAX_PENDING {
            sessions.retain(|_, s| s.expires_at > now);
        }
        // Still full (a flood of new visitors): the anonymous session closest to expiry goes;
        // signed-in users keep theirs.
        if sessions.len() >= MAX_PENDING
            && let Some(oldest) = sessions
                .iter()
                .filter(|(_, s)| s.sub.is_none())
                .min_by_key(|(_, s)| s.expires_at)
                .map(|(k, _)| k.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(token_hash(&cookie), session.clone());
        (cookie, session)
    }

    /// Ends a session.
    pub fn end(&self, cookie: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&token_hash(cookie));
    }

    /// Keeps a validated request for the session behind `cookie`; returns its id.
    pub fn begin(&self, request: Validated, cookie: &str, now: i64) -> String {
        let id = random_id();
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        if pending.len() >= MAX_PENDING {
            pending.retain(|_, p| p.expires_at > now);
        }
        if pending.len() >= MAX_PENDING
            && let Some(oldest) = pending
                .iter()
                .min_by_key(|(_, p)| p.expires_at)
                .map(|(k, _)| k.clone())
        {
            pending.remove(&oldest);
        }
        pending.insert(
            id.clone(),
            Pending {
                request,
                session: token_hash(cookie),
                expires_at: now + REQUEST_TTL,
            },
        );
        id
    }

    /// The request `id`, if it belongs to the session behind `cookie` and has not expired.
    pub fn pending(&self, id: &str, cookie: &str, now: i64) -> Option<Validated> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .filter(|p| p.expires_at > now && p.session == token_hash(cookie))
            .map(|p| p.request.clone())
    }

    /// Moves the request `id` to the session behind `cookie` (after a login renewed it).
    pub fn rebind(&self, id: &str, cookie: &str) {
        if let Some(p) = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get_mut(id)
        {
            p.session = token_hash(cookie);
        }
    }

    /// Takes the request `id` away: a request is answered once.
    pub fn finish(&self, id: &str) {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::{Browser, MAX_PENDING};

    #[test]
    fn a_flood_of_visitors_cannot_grow_the_sessions_or_sign_anyone_out() {
        let browser = Browser::new(3600);
        let (user, _) = browser.start(Some("u-1".into()), 0);
        for _ in 0..MAX_PENDING + 50 {
            browser.start(None, 1);
        }
        let count = browser
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len();
        assert!(count <= MAX_PENDING, "{count} sessions");
        assert!(browser.session(&user, 2).is_some_and(|s| s.sub.is_some()));
    }
}
