//! The token endpoint's form parsing: the body and `Authorization` header as they arrive, read
//! into `Params` (bounds, repeated parameters, `resource`), the client's presented credentials,
//! and the scope set. Nothing may panic; what is accepted must respect the documented bounds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate::oauth::client_auth::presented;
use tollgate::oauth::{MAX_PARAM_BYTES, MAX_RESOURCES, MAX_SCOPES, MAX_SCOPE_BYTES, Params, split_scope};

fuzz_target!(|data: &[u8]| {
    // The first line, when it is UTF-8, is the `Authorization` header; the rest is the body.
    let (header, body) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok().map(str::to_owned), &data[i + 1..]),
        None => (None, data),
    };
    let Ok(params) = Params::parse(body, header, None, 1_800_000_000) else {
        return;
    };
    assert!(params.resources.len() <= MAX_RESOURCES);
    for (key, value) in &params.form {
        assert!(key.len() <= 64 && value.len() <= MAX_PARAM_BYTES);
    }
    if let Some(scopes) = split_scope(params.get("scope")) {
        assert!(scopes.len() <= MAX_SCOPES);
        assert!(scopes.iter().all(|s| !s.is_empty() && s.len() <= MAX_SCOPE_BYTES && !s.contains(' ')));
        let mut unique = scopes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), scopes.len(), "a scope is listed once");
    }
    let _ = presented(&params);
});
