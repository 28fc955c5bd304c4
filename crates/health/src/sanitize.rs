//! Names that reach outputs (JSON, metric labels, alert messages) are
//! cleaned once, at registration, so nothing secret leaks by accident.
//!
//! Callers should never register a secret as a name; as a safeguard:
//! - a URL's user-info (`user:password@`) and query string are dropped;
//! - any run of 32 or more letters and digits (an API key, a listen key, a
//!   token) becomes `<redacted>`;
//! - control characters become `_`, and the name is cut to 96 characters.

/// Longest name kept, in characters.
const MAX_CHARS: usize = 96;
/// Shortest run of letters and digits treated as a secret token.
const TOKEN_RUN: usize = 32;

/// The cleaned form of `name`, as every output shows it.
#[must_use]
pub fn sanitize_name(name: &str) -> String {
    let without_query = name.split(['?', '#']).next().unwrap_or_default();
    let without_userinfo = match without_query.find("://") {
        Some(scheme_end) => {
            let (scheme, rest) = without_query.split_at(scheme_end + 3);
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}{}", &rest[at + 1..]),
                None => without_query.to_owned(),
            }
        }
        None => match without_query.find('@') {
            // `user:pass@host` without a scheme.
            Some(at) if without_query[..at].contains(':') => without_query[at + 1..].to_owned(),
            _ => without_query.to_owned(),
        },
    };
    let mut out = String::with_capacity(without_userinfo.len().min(MAX_CHARS));
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= TOKEN_RUN {
            out.push_str("<redacted>");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in without_userinfo.chars() {
        if ch.is_ascii_alphanumeric() {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(if ch.is_control() { '_' } else { ch });
        }
    }
    flush(&mut run, &mut out);
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect();
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass() {
        for name in [
            "btcusdt@aggTrade",
            "conn-1",
            "stream.binance.com:9443",
            "rest",
            "ethusdt@depth@100ms",
        ] {
            assert_eq!(sanitize_name(name), name);
        }
    }

    #[test]
    fn secrets_are_removed() {
        let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
        assert_eq!(sanitize_name(key), "<redacted>");
        assert_eq!(sanitize_name(&format!("user:{key}")), "user:<redacted>");
        assert_eq!(
            sanitize_name("wss://alice:hunter2@stream.example.com:9443/ws?listenKey=abc"),
            "wss://stream.example.com:9443/ws"
        );
        assert_eq!(sanitize_name("alice:hunter2@host:1"), "host:1");
        assert_eq!(sanitize_name("bad\nname"), "bad_name");
        assert_eq!(sanitize_name(""), "unnamed");
        assert_eq!(sanitize_name(&"a-".repeat(100)).chars().count(), 96);
    }
}
