//! Polling over REST, stream by stream, while no WebSocket can serve it
//! (`docs/fallback.md`, "In the facade"). Every polled value is an event with
//! `source: poll`.
//!
//! | stream | REST | weight | normal interval |
//! |---|---|---|---|
//! | `<s>@aggTrade` | `/api/v3/aggTrades?fromId=` (page of 1000) | 4 | 1 s |
//! | `<s>@trade` | `/api/v3/historicalTrades?fromId=` (page of 1000) | 25 | 1 s |
//! | `<s>@bookTicker` | `/api/v3/ticker/bookTicker` | 2 | 1 s |
//! | `<s>@ticker`, `<s>@miniTicker` | `/api/v3/ticker/24hr` | 2 | 1 s |
//! | `<s>@ticker_<w>` | `/api/v3/ticker?windowSize=` | 4 | 1 s |
//! | `<s>@avgPrice` | `/api/v3/avgPrice` | 2 | 1 s |
//! | `<s>@kline_<i>` (UTC) | `/api/v3/klines?limit=1` | 2 | 2 s (1 s for `1s`) |
//! | `<s>@depth<N>[@100ms]` | `/api/v3/depth?limit=N` | 5 | 1 s |
//! | `<s>@depth[@100ms]` | `/api/v3/depth?limit=100` | 5 | 1 s |
//! | market-wide (`!…@arr`), others | none: stale while the WebSocket is down | | |
//!
//! Trade streams continue from the last id delivered (`fromId`), so polling
//! delivers every id once: a page's ids go through the stream's high-water
//! mark like any event, and a later WebSocket reconnect's gap detection
//! backfills whatever polling had not reached. With nothing delivered yet,
//! the first poll takes the most recent trade, and the next ones continue
//! from it.
//!
//! Depth streams are polled as snapshots: each poll is a `PartialDepth`
//! event (`lastUpdateId`, bids, asks; the top 100 levels for a diff stream),
//! marked `source: poll`. A diff-depth subscriber therefore sees snapshots,
//! not diffs, while polled; [`OrderBooks`](crate::OrderBooks) applies only
//! diffs, so a book stays resyncing until the diff stream is back and
//! rebuilds then, never serving a polled snapshot as if it were live.

use std::sync::Arc;
use std::time::Duration;

use fallback::Polling;
use tokio::sync::mpsc::UnboundedSender;

use super::driver::decode::{BackfillMsg, Poll, Span};
use super::live::{Source, StreamEvent};
use super::refresh;
use super::trades;
use crate::domain::{Event, KlineInterval, KlineTimezone, PartialDepth, StreamKind, StreamName};
use crate::rest::{RestClient, depth_weight};

/// Trades asked for per poll (Binance's maximum page; the weight is the same).
const PAGE: u16 = 1000;

/// Levels asked for when a diff-depth stream is polled (weight 5).
const DIFF_DEPTH_LEVELS: u32 = 100;

/// The shortest interval a stream is polled at, whatever its push rate.
const FASTEST: Duration = Duration::from_secs(1);

/// Polls streams through the client's [`RestClient`].
pub(crate) struct RestPoll {
    rest: RestClient,
}

impl RestPoll {
    pub(crate) fn new(rest: RestClient) -> Arc<Self> {
        Arc::new(RestPoll { rest })
    }
}

/// The weight and normal interval of polling `stream`.
pub(crate) fn polling_of(stream: &StreamName) -> Polling {
    let supported = |weight, normal_interval| Polling::Supported {
        weight,
        normal_interval,
    };
    let second = Duration::from_secs(1);
    if stream.symbol().is_none() {
        return Polling::Unsupported;
    }
    match stream.kind() {
        StreamKind::AggTrade => supported(4, second),
        StreamKind::Trade => supported(25, second),
        StreamKind::BookTicker
        | StreamKind::Ticker
        | StreamKind::MiniTicker
        | StreamKind::AvgPrice => supported(2, second),
        StreamKind::RollingTicker(_) => supported(4, second),
        StreamKind::Kline {
            interval,
            timezone: KlineTimezone::Utc,
        } => {
            let every = if interval == KlineInterval::S1 { 1 } else { 2 };
            supported(2, Duration::from_secs(every))
        }
        StreamKind::PartialDepth { levels, speed } => {
            let levels = u32::try_from(levels.count()).unwrap_or(DIFF_DEPTH_LEVELS);
            let interval = Duration::from_millis(speed.millis()).max(FASTEST);
            supported(depth_weight(levels), interval)
        }
        StreamKind::Depth(speed) => supported(
            depth_weight(DIFF_DEPTH_LEVELS),
            Duration::from_millis(speed.millis()).max(FASTEST),
        ),
        _ => Polling::Unsupported,
    }
}

/// The usual time between a stream's values, where it has one: its push
/// interval (depth, klines, tickers, averages). Trades and book tickers
/// come when the market moves: `None` (the cache's default applies).
pub(crate) fn expected_interval_of(stream: &StreamName) -> Option<Duration> {
    match stream.kind() {
        StreamKind::Ticker
        | StreamKind::MiniTicker
        | StreamKind::RollingTicker(_)
        | StreamKind::AvgPrice
        | StreamKind::AllMiniTickers
        | StreamKind::AllRollingTickers(_) => Some(Duration::from_secs(1)),
        _ => super::observe::expected_interval(&stream.to_string()),
    }
}

impl Poll<StreamName, StreamEvent> for RestPoll {
    fn polling(&self, stream: &StreamName) -> Polling {
        polling_of(stream)
    }

    fn expected_interval(&self, stream: &StreamName) -> Option<Duration> {
        expected_interval_of(stream)
    }

    fn start(
        &self,
        stream: StreamName,
        next_id: Option<u64>,
        out: UnboundedSender<BackfillMsg<StreamName, StreamEvent>>,
    ) {
        let rest = self.rest.clone();
        tokio::spawn(async move {
            let events = match poll_once(&rest, &stream, next_id).await {
                Ok(events) => events,
                Err(problem) => {
                    tracing::warn!(%stream, %problem, "polling failed");
                    Vec::new()
                }
            };
            let _ = out.send(BackfillMsg {
                stream,
                events,
                lost: None,
                done: true,
            });
        });
    }
}

/// One poll of `stream`: its events, oldest first, with spans where the
/// stream has positions.
async fn poll_once(
    rest: &RestClient,
    stream: &StreamName,
    next_id: Option<u64>,
) -> Result<Vec<(Option<Span>, StreamEvent)>, String> {
    let symbol = stream
        .symbol()
        .cloned()
        .ok_or("a market-wide stream cannot be polled")?;
    let event = |event| StreamEvent {
        stream: stream.clone(),
        event,
        source: Source::Poll,
    };
    match stream.kind() {
        StreamKind::AggTrade | StreamKind::Trade => {
            // The first poll only finds where the stream stands.
            let limit = if next_id.is_some() { PAGE } else { 1 };
            let mut page = trades::fetch_page(rest, &symbol, stream, next_id, limit)
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_default();
            page.sort_by_key(|(id, _)| *id);
            page.dedup_by_key(|(id, _)| *id);
            Ok(page
                .into_iter()
                .map(|(id, e)| {
                    let span = Span {
                        first: id,
                        last: id,
                        contiguous: true,
                    };
                    (Some(span), event(e))
                })
                .collect())
        }
        StreamKind::PartialDepth { levels, .. } => {
            let limit = u32::try_from(levels.count()).unwrap_or(DIFF_DEPTH_LEVELS);
            let (id, depth) = depth(rest, &symbol, limit).await?;
            let span = Span {
                first: id,
                last: id,
                contiguous: false,
            };
            Ok(vec![(Some(span), event(depth))])
        }
        // A snapshot is not a diff: it carries no position on a diff stream.
        StreamKind::Depth(_) => {
            let (_, depth) = depth(rest, &symbol, DIFF_DEPTH_LEVELS).await?;
            Ok(vec![(None, event(depth))])
        }
        _ => {
            let value = refresh::fetch(rest, stream).await?;
            Ok(vec![(None, event(value))])
        }
    }
}

async fn depth(
    rest: &RestClient,
    symbol: &crate::domain::Symbol,
    limit: u32,
) -> Result<(u64, Event), String> {
    let snapshot = rest.depth(symbol, limit).await.map_err(|e| e.to_string())?;
    let id = snapshot.last_update_id;
    Ok((
        id,
        Event::PartialDepth(PartialDepth {
            last_update_id: snapshot.last_update_id,
            bids: snapshot.bids,
            asks: snapshot.asks,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> StreamName {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn every_stream_kind_has_its_rest_endpoint_weight_and_interval() {
        let second = Duration::from_secs(1);
        for (stream, weight, interval) in [
            ("btcusdt@aggTrade", 4, second),
            ("btcusdt@trade", 25, second),
            ("btcusdt@bookTicker", 2, second),
            ("btcusdt@ticker", 2, second),
            ("btcusdt@miniTicker", 2, second),
            ("btcusdt@ticker_1h", 4, second),
            ("btcusdt@avgPrice", 2, second),
            ("btcusdt@kline_1m", 2, Duration::from_secs(2)),
            ("btcusdt@kline_1s", 2, second),
            ("btcusdt@depth5", 5, second),
            ("btcusdt@depth20@100ms", 5, second),
            ("btcusdt@depth", 5, second),
            ("btcusdt@depth@100ms", 5, second),
        ] {
            assert_eq!(
                polling_of(&name(stream)),
                Polling::Supported {
                    weight,
                    normal_interval: interval
                },
                "{stream}"
            );
        }
        for stream in ["!miniTicker@arr", "btcusdt@kline_1m@+08:00"] {
            assert_eq!(polling_of(&name(stream)), Polling::Unsupported, "{stream}");
        }
        assert_eq!(
            expected_interval_of(&name("btcusdt@ticker")),
            Some(second)
        );
        assert_eq!(expected_interval_of(&name("btcusdt@aggTrade")), None);
    }
}
