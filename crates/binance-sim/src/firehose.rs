//! Firehose mode: `aggTrade` events rendered straight into WebSocket frames, as
//! fast as a socket takes them, for client benchmarks.
//!
//! The firehose bypasses the order book: it writes aggregate trades with strictly
//! contiguous ids (`a`), contiguous trade ranges (`f`..`l`) and prices cycling
//! around the symbol's last price, formatted exactly like the live stream. Frames
//! are server frames (unmasked), so they are complete bytes ready for the socket.

use std::sync::Arc;

use crate::decimal::Fixed;
use crate::payload::TimeUnit;

/// Prices the firehose cycles through (a small walk around the start price).
const PRICE_STEPS: usize = 64;

/// Generates consecutive `aggTrade` frames for one symbol.
#[derive(Debug, Clone)]
pub struct Firehose {
    symbol: Arc<str>,
    stream: Box<str>,
    prices: Vec<Box<str>>,
    qtys: Vec<Box<str>>,
    next_agg_id: u64,
    next_trade_id: u64,
    json: Vec<u8>,
}

impl Firehose {
    /// A firehose for `symbol` (uppercase), around `price`, with quantities of `step`
    /// multiples; ids continue from `next_agg_id` and `next_trade_id`.
    #[must_use]
    pub fn new(
        symbol: &str,
        price: Fixed,
        tick: Fixed,
        step: Fixed,
        next_agg_id: u64,
        next_trade_id: u64,
    ) -> Self {
        let tick = tick.0.max(1);
        let half = i64::try_from(PRICE_STEPS / 2).unwrap_or(32);
        let prices = (0..PRICE_STEPS)
            .map(|i| {
                // A triangle wave: up for half the cycle, down for the other half.
                let i = i64::try_from(i).unwrap_or(0);
                let offset = if i < half { i } else { 2 * half - i };
                Fixed((price.0 + (offset - half / 2) * tick).max(tick))
                    .to_string()
                    .into_boxed_str()
            })
            .collect();
        let qtys = (1..=16)
            .map(|k| Fixed(step.0.max(1) * k).to_string().into_boxed_str())
            .collect();
        Firehose {
            stream: format!("{}@aggTrade", symbol.to_lowercase()).into_boxed_str(),
            symbol: Arc::from(symbol),
            prices,
            qtys,
            next_agg_id,
            next_trade_id,
            json: Vec::with_capacity(256),
        }
    }

    /// The id the next event will carry.
    #[must_use]
    pub fn next_agg_id(&self) -> u64 {
        self.next_agg_id
    }

    /// Appends `count` events, each a complete unmasked text frame, to `out`.
    pub fn fill(
        &mut self,
        out: &mut Vec<u8>,
        count: usize,
        now_ms: u64,
        unit: TimeUnit,
        combined: bool,
    ) {
        let time = match unit {
            TimeUnit::Millisecond => now_ms,
            TimeUnit::Microsecond => now_ms.saturating_mul(1000),
        };
        let mut ints = itoa::Buffer::new();
        for _ in 0..count {
            let id = self.next_agg_id;
            let first = self.next_trade_id;
            // One to three trades per aggregate trade.
            let trades = 1 + id % 3;
            let last = first + trades - 1;
            self.next_agg_id += 1;
            self.next_trade_id += trades;
            let slot = usize::try_from(id % PRICE_STEPS as u64).unwrap_or(0);
            let json = &mut self.json;
            json.clear();
            if combined {
                json.extend_from_slice(b"{\"stream\":\"");
                json.extend_from_slice(self.stream.as_bytes());
                json.extend_from_slice(b"\",\"data\":");
            }
            json.extend_from_slice(b"{\"e\":\"aggTrade\",\"E\":");
            json.extend_from_slice(ints.format(time).as_bytes());
            json.extend_from_slice(b",\"s\":\"");
            json.extend_from_slice(self.symbol.as_bytes());
            json.extend_from_slice(b"\",\"a\":");
            json.extend_from_slice(ints.format(id).as_bytes());
            json.extend_from_slice(b",\"p\":\"");
            json.extend_from_slice(self.prices[slot].as_bytes());
            json.extend_from_slice(b"\",\"q\":\"");
            json.extend_from_slice(self.qtys[slot % self.qtys.len()].as_bytes());
            json.extend_from_slice(b"\",\"f\":");
            json.extend_from_slice(ints.format(first).as_bytes());
            json.extend_from_slice(b",\"l\":");
            json.extend_from_slice(ints.format(last).as_bytes());
            json.extend_from_slice(b",\"T\":");
            json.extend_from_slice(ints.format(time).as_bytes());
            json.extend_from_slice(if id.is_multiple_of(2) {
                b",\"m\":true,\"M\":true}"
            } else {
                b",\"m\":false,\"M\":true}"
            });
            if combined {
                json.push(b'}');
            }
            frame_header(out, json.len());
            out.extend_from_slice(json);
        }
    }
}

/// Writes the header of an unmasked, final text frame carrying `len` bytes (RFC 6455 §5.2).
fn frame_header(out: &mut Vec<u8>, len: usize) {
    out.push(0x81);
    if len < 126 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else if let Ok(short) = u16::try_from(len) {
        out.push(126);
        out.extend_from_slice(&short.to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits unmasked server frames back into their text payloads.
    fn frames(mut bytes: &[u8]) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            assert_eq!(bytes[0], 0x81, "final text frame");
            let (len, header) = match bytes[1] {
                126 => (usize::from(u16::from_be_bytes([bytes[2], bytes[3]])), 4),
                127 => panic!("no frame this large is expected"),
                n => (usize::from(n), 2),
            };
            let payload = &bytes[header..header + len];
            out.push(serde_json::from_slice(payload).unwrap_or(serde_json::Value::Null));
            bytes = &bytes[header + len..];
        }
        out
    }

    #[test]
    fn frames_are_contiguous_aggtrades_shaped_like_the_fixture() {
        let mut hose = Firehose::new(
            "BTCUSDT",
            Fixed(6_000_000_000_000),
            Fixed(1_000_000),
            Fixed(1_000),
            100,
            1_000,
        );
        let mut out = Vec::new();
        hose.fill(
            &mut out,
            50,
            1_767_225_600_000,
            TimeUnit::Millisecond,
            false,
        );
        let events = frames(&out);
        assert_eq!(events.len(), 50);
        let fixture: serde_json::Value =
            serde_json::from_str(include_str!("../tests/fixtures/ws_aggTrade.json"))
                .unwrap_or_default();
        let keys =
            |v: &serde_json::Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        let mut next_trade = 1_000;
        for (i, e) in events.iter().enumerate() {
            assert_eq!(keys(e), keys(&fixture));
            assert_eq!(e["a"].as_u64(), Some(100 + i as u64));
            assert_eq!(e["f"].as_u64(), Some(next_trade));
            next_trade = e["l"].as_u64().unwrap_or(0) + 1;
            assert!(e["p"].is_string() && e["q"].is_string() && e["m"].is_boolean());
        }
        assert_eq!(hose.next_agg_id(), 150);
    }

    #[test]
    fn combined_and_microseconds() {
        let mut hose = Firehose::new(
            "ETHUSDT",
            Fixed(300_000_000_000),
            Fixed(1_000_000),
            Fixed(10_000),
            1,
            1,
        );
        let mut out = Vec::new();
        hose.fill(&mut out, 2, 1_767_225_600_000, TimeUnit::Microsecond, true);
        let events = frames(&out);
        assert_eq!(events[0]["stream"], "ethusdt@aggTrade");
        assert_eq!(events[1]["data"]["E"].as_u64(), Some(1_767_225_600_000_000));
    }
}
