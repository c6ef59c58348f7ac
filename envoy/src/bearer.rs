//! Reading the bearer token from the `Authorization` header (RFC 6750 section 2.1).
//!
//! Only the header form is accepted: the query (`access_token=`) and form-body forms of RFC 6750
//! leak tokens into logs and are forbidden for MCP servers.

/// What a request carries, as far as a bearer token goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials<'a> {
    /// No `Authorization` header, an empty one, or one with another scheme (e.g. `Basic`). The
    /// answer is a challenge without an error code (RFC 6750 section 3.1).
    Missing,
    /// A `Bearer` credential that is not RFC 6750 syntax (no token, several tokens, characters
    /// outside `b64token`), or more than one `Authorization` header.
    Malformed,
    /// Exactly one well-formed bearer token (not yet verified).
    Bearer(&'a str),
}

/// Reads the credentials from every `Authorization` header value of a request, in order.
///
/// The scheme is case-insensitive (`bearer`, `BEARER`); it is followed by one or more spaces and
/// exactly one `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
/// Surrounding spaces and tabs are ignored. Two `Authorization` headers are malformed whatever
/// they hold: which one a server behind the proxy would read is not defined.
pub fn extract<'a>(authorization: &[&'a str]) -> Credentials<'a> {
    match authorization {
        [] => Credentials::Missing,
        [value] => parse(value),
        _ => Credentials::Malformed,
    }
}

fn parse(value: &str) -> Credentials<'_> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return Credentials::Missing;
    }
    // The scheme ends at the first space or tab; `rest` starts with that separator.
    let (scheme, rest) = value
        .find([' ', '\t'])
        .and_then(|end| value.split_at_checked(end))
        .unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Credentials::Missing;
    }
    // `credentials = "Bearer" 1*SP b64token`: spaces only, then one token and nothing else.
    match rest.strip_prefix(' ').map(|r| r.trim_start_matches(' ')) {
        Some(token) if is_b64token(token) => Credentials::Bearer(token),
        _ => Credentials::Malformed,
    }
}

/// RFC 6750 section 2.1 `b64token` (the `token68` of RFC 9110 section 11.2).
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(value: &str) -> Credentials<'_> {
        extract(&[value])
    }

    #[test]
    fn no_header_is_missing() {
        assert_eq!(extract(&[]), Credentials::Missing);
        assert_eq!(one(""), Credentials::Missing);
        assert_eq!(one("   "), Credentials::Missing);
    }

    #[test]
    fn other_schemes_are_missing() {
        assert_eq!(one("Basic dXNlcjpwYXNz"), Credentials::Missing);
        assert_eq!(one("DPoP eyJhbGciOi.x.y"), Credentials::Missing);
        assert_eq!(one("Bearerx abc"), Credentials::Missing);
        assert_eq!(one("Negotiate"), Credentials::Missing);
    }

    #[test]
    fn scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            assert_eq!(
                one(&format!("{scheme} abc.def-ghi")),
                Credentials::Bearer("abc.def-ghi")
            );
        }
    }

    #[test]
    fn jwt_and_padded_tokens() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1LTQyIn0.c2ln_-";
        assert_eq!(one(&format!("Bearer {jwt}")), Credentials::Bearer(jwt));
        assert_eq!(one("Bearer a+b/c=="), Credentials::Bearer("a+b/c=="));
        assert_eq!(one("Bearer ~x~"), Credentials::Bearer("~x~"));
    }

    #[test]
    fn spaces_around_and_between() {
        assert_eq!(one("Bearer   abc"), Credentials::Bearer("abc"));
        assert_eq!(one("  Bearer abc \t"), Credentials::Bearer("abc"));
    }

    #[test]
    fn malformed_bearer_credentials() {
        for value in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer \"abc\"",
            "Bearer ===",
            "Bearer a=b",
            "Bearer\tabc",
            "Bearer abc\u{e9}",
            "Bearer a;b",
        ] {
            assert_eq!(one(value), Credentials::Malformed, "{value:?}");
        }
    }

    #[test]
    fn two_headers_are_malformed() {
        assert_eq!(extract(&["Bearer a", "Bearer a"]), Credentials::Malformed);
        assert_eq!(extract(&["Basic x", "Bearer a"]), Credentials::Malformed);
    }
}
