//! Trade backfill from REST: `aggTrade` ids from `/api/v3/aggTrades?fromId=` and
//! `trade` ids from `/api/v3/historicalTrades?fromId=`, in pages of up to 1000,
//! through the weight-budgeted REST client.
//!
//! Rules (`docs/data-integrity.md`):
//! - a page that starts after the id asked for means the exchange no longer keeps
//!   the ids in between: they are reported lost (`Gap`), the rest is recovered;
//! - an empty page before the range is covered, or a REST failure after the
//!   client's own retries, reports the rest of the range lost;
//! - a page out of order is sorted and rid of repeats; records outside the
//!   range are skipped (the stream's high-water mark would drop them anyway), so
//!   a page that makes no progress ends the backfill instead of looping.

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;

use super::driver::decode::{Backfill, BackfillMsg, Span};
use super::live::{Source, StreamEvent};
use crate::domain::{AggTrade, Event, StreamKind, StreamName, Symbol, Trade};
use crate::rest::{RestClient, RestError};

/// Ids asked for per REST page (Binance's maximum).
const PAGE: u64 = 1000;

/// Recovers trade streams through a [`RestClient`].
pub(crate) struct TradeBackfill {
    rest: RestClient,
}

impl TradeBackfill {
    pub(crate) fn new(rest: RestClient) -> Arc<Self> {
        Arc::new(TradeBackfill { rest })
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
        tokio::spawn(async move {
            let lost = run(&rest, &stream, from, to, &out).await;
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

/// Fetches pages until `to` is covered; returns the range left unrecovered, if any.
async fn run(
    rest: &RestClient,
    stream: &StreamName,
    from: u64,
    to: u64,
    out: &UnboundedSender<BackfillMsg<StreamName, StreamEvent>>,
) -> Option<(u64, u64)> {
    let symbol = stream.symbol()?.clone();
    let mut next = from;
    while next <= to {
        let limit = u16::try_from((to - next + 1).min(PAGE)).unwrap_or(1000);
        let page = fetch_page(rest, &symbol, stream, Some(next), limit).await;
        let mut records = match page {
            Ok(Some(records)) => records,
            Ok(None) => return Some((next, to)),
            Err(error) => {
                tracing::warn!(%stream, next, to, %error, "backfill failed");
                return Some((next, to));
            }
        };
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
