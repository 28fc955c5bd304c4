//! [`Symbol`]: a trading pair as Binance names it (`BTCUSDT`).
//!
//! Binance's symbols are uppercase ASCII letters, digits, `-`, `_` and `.`, at most
//! 20 of them; since 2025-12 some are UTF-8 (the testnet lists `这是测试币456`), and
//! they appear even in market-wide streams a client did not filter. So a
//! [`Symbol`] accepts any non-ASCII character that is neither whitespace nor a
//! control character, and allows up to [`MAX_SYMBOL_BYTES`] bytes.
//!
//! Payloads (`"s":"BTCUSDT"`) carry the uppercase form; stream names carry the
//! lowercase one (`btcusdt@trade`). Case mapping is ASCII-only: the non-ASCII
//! symbols Binance lists have no case, and an ASCII mapping keeps the length, so
//! converting never allocates.
//!
//! A symbol of up to 24 bytes is stored inline (no heap allocation), which covers
//! every symbol Binance lists today.

use std::borrow::Borrow;
use std::fmt::{self, Write as _};
use std::str::FromStr;

use compact_str::CompactString;

use super::error::ParseError;

/// The longest symbol accepted, in bytes: Binance's ASCII symbols have at most 20
/// characters; the margin is for UTF-8 symbols, whose limit is not documented.
pub const MAX_SYMBOL_BYTES: usize = 64;

/// A Binance symbol in its canonical uppercase form (`BTCUSDT`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Symbol(CompactString);

impl Symbol {
    /// A symbol from user input in either case (`btcusdt` or `BTCUSDT`), stored uppercase.
    ///
    /// # Errors
    /// [`ParseError::Symbol`] when the text is empty, longer than
    /// [`MAX_SYMBOL_BYTES`], or has whitespace, control characters or ASCII
    /// punctuation other than `-`, `_` and `.`.
    pub fn new(text: &str) -> Result<Self, ParseError> {
        check(text).map_err(|reason| ParseError::Symbol {
            input: text.to_owned(),
            reason,
        })?;
        let mut symbol = CompactString::new(text);
        symbol.as_mut_str().make_ascii_uppercase();
        Ok(Symbol(symbol))
    }

    /// A symbol exactly as a payload carries it; it must already be uppercase.
    pub(crate) fn from_wire(text: &str) -> Result<Self, String> {
        check(text)?;
        if text.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(format!(
                "symbol `{}` has lowercase letters; payload symbols are uppercase",
                shorten(text)
            ));
        }
        Ok(Symbol(CompactString::new(text)))
    }

    /// A symbol from the lowercase form used in stream names.
    pub(crate) fn from_stream_form(text: &str) -> Result<Self, String> {
        check(text)?;
        let mut symbol = CompactString::new(text);
        symbol.as_mut_str().make_ascii_uppercase();
        Ok(Symbol(symbol))
    }

    /// The uppercase symbol (`BTCUSDT`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The lowercase form used in stream names (`btcusdt`), printed without allocating.
    #[must_use]
    pub fn lowercase(&self) -> Lowercase<'_> {
        Lowercase(self.as_str())
    }

    /// The lowercase form used in stream names, as a new string.
    #[must_use]
    pub fn to_lowercase(&self) -> String {
        self.as_str().to_ascii_lowercase()
    }
}

/// Checks the characters and length of a symbol in either case.
fn check(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("a symbol cannot be empty; write one such as `BTCUSDT`".to_owned());
    }
    if text.len() > MAX_SYMBOL_BYTES {
        return Err(format!(
            "a symbol has at most {MAX_SYMBOL_BYTES} bytes, this one has {}",
            text.len()
        ));
    }
    for c in text.chars() {
        let allowed = if c.is_ascii() {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
        } else {
            !c.is_whitespace() && !c.is_control()
        };
        if !allowed {
            return Err(format!(
                "{} is not allowed in a symbol: symbols are letters, digits, `-`, `_` and `.`, \
                 such as `BTCUSDT`",
                describe_char(c)
            ));
        }
    }
    Ok(())
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() || c.is_control() {
        format!("character {:?}", c.escape_default().to_string())
    } else {
        format!("`{c}`")
    }
}

/// At most 40 characters of `text`, for error messages.
pub(crate) fn shorten(text: &str) -> String {
    const KEEP: usize = 40;
    match text.char_indices().nth(KEEP) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A symbol printed in lowercase, as in stream names; see [`Symbol::lowercase`].
#[derive(Debug, Clone, Copy)]
pub struct Lowercase<'a>(&'a str);

impl fmt::Display for Lowercase<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0
            .chars()
            .try_for_each(|c| f.write_char(c.to_ascii_lowercase()))
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Symbol({:?})", self.as_str())
    }
}

impl FromStr for Symbol {
    type Err = ParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Symbol::new(text)
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Symbol {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Symbol {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Symbol {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Symbol {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_case_and_keeps_unicode() {
        let btc = Symbol::new("btcUSDT").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(btc.as_str(), "BTCUSDT");
        assert_eq!(btc.lowercase().to_string(), "btcusdt");
        let test_coin = Symbol::new("这是测试币456").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(test_coin.to_lowercase(), "这是测试币456");
        assert_eq!(
            Symbol::new("BTC-USD_1.X")
                .map(|s| s.to_string())
                .ok()
                .as_deref(),
            Some("BTC-USD_1.X")
        );
    }

    #[test]
    fn refuses_what_cannot_be_a_symbol() {
        for bad in [
            "",
            "BTC USDT",
            "BTC/USDT",
            "btc@usdt",
            "A\u{0}B",
            "X\u{3000}Y",
        ] {
            let err = Symbol::new(bad).err();
            assert!(err.is_some(), "{bad:?} was accepted");
        }
        let long = "A".repeat(MAX_SYMBOL_BYTES + 1);
        assert!(Symbol::new(&long).is_err());
        assert!(Symbol::from_wire("btcusdt").is_err());
        let message = Symbol::new("BTC/USDT").err().map(|e| e.to_string());
        assert_eq!(
            message.as_deref(),
            Some(
                "invalid symbol `BTC/USDT`: `/` is not allowed in a symbol: symbols are letters, \
                 digits, `-`, `_` and `.`, such as `BTCUSDT`"
            )
        );
    }

    #[test]
    fn short_symbols_are_inline() {
        let symbol = Symbol::new("这是测试币456").unwrap_or_else(|e| panic!("{e}"));
        assert!(!symbol.0.is_heap_allocated());
    }
}
