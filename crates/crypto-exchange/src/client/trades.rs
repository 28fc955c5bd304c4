//! Trade backfill from REST: `aggTrade` ids from `/api/v3/aggTrades?fromId=` and
//! `trade` ids from `/api/v3/historicalTrades?fromId=`, in pages of up to 1000,
//! through the weight-budgeted REST client.
//!
//! Rules (`docs/data-integrity.md`):
//! - a page that starts after the id asked for means the exchange no longer keeps
//!   the ids in between: they are reported lost (`Gap`), the rest is recovered;
//! - an empty page before the range is covered reports the rest of the range
//!   lost;
//! - a REST host that is unavailable (5xx after the client's own retries, no
//!   connection, its breaker open, rate limited) is asked again, with a
//!   backoff from 250 ms to 5 s and honouring the breaker's and the rate
//!   limit's own wait, for as long as the backfill's patience (30 s without
//!   progress by default); only then is the rest of the range reported lost.
//!   An answer that is refused (4xx) or cannot be read is not asked again;
//! - a page out of order is sorted and rid of repeats; records outside the
//!   range are skipped (the stream's high-water mark would drop them anyway), so
//!   a page that makes no progress ends the backfill instead of looping.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::Instant;

use super::driver::decode::{Backfill, BackfillMsg, Span};
use super::live::{Source, StreamEvent};
use crate::domain::{AggTrade, Event, StreamKind, StreamName, Symbol, Trade};
use crate::rest::{RestClient, RestError};

/// Ids asked for per REST page (Binance's maximum).
const PAGE: u64 = 1000;

/// How long a backfill keeps asking an unavailable REST host without making
/// progress before it reports the rest of its range lost. Longer than the
/// circuit breaker's default open time (30 s) would not help: the live events
/// of the stream are held meanwhile.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);
/// The first wait before asking an unavailable host again; doubled up to
/// [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(250);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Recovers trade streams through a [`RestClient`].
pub(crate) struct TradeBackfill {
    rest: RestClient,
    patience: Duration,
}

impl TradeBackfill {
    pub(crate) fn new(rest: RestClient) -> Arc<Self> {
        Self::with_patience(rest, PATIENCE)
    }

    /// With another patience for unavailable hosts (see [`PATIENCE`]).
    pub(crate) fn with_patience(rest: RestClient, patience: Duration) -> Arc<Self> {
        Arc::new(TradeBackfill { rest, patience })
    }
}

impl Backfill<StreamName, StreamEvent> for TradeBackfill {
    fn supports(&self, stream: &StreamName) -> bool {
        stream.symbol().is_some()
            && matches!(stream.kind(), StreamKind::AggTrade | StreamKind::Trade)
    }

    fn start(
        &self,
        stream: StreamName,
        from: u64,
        to: u64,
        out: UnboundedSender<BackfillMsg<StreamName, StreamEvent>>,
    ) {
        let rest = self.rest.clone();
        let patience = self.patience;
        tokio::spawn(async move {
            let lost = run(&rest, patience, &stream, from, to, &out).await;
            let _ = out.send(BackfillMsg {
                stream,
                events: Vec::new(),
                lost,
                done: true,
            });
        });
    }
}

/// One page of `stream`'s trades as events with their ids, oldest first: from
/// id `from` on, or the most recent when `from` is `None`; `Ok(None)` for a
/// stream that is not a trade stream.
pub(crate) async fn fetch_page(
    rest: &RestClient,
    symbol: &Symbol,
    stream: &StreamName,
    from: Option<u64>,
    limit: u16,
) -> Result<Option<Vec<(u64, Event)>>, RestError> {
    let page = match stream.kind() {
        StreamKind::AggTrade => {
            let records = match from {
                Some(from) => rest.agg_trades(symbol, from, limit).await?,
                None => rest.recent_agg_trades(symbol, limit).await?,
            };
            records
                .into_iter()
                .map(|r| {
                    let id = r.agg_trade_id;
                    let event = Event::AggTrade(AggTrade {
                        event_time: r.trade_time,
                        symbol: symbol.clone(),
                        agg_trade_id: r.agg_trade_id,
                        price: r.price,
                        quantity: r.quantity,
                        first_trade_id: r.first_trade_id,
                        last_trade_id: r.last_trade_id,
                        trade_time: r.trade_time,
                        buyer_is_maker: r.buyer_is_maker,
                        best_match: r.best_match,
                    });
                    (id, event)
                })
                .collect()
        }
        StreamKind::Trade => {
            let records = match from {
                Some(from) => rest.historical_trades(symbol, from, limit).await?,
                None => rest.recent_trades(symbol, limit).await?,
            };
            records
                .into_iter()
                .map(|r| {
                    let id = r.trade_id;
                    let event = Event::Trade(Trade {
                        event_time: r.time,
                        symbol: symbol.clone(),
                        trade_id: r.trade_id,
                        price: r.price,
                        quantity: r.quantity,
                        trade_time: r.time,
                        buyer_is_maker: r.buyer_is_maker,
                        best_match: r.best_match,
                    });
                    (id, event)
                })
                .collect()
        }
        _ => return Ok(None),
    };
    Ok(Some(page))
}

/// How long to wait before asking again after `error`, the `failures`-th
/// failure in a row; `None` when asking again cannot help (a refused request,
/// an answer that cannot be read, a ban).
fn retry_wait(error: &RestError, failures: u32) -> Option<Duration> {
    let backoff = FIRST_RETRY_WAIT
        .saturating_mul(1_u32 << failures.min(8))
        .min(MAX_RETRY_WAIT);
    match error {
        RestError::CircuitOpen { retry_in_ms } => {
            Some(Duration::from_millis(*retry_in_ms).max(Duration::from_millis(10)))
        }
        RestError::RateLimited { wait_ms } => Some(Duration::from_millis(*wait_ms).max(backoff)),
        RestError::Server { .. } | RestError::Transport { .. } => Some(backoff),
        _ => None,
    }
}

/// Fetches pages until `to` is covered; returns the range left unrecovered, if any.
async fn run(
    rest: &RestClient,
    patience: Duration,
    stream: &StreamName,
    from: u64,
    to: u64,
    out: &UnboundedSender<BackfillMsg<StreamName, StreamEvent>>,
) -> Option<(u64, u64)> {
    let symbol = stream.symbol()?.clone();
    let mut next = from;
    let mut failures = 0_u32;
    let mut progress_at = Instant::now();
    while next <= to {
        let limit = u16::try_from((to - next + 1).min(PAGE)).unwrap_or(1000);
        let page = fetch_page(rest, &symbol, stream, Some(next), limit).await;
        let mut records = match page {
            Ok(Some(records)) => records,
            Ok(None) => return Some((next, to)),
            Err(error) => {
                let wait = retry_wait(&error, failures);
                let give_up_at = progress_at + patience;
                match wait {
                    Some(wait) if Instant::now() + wait <= give_up_at => {
                        failures += 1;
                        tracing::debug!(%stream, next, to, %error, ?wait, "backfill: the REST host is unavailable, asking again");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    _ => {
                        tracing::warn!(%stream, next, to, %error, "backfill failed");
                        return Some((next, to));
                    }
                }
            }
        };
        failures = 0;
        progress_at = Instant::now();
        // Binance answers in ascending order; a page that does not is put in order
        // (and rid of repeats) rather than losing the ids it holds.
        records.sort_by_key(|(id, _)| *id);
        records.dedup_by_key(|(id, _)| *id);
        // `lost` precedes `events` in a message: a hole flushes what came before it.
        let mut lost = None;
        let mut events = Vec::with_capacity(records.len());
        for (id, event) in records {
            if id < next || id > to {
                continue; // repeated, out of order, or already live
            }
            if id > next {
                // The exchange does not have `next..id` (older than it keeps, or a hole).
                if !events.is_empty() || lost.is_some() {
                    let flushed = BackfillMsg {
                        stream: stream.clone(),
                        events: std::mem::take(&mut events),
                        lost: lost.take(),
                        done: false,
                    };
                    if out.send(flushed).is_err() {
                        return None;
                    }
                }
                lost = Some((next, id - 1));
            }
            events.push((
                Some(Span {
                    first: id,
                    last: id,
                    contiguous: true,
                }),
                StreamEvent {
                    stream: stream.clone(),
                    event,
                    source: Source::Backfill,
                },
            ));
            next = id + 1;
        }
        if events.is_empty() && lost.is_none() {
            // No progress: nothing more to get for this range.
            return Some((next, to));
        }
        if out
            .send(BackfillMsg {
                stream: stream.clone(),
                events,
                lost,
                done: false,
            })
            .is_err()
        {
            return None; // the driver is gone
        }
    }
    None
}
