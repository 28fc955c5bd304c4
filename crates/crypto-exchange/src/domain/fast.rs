//! A fast path for the most frequent frame: a combined `aggTrade` frame exactly
//! as Binance (and `binance-sim`) writes it.
//!
//! `{"stream":"<name>","data":{"e":"aggTrade","E":…,"s":"…","a":…,"p":"…","q":"…",
//! "f":…,"l":…,"T":…,"m":…,"M":…}}`, keys in that order, no whitespace, `M`
//! optional. The scanner walks that fixed shape once; anything else (another
//! order, whitespace, an escape, a number serde would refuse, a value out of
//! range, a bad decimal or symbol) returns `None`, and the caller decodes the
//! frame with the general [`Decoder`](super::Decoder), which accepts every valid
//! spelling and names the problem of an invalid one. So the fast path changes
//! speed, never results: where it answers, it answers exactly what the general
//! path would (property tests below), with the same exact decimals.

use compact_str::CompactString;

use super::decimal::parse_decimal;
use super::events::AggTrade;
use super::stream::{StreamKind, StreamName};
use super::symbol::Symbol;
use super::time::{TimeUnit, Timestamp};

/// Reads combined `aggTrade` frames of Binance's exact shape, remembering the
/// last stream name and symbol so that a busy stream's name is parsed once.
#[derive(Debug, Default)]
pub(crate) struct AggTradeReader {
    /// The last stream name as written (inline up to 24 bytes: no allocation
    /// for names such as `btcusdt@aggTrade`), and its parsed form.
    stream: Option<(CompactString, StreamName)>,
    symbol: Option<Symbol>,
}

impl AggTradeReader {
    /// The frame's stream and payload, or `None` when the frame is not a combined
    /// `aggTrade` frame of the exact shape (decode it with the general decoder,
    /// which gives the same answer for frames this reads).
    pub(crate) fn read(&mut self, frame: &str, unit: TimeUnit) -> Option<(StreamName, AggTrade)> {
        let (name, trade) = agg_trade(frame, unit, self.symbol.as_ref())?;
        let stream = match &self.stream {
            Some((text, stream)) if text.as_str() == name => stream.clone(),
            _ => {
                let stream = StreamName::parse(name).ok()?;
                // The general decoder reads `data` by the stream's kind: a payload
                // that does not match it is an error only it can report.
                if stream.kind() != StreamKind::AggTrade {
                    return None;
                }
                self.stream = Some((CompactString::new(name), stream.clone()));
                stream
            }
        };
        if self.symbol.as_ref() != Some(&trade.symbol) {
            self.symbol = Some(trade.symbol.clone());
        }
        Some((stream, trade))
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

    fn finished(&self) -> bool {
        self.at == self.text.len()
    }
}

/// Reads a combined `aggTrade` frame of Binance's exact shape: the stream name
/// as written, and the payload. `None` for anything else (decode it with the
/// general decoder). `last_symbol` is reused when the payload names the same
/// symbol, which spares re-checking it.
pub(crate) fn agg_trade<'a>(
    frame: &'a str,
    unit: TimeUnit,
    last_symbol: Option<&Symbol>,
) -> Option<(&'a str, AggTrade)> {
    let mut scan = Scan { text: frame, at: 0 };
    scan.eat(r#"{"stream":""#)?;
    let stream = scan.string()?;
    scan.eat(r#","data":{"e":"aggTrade","E":"#)?;
    let event_time = scan.u64()?;
    scan.eat(r#","s":""#)?;
    let symbol_text = scan.string()?;
    let symbol = match last_symbol {
        Some(symbol) if symbol.as_str() == symbol_text => symbol.clone(),
        _ => Symbol::from_wire(symbol_text).ok()?,
    };
    scan.eat(r#","a":"#)?;
    let agg_trade_id = scan.u64()?;
    scan.eat(r#","p":""#)?;
    let price = parse_decimal(scan.string()?).ok()?;
    scan.eat(r#","q":""#)?;
    let quantity = parse_decimal(scan.string()?).ok()?;
    scan.eat(r#","f":"#)?;
    let first_trade_id = scan.u64()?;
    scan.eat(r#","l":"#)?;
    let last_trade_id = scan.u64()?;
    scan.eat(r#","T":"#)?;
    let trade_time = scan.u64()?;
    scan.eat(r#","m":"#)?;
    let buyer_is_maker = scan.bool()?;
    let best_match = if scan.eat(r#","M":"#).is_some() {
        Some(scan.bool()?)
    } else {
        None
    };
    scan.eat("}}")?;
    if !scan.finished() {
        return None;
    }
    Some((
        stream,
        AggTrade {
            event_time: Timestamp::new(event_time, unit),
            symbol,
            agg_trade_id,
            price,
            quantity,
            first_trade_id,
            last_trade_id,
            trade_time: Timestamp::new(trade_time, unit),
            buyer_is_maker,
            best_match,
        },
    ))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::domain::{Decoder, Event, Frame, StreamName};

    const FIXTURE: &str = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1672515782136,"s":"BTCUSDT","a":12345,"p":"0.00100000","q":"100.5","f":100,"l":105,"T":1672515782134,"m":true,"M":true}}"#;

    /// What the general decoder makes of a frame, when it is a combined aggTrade.
    fn general(frame: &str, unit: TimeUnit) -> Option<(StreamName, AggTrade)> {
        match Decoder::combined(unit).decode(frame) {
            Ok(Frame::Event {
                stream,
                event: Event::AggTrade(trade),
            }) => Some((stream, trade)),
            _ => None,
        }
    }

    #[test]
    fn reads_the_fixture_as_the_general_decoder_does() {
        let (name, trade) = agg_trade(FIXTURE, TimeUnit::Millisecond, None).expect("fast path");
        let (stream, expected) = general(FIXTURE, TimeUnit::Millisecond).expect("general path");
        assert_eq!(name, stream.to_string());
        assert_eq!(trade, expected);
        assert_eq!(trade.price.to_string(), "0.00100000");
    }

    #[test]
    fn leaves_other_spellings_to_the_general_decoder() {
        let others = [
            // Whitespace, another key order, an escape, a leading zero, a
            // fraction, a negative id, an unknown key, trailing text.
            FIXTURE.replace(r#""E":"#, r#""E": "#),
            FIXTURE.replace(
                r#""a":12345,"p":"0.00100000""#,
                r#""p":"0.00100000","a":12345"#,
            ),
            FIXTURE.replace("BTCUSDT", r"BTC\u0055SDT"),
            FIXTURE.replace(r#""a":12345"#, r#""a":012345"#),
            FIXTURE.replace(r#""a":12345"#, r#""a":12345.0"#),
            FIXTURE.replace(r#""a":12345"#, r#""a":-12345"#),
            FIXTURE.replace(r#""M":true"#, r#""M":true,"x":1"#),
            format!("{FIXTURE} "),
            FIXTURE.replace(r#""p":"0.00100000""#, r#""p":"1e-3""#),
            FIXTURE.replace(r#""a":12345"#, r#""a":18446744073709551616"#),
            FIXTURE.replace("BTCUSDT", "btcusdt"),
            FIXTURE.replace("btcusdt@aggTrade", "btcusdt@trade"),
        ];
        for frame in &others {
            assert!(
                AggTradeReader::default()
                    .read(frame, TimeUnit::Millisecond)
                    .is_none(),
                "{frame}"
            );
        }
        // The general decoder still reads the valid ones.
        assert!(general(&others[0], TimeUnit::Millisecond).is_some());
        assert!(general(&others[1], TimeUnit::Millisecond).is_some());
        assert!(general(&others[2], TimeUnit::Millisecond).is_some());
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
        let frame = FIXTURE.replace(r#","M":true"#, "");
        let (_, trade) = agg_trade(&frame, TimeUnit::Microsecond, None).expect("fast path");
        assert_eq!(trade.best_match, None);
        assert_eq!(
            Some(trade),
            general(&frame, TimeUnit::Microsecond).map(|(_, t)| t)
        );
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
        fn frame()(
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

    proptest! {
        #[test]
        fn agrees_with_the_general_decoder_on_valid_frames(
            frame in frame(),
            micros in any::<bool>(),
        ) {
            let unit = if micros { TimeUnit::Microsecond } else { TimeUnit::Millisecond };
            let general = general(&frame, unit);
            let fast = agg_trade(&frame, unit, None);
            // Every generated frame is valid and of the fast path's shape.
            prop_assert!(general.is_some(), "general decoder refused {}", frame);
            prop_assert!(fast.is_some(), "fast path refused {}", frame);
            if let (Some((stream, expected)), Some((name, trade))) = (general, fast) {
                prop_assert_eq!(stream.to_string(), name);
                prop_assert_eq!(&trade, &expected);
                // Exact decimals: the same digits and scale come back.
                prop_assert_eq!(trade.price.to_string(), expected.price.to_string());
                // The reader, with its caches warm, gives the same result.
                let mut reader = AggTradeReader::default();
                let first = reader.read(&frame, unit);
                prop_assert_eq!(first, Some((stream.clone(), expected.clone())));
                prop_assert_eq!(reader.read(&frame, unit), Some((stream, expected)));
            }
        }

        #[test]
        fn damaged_frames_never_panic_and_never_disagree(
            frame in frame(),
            cut in any::<prop::sample::Index>(),
            byte in proptest::sample::select(b"0123456789-.\"{}:,ex \\".to_vec()),
            replace in any::<bool>(),
        ) {
            let mut bytes = frame.into_bytes();
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
            let mut reader = AggTradeReader::default();
            if let Some(fast) = reader.read(&damaged, unit) {
                let general = general(&damaged, unit);
                prop_assert!(general.is_some(), "fast path accepted {} which the general path refuses", damaged);
                prop_assert_eq!(Some(fast), general);
            }
        }
    }
}
