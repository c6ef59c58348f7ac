//! The audit trail: every token issued or refused, every decision (with its explanation and the
//! policy-set version) and every admin change. Kept in the store and streamed as JSON lines to a
//! file or stdout. No secret or token is ever recorded: tokens appear by `jti` (or hash) only.
//!
//! Token-path events go through a channel to one writer task that stores them in batches, so the
//! token endpoint never waits on the audit; admin changes are written before the change is
//! acknowledged.

use std::io::Write as _;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::mpsc;
use tollgate_engine::Decision;

use crate::store::{NewAuditRecord, Store};

/// One audit event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// An access token was issued.
    TokenIssued {
        /// The client.
        client_id: String,
        /// The subject.
        sub: String,
        /// The engine grant type.
        grant_type: &'static str,
        /// The token's audience.
        audience: String,
        /// The granted scopes.
        scope: String,
        /// The token's id (never the token).
        jti: String,
        /// An exchanged token's `act` chain: who acts for the subject (RFC 8693 §4.1).
        #[serde(skip_serializing_if = "Option::is_none")]
        act: Option<Box<serde_json::Value>>,
    },
    /// A token request was refused.
    TokenRefused {
        /// The authenticated client.
        client_id: String,
        /// The grant type asked for.
        grant_type: String,
        /// The OAuth error code.
        error: &'static str,
        /// Its description.
        description: String,
    },
    /// The policy engine decided.
    Decision {
        /// The client.
        client_id: String,
        /// The engine grant type.
        grant_type: &'static str,
        /// The target id.
        target: String,
        /// The policy-set version that decided.
        policy_version: u64,
        /// The decision and its explanation (boxed: the largest event by far).
        decision: Box<Decision<'static>>,
    },
    /// A connection credential was asked for by token exchange: released or refused. Never the
    /// secret.
    CredentialAccess {
        /// The client that asked.
        client_id: String,
        /// Who the credential is for: the subject token's user, or its client.
        sub: String,
        /// The connection.
        connection: String,
        /// Whose credential: `user:<sub>` or `tenant:<id>` (absent when refused before choosing).
        #[serde(skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// The granted scopes (oauth connections).
        #[serde(skip_serializing_if = "Option::is_none")]
        scope: Option<String>,
        /// Whether the credential was handed out.
        released: bool,
        /// Why not, when refused.
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A user linked (or re-linked) a connection through the connect flow.
    CredentialLinked {
        /// The connection.
        connection: String,
        /// The owner (`user:<sub>`).
        owner: String,
        /// The scopes the provider granted.
        scope: String,
    },
    /// The admin API put or removed a credential.
    CredentialChange {
        /// `put` or `delete`.
        action: &'static str,
        /// The connection.
        connection: String,
        /// The owner.
        owner: String,
    },
    /// A rotated refresh token was used again; its family was revoked.
    RefreshReuse {
        /// The client.
        client_id: String,
        /// The family id (a hash).
        family: String,
    },
    /// An authorization code came back after it was used: what it issued was revoked.
    CodeReplay {
        /// The client.
        client_id: String,
        /// The code's family id (a hash).
        family: String,
    },
    /// Someone tried to sign in at the authorization endpoint. Never the password.
    Login {
        /// The user name given.
        username: String,
        /// The user, when the sign-in succeeded.
        #[serde(skip_serializing_if = "Option::is_none")]
        sub: Option<String>,
        /// Whether it succeeded.
        succeeded: bool,
    },
    /// A user answered a consent page.
    Consent {
        /// The client.
        client_id: String,
        /// The user.
        sub: String,
        /// The resource.
        resource: String,
        /// What was granted with the user's consent (empty: denied).
        granted: String,
    },
    /// A client registered itself, or changed or removed its registration (RFC 7591, 7592).
    ClientRegistration {
        /// `register`, `update` or `delete`.
        action: &'static str,
        /// The client.
        client_id: String,
    },
    /// A token was revoked.
    TokenRevoked {
        /// The client that revoked it.
        client_id: String,
        /// `access` or `refresh`.
        kind: &'static str,
        /// The jti, or the refresh family (a hash).
        id: String,
    },
    /// A user was signed out everywhere: sessions ended, tokens revoked.
    SignOut {
        /// The user.
        sub: String,
        /// Browser sessions ended.
        sessions: u64,
        /// Tokens revoked.
        tokens: usize,
        /// Who: `admin-api` or `console:<sub>`.
        by: String,
    },
    /// The admin API rotated the signing key.
    KeyRotation {
        /// The new active key.
        kid: String,
        /// Its algorithm.
        algorithm: &'static str,
    },
    /// The admin API or the console changed an entity.
    AdminChange {
        /// `create`, `update` or `delete`; for a client's state, the action: `disable`, `enable`,
        /// `verify`, `unverify` or `rotate-secret`.
        action: &'static str,
        /// The entity kind.
        kind: String,
        /// Its id.
        id: String,
        /// The policy-set version after the change.
        policy_version: u64,
        /// Who: `admin-api` (the admin bearer token) or `console:<sub>`.
        by: String,
        /// A policy as it stands after the change (absent for a deletion and other kinds), for
        /// the console's history of a policy. Never a secret: those are split off before.
        #[serde(skip_serializing_if = "Option::is_none")]
        policy: Option<Box<serde_json::Value>>,
    },
}

impl Event {
    /// The client and the user the event concerns, and the entity it changed (`kind:id`): what
    /// the audit search filters on.
    fn concerns(&self) -> (Option<&str>, Option<&str>, Option<String>) {
        match self {
            Event::TokenIssued { client_id, sub, .. } | Event::Consent { client_id, sub, .. } => {
                (Some(client_id), Some(sub), None)
            }
            Event::CredentialAccess {
                client_id,
                sub,
                connection,
                ..
            } => (
                Some(client_id),
                Some(sub),
                Some(format!("connection:{connection}")),
            ),
            Event::TokenRefused { client_id, .. }
            | Event::Decision { client_id, .. }
            | Event::RefreshReuse { client_id, .. }
            | Event::CodeReplay { client_id, .. }
            | Event::ClientRegistration { client_id, .. }
            | Event::TokenRevoked { client_id, .. } => (Some(client_id), None, None),
            Event::CredentialLinked {
                owner, connection, ..
            }
            | Event::CredentialChange {
                owner, connection, ..
            } => (
                None,
                owner.strip_prefix("user:"),
                Some(format!("connection:{connection}")),
            ),
            Event::Login { sub, .. } => (None, sub.as_deref(), None),
            Event::SignOut { sub, .. } => (None, Some(sub), Some(format!("user:{sub}"))),
            Event::AdminChange { kind, id, .. } => (
                (kind == "client").then_some(id.as_str()),
                (kind == "user").then_some(id.as_str()),
                Some(format!("{kind}:{id}")),
            ),
            Event::KeyRotation { .. } => (None, None, None),
        }
    }

    /// The event as the store appends it.
    fn record(&self, at: i64) -> NewAuditRecord<'_> {
        let (client_id, sub, entity) = self.concerns();
        NewAuditRecord {
            at,
            event: self.name(),
            client_id,
            sub,
            entity,
            body: body(self),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Event::TokenIssued { .. } => "token_issued",
            Event::TokenRefused { .. } => "token_refused",
            Event::Decision { .. } => "decision",
            Event::RefreshReuse { .. } => "refresh_reuse",
            Event::CredentialAccess { .. } => "credential_access",
            Event::CredentialLinked { .. } => "credential_linked",
            Event::CredentialChange { .. } => "credential_change",
            Event::TokenRevoked { .. } => "token_revoked",
            Event::CodeReplay { .. } => "code_replay",
            Event::Login { .. } => "login",
            Event::Consent { .. } => "consent",
            Event::ClientRegistration { .. } => "client_registration",
            Event::AdminChange { .. } => "admin_change",
            Event::KeyRotation { .. } => "key_rotation",
            Event::SignOut { .. } => "sign_out",
        }
    }
}

/// How long the writer waits after a batch before taking the next one.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);
/// The most events one batch (one transaction) takes. A commit to PostgreSQL waits for its WAL
/// to reach the disk (milliseconds on a slow one), so a batch must carry as many events as the
/// token endpoint issues meanwhile: 4,096 per commit keeps up with well over 100,000 a second.
const BATCH: usize = 4096;

/// Where the JSON lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    /// Nowhere (the store only).
    None,
    /// Standard output.
    Stdout,
    /// A file, appended to.
    File(std::path::PathBuf),
}

/// What the writer task receives: an event, or a request to say when everything before it is
/// stored.
enum Message {
    Event(i64, Event),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// Events the queue to the writer task holds at most.
pub const QUEUE_CAPACITY: usize = 65_536;
/// Above this many queued events the OAuth endpoints refuse new requests (503 with
/// `Retry-After`) instead of accepting work whose audit could not be queued. The margin above it
/// exceeds what the requests already admitted can still record (the connection limit times the
/// few events one request records), so an admitted request's events always find room.
pub const QUEUE_HIGH_WATER: usize = QUEUE_CAPACITY - 16_384;

/// Cuts an attacker-controlled string to at most `max` bytes (at a character boundary, marked
/// with `…`) before it goes into an audit event or an error description.
pub fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 3);
    out.push_str(text.get(..end).unwrap_or_default());
    out.push('…');
    out
}

/// Records audit events.
#[derive(Clone)]
pub struct Auditor {
    tx: mpsc::Sender<Message>,
    store: Arc<dyn Store>,
    sink: Arc<std::sync::Mutex<Option<Box<dyn std::io::Write + Send>>>>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor").finish_non_exhaustive()
    }
}

fn now() -> i64 {
    crate::clock::now()
}

impl Auditor {
    /// Starts the writer task.
    pub fn start(store: Arc<dyn Store>, sink: Sink) -> std::io::Result<Auditor> {
        let writer: Option<Box<dyn std::io::Write + Send>> = match sink {
            Sink::None => None,
            // Buffered: a batch goes out in a few writes, flushed at the end of the batch.
            Sink::Stdout => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
            Sink::File(path) => Some(Box::new(std::io::BufWriter::with_capacity(
                64 * 1024,
                crate::files::open_private_append(&path)?,
            ))),
        };
        let (tx, mut rx) = mpsc::channel::<Message>(QUEUE_CAPACITY);
        let auditor = Auditor {
            tx,
            store: Arc::clone(&store),
            sink: Arc::new(std::sync::Mutex::new(writer)),
        };
        let background = auditor.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let mut events = Vec::with_capacity(BATCH);
            let mut waiting = Vec::new();
            // Whatever queued up while the last batch was written goes in one transaction.
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                for message in batch.drain(..) {
                    match message {
                        Message::Event(at, event) => events.push((at, event)),
                        Message::Flush(done) => waiting.push(done),
                    }
                }
                if !events.is_empty() {
                    background.persist_batch(&events).await;
                    events.clear();
                }
                for done in waiting.drain(..) {
                    let _ = done.send(());
                }
                // Let events gather for a moment: under load the next batch is then hundreds of
                // events for one wake-up of this task, instead of one wake-up (a futex call on
                // the recording thread) per request.
                tokio::time::sleep(GATHER).await;
            }
        });
        Ok(auditor)
    }

    /// Records an event without waiting for it to be stored. The endpoints admit a request only
    /// while [`Auditor::saturated`] is false, which leaves room for every event an admitted
    /// request records; should the queue be full all the same, the event is written by a task of
    /// its own rather than dropped.
    pub fn record(&self, event: Event) {
        self.record_event(now(), event);
    }

    fn record_event(&self, at: i64, event: Event) {
        match self.tx.try_send(Message::Event(at, event)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(message)) => {
                metrics::counter!("tollgate_audit_queue_full_total").increment(1);
                let tx = self.tx.clone();
                tokio::spawn(async move {
                    let _ = tx.send(message).await;
                });
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                tracing::error!("the audit writer has stopped; an event could not be recorded");
            }
        }
    }

    /// Whether the queue is so full that new requests must wait (answered 503).
    pub fn saturated(&self) -> bool {
        QUEUE_CAPACITY - self.tx.capacity() > QUEUE_HIGH_WATER
    }

    /// Waits until every event recorded before this call is stored and streamed.
    pub async fn flush(&self) {
        let (done, stored) = tokio::sync::oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }

    /// Records an event that happened at `at` (unix seconds) and waits until it is stored (admin
    /// changes, which carry their request's time).
    pub async fn record_at(&self, at: i64, event: Event) {
        self.persist(at, &event).await;
    }

    /// Each event is serialized once: the same JSON text goes to the store and into the line.
    async fn persist_batch(&self, events: &[(i64, Event)]) {
        let rows: Vec<NewAuditRecord<'_>> = events.iter().map(|(at, e)| e.record(*at)).collect();
        // Never dropped: while the store cannot take them, the batch is tried again (with a
        // growing pause), the queue fills up behind it, and once it passes its high-water mark
        // the endpoints refuse new requests (503) instead of doing work that would go unaudited.
        let mut pause = std::time::Duration::from_millis(50);
        loop {
            match self.store.append_audit_batch(&rows).await {
                Ok(()) => break,
                Err(e) if e.is_unavailable() => {
                    tracing::error!(error = %e, events = rows.len(), "cannot store audit events; trying again");
                    metrics::counter!("tollgate_audit_store_failures_total").increment(1);
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_secs(5));
                }
                Err(e) => {
                    // Not the database's absence: one by one, so that one event the store
                    // refuses cannot hold up the rest. One refused again is logged in full.
                    tracing::error!(error = %e, events = rows.len(), "an audit batch was refused; storing its events one by one");
                    for row in &rows {
                        if let Err(e) = self.store.append_audit(row).await {
                            metrics::counter!("tollgate_audit_events_refused_total").increment(1);
                            tracing::error!(error = %e, at = row.at, event = row.event, body = row.body, "the store refused an audit event");
                        }
                    }
                    break;
                }
            }
        }
        if let Ok(mut sink) = self.sink.lock()
            && let Some(w) = sink.as_mut()
        {
            for row in &rows {
                let _ = writeln!(w, "{{\"at\":{},\"audit\":{}}}", row.at, row.body);
            }
            let _ = w.flush();
        }
    }

    async fn persist(&self, at: i64, event: &Event) {
        let row = event.record(at);
        if let Err(e) = self.store.append_audit(&row).await {
            // The writer task keeps trying until the store takes it (the sink gets it then).
            tracing::error!(error = %e, "cannot store an audit event; queued to try again");
            self.record_event(at, event.clone());
            return;
        }
        if let Ok(mut sink) = self.sink.lock()
            && let Some(w) = sink.as_mut()
        {
            let _ = writeln!(w, "{{\"at\":{at},\"audit\":{}}}", row.body);
            let _ = w.flush();
        }
    }
}

/// An event as JSON text (`null` should it ever fail to serialize).
fn body(event: &Event) -> String {
    serde_json::to_string(event).unwrap_or_else(|_| "null".into())
}
