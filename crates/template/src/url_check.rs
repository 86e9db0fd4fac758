//! The URL rule for MCP servers: `https`, or plain `http` only to the local machine, with no
//! credentials in the URL itself.
//!
//! This is a deliberately small parser rather than a full URL library: it only needs to find
//! the scheme, the user-info, the host and the query parameter names, and it rejects anything
//! it does not understand.

use crate::submission::secret_keys::is_secret_key;

/// Hosts for which plain `http` is accepted: a developer's own machine.
const LOCAL_HOSTS: &[&str] = &["localhost", "127.0.0.1", "[::1]"];

/// Describes what is wrong with `url` as an MCP server endpoint, if anything.
pub(crate) fn url_problem(url: &str) -> Option<&'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("The URL must not contain spaces or control characters.");
    }
    let lower = url.to_ascii_lowercase();
    let (secure, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Some("The URL must start with `https://`.");
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if authority.contains('@') {
        return Some(
            "The URL must not contain a user name or password; give credentials in `secrets`.",
        );
    }
    let Some((host, port)) = split_host_port(authority) else {
        return Some("The URL's host is malformed.");
    };
    if host.is_empty() {
        return Some("The URL has no host.");
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Some("The URL's port must be a number from 1 to 65535.");
    }
    if !secure && !LOCAL_HOSTS.contains(&host) {
        return Some(
            "The URL must use `https://`; plain `http://` is accepted only for localhost and 127.0.0.1.",
        );
    }
    let after_authority = &url[url.len() - (rest.len() - authority_end)..];
    if query_names(after_authority).any(is_secret_key) {
        return Some(
            "The URL's query string must not carry credentials; use `auth: static_bearer` and `secrets`.",
        );
    }
    None
}

/// Splits `host[:port]`, keeping IPv6 brackets on the host. `None` means the authority is
/// malformed, which the caller reports as an unparseable URL.
fn split_host_port(authority: &str) -> Option<(&str, Option<&str>)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, rest) = authority.split_at(close + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Some((host, Some(port))),
            None if rest.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => Some((host, Some(port))),
        None => Some((authority, None)),
    }
}

/// The parameter names of the query string in `tail` (path, query and fragment of a URL).
fn query_names(tail: &str) -> impl Iterator<Item = &str> {
    let without_fragment = tail.split('#').next().unwrap_or("");
    let query = without_fragment.split_once('?').map_or("", |(_, q)| q);
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split('=').next().unwrap_or(pair))
}

#[cfg(test)]
mod tests {
    use super::url_problem;

    #[test]
    fn https_urls_and_local_http_urls_are_accepted() {
        for ok in [
            "https://mcp.example.com/sse",
            "https://mcp.example.com:8443",
            "HTTPS://Example.com/x?page=2",
            "http://localhost:3000/mcp",
            "http://127.0.0.1/mcp",
            "http://[::1]:8080/",
            "https://[2001:db8::1]/mcp",
        ] {
            assert_eq!(url_problem(ok), None, "{ok}");
        }
    }

    #[test]
    fn insecure_malformed_or_credential_bearing_urls_are_rejected() {
        for bad in [
            "http://mcp.example.com",
            "ftp://example.com",
            "example.com",
            "https://",
            "https://:443/x",
            "https://user:pw@example.com",
            "https://example.com:99999",
            "https://exa mple.com",
            "https://example.com/x?api_key=abc",
            "https://example.com/?a=1&access-token=abc#frag",
            "http://localhost.evil.com",
            "https://[::1",
        ] {
            assert!(url_problem(bad).is_some(), "{bad}");
        }
    }
}
