//! Which redirect URIs a client may register (dynamic registration and metadata documents).

/// Checks a redirect URI for registration: an absolute URI without a fragment; `https`, `http`
/// only on a loopback host (RFC 8252 §7.3), or a private-use scheme of a native app (RFC 8252
/// §7.1) other than the ones a browser would run or read.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    let url =
        url::Url::parse(uri).map_err(|e| format!("redirect URI `{uri}` is not absolute: {e}"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!("redirect URI `{uri}` must not have a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" => match url.host() {
            Some(url::Host::Domain("localhost")) => Ok(()),
            Some(url::Host::Ipv4(a)) if a.is_loopback() => Ok(()),
            Some(url::Host::Ipv6(a)) if a.is_loopback() => Ok(()),
            _ => Err(format!(
                "redirect URI `{uri}` uses http on a host other than loopback; use https"
            )),
        },
        "javascript" | "data" | "file" | "vbscript" | "blob" | "about" | "ws" | "wss" | "ftp" => {
            Err(format!(
                "redirect URI `{uri}` uses the `{}` scheme",
                url.scheme()
            ))
        }
        _ => Ok(()),
    }
}
