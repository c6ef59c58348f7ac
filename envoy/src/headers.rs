//! Request headers the filter owns.

use crate::identity::Identity;

/// The prefix of the headers the filter sets for the upstream (the verified subject, client and
/// scopes). A client must not be able to forge them, so every request header with this prefix is
/// removed before anything else happens.
pub const RESERVED_PREFIX: &str = "x-tollgate-";

/// The verified token's `sub`.
pub const SUB: &str = "x-tollgate-sub";
/// The verified token's client id.
pub const CLIENT_ID: &str = "x-tollgate-client-id";
/// The verified token's scopes, space-separated.
pub const SCOPE: &str = "x-tollgate-scope";

/// The headers that tell the upstream who a verified request is from. A claim the token does not
/// carry gives no header (an empty scope gives none either), so the upstream can tell absent from
/// empty.
pub fn identity_headers(identity: &Identity) -> impl Iterator<Item = (&'static str, &str)> {
    [
        identity.sub.as_deref().map(|sub| (SUB, sub)),
        identity.client_id.as_deref().map(|id| (CLIENT_ID, id)),
        Some(identity.scope.as_str())
            .filter(|scope| !scope.is_empty())
            .map(|scope| (SCOPE, scope)),
    ]
    .into_iter()
    .flatten()
}

/// Whether a request header name is one the filter owns (ASCII case-insensitive: Envoy lowercases
/// names, other proxy-wasm hosts may not).
pub fn is_reserved(name: &str) -> bool {
    name.get(..RESERVED_PREFIX.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(RESERVED_PREFIX))
}

/// The reserved names among a request's header names, each spelling once, in order of
/// appearance. Spellings that differ only in case are all kept: a host that keeps the case of
/// names may also remove them case-sensitively.
pub fn reserved_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut reserved: Vec<&str> = Vec::new();
    for name in names {
        if is_reserved(name) && !reserved.contains(&name) {
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
    fn identity_headers_are_reserved() {
        for name in [SUB, CLIENT_ID, SCOPE] {
            assert!(is_reserved(name));
        }
    }

    #[test]
    fn identity_headers_for_present_claims() {
        let full = Identity {
            sub: Some("u-1".into()),
            client_id: Some("agent".into()),
            scope: "a b".into(),
        };
        assert_eq!(
            identity_headers(&full).collect::<Vec<_>>(),
            [
                ("x-tollgate-sub", "u-1"),
                ("x-tollgate-client-id", "agent"),
                ("x-tollgate-scope", "a b"),
            ]
        );
        let machine = Identity {
            sub: None,
            client_id: Some("worker".into()),
            scope: String::new(),
        };
        assert_eq!(
            identity_headers(&machine).collect::<Vec<_>>(),
            [("x-tollgate-client-id", "worker")]
        );
    }

    #[test]
    fn reserved_names_once_each() {
        let names = [
            ":path",
            "x-tollgate-sub",
            "authorization",
            "X-Tollgate-Sub",
            "x-tollgate-sub",
            "x-tollgate-scopes",
        ];
        assert_eq!(
            reserved_names(names),
            ["x-tollgate-sub", "X-Tollgate-Sub", "x-tollgate-scopes"]
        );
    }
}
