//! The audit log in the console: filtered by client, user, event and time, newest first, a page
//! at a time; and its live tail (`GET /console/audit/events?after=…`, JSON), which the console
//! script polls to add new events to the top of the page.

use askama::Template;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::chrome::{Chrome, Section, encode, query_param, when};
use super::session::signed_in;
use crate::server::html::{console_page, store_failed};
use crate::server::http::no_store;
use crate::server::state::AppState;
use crate::store::{AuditFilter, AuditRecord};

/// Events one page shows.
const PAGE: i64 = 50;

/// The event names, for the filter.
const EVENTS: [&str; 15] = [
    "token_issued",
    "token_refused",
    "decision",
    "credential_access",
    "credential_linked",
    "credential_change",
    "token_revoked",
    "refresh_reuse",
    "code_replay",
    "login",
    "consent",
    "client_registration",
    "admin_change",
    "key_rotation",
    "sign_out",
];

/// One event as the pages show it.
#[derive(Debug, Serialize)]
pub(super) struct Line {
    pub(super) seq: i64,
    pub(super) at: String,
    pub(super) event: String,
    pub(super) client: String,
    pub(super) user: String,
    pub(super) summary: String,
}

fn text(body: &Value, key: &str) -> String {
    match body.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// An `act` chain as `a ← b ← c` (the actor, then whoever it acts for in turn).
fn chain(act: &Value) -> String {
    let mut parts = Vec::new();
    let mut at = Some(act);
    while let Some(a) = at {
        let who = a
            .get("client_id")
            .or_else(|| a.get("sub"))
            .and_then(Value::as_str)
            .unwrap_or("?");
        parts.push(who.to_owned());
        at = a.get("act");
        if parts.len() > 16 {
            break;
        }
    }
    parts.join(" ← ")
}

/// What an event says, in one line.
pub(super) fn summary(event: &str, body: &Value) -> String {
    let t = |k: &str| text(body, k);
    match event {
        "token_issued" => {
            let mut s = format!("{} for {}: {}", t("grant_type"), t("audience"), t("scope"));
            if let Some(act) = body.get("act") {
                s.push_str(&format!(" (acting: {})", chain(act)));
            }
            s
        }
        "token_refused" => format!("{}: {} — {}", t("grant_type"), t("error"), t("description")),
        "decision" => {
            let decision = body.get("decision");
            let granted = decision
                .and_then(|d| d.get("granted"))
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            let permitted = decision
                .and_then(|d| d.get("permitted"))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            format!(
                "{} on {}: {} {}",
                t("grant_type"),
                t("target"),
                if permitted { "permitted" } else { "refused" },
                granted
            )
        }
        "credential_access" => format!(
            "{} for {}: {}{}",
            t("connection"),
            t("owner"),
            if body.get("released").and_then(Value::as_bool) == Some(true) {
                "released"
            } else {
                "refused"
            },
            match t("error") {
                e if e.is_empty() => String::new(),
                e => format!(" — {e}"),
            }
        ),
        "credential_linked" => format!(
            "{} linked by {}: {}",
            t("connection"),
            t("owner"),
            t("scope")
        ),
        "credential_change" => format!("{} {} for {}", t("action"), t("connection"), t("owner")),
        "token_revoked" => format!("{} token revoked", t("kind")),
        "login" => format!(
            "{} {}",
            t("username"),
            if body.get("succeeded").and_then(Value::as_bool) == Some(true) {
                "signed in"
            } else {
                "failed to sign in"
            }
        ),
        "consent" => format!("{}: granted {}", t("resource"), t("granted")),
        "client_registration" => t("action"),
        "admin_change" => format!(
            "{} {} {} by {} (policy set {})",
            t("action"),
            t("kind"),
            t("id"),
            t("by"),
            t("policy_version")
        ),
        "key_rotation" => format!("{} key {}", t("algorithm"), t("kid")),
        "sign_out" => format!(
            "signed out everywhere by {}: {} sessions ended, {} tokens revoked",
            t("by"),
            t("sessions"),
            t("tokens")
        ),
        _ => t("description"),
    }
}

impl Line {
    pub(super) fn of(r: &AuditRecord) -> Line {
        Line {
            seq: r.seq,
            at: when(r.at),
            event: r.event.clone(),
            client: text(&r.body, "client_id"),
            user: text(&r.body, "sub"),
            summary: summary(&r.event, &r.body),
        }
    }
}

/// The filter of a query string; `before`/`after` page it.
fn filter_of(query: Option<&str>) -> (AuditFilter, Vec<String>) {
    let mut problems = Vec::new();
    let mut time = |name: &str| {
        let text = query_param(query, name)?;
        let parsed = text.parse::<jiff::Timestamp>().or_else(|_| {
            text.parse::<jiff::civil::DateTime>()
                .and_then(|dt| dt.to_zoned(jiff::tz::TimeZone::UTC))
                .map(|z| z.timestamp())
        });
        match parsed {
            Ok(t) => Some(t.as_second()),
            Err(_) => {
                problems.push(format!("{name}: `{text}` is not a date and time"));
                None
            }
        }
    };
    let from = time("from");
    let to = time("to");
    let number = |name: &str| query_param(query, name).and_then(|v| v.parse().ok());
    let filter = AuditFilter {
        client_id: query_param(query, "client"),
        sub: query_param(query, "user"),
        entity: None,
        event: query_param(query, "event"),
        from,
        to,
        after: number("after"),
        before: number("before"),
        oldest_first: false,
    };
    (filter, problems)
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    events: Vec<&'static str>,
    lines: Vec<Line>,
    client: String,
    user: String,
    event: String,
    from: String,
    to: String,
    problems: Vec<String>,
    /// The next page's query string.
    older: Option<String>,
    /// The query string of the live tail's filters.
    tail: String,
}

/// `GET /console/audit`.
pub(super) async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let path = format!("/console/audit?{}", query.as_deref().unwrap_or_default());
    let staff = match signed_in(&state, &headers, &path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let q = query.as_deref();
    let (filter, problems) = filter_of(q);
    let records = match state.core.store.audit_search(&filter, PAGE).await {
        Ok(records) => records,
        Err(e) => return store_failed(&e),
    };
    let keep = |name: &str| query_param(q, name).unwrap_or_default();
    let filters: String = ["client", "user", "event", "from", "to"]
        .iter()
        .filter_map(|k| query_param(q, k).map(|v| format!("{k}={}", encode(&v))))
        .collect::<Vec<_>>()
        .join("&");
    let older = (records.len() == usize::try_from(PAGE).unwrap_or(usize::MAX))
        .then(|| records.last().map(|r| r.seq))
        .flatten()
        .map(|seq| {
            if filters.is_empty() {
                format!("before={seq}")
            } else {
                format!("{filters}&before={seq}")
            }
        });
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    console_page(
        status,
        &AuditPage {
            chrome: Chrome::of(&staff, Section::Audit),
            events: EVENTS.to_vec(),
            lines: records.iter().map(Line::of).collect(),
            client: keep("client"),
            user: keep("user"),
            event: keep("event"),
            from: keep("from"),
            to: keep("to"),
            problems,
            older,
            tail: filters,
        },
    )
}

/// `GET /console/audit/events?after=SEQ&…`: the next events after `after` matching the filters,
/// oldest first, at most [`PAGE`], as JSON for the live tail (`{"events", "more"}`: `more` when
/// the page came full). A signed-out caller gets 401, not the sign-in page.
pub(super) async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if signed_in(&state, &headers, "/console/audit").await.is_err() {
        return no_store(
            (
                StatusCode::UNAUTHORIZED,
                Json(serde_json::json!({"error": "sign in to the console"})),
            )
                .into_response(),
        );
    }
    let (mut filter, problems) = filter_of(query.as_deref());
    // Read on from `after`, oldest first: the script asks again at once while pages come full,
    // so no event is skipped however many arrive between two polls.
    filter.oldest_first = true;
    if !problems.is_empty() || filter.after.is_none() {
        return no_store(
            (
                StatusCode::BAD_REQUEST,
                Json(serde_json::json!({"error": "`after` (a sequence number) is required"})),
            )
                .into_response(),
        );
    }
    match state.core.store.audit_search(&filter, PAGE).await {
        Ok(records) => {
            let more = records.len() == usize::try_from(PAGE).unwrap_or(usize::MAX);
            let lines: Vec<Line> = records.iter().map(Line::of).collect();
            no_store(Json(serde_json::json!({ "events": lines, "more": more })).into_response())
        }
        Err(e) => {
            tracing::warn!(error = %e, "the audit tail could not be read");
            no_store(
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(serde_json::json!({"error": "the store is unavailable"})),
                )
                    .into_response(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn act_chains_read_from_the_actor_outwards() {
        let act = json!({"client_id": "mcp", "act": {"client_id": "agent"}});
        assert_eq!(chain(&act), "mcp ← agent");
        assert!(
            summary(
                "token_issued",
                &json!({"grant_type": "token_exchange", "audience": "a", "scope": "s", "act": act})
            )
            .ends_with("(acting: mcp ← agent)")
        );
    }

    #[test]
    fn the_filter_reads_times_as_utc() {
        let (f, problems) = filter_of(Some("client=c&from=2026-01-01T00:00&to=nope"));
        assert_eq!(f.client_id.as_deref(), Some("c"));
        assert_eq!(f.from, Some(1_767_225_600));
        assert_eq!(problems.len(), 1);
    }
}
