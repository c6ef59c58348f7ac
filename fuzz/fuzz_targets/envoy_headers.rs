//! The Envoy filter's header-map reader (the proxy-wasm ABI's serialised pairs, read in place)
//! and its `Authorization` bearer reader (RFC 6750 §2.1), on any bytes a host or client sends.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_envoy::bearer::{Credentials, extract};
use tollgate_envoy::abi_headers::pairs;

fuzz_target!(|data: &[u8]| {
    if let Ok(headers) = pairs(data) {
        // Each pair takes at least its two lengths and two NULs.
        assert!(headers.len() * 10 <= data.len().max(10) || headers.is_empty());
        let authorization: Vec<&str> = headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("authorization"))
            .filter_map(|(_, value)| std::str::from_utf8(value).ok())
            .collect();
        let _ = extract(&authorization);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Credentials::Bearer(token) = extract(&[text]) {
            assert!(!token.is_empty() && !token.contains(' '));
            assert!(text.contains(token));
        }
    }
});
