//! The Tollgate policy engine for JavaScript: Node, browsers and edge workers.
//!
//! A thin wasm-bindgen shim over `tollgate-engine`. Requests and decisions cross the boundary as
//! JSON text in the engine's shape (camelCase): the shim turns a JavaScript value into text with
//! `JSON.stringify`, hands it to the engine's own JSON entry points (`decide_json`,
//! `decide_many_json`, `PolicySet::load`) and gives the answer back through `JSON.parse`. So the
//! JavaScript runtime reads a request exactly as every other runtime reads its JSON, unknown keys
//! included, and one decision costs two native JSON passes instead of a property-by-property
//! walk of the object across the wasm boundary (serde-wasm-bindgen: about 2 µs per request object
//! in Node 20 against 0.8 µs for a string round trip, `../shared/TOOLCHAIN.md`).
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
//! set.free();         // release the wasm memory now (a FinalizationRegistry frees it otherwise)
//! ```
//!
//! A document that does not load throws an `Error` named `PolicyLoadError` whose `errors` property
//! lists every problem as `{ path, message }`; a request the engine cannot read throws an `Error`
//! named `RequestError`. `decideMany` answers each request of a batch separately: a decision, or
//! `{ error }` for a request the engine cannot read.
//!
//! Build: `npm --prefix js run build` (cargo with the `wasm` profile, the `wasm-bindgen` CLI of the
//! crate's exact version, then `wasm-opt` from npm `binaryen`).

#![deny(missing_docs)]

use std::fmt;

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
    /// Throws an `Error` named `PolicyLoadError` whose `errors` property is the array of every
    /// problem found, each `{ path, message }` (`path` such as
    /// `policies[3].subject.conditions[1].op`; empty for the whole document).
    pub fn load(document: JsValue) -> Result<PolicySet, JsValue> {
        let text = match document.as_string() {
            Some(text) => text,
            None if document.is_object() => match json_text(&document) {
                Ok(text) => text,
                Err(reason) => return Err(unreadable_document(&reason)),
            },
            None => {
                return Err(unreadable_document(
                    "the document is neither text nor an object",
                ));
            }
        };
        match engine::PolicySet::load(&text) {
            Ok(inner) => Ok(PolicySet { inner }),
            Err(e) => Err(load_error(&e.to_string(), &e.errors())),
        }
    }

    /// Decides one request (an object in the engine's JSON request shape, or its JSON text) and
    /// returns the decision as a plain object. Throws an `Error` for a request the engine cannot
    /// read.
    pub fn decide(&self, request: JsValue) -> Result<JsValue, JsValue> {
        let text = request_text(&request)?;
        let decision =
            engine::decide_json(&self.inner, &text).map_err(|e| request_error(&e.to_string()))?;
        js_sys::JSON::parse(&decision)
    }

    /// Decides an array of requests (or its JSON text) against this policy set and returns an
    /// array with, for each request in order, its decision or `{ error }` when that request
    /// cannot be read. Throws an `Error` only when `requests` is not an array.
    #[wasm_bindgen(js_name = decideMany)]
    pub fn decide_many(&self, requests: JsValue) -> Result<JsValue, JsValue> {
        if requests.as_string().is_none() && !js_sys::Array::is_array(&requests) {
            return Err(request_error("expected an array of requests"));
        }
        let text = request_text(&requests)?;
        // The per-request answer shape is the engine's (`decide_many_json`): this shim passes the
        // batch through that layer rather than restate it.
        let answers = engine::decide_many_json(&self.inner, &text)
            .map_err(|e| request_error(&e.to_string()))?;
        js_sys::JSON::parse(&answers)
    }
}

/// A request (or a batch) as JSON text: strings are taken as JSON already, objects go through
/// `JSON.stringify`.
fn request_text(value: &JsValue) -> Result<String, JsValue> {
    match value.as_string() {
        Some(text) => Ok(text),
        None if value.is_object() => json_text(value).map_err(|e| request_error(&e)),
        None => Err(request_error("invalid request: expected an object")),
    }
}

/// `JSON.stringify(value)`, or why it failed (a `BigInt`, a cycle, or a value with no JSON form).
fn json_text(value: &JsValue) -> Result<String, String> {
    match js_sys::JSON::stringify(value) {
        Ok(text) => text
            .as_string()
            .ok_or_else(|| "the value has no JSON form".to_owned()),
        Err(error) => Err(format!(
            "the value cannot be written as JSON: {}",
            js_message(error)
        )),
    }
}

/// The message of a JavaScript error value (its `toString()` would add an `Error: ` prefix).
fn js_message(error: JsValue) -> String {
    match error.dyn_into::<js_sys::Error>() {
        Ok(error) => String::from(error.message()),
        Err(other) => other
            .as_string()
            .unwrap_or_else(|| "unknown error".to_owned()),
    }
}

/// An `Error` with the given `name` (so callers can tell load and request errors apart).
fn named_error(name: &str, message: &str) -> js_sys::Error {
    let error = js_sys::Error::new(message);
    error.set_name(name);
    error
}

fn request_error(message: &str) -> JsValue {
    named_error("RequestError", message).into()
}

fn unreadable_document(reason: &str) -> JsValue {
    let errors = [engine::ValidationError {
        path: String::new(),
        message: reason.to_owned(),
    }];
    load_error(reason, &errors)
}

fn load_error(message: &str, errors: &[engine::ValidationError]) -> JsValue {
    let error = named_error("PolicyLoadError", message);
    let list = js_sys::Array::new();
    for e in errors {
        let item = js_sys::Object::new();
        // Setting a property on a fresh plain object cannot fail; if it ever did, the thrown
        // `Error` still carries the full message.
        let _ = js_sys::Reflect::set(&item, &"path".into(), &e.path.as_str().into());
        let _ = js_sys::Reflect::set(&item, &"message".into(), &e.message.as_str().into());
        list.push(&item);
    }
    let _ = js_sys::Reflect::set(&error, &"errors".into(), &list);
    error.into()
}
