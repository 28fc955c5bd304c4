//! Writing events and lifecycle signals: JSON lines (Binance's combined shape plus
//! `source`) or short human-readable text. A closed pipe (`| head`) ends the
//! command cleanly instead of failing.

use std::io::{self, Write};

use crypto_exchange::domain::Event;
use crypto_exchange::{Lifecycle, StreamEvent};

/// The output format of `stream`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// One JSON object per line: `{"stream":…,"data":{…},"source":"live"}`;
    /// lifecycle signals as `{"lifecycle":…}` lines.
    Jsonl,
    /// One short line per event for people.
    Text,
}

/// Writes events and signals to stdout.
pub(crate) struct Output {
    format: Format,
    out: io::BufWriter<io::Stdout>,
    line: Vec<u8>,
}

impl Output {
    pub(crate) fn new(format: Format) -> Self {
        Output {
            format,
            out: io::BufWriter::with_capacity(64 * 1024, io::stdout()),
            line: Vec::with_capacity(512),
        }
    }

    /// Writes one event; `Err` only for a closed or failed stdout.
    pub(crate) fn event(&mut self, event: &StreamEvent) -> io::Result<()> {
        self.line.clear();
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.line, event).map_err(io::Error::other)?;
            }
            Format::Text => write_text(&mut self.line, event)?,
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    /// Writes a lifecycle signal (JSON line, or a `#` comment line in text).
    pub(crate) fn lifecycle(&mut self, signal: &Lifecycle) -> io::Result<()> {
        self.line.clear();
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut self.line, signal).map_err(io::Error::other)?;
            }
            Format::Text => write!(self.line, "# {}", describe(signal))?,
        }
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.out.flush()
    }

    /// Writes a lag notice.
    pub(crate) fn lagged(&mut self, missed: u64) -> io::Result<()> {
        match self.format {
            Format::Jsonl => writeln!(self.out, r#"{{"lagged":{missed}}}"#),
            Format::Text => writeln!(self.out, "# output fell behind: {missed} events skipped"),
        }
    }

    /// Writes a gap notice: ids that will never arrive.
    pub(crate) fn gap(&mut self, stream: &str, from: u64, to: u64) -> io::Result<()> {
        match self.format {
            Format::Jsonl => writeln!(
                self.out,
                r#"{{"gap":{{"stream":"{stream}","from":{from},"to":{to}}}}}"#
            ),
            Format::Text => writeln!(
                self.out,
                "# {stream}: ids {from}..={to} could not be recovered (gap)"
            ),
        }
    }

    /// Writes a backfill notice: missed ids recovered from REST.
    pub(crate) fn backfilled(&mut self, stream: &str, count: u64) -> io::Result<()> {
        match self.format {
            Format::Jsonl => writeln!(
                self.out,
                r#"{{"backfilled":{{"stream":"{stream}","count":{count}}}}}"#
            ),
            Format::Text => writeln!(
                self.out,
                "# {stream}: {count} missed events recovered from REST"
            ),
        }
    }

    pub(crate) fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// A lifecycle signal in words.
pub(crate) fn describe(signal: &Lifecycle) -> String {
    match signal {
        Lifecycle::Connecting {
            connection,
            endpoint,
            attempt,
        } => {
            format!("connection {connection}: connecting to {endpoint} (attempt {attempt})")
        }
        Lifecycle::Connected {
            connection,
            endpoint,
        } => format!("connection {connection}: connected to {endpoint}"),
        Lifecycle::Subscribed {
            connection,
            streams,
        } => {
            format!("connection {connection}: {streams} streams subscribed")
        }
        Lifecycle::Disconnected {
            connection, detail, ..
        } => format!("connection {connection}: disconnected: {detail}"),
        Lifecycle::Reconnecting {
            connection,
            delay_ms,
            rate_limited,
        } => format!(
            "connection {connection}: reconnecting in {delay_ms} ms{}",
            if *rate_limited {
                " (rate limited: backing off)"
            } else {
                ""
            }
        ),
        Lifecycle::Rotated { connection, reason } => {
            format!("connection {connection}: rotated ({reason}), no gap")
        }
        Lifecycle::RequestFailed {
            connection,
            code,
            message,
        } => {
            format!("connection {connection}: request refused: {message} (code {code})")
        }
        Lifecycle::Abandoned { connection, reason } => {
            format!("connection {connection}: gave up: {reason}")
        }
        Lifecycle::EndpointSwitched { from, to, reason } => match from {
            Some(from) => format!("endpoint: {from} -> {to} ({reason})"),
            None => format!("endpoint: {to} ({reason})"),
        },
        Lifecycle::Polling {
            connection,
            streams,
            slowed,
        } => format!(
            "connection {connection}: {streams} streams served by REST polling{}",
            if *slowed > 0 {
                format!(" ({slowed} slower than normal, within the weight budget)")
            } else {
                String::new()
            }
        ),
        Lifecycle::PollingStopped { connection } => {
            format!("connection {connection}: polling stopped, WebSocket serving")
        }
        other => format!("{other:?}"),
    }
}

fn write_text(line: &mut Vec<u8>, e: &StreamEvent) -> io::Result<()> {
    write!(line, "{:<28} ", e.stream.to_string())?;
    match &e.event {
        Event::AggTrade(t) => write!(
            line,
            "aggTrade #{} {} @ {}{}",
            t.agg_trade_id,
            t.quantity,
            t.price,
            if t.buyer_is_maker { " sell" } else { " buy" }
        ),
        Event::Trade(t) => write!(line, "trade #{} {} @ {}", t.trade_id, t.quantity, t.price),
        Event::BookTicker(b) => write!(
            line,
            "bid {} x {}  ask {} x {}",
            b.best_bid_price, b.best_bid_quantity, b.best_ask_price, b.best_ask_quantity
        ),
        Event::DepthUpdate(d) => write!(
            line,
            "depth {}..={} {} bids {} asks",
            d.first_update_id,
            d.final_update_id,
            d.bids.len(),
            d.asks.len()
        ),
        Event::PartialDepth(d) => write!(
            line,
            "top {} bids / {} asks, best bid {} ask {}",
            d.bids.len(),
            d.asks.len(),
            d.bids
                .first()
                .map_or_else(|| "-".to_owned(), |l| l.price.to_string()),
            d.asks
                .first()
                .map_or_else(|| "-".to_owned(), |l| l.price.to_string())
        ),
        Event::Kline(k) => write!(
            line,
            "kline {} o {} h {} l {} c {}{}",
            k.candle.interval.as_str(),
            k.candle.open,
            k.candle.high,
            k.candle.low,
            k.candle.close,
            if k.candle.is_closed { " (closed)" } else { "" }
        ),
        other => write!(line, "{}", other.type_name()),
    }
}
