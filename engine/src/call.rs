//! The one Call→Answer layer: request JSON in, decision JSON out. The component, JS and Envoy
//! shims call these and add nothing, so the runtimes cannot drift apart.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::compile::PolicySet;
use crate::error::RequestError;
use crate::request::Request;

/// Parses a request from its JSON form.
pub fn parse_request(json: &str) -> Result<Request, RequestError> {
    serde_json::from_str(json).map_err(|e| RequestError::Invalid(e.to_string()))
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
    let items: Vec<&RawValue> = serde_json::from_str(requests_json)
        .map_err(|e| RequestError::Invalid(format!("expected a list of requests: {e}")))?;
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
            r#"[{"error":"invalid request: invalid type: integer `7`, expected struct Request at line 1 column 1"}]"#
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
}
