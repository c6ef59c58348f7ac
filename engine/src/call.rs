//! Requests and decisions as JSON text: how a request's JSON is read and a decision's written.
//!
//! Who calls what: the JavaScript package (`js/`) hands every request to [`decide_json`] or
//! [`decide_many_json`] and adds nothing; the server's CLI (`tollgate decide`) and its admin API
//! read request JSON with [`parse_request`] before deciding natively or through the component. The
//! component itself receives typed WIT records, converted field by field, and reads only their
//! claims' JSON here ([`parse_claims`]); the Envoy filter reads no request JSON: it builds its
//! request from a verified token ([`Request::from_token_claims`]). Every one of them goes by the
//! request rules of [`Request`] (a key written twice refused, and so on).
//!
//! Messages follow the house style: serde's text, but an unexpected string in backticks rather than
//! as a Rust literal, and each type by what it is (`a request`), not by its Rust name.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::compile::PolicySet;
use crate::error::RequestError;
use crate::request::{self, Request};

/// Parses a request from its JSON form.
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    serde_json::from_str(json).map_err(|e| RequestError::Invalid(message(&e)))
}

/// Parses a request's `claims` given as JSON text on their own (as the component's WIT request
/// carries them): any JSON value, `null` for none, by the same rules as the claims of a JSON
/// request (no mapping may name a key twice).
pub fn parse_claims(json: &str) -> Result<Option<serde_json::Value>, RequestError> {
    request::claims_from_json(json).map_err(|e| {
        RequestError::Invalid(match e.classify() {
            // The text is JSON, the claims break a request rule: the message names where.
            serde_json::error::Category::Data => message(&e),
            _ => format!("claims: not JSON: {}", message(&e)),
        })
    })
}

/// Decides a request given as JSON and returns the decision as JSON.
pub fn decide_json(set: &PolicySet, request_json: &str) -> Result<String, RequestError> {
    let request = parse_request(request_json)?;
    Ok(to_json(&set.decide(&request)))
}

/// Decides a JSON array of requests and returns a JSON array with, for each, the decision or
/// `{"error": "..."}` when that request is malformed. Only a malformed array fails as a whole.
///
/// Each request is read from its own text, exactly as [`decide_json`] reads one, and each answer
/// written as [`decide_json`] writes one: no `serde_json::Value` in between.
pub fn decide_many_json(set: &PolicySet, requests_json: &str) -> Result<String, RequestError> {
    let items: Vec<&RawValue> = serde_json::from_str(requests_json).map_err(|e| {
        RequestError::Invalid(format!("expected a list of requests: {}", message(&e)))
    })?;
    let mut answers = String::with_capacity(2 + 128 * items.len());
    answers.push('[');
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            answers.push(',');
        }
        match parse_request(item.get()) {
            Ok(request) => answers.push_str(&to_json(&set.decide(&request))),
            Err(e) => answers.push_str(&to_json(&ErrorAnswer {
                error: &e.to_string(),
            })),
        }
    }
    answers.push(']');
    Ok(answers)
}

/// serde_json's message in the house style. serde writes a string it did not expect as a Rust
/// literal (`invalid type: string "x", expected a boolean`) and offers no hook short of wrapping
/// the whole deserializer, so the literal is rewritten here, once for every runtime: user input goes
/// in backticks (`` string `x` ``). Escapes other than `\"` and `\\` are kept, so a control
/// character stays visible.
fn message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    for kind in ["invalid type: string ", "invalid value: string "] {
        let Some((before, after)) = text.split_once(kind) else {
            continue;
        };
        let Some(literal) = after.strip_prefix('"') else {
            continue;
        };
        let mut out = String::with_capacity(text.len());
        out.push_str(before);
        out.push_str(kind);
        out.push('`');
        let mut chars = literal.chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    out.push('`');
                    out.push_str(chars.as_str());
                    return out;
                }
                '\\' => match chars.next() {
                    Some(e @ ('"' | '\\')) => out.push(e),
                    Some(e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    None => break,
                },
                c => out.push(c),
            }
        }
    }
    // No literal serde wrote: the message is left as it is.
    text
}

/// A batch's answer for a request that could not be read.
#[derive(Serialize)]
struct ErrorAnswer<'e> {
    error: &'e str,
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Decisions and error answers hold only strings, booleans and lists: writing them cannot fail.
    serde_json::to_string(value)
        .unwrap_or_else(|_| String::from(r#"{"error":"the answer could not be written as JSON"}"#))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = r#"{
        "version": 1,
        "resources": [{ "id": "api", "audience": "https://api.example.com", "kind": "api", "scopes": ["read"] }],
        "policies": [{ "id": "p", "subject": { "clients": ["agent"] }, "targets": [{ "resource": "api", "scopes": ["read"] }] }]
    }"#;
    const REQUEST: &str = r#"{ "grantType": "client_credentials", "client": { "clientId": "agent" }, "target": { "resource": "api" } }"#;

    #[test]
    fn a_batch_answers_each_request_as_one_call_would() {
        let set = PolicySet::load(DOCUMENT).expect("loads");
        let one_text = decide_json(&set, REQUEST).expect("decides");
        let one: serde_json::Value = serde_json::from_str(&one_text).expect("JSON");
        let batch = format!(r#"[{REQUEST}, {{ "grantType": "nope" }}, {REQUEST}]"#);
        let batch_text = decide_many_json(&set, &batch).expect("decides");
        // Written as one decision is, keys in the same order: the text starts with it.
        assert!(
            batch_text.starts_with(&format!("[{one_text},")),
            "{batch_text}"
        );
        let answers: Vec<serde_json::Value> = serde_json::from_str(&batch_text).expect("JSON");
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0], one);
        assert_eq!(answers[2], one);
        let error = answers[1]["error"].as_str().expect("an error answer");
        assert!(
            error.starts_with("invalid request: unknown variant `nope`"),
            "{error}"
        );
        assert_eq!(answers[1].as_object().map(serde_json::Map::len), Some(1));
    }

    #[test]
    fn only_a_batch_that_is_not_an_array_fails_whole() {
        let set = PolicySet::load(DOCUMENT).expect("loads");
        assert_eq!(decide_many_json(&set, "[]").expect("decides"), "[]");
        assert_eq!(
            decide_many_json(&set, "[7]").expect("decides"),
            r#"[{"error":"invalid request: invalid type: integer `7`, expected a request (a mapping with `grantType` and `target`) at line 1 column 1"}]"#
        );
        for bad in [r#"{"not":"an array"}"#, "[", "", "[1,]"] {
            let Err(RequestError::Invalid(message)) = decide_many_json(&set, bad) else {
                panic!("`{bad}` is not a batch");
            };
            assert!(
                message.starts_with("expected a list of requests"),
                "{message}"
            );
        }
    }

    fn refusal(json: &str) -> String {
        match parse_request(json) {
            Ok(_) => panic!("`{json}` must be refused"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_key_written_twice_in_a_request_mapping_is_refused() {
        let twice = r#"{ "grantType": "client_credentials", "target": { "resource": "api" },
            "client": { "allowedScopes": { "api": ["read"], "other": [], "api": [] } } }"#;
        let message = refusal(twice);
        assert!(
            message.starts_with(
                "invalid request: client.allowedScopes: duplicate key `api` at line 2"
            ),
            "{message}"
        );
        // The component's entries are refused with the same words (it has no line to name).
        let entries = [
            ("api", vec![]),
            ("other", vec![]),
            ("api", vec!["read".to_owned()]),
        ]
        .map(|(t, s)| (t.to_owned(), s));
        let from_entries = crate::Client::allowed_scopes_from_entries(entries)
            .expect_err("a repeated target")
            .to_string();
        assert_eq!(
            from_entries,
            "invalid request: client.allowedScopes: duplicate key `api`"
        );
        assert!(message.starts_with(&from_entries), "{message}");

        for (claims, path) in [
            (
                r#"{ "dept": "ops", "dept": "finance" }"#,
                "claims: duplicate key `dept`",
            ),
            (
                r#"{ "org": { "dept": 1, "dept": 1 } }"#,
                "claims.org: duplicate key `dept`",
            ),
            (
                r#"{ "groups": [ {}, { "id": 1, "id": 2 } ] }"#,
                "claims.groups[1]: duplicate key `id`",
            ),
        ] {
            let request = format!(
                r#"{{ "grantType": "client_credentials", "target": {{ "resource": "api" }}, "claims": {claims} }}"#
            );
            let message = refusal(&request);
            assert!(
                message.starts_with(&format!("invalid request: {path} at ")),
                "{message}"
            );
            let alone = parse_claims(claims).expect_err("refused").to_string();
            assert!(
                alone.starts_with(&format!("invalid request: {path} at ")),
                "{alone}"
            );
        }
        // Written once, each key is read as before; `null` is no claims, in both readers.
        let once = r#"{ "grantType": "client_credentials", "target": { "resource": "api" },
            "client": { "allowedScopes": { "api": ["read"], "other": [] } },
            "claims": { "org": { "dept": "ops" }, "n": 1.5, "list": [1, "a", null, true] } }"#;
        let request = parse_request(once).expect("a request");
        let claims: serde_json::Value = serde_json::from_str(
            r#"{ "org": { "dept": "ops" }, "n": 1.5, "list": [1, "a", null, true] }"#,
        )
        .expect("JSON");
        assert_eq!(request.claims.as_ref(), Some(&claims));
        assert_eq!(
            parse_claims(&claims.to_string()).expect("claims"),
            Some(claims)
        );
        assert_eq!(parse_claims("null").expect("no claims"), None);
        let scopes = request
            .client
            .and_then(|c| c.allowed_scopes)
            .expect("scopes");
        assert_eq!(scopes.len(), 2);
        let message = parse_claims("{").expect_err("not JSON").to_string();
        assert!(
            message.starts_with("invalid request: claims: not JSON: "),
            "{message}"
        );
    }

    #[test]
    fn request_errors_name_no_rust_type_and_put_input_in_backticks() {
        let base = r#""grantType": "client_credentials", "target": { "resource": "api" }"#;
        for (extra, expected) in [
            (
                r#""client": "x""#,
                "invalid type: string `x`, expected a client (a mapping)",
            ),
            (
                r#""user": 5"#,
                "invalid type: integer `5`, expected a user (a mapping)",
            ),
            (
                r#""explain": "yes""#,
                "invalid type: string `yes`, expected a boolean",
            ),
            (
                r#""client": { "allowedScopes": "a\"b\\c\n" }"#,
                "invalid type: string `a\"b\\c\\n`, expected a mapping of target ids to lists of scopes",
            ),
            (
                r#""context": { "ip": "10.0.0.300" }"#,
                "`10.0.0.300` is not an IP address",
            ),
        ] {
            let message = refusal(&format!("{{ {base}, {extra} }}"));
            assert!(
                message.starts_with(&format!("invalid request: {expected} at ")),
                "{message}"
            );
        }
        let message = refusal(r#"{ "grantType": "client_credentials", "target": 5 }"#);
        assert!(
            !message.contains("enum") && !message.contains("Target"),
            "{message}"
        );
        let message = refusal("[]");
        assert!(message.contains("expected a request"), "{message}");
    }
}
