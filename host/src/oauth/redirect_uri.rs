//! Which redirect URIs a client may register (dynamic registration and metadata documents).

use thiserror::Error;

/// Checks a redirect URI for registration: an absolute URI without a fragment; `https`, `http`
/// only on a loopback host (RFC 8252 §7.3), or a private-use scheme of a native app (RFC 8252
/// §7.1) other than the ones a browser would run or read.
pub fn check_redirect_uri(uri: &str) -> Result<(), RedirectUriError> {
    let refuse = |why| {
        Err(RedirectUriError {
            uri: uri.to_owned(),
            why,
        })
    };
    let url = match url::Url::parse(uri) {
        Ok(url) => url,
        Err(e) => return refuse(Why::NotAbsolute(e)),
    };
    if url.fragment().is_some() || uri.contains('#') {
        return refuse(Why::Fragment);
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(a)) if a.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(a)) if a.is_loopback() => Ok(()),
            _ => refuse(Why::HttpNotLoopback),
        },
        scheme @ ("javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ws" | "wss"
        | "ftp") => refuse(Why::Scheme(scheme.to_owned())),
        _ => Ok(()),
    }
}

/// A redirect URI a client may not register, and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("redirect URI `{uri}` {why}")]
pub struct RedirectUriError {
    /// The URI as given.
    pub uri: String,
    /// What is wrong with it.
    pub why: Why,
}

/// What is wrong with a redirect URI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Why {
    /// Not an absolute URI.
    #[error("is not absolute: {0}")]
    NotAbsolute(url::ParseError),
    /// It has a fragment (RFC 6749 §3.1.2).
    #[error("must not have a fragment")]
    Fragment,
    /// Plain http to a host other than loopback.
    #[error("uses http on a host other than loopback; use https")]
    HttpNotLoopback,
    /// A scheme a browser would run or read.
    #[error("uses the `{0}` scheme")]
    Scheme(String),
}
