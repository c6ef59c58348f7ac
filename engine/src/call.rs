//! The one Call→Answer layer: request JSON in, decision JSON out. The component, JS and Envoy
//! shims call these and add nothing, so the runtimes cannot drift apart.

use serde::Deserialize;

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
pub fn decide_many_json(set: &PolicySet, requests_json: &str) -> Result<String, RequestError> {
    let items: Vec<serde_json::Value> = serde_json::from_str(requests_json)
        .map_err(|e| RequestError::Invalid(format!("expected a list of requests: {e}")))?;
    let answers: Vec<serde_json::Value> = items
        .into_iter()
        .map(|item| match Request::deserialize(item) {
            Ok(request) => serde_json::to_value(set.decide(&request))
                .unwrap_or_else(|e| serde_json::json!({ "error": e.to_string() })),
            Err(e) => serde_json::json!({ "error": format!("invalid request: {e}") }),
        })
        .collect();
    Ok(to_json(&answers))
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Decisions hold only strings, booleans and lists: serializing them cannot fail.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\":{:?}}}", e.to_string()))
}
