//! Request headers the filter owns.

/// The prefix of the headers the filter sets for the upstream (the verified subject, client and
/// scopes, in a later version). A client must not be able to forge them, so every request header
/// with this prefix is removed before anything else happens.
pub const RESERVED_PREFIX: &str = "x-tollgate-";

/// Whether a request header name is one the filter owns (ASCII case-insensitive: Envoy lowercases
/// names, other proxy-wasm hosts may not).
pub fn is_reserved(name: &str) -> bool {
    name.get(..RESERVED_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// The reserved names among a request's header names, each once, in order of appearance.
pub fn reserved_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut reserved: Vec<&str> = Vec::new();
    for name in names {
        if is_reserved(name) && !reserved.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            reserved.push(name);
        }
    }
    reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_prefix_is_case_insensitive() {
        assert!(is_reserved("x-tollgate-sub"));
        assert!(is_reserved("X-Tollgate-Scopes"));
        assert!(is_reserved("x-tollgate-"));
        assert!(!is_reserved("x-tollgate"));
        assert!(!is_reserved("x-tollgates"));
        assert!(!is_reserved("authorization"));
        assert!(!is_reserved(":path"));
        assert!(!is_reserved("x-tollgäte-sub"));
        assert!(!is_reserved(""));
    }

    #[test]
    fn reserved_names_once_each() {
        let names = [
            ":path",
            "x-tollgate-sub",
            "authorization",
            "X-Tollgate-Sub",
            "x-tollgate-scopes",
        ];
        assert_eq!(
            reserved_names(names),
            ["x-tollgate-sub", "x-tollgate-scopes"]
        );
    }
}
