//! A fast path for the most frequent frames: combined `aggTrade`, `trade` and
//! `bookTicker` frames exactly as Binance (and `binance-sim`) writes them.
//!
//! `{"stream":"<name>","data":{"e":"aggTrade","E":…,"s":"…","a":…,"p":"…","q":"…",
//! "f":…,"l":…,"T":…,"m":…,"M":…}}`, `trade`'s `e,E,s,t,p,q,T,m,M` and
//! `bookTicker`'s `u,s,b,B,a,A`: keys in Binance's order, no whitespace, `M`
//! optional. The stream name says which payload to expect, as it does for the
//! general decoder. The scanner walks that fixed shape once; anything else
//! (another order, whitespace, an escape, a number serde would refuse, a value
//! out of range, a bad decimal, symbol or stream name) returns `None`, and the
//! caller decodes the frame with the general [`Decoder`](super::Decoder), which
//! accepts every valid spelling and names the problem of an invalid one. So the
//! fast path changes speed, never results: where it answers, it answers exactly
//! what the general path would (property tests below), with the same exact
//! decimals.

use compact_str::CompactString;
use rust_decimal::Decimal;

use super::decimal::parse_decimal;
use super::events::{AggTrade, BookTicker, Event, Trade};
use super::stream::{StreamKind, StreamName};
use super::symbol::Symbol;
use super::time::{TimeUnit, Timestamp};

/// Reads combined frames of Binance's exact shapes, remembering the last stream
/// name and symbol so that a busy stream's name is parsed and checked once.
#[derive(Debug, Default)]
pub(crate) struct FastReader {
    /// The last stream name as written (inline up to 24 bytes: no allocation
    /// for names such as `btcusdt@aggTrade`), and its parsed form.
    stream: Option<(CompactString, StreamName)>,
    symbol: Option<Symbol>,
}

impl FastReader {
    /// The frame's stream and event, or `None` when the frame is not a combined
    /// `aggTrade`, `trade` or `bookTicker` frame of the exact shape (decode it
    /// with the general decoder, which gives the same answer for frames this
    /// reads).
    pub(crate) fn read(&mut self, frame: &str, unit: TimeUnit) -> Option<(StreamName, Event)> {
        let mut scan = Scan { text: frame, at: 0 };
        scan.eat(r#"{"stream":""#)?;
        let name = scan.string()?;
        scan.eat(r#","data":{"#)?;
        let stream = self.stream(name)?;
        let event = match stream.kind() {
            StreamKind::AggTrade => Event::AggTrade(self.agg_trade(&mut scan, unit)?),
            StreamKind::Trade => Event::Trade(self.trade(&mut scan, unit)?),
            StreamKind::BookTicker => Event::BookTicker(self.book_ticker(&mut scan)?),
            _ => return None,
        };
        scan.eat("}}")?;
        scan.finished().then_some((stream, event))
    }

    /// The stream named `name`, parsed once while it stays the same.
    fn stream(&mut self, name: &str) -> Option<StreamName> {
        if let Some((text, stream)) = &self.stream
            && text.as_str() == name
        {
            return Some(stream.clone());
        }
        let stream = StreamName::parse(name).ok()?;
        self.stream = Some((CompactString::new(name), stream.clone()));
        Some(stream)
    }

    /// A payload symbol, checked once while it stays the same.
    fn symbol(&mut self, scan: &mut Scan<'_>) -> Option<Symbol> {
        let text = scan.string()?;
        if let Some(symbol) = &self.symbol
            && symbol.as_str() == text
        {
            return Some(symbol.clone());
        }
        let symbol = Symbol::from_wire(text).ok()?;
        self.symbol = Some(symbol.clone());
        Some(symbol)
    }

    /// `"e":"aggTrade",…,"M":…` (the closing braces are the caller's).
    fn agg_trade(&mut self, scan: &mut Scan<'_>, unit: TimeUnit) -> Option<AggTrade> {
        scan.eat(r#""e":"aggTrade","E":"#)?;
        let event_time = Timestamp::new(scan.u64()?, unit);
        scan.eat(r#","s":""#)?;
        let symbol = self.symbol(scan)?;
        scan.eat(r#","a":"#)?;
        let agg_trade_id = scan.u64()?;
        scan.eat(r#","p":""#)?;
        let price = scan.decimal()?;
        scan.eat(r#","q":""#)?;
        let quantity = scan.decimal()?;
        scan.eat(r#","f":"#)?;
        let first_trade_id = scan.u64()?;
        scan.eat(r#","l":"#)?;
        let last_trade_id = scan.u64()?;
        scan.eat(r#","T":"#)?;
        let trade_time = Timestamp::new(scan.u64()?, unit);
        scan.eat(r#","m":"#)?;
        let buyer_is_maker = scan.bool()?;
        let best_match = scan.best_match()?;
        Some(AggTrade {
            event_time,
            symbol,
            agg_trade_id,
            price,
            quantity,
            first_trade_id,
            last_trade_id,
            trade_time,
            buyer_is_maker,
            best_match,
        })
    }

    /// `"e":"trade",…,"M":…`.
    fn trade(&mut self, scan: &mut Scan<'_>, unit: TimeUnit) -> Option<Trade> {
        scan.eat(r#""e":"trade","E":"#)?;
        let event_time = Timestamp::new(scan.u64()?, unit);
        scan.eat(r#","s":""#)?;
        let symbol = self.symbol(scan)?;
        scan.eat(r#","t":"#)?;
        let trade_id = scan.u64()?;
        scan.eat(r#","p":""#)?;
        let price = scan.decimal()?;
        scan.eat(r#","q":""#)?;
        let quantity = scan.decimal()?;
        scan.eat(r#","T":"#)?;
        let trade_time = Timestamp::new(scan.u64()?, unit);
        scan.eat(r#","m":"#)?;
        let buyer_is_maker = scan.bool()?;
        let best_match = scan.best_match()?;
        Some(Trade {
            event_time,
            symbol,
            trade_id,
            price,
            quantity,
            trade_time,
            buyer_is_maker,
            best_match,
        })
    }

    /// `"u":…,"s":"…","b":"…","B":"…","a":"…","A":"…"`.
    fn book_ticker(&mut self, scan: &mut Scan<'_>) -> Option<BookTicker> {
        scan.eat(r#""u":"#)?;
        let update_id = scan.u64()?;
        scan.eat(r#","s":""#)?;
        let symbol = self.symbol(scan)?;
        scan.eat(r#","b":""#)?;
        let best_bid_price = scan.decimal()?;
        scan.eat(r#","B":""#)?;
        let best_bid_quantity = scan.decimal()?;
        scan.eat(r#","a":""#)?;
        let best_ask_price = scan.decimal()?;
        scan.eat(r#","A":""#)?;
        let best_ask_quantity = scan.decimal()?;
        Some(BookTicker {
            update_id,
            symbol,
            best_bid_price,
            best_bid_quantity,
            best_ask_price,
            best_ask_quantity,
        })
    }
}

/// A cursor over the frame's bytes.
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    /// Consumes `literal` if the text continues with it.
    fn eat(&mut self, literal: &str) -> Option<()> {
        let rest = self.text.as_bytes().get(self.at..)?;
        if rest.starts_with(literal.as_bytes()) {
            self.at += literal.len();
            Some(())
        } else {
            None
        }
    }

    /// The text up to the next `"` (consumed), which must hold no escape or
    /// control character.
    fn string(&mut self) -> Option<&'a str> {
        let rest = self.text.as_bytes().get(self.at..)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        let value = self.text.get(self.at..self.at + len)?;
        self.at += len + 1;
        Some(value)
    }

    /// An unsigned JSON integer as serde_json reads it into a `u64`: digits, no
    /// leading zero, no fraction or exponent (the next byte is checked by the
    /// caller's next literal), no overflow.
    fn u64(&mut self) -> Option<u64> {
        let rest = self.text.as_bytes().get(self.at..)?;
        let mut value: u64 = 0;
        let mut len = 0_usize;
        for &byte in rest {
            let digit = byte.wrapping_sub(b'0');
            if digit > 9 {
                break;
            }
            // Up to 19 digits cannot overflow; the 20th may.
            value = if len < 19 {
                value * 10 + u64::from(digit)
            } else {
                value.checked_mul(10)?.checked_add(u64::from(digit))?
            };
            len += 1;
        }
        if len == 0 || (len > 1 && rest.first() == Some(&b'0')) {
            return None;
        }
        self.at += len;
        Some(value)
    }

    fn bool(&mut self) -> Option<bool> {
        if self.eat("true").is_some() {
            Some(true)
        } else {
            self.eat("false").map(|()| false)
        }
    }

    /// A decimal string's value (the opening quote is the caller's).
    fn decimal(&mut self) -> Option<Decimal> {
        parse_decimal(self.string()?).ok()
    }

    /// `,"M":<bool>` if present: `Some(None)` when absent.
    fn best_match(&mut self) -> Option<Option<bool>> {
        if self.eat(r#","M":"#).is_some() {
            Some(Some(self.bool()?))
        } else {
            Some(None)
        }
    }

    fn finished(&self) -> bool {
        self.at == self.text.len()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Decoder, Frame};

    const AGG_TRADE: &str = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.00100000","q":"100.5","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}"#;
    const TRADE: &str = r#"{"stream":"bnbbtc@trade","data":{"e":"trade","E":1672515782136,"s":"BNBBTC","t":12345,"p":"0.001","q":"100","T":1672515782136,"m":true,"M":true}}"#;
    const BOOK_TICKER: &str = r#"{"stream":"bnbusdt@bookTicker","data":{"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}"#;

    /// What the general decoder makes of a frame, when it is an event.
    fn general(frame: &str, unit: TimeUnit) -> Option<(StreamName, Event)> {
        match Decoder::combined(unit).decode(frame) {
            Ok(Frame::Event { stream, event }) => Some((stream, event)),
            _ => None,
        }
    }

    fn fast(frame: &str, unit: TimeUnit) -> Option<(StreamName, Event)> {
        FastReader::default().read(frame, unit)
    }

    #[test]
    fn reads_the_fixtures_as_the_general_decoder_does() {
        for frame in [AGG_TRADE, TRADE, BOOK_TICKER] {
            let read = fast(frame, TimeUnit::Millisecond);
            assert!(read.is_some(), "{frame}");
            assert_eq!(read, general(frame, TimeUnit::Millisecond), "{frame}");
        }
        let Some((_, Event::AggTrade(trade))) = fast(AGG_TRADE, TimeUnit::Millisecond) else {
            panic!("not an aggTrade");
        };
        assert_eq!(trade.price.to_string(), "0.00100000");
    }

    #[test]
    fn leaves_other_spellings_to_the_general_decoder() {
        let others = [
            // Whitespace, another key order, an escape, a leading zero, a
            // fraction, a negative id, an unknown key, trailing text, an
            // exponent, an overflow, a lowercase payload symbol, a payload of
            // another type than the stream's, a stream type without a fast path.
            AGG_TRADE.replace(r#""E":"#, r#""E": "#),
            AGG_TRADE.replace(
                r#""a":12345,"p":"0.00100000""#,
                r#""p":"0.00100000","a":12345"#,
            ),
            AGG_TRADE.replace("BTCUSDT", r"BTC\u0055SDT"),
            AGG_TRADE.replace(r#""a":12345"#, r#""a":012345"#),
            AGG_TRADE.replace(r#""a":12345"#, r#""a":12345.0"#),
            AGG_TRADE.replace(r#""a":12345"#, r#""a":-12345"#),
            AGG_TRADE.replace(r#""M":true"#, r#""M":true,"x":1"#),
            format!("{AGG_TRADE} "),
            AGG_TRADE.replace(r#""p":"0.00100000""#, r#""p":"1e-3""#),
            AGG_TRADE.replace(r#""a":12345"#, r#""a":18446744073709551616"#),
            AGG_TRADE.replace("BTCUSDT", "btcusdt"),
            AGG_TRADE.replace("btcusdt@aggTrade", "btcusdt@trade"),
            TRADE.replace("bnbbtc@trade", "bnbbtc@miniTicker"),
            BOOK_TICKER.replace(r#","A":"40.66000000""#, ""),
        ];
        for frame in &others {
            assert!(fast(frame, TimeUnit::Millisecond).is_none(), "{frame}");
        }
        // The general decoder still reads the valid ones.
        for frame in &others[..3] {
            assert!(general(frame, TimeUnit::Millisecond).is_some(), "{frame}");
        }
    }

    #[test]
    fn reads_integers_as_serde_json_does_up_to_u64_max() {
        let at = |text: &str| Scan { text, at: 0 }.u64();
        assert_eq!(at("0,"), Some(0));
        assert_eq!(at("18446744073709551615,"), Some(u64::MAX));
        assert_eq!(at("18446744073709551616,"), None);
        assert_eq!(at("99999999999999999999,"), None);
        assert_eq!(at("1844674407370955161"), Some(1_844_674_407_370_955_161));
        assert_eq!(at("00"), None);
        assert_eq!(at("-1"), None);
        assert_eq!(at(""), None);
    }

    #[test]
    fn a_missing_best_match_is_none_as_in_the_general_decoder() {
        for frame in [AGG_TRADE, TRADE] {
            let frame = frame.replace(r#","M":true"#, "");
            let read = fast(&frame, TimeUnit::Microsecond);
            assert!(read.is_some(), "{frame}");
            assert_eq!(read, general(&frame, TimeUnit::Microsecond));
        }
    }

    /// A plain decimal string: optional minus, digits, optional fraction.
    fn decimal() -> impl Strategy<Value = String> {
        (
            any::<bool>(),
            "[0-9]{1,14}",
            proptest::option::of("[0-9]{1,14}"),
        )
            .prop_map(|(negative, whole, fraction)| {
                let sign = if negative { "-" } else { "" };
                match fraction {
                    Some(fraction) => format!("{sign}{whole}.{fraction}"),
                    None => format!("{sign}{whole}"),
                }
            })
    }

    prop_compose! {
        fn agg_trade_frame()(
            symbol in "[A-Z0-9]{2,12}",
            times in (any::<u64>(), any::<u64>()),
            ids in (any::<u64>(), any::<u64>(), any::<u64>()),
            price in decimal(),
            quantity in decimal(),
            flags in (any::<bool>(), proptest::option::of(any::<bool>())),
        ) -> String {
            let (maker, best) = flags;
            let best = best.map_or(String::new(), |b| format!(r#","M":{b}"#));
            format!(
                r#"{{"stream":"{}@aggTrade","data":{{"e":"aggTrade","E":{},"s":"{symbol}","a":{},"p":"{price}","q":"{quantity}","f":{},"l":{},"T":{},"m":{maker}{best}}}}}"#,
                symbol.to_lowercase(), times.0, ids.0, ids.1, ids.2, times.1
            )
        }
    }

    prop_compose! {
        fn trade_frame()(
            symbol in "[A-Z0-9]{2,12}",
            times in (any::<u64>(), any::<u64>()),
            id in any::<u64>(),
            price in decimal(),
            quantity in decimal(),
            flags in (any::<bool>(), proptest::option::of(any::<bool>())),
        ) -> String {
            let (maker, best) = flags;
            let best = best.map_or(String::new(), |b| format!(r#","M":{b}"#));
            format!(
                r#"{{"stream":"{}@trade","data":{{"e":"trade","E":{},"s":"{symbol}","t":{id},"p":"{price}","q":"{quantity}","T":{},"m":{maker}{best}}}}}"#,
                symbol.to_lowercase(), times.0, times.1
            )
        }
    }

    prop_compose! {
        fn book_ticker_frame()(
            symbol in "[A-Z0-9]{2,12}",
            id in any::<u64>(),
            values in (decimal(), decimal(), decimal(), decimal()),
        ) -> String {
            let (b, bq, a, aq) = values;
            format!(
                r#"{{"stream":"{}@bookTicker","data":{{"u":{id},"s":"{symbol}","b":"{b}","B":"{bq}","a":"{a}","A":"{aq}"}}}}"#,
                symbol.to_lowercase()
            )
        }
    }

    fn frame() -> impl Strategy<Value = String> {
        prop_oneof![agg_trade_frame(), trade_frame(), book_ticker_frame()]
    }

    proptest! {
        #[test]
        fn agrees_with_the_general_decoder_on_valid_frames(
            frame in frame(),
            micros in any::<bool>(),
        ) {
            let unit = if micros { TimeUnit::Microsecond } else { TimeUnit::Millisecond };
            let general = general(&frame, unit);
            // Every generated frame is valid and of the fast path's shape.
            prop_assert!(general.is_some(), "general decoder refused {}", frame);
            let mut reader = FastReader::default();
            let read = reader.read(&frame, unit);
            prop_assert!(read.is_some(), "fast path refused {}", frame);
            prop_assert_eq!(&read, &general);
            // Exact decimals: the same digits and scale come back.
            prop_assert_eq!(format!("{read:?}"), format!("{general:?}"));
            // With its caches warm, the reader gives the same result.
            prop_assert_eq!(reader.read(&frame, unit), general);
        }

        #[test]
        fn damaged_frames_never_panic_and_never_disagree(
            frame in frame(),
            cut in any::<prop::sample::Index>(),
            byte in proptest::sample::select(b"0123456789-.\"{}:,ex \\".to_vec()),
            replace in any::<bool>(),
        ) {
            let mut bytes = frame.clone().into_bytes();
            let at = cut.index(bytes.len());
            if replace {
                bytes[at] = byte;
            } else {
                bytes.insert(at, byte);
            }
            let Ok(damaged) = String::from_utf8(bytes) else {
                return Ok(());
            };
            let unit = TimeUnit::Millisecond;
            // Where the fast path answers, the general decoder answers the same;
            // where it does not, the general decoder reports the frame as before.
            // The reader first sees the intact frame, so its caches are warm.
            let mut reader = FastReader::default();
            let _ = reader.read(&frame, unit);
            if let Some(read) = reader.read(&damaged, unit) {
                let general = general(&damaged, unit);
                prop_assert!(general.is_some(), "fast path accepted {} which the general path refuses", damaged);
                prop_assert_eq!(Some(read), general);
            }
        }
    }
}
