//! The Tollgate policy engine for JavaScript: Node, browsers and edge workers.
//!
//! A thin wasm-bindgen shim over `tollgate-engine`. Requests and decisions cross the boundary as
//! plain JavaScript objects in the engine's JSON shape (camelCase), converted by
//! serde-wasm-bindgen and read by the engine's own serde types, so the JavaScript runtime reads a
//! request exactly as every other runtime reads its JSON.
//!
//! ```js
//! const set = PolicySet.load(yamlOrJsonText);        // or PolicySet.load({ version: 1, ... })
//! const decision = set.decide({
//!   grantType: "client_credentials",
//!   client: { clientId: "reconcile-worker" },
//!   target: { resource: "billing-api" },
//!   requestedScopes: ["ledger:read"],
//! });
//! decision.permitted; // true
//! set.free();         // release the wasm memory when done
//! ```
//!
//! A document that does not load throws an `Error` whose `errors` property lists every problem
//! as `{ path, message }`; a request the engine cannot read throws an `Error`. `decideMany`
//! answers each request of a batch separately: a decision, or `{ error }` for a request the
//! engine cannot read.
//!
//! Build: `cargo build -p tollgate-js --target wasm32-unknown-unknown --profile wasm`, then run
//! the `wasm-bindgen` CLI (the same version as the crate, 0.2.130) on the output.

#![deny(missing_docs)]

use std::fmt;

use serde::{Deserialize, Serialize};
use tollgate_engine as engine;
use wasm_bindgen::prelude::*;

/// A loaded, validated and compiled policy document. Load it once, decide many times; call
/// `free()` when it is no longer needed.
#[wasm_bindgen]
pub struct PolicySet {
    inner: engine::PolicySet,
}

impl fmt::Debug for PolicySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySet").finish_non_exhaustive()
    }
}

#[wasm_bindgen]
impl PolicySet {
    /// Loads a policy document: JSON or YAML text, or an object in the same shape.
    ///
    /// Throws an `Error` whose `errors` property is the array of every problem found, each
    /// `{ path, message }` (`path` such as `policies[3].subject.conditions[1].op`; empty for the
    /// whole document).
    pub fn load(document: JsValue) -> Result<PolicySet, JsValue> {
        let loaded = match document.as_string() {
            Some(text) => engine::PolicySet::load(&text),
            None => match serde_wasm_bindgen::from_value::<serde_json::Value>(document) {
                Ok(value) => engine::PolicySet::from_value(value),
                Err(e) => {
                    let message = format!(
                        "the document is neither text nor an object: {}",
                        js_message(e.into())
                    );
                    let errors = [engine::ValidationError {
                        path: String::new(),
                        message: message.clone(),
                    }];
                    return Err(load_error(&message, &errors));
                }
            },
        };
        match loaded {
            Ok(inner) => Ok(PolicySet { inner }),
            Err(e) => Err(load_error(&e.to_string(), &e.errors())),
        }
    }

    /// Decides one request (an object in the engine's JSON request shape) and returns the
    /// decision as a plain object. Throws an `Error` for a request the engine cannot read.
    pub fn decide(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let request = request_from_js(request).map_err(|e| request_error(&e))?;
        to_js(&self.inner.decide(&request))
    }

    /// Decides an array of requests against this policy set and returns an array with, for
    /// each request in order, its decision or `{ error }` when that request cannot be read.
    /// Throws an `Error` only when `requests` is not an array.
    #[wasm_bindgen(js_name = decideMany)]
    pub fn decide_many(&self, requests: JsValue) -> Result<JsValue, JsValue> {
        // The per-request answer shape is the engine's (`decide_many_json`): this shim passes the
        // batch through that layer rather than restate it.
        let requests = json_from_js(requests).map_err(|e| request_error(&e))?;
        let answers = engine::decide_many_json(&self.inner, &requests.to_string())
            .map_err(|e| request_error(&e))?;
        js_sys::JSON::parse(&answers)
    }
}

/// Any JavaScript value as JSON. Objects go through `serde_json::Value` rather than straight into
/// the engine's types: serde-wasm-bindgen reads only the fields a struct declares, which would
/// silently accept the unknown keys the engine refuses in JSON.
fn json_from_js(value: JsValue) -> Result<serde_json::Value, engine::RequestError> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| engine::RequestError::Invalid(js_message(e.into())))
}

/// A request read exactly as the engine reads JSON requests.
fn request_from_js(request: JsValue) -> Result<engine::Request, engine::RequestError> {
    let value = json_from_js(request)?;
    engine::Request::deserialize(value).map_err(|e| engine::RequestError::Invalid(e.to_string()))
}

/// The message of a JavaScript error value (serde-wasm-bindgen errors are JS `Error`s; their
/// `toString()` would add an `Error: ` prefix).
fn js_message(error: JsValue) -> String {
    match error.dyn_into::<js_sys::Error>() {
        Ok(error) => String::from(error.message()),
        Err(other) => other
            .as_string()
            .unwrap_or_else(|| "not a JSON value".to_owned()),
    }
}

/// Plain objects and arrays (`json_compatible`: maps become objects, absent values `null`).
fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(JsValue::from)
}

fn request_error(error: &engine::RequestError) -> JsValue {
    js_sys::Error::new(&error.to_string()).into()
}

fn load_error(message: &str, errors: &[engine::ValidationError]) -> JsValue {
    let error = js_sys::Error::new(message);
    // Serializing plain strings into a fresh array and setting a property on a fresh `Error`
    // cannot fail; if it ever did, the thrown `Error` still carries the full message.
    if let Ok(list) = to_js(&errors) {
        let _ = js_sys::Reflect::set(&error, &JsValue::from_str("errors"), &list);
    }
    error.into()
}
