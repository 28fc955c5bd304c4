//! Latest values after a reconnect: streams that carry a current value rather
//! than a sequence (`ticker`, `ticker_<w>`, `miniTicker`, `bookTicker`,
//! `kline_<i>`, `avgPrice`) are refreshed from the matching REST endpoint as soon
//! as a connection is back, so a consumer never holds a value older than the
//! outage without being told. Refreshed values are delivered as events with
//! `source: refresh`; they carry no stream position (a `bookTicker` refresh has
//! `update_id` 0, since REST does not give one) and never displace live events.
//!
//! | stream | REST | weight |
//! |---|---|---|
//! | `<s>@ticker` | `/api/v3/ticker/24hr?symbol=` | 2 |
//! | `<s>@miniTicker` | `/api/v3/ticker/24hr?symbol=&type=MINI` | 2 |
//! | `<s>@ticker_<w>` | `/api/v3/ticker?symbol=&windowSize=<w>` | 4 |
//! | `<s>@bookTicker` | `/api/v3/ticker/bookTicker?symbol=` | 2 |
//! | `<s>@kline_<i>` (UTC) | `/api/v3/klines?symbol=&interval=<i>&limit=1` | 2 |
//! | `<s>@avgPrice` | `/api/v3/avgPrice?symbol=` | 2 |

use std::str::FromStr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

use super::driver::decode::{BackfillMsg, Refresh};
use super::live::{Source, StreamEvent};
use crate::domain::{
    AvgPrice, BookTicker, Decimal, Event, Kline, KlineCandle, KlineTimezone, MiniTicker,
    RollingTicker, ShortText, StreamKind, StreamName, Symbol, Ticker, Timestamp,
};
use crate::rest::RestClient;

/// Refreshes latest-value streams through a [`RestClient`].
pub(crate) struct LatestRefresh {
    rest: RestClient,
}

impl LatestRefresh {
    pub(crate) fn new(rest: RestClient) -> Arc<Self> {
        Arc::new(LatestRefresh { rest })
    }
}

impl Refresh<StreamName, StreamEvent> for LatestRefresh {
    fn supports(&self, stream: &StreamName) -> bool {
        stream.symbol().is_some()
            && matches!(
                stream.kind(),
                StreamKind::Ticker
                    | StreamKind::MiniTicker
                    | StreamKind::RollingTicker(_)
                    | StreamKind::BookTicker
                    | StreamKind::AvgPrice
                    | StreamKind::Kline {
                        timezone: KlineTimezone::Utc,
                        ..
                    }
            )
    }

    fn start(
        &self,
        stream: StreamName,
        out: UnboundedSender<BackfillMsg<StreamName, StreamEvent>>,
    ) {
        let rest = self.rest.clone();
        tokio::spawn(async move {
            match fetch(&rest, &stream).await {
                Ok(event) => {
                    let _ = out.send(BackfillMsg {
                        events: vec![(
                            None,
                            StreamEvent {
                                stream: stream.clone(),
                                event,
                                source: Source::Refresh,
                            },
                        )],
                        stream,
                        lost: None,
                        done: true,
                    });
                }
                Err(problem) => {
                    tracing::warn!(%stream, %problem, "refreshing a latest value after a reconnect failed");
                }
            }
        });
    }
}

fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Timestamp::from_millis(millis)
}

fn dec(text: &str, field: &str) -> Result<Decimal, String> {
    Decimal::from_str(text).map_err(|e| format!("field `{field}` = {text:?}: {e}"))
}

/// The REST body of `/ticker/24hr` (FULL or MINI) and `/ticker` (rolling).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TickerBody {
    price_change: Option<String>,
    price_change_percent: Option<String>,
    weighted_avg_price: Option<String>,
    prev_close_price: Option<String>,
    last_price: String,
    last_qty: Option<String>,
    bid_price: Option<String>,
    bid_qty: Option<String>,
    ask_price: Option<String>,
    ask_qty: Option<String>,
    open_price: String,
    high_price: String,
    low_price: String,
    volume: String,
    quote_volume: String,
    open_time: u64,
    close_time: u64,
    first_id: i64,
    last_id: i64,
    count: u64,
}

impl TickerBody {
    fn get(field: Option<&String>, name: &str) -> Result<Decimal, String> {
        dec(
            field.ok_or_else(|| format!("field `{name}` is missing"))?,
            name,
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BookTickerBody {
    bid_price: String,
    bid_qty: String,
    ask_price: String,
    ask_qty: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AvgPriceBody {
    mins: u64,
    price: String,
    close_time: u64,
}

async fn get(
    rest: &RestClient,
    path: &str,
    query: &[(&str, String)],
    weight: u32,
) -> Result<String, String> {
    rest.get(path, query, weight)
        .await
        .map(|r| r.body)
        .map_err(|e| e.to_string())
}

/// Fetches the stream's current value and shapes it as the stream's event.
pub(crate) async fn fetch(rest: &RestClient, stream: &StreamName) -> Result<Event, String> {
    let symbol: Symbol = stream
        .symbol()
        .cloned()
        .ok_or("a market-wide stream has no REST value")?;
    let sym = ("symbol", symbol.as_str().to_owned());
    match stream.kind() {
        StreamKind::Ticker => {
            let b: TickerBody = parse(&get(rest, "/api/v3/ticker/24hr", &[sym], 2).await?)?;
            Ok(Event::Ticker(Box::new(Ticker {
                event_time: now(),
                symbol,
                price_change: TickerBody::get(b.price_change.as_ref(), "priceChange")?,
                price_change_percent: TickerBody::get(
                    b.price_change_percent.as_ref(),
                    "priceChangePercent",
                )?,
                weighted_average_price: TickerBody::get(
                    b.weighted_avg_price.as_ref(),
                    "weightedAvgPrice",
                )?,
                previous_price: TickerBody::get(b.prev_close_price.as_ref(), "prevClosePrice")?,
                last_price: dec(&b.last_price, "lastPrice")?,
                last_quantity: TickerBody::get(b.last_qty.as_ref(), "lastQty")?,
                best_bid_price: TickerBody::get(b.bid_price.as_ref(), "bidPrice")?,
                best_bid_quantity: TickerBody::get(b.bid_qty.as_ref(), "bidQty")?,
                best_ask_price: TickerBody::get(b.ask_price.as_ref(), "askPrice")?,
                best_ask_quantity: TickerBody::get(b.ask_qty.as_ref(), "askQty")?,
                open: dec(&b.open_price, "openPrice")?,
                high: dec(&b.high_price, "highPrice")?,
                low: dec(&b.low_price, "lowPrice")?,
                base_volume: dec(&b.volume, "volume")?,
                quote_volume: dec(&b.quote_volume, "quoteVolume")?,
                open_time: Timestamp::from_millis(b.open_time),
                close_time: Timestamp::from_millis(b.close_time),
                first_trade_id: b.first_id,
                last_trade_id: b.last_id,
                trade_count: b.count,
            })))
        }
        StreamKind::MiniTicker => {
            let query = [sym, ("type", "MINI".to_owned())];
            let b: TickerBody = parse(&get(rest, "/api/v3/ticker/24hr", &query, 2).await?)?;
            Ok(Event::MiniTicker(MiniTicker {
                event_time: now(),
                symbol,
                close: dec(&b.last_price, "lastPrice")?,
                open: dec(&b.open_price, "openPrice")?,
                high: dec(&b.high_price, "highPrice")?,
                low: dec(&b.low_price, "lowPrice")?,
                base_volume: dec(&b.volume, "volume")?,
                quote_volume: dec(&b.quote_volume, "quoteVolume")?,
            }))
        }
        StreamKind::RollingTicker(window) => {
            let query = [sym, ("windowSize", window.as_str().to_owned())];
            let b: TickerBody = parse(&get(rest, "/api/v3/ticker", &query, 4).await?)?;
            Ok(Event::RollingTicker(Box::new(RollingTicker {
                window,
                event_time: now(),
                symbol,
                price_change: TickerBody::get(b.price_change.as_ref(), "priceChange")?,
                price_change_percent: TickerBody::get(
                    b.price_change_percent.as_ref(),
                    "priceChangePercent",
                )?,
                open: dec(&b.open_price, "openPrice")?,
                high: dec(&b.high_price, "highPrice")?,
                low: dec(&b.low_price, "lowPrice")?,
                last_price: dec(&b.last_price, "lastPrice")?,
                weighted_average_price: TickerBody::get(
                    b.weighted_avg_price.as_ref(),
                    "weightedAvgPrice",
                )?,
                base_volume: dec(&b.volume, "volume")?,
                quote_volume: dec(&b.quote_volume, "quoteVolume")?,
                open_time: Timestamp::from_millis(b.open_time),
                close_time: Timestamp::from_millis(b.close_time),
                first_trade_id: b.first_id,
                last_trade_id: b.last_id,
                trade_count: b.count,
            })))
        }
        StreamKind::BookTicker => {
            let b: BookTickerBody =
                parse(&get(rest, "/api/v3/ticker/bookTicker", &[sym], 2).await?)?;
            Ok(Event::BookTicker(BookTicker {
                update_id: 0,
                symbol,
                best_bid_price: dec(&b.bid_price, "bidPrice")?,
                best_bid_quantity: dec(&b.bid_qty, "bidQty")?,
                best_ask_price: dec(&b.ask_price, "askPrice")?,
                best_ask_quantity: dec(&b.ask_qty, "askQty")?,
            }))
        }
        StreamKind::AvgPrice => {
            let b: AvgPriceBody = parse(&get(rest, "/api/v3/avgPrice", &[sym], 2).await?)?;
            Ok(Event::AvgPrice(AvgPrice {
                event_time: now(),
                symbol,
                interval: ShortText::new(&format!("{}m", b.mins)),
                average_price: dec(&b.price, "price")?,
                last_trade_time: Timestamp::from_millis(b.close_time),
            }))
        }
        StreamKind::Kline { interval, .. } => {
            let query = [
                sym,
                ("interval", interval.as_str().to_owned()),
                ("limit", "1".to_owned()),
            ];
            let rows: Vec<Vec<Value>> = parse(&get(rest, "/api/v3/klines", &query, 2).await?)?;
            let row = rows.last().ok_or("klines returned no candle")?;
            let text = |i: usize, name: &str| -> Result<Decimal, String> {
                dec(
                    row.get(i)
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("kline `{name}` is not a string"))?,
                    name,
                )
            };
            let int = |i: usize, name: &str| -> Result<u64, String> {
                row.get(i)
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("kline `{name}` is not a number"))
            };
            let close_time = int(6, "closeTime")?;
            let now = now();
            Ok(Event::Kline(Box::new(Kline {
                event_time: now,
                symbol: symbol.clone(),
                candle: KlineCandle {
                    open_time: Timestamp::from_millis(int(0, "openTime")?),
                    close_time: Timestamp::from_millis(close_time),
                    symbol,
                    interval,
                    // REST klines carry no trade ids.
                    first_trade_id: -1,
                    last_trade_id: -1,
                    open: text(1, "open")?,
                    close: text(4, "close")?,
                    high: text(2, "high")?,
                    low: text(3, "low")?,
                    base_volume: text(5, "volume")?,
                    trade_count: int(8, "trades")?,
                    is_closed: close_time < now.as_millis(),
                    quote_volume: text(7, "quoteVolume")?,
                    taker_buy_base_volume: text(9, "takerBuyBase")?,
                    taker_buy_quote_volume: text(10, "takerBuyQuote")?,
                    ignore: None,
                },
            })))
        }
        other => Err(format!("no REST source for {other:?} streams")),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str) -> Result<T, String> {
    serde_json::from_str(body).map_err(|e| format!("unexpected REST body: {e}"))
}
