//! A validated `ws://` or `wss://` URL.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use tokio_tungstenite::tungstenite::http::Uri;

use crate::error::Error;

/// A WebSocket URL that has passed validation: scheme `ws` or `wss`, a host,
/// no user info, no fragment.
///
/// ```
/// # use ws_transport::WsUrl;
/// let url: WsUrl = "wss://stream.binance.com:9443/stream?streams=btcusdt@trade".parse()?;
/// assert_eq!(url.host(), "stream.binance.com");
/// assert_eq!(url.port(), 9443);
/// assert!(url.is_tls());
/// # Ok::<(), ws_transport::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct WsUrl {
    uri: Uri,
    /// The host without IPv6 brackets, as used for DNS and TLS server names.
    host: String,
    port: u16,
    tls: bool,
}

impl WsUrl {
    /// Parses and validates a URL.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidUrl`] naming the problem: not a URL, wrong scheme, no host,
    /// credentials in the URL, a fragment, or port 0.
    pub fn parse(url: &str) -> Result<Self, Error> {
        let bad = |problem: &str| Error::InvalidUrl {
            url: url.to_owned(),
            problem: problem.to_owned(),
        };
        if url.contains('#') {
            return Err(bad("fragments (#…) are not sent to servers; remove it"));
        }
        let uri: Uri = url.parse().map_err(|err| Error::InvalidUrl {
            url: url.to_owned(),
            problem: format!("not a url ({err}); expected ws://host[:port]/path or wss://…"),
        })?;
        let tls = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("wss") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("ws") => false,
            Some(_) => return Err(bad("scheme must be ws:// or wss://")),
            None => return Err(bad("missing scheme; expected ws://host or wss://host")),
        };
        let authority = uri.authority().ok_or_else(|| bad("missing host"))?;
        if authority.as_str().contains('@') {
            return Err(bad(
                "credentials in the url are not supported; send them as headers",
            ));
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        if port == 0 {
            return Err(bad("port 0 cannot be connected to"));
        }
        Ok(Self {
            host: host.to_ascii_lowercase(),
            port,
            tls,
            uri,
        })
    }

    /// The host name or IP address (IPv6 without brackets), lowercase.
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port, explicit or the scheme's default (80 for `ws`, 443 for `wss`).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the scheme is `wss`.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Path and query, e.g. `/stream?streams=btcusdt@trade` (`/` when empty).
    #[must_use]
    pub fn path_and_query(&self) -> &str {
        self.uri.path_and_query().map_or("/", |pq| pq.as_str())
    }

    /// Whether the host is loopback by name or address: `localhost`, `127.0.0.0/8`, `::1`.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }
}

impl FromStr for WsUrl {
    type Err = Error;

    fn from_str(url: &str) -> Result<Self, Error> {
        Self::parse(url)
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.uri, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_urls_parse() {
        let url = WsUrl::parse("ws://127.0.0.1:9000/ws/btcusdt@trade").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.is_tls()),
            ("127.0.0.1", 9000, false)
        );
        assert_eq!(url.path_and_query(), "/ws/btcusdt@trade");
        assert!(url.is_loopback());
        let url = WsUrl::parse("WSS://Data-Stream.Binance.Vision").unwrap();
        assert_eq!(
            (url.host(), url.port(), url.path_and_query()),
            ("data-stream.binance.vision", 443, "/")
        );
        assert!(!url.is_loopback());
        let url = WsUrl::parse("wss://[::1]:8443/x").unwrap();
        assert_eq!(url.host(), "::1");
        assert!(url.is_loopback());
        assert!(WsUrl::parse("ws://localhost/").unwrap().is_loopback());
    }

    #[test]
    fn bad_urls_say_why() {
        let cases = [
            ("", "not a url"),
            ("stream.binance.com", "missing scheme"),
            ("https://stream.binance.com", "scheme must be"),
            ("ws:///path", "not a url"),
            ("wss://user:pw@host/", "credentials"),
            ("ws://host/#frag", "fragments"),
            ("ws://host:0/", "port 0"),
            ("ws://ho st/", "not a url"),
        ];
        for (url, expected) in cases {
            match WsUrl::parse(url) {
                Err(Error::InvalidUrl { problem, .. }) => {
                    assert!(problem.contains(expected), "{url:?}: {problem}");
                }
                other => panic!("{url:?}: expected InvalidUrl, got {other:?}"),
            }
        }
    }
}
