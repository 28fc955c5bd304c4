//! The served `/api/v3` endpoints and their request weights (PROTOCOL.md §6).
//!
//! A weight is computed from the raw parameters *before* they are validated, because
//! Binance charges malformed requests too. Where the weight depends on a parameter that
//! does not parse, the endpoint's lightest tier is charged.

use super::params::{Params, is_symbol, parse_string_array};

/// One served endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `/api/v3/ping`
    Ping,
    /// `/api/v3/time`
    Time,
    /// `/api/v3/exchangeInfo`
    ExchangeInfo,
    /// `/api/v3/depth`
    Depth,
    /// `/api/v3/trades`
    Trades,
    /// `/api/v3/historicalTrades`
    HistoricalTrades,
    /// `/api/v3/aggTrades`
    AggTrades,
    /// `/api/v3/klines`
    Klines,
    /// `/api/v3/uiKlines`
    UiKlines,
    /// `/api/v3/avgPrice`
    AvgPrice,
    /// `/api/v3/ticker/24hr`
    Ticker24hr,
    /// `/api/v3/ticker/price`
    TickerPrice,
    /// `/api/v3/ticker/bookTicker`
    BookTicker,
    /// `/api/v3/ticker` (rolling window)
    RollingTicker,
    /// `/api/v3/order` (signed: `POST` places, `DELETE` cancels, `GET` queries)
    Order,
    /// `/api/v3/account` (signed)
    Account,
    /// `/api/v3/openOrders` (signed)
    OpenOrders,
    /// `/api/v3/myTrades` (signed)
    MyTrades,
}

impl Endpoint {
    /// The endpoint served at `path`, if any. Paths are case-sensitive, as on Binance.
    pub(crate) fn from_path(path: &str) -> Option<Self> {
        Some(match path.strip_prefix("/api/v3/")? {
            "ping" => Endpoint::Ping,
            "time" => Endpoint::Time,
            "exchangeInfo" => Endpoint::ExchangeInfo,
            "depth" => Endpoint::Depth,
            "trades" => Endpoint::Trades,
            "historicalTrades" => Endpoint::HistoricalTrades,
            "aggTrades" => Endpoint::AggTrades,
            "klines" => Endpoint::Klines,
            "uiKlines" => Endpoint::UiKlines,
            "avgPrice" => Endpoint::AvgPrice,
            "ticker/24hr" => Endpoint::Ticker24hr,
            "ticker/price" => Endpoint::TickerPrice,
            "ticker/bookTicker" => Endpoint::BookTicker,
            "ticker" => Endpoint::RollingTicker,
            "order" => Endpoint::Order,
            "account" => Endpoint::Account,
            "openOrders" => Endpoint::OpenOrders,
            "myTrades" => Endpoint::MyTrades,
            _ => return None,
        })
    }

    /// True for the `SIGNED` endpoints of a simulated account.
    pub(crate) fn is_signed(self) -> bool {
        matches!(
            self,
            Endpoint::Order | Endpoint::Account | Endpoint::OpenOrders | Endpoint::MyTrades
        )
    }

    /// The methods served, for the `Allow` header of a 405.
    pub(crate) fn allow(self) -> &'static str {
        match self {
            Endpoint::Order => "GET, POST, DELETE",
            _ => "GET",
        }
    }

    /// True when `method` is served at this endpoint.
    pub(crate) fn allows(self, method: &axum::http::Method) -> bool {
        use axum::http::Method;
        *method == Method::GET
            || (self == Endpoint::Order && (*method == Method::POST || *method == Method::DELETE))
    }

    /// The request weight, from the raw parameters (`None` when the query did not parse).
    pub(crate) fn weight(self, params: Option<&Params>) -> u32 {
        // `None`: not sent; `Some(None)`: sent but malformed (charged the lightest tier).
        let symbols: Option<Option<usize>> = params.and_then(|p| {
            let raw = p.peek("symbols")?;
            Some(parse_string_array(raw, is_symbol).map(|list| list.len()))
        });
        let has_symbol = params.is_some_and(|p| p.has("symbol"));
        match self {
            // Placing and cancelling an order weigh 1; querying one order 4.
            Endpoint::Ping | Endpoint::Time | Endpoint::Order => 1,
            Endpoint::ExchangeInfo | Endpoint::Account => 20,
            Endpoint::Depth => depth_weight(
                params
                    .and_then(|p| p.peek("limit")?.parse::<u64>().ok())
                    .unwrap_or(100),
            ),
            Endpoint::Trades | Endpoint::HistoricalTrades => 25,
            Endpoint::AggTrades => 4,
            Endpoint::Klines | Endpoint::UiKlines | Endpoint::AvgPrice => 2,
            Endpoint::Ticker24hr => match (has_symbol, symbols) {
                (true, _) | (false, Some(None | Some(0..=20))) => 2,
                (false, Some(Some(21..=100))) => 40,
                (false, _) => 80,
            },
            Endpoint::TickerPrice | Endpoint::BookTicker => {
                if has_symbol {
                    2
                } else {
                    4
                }
            }
            Endpoint::RollingTicker => {
                let count = if has_symbol {
                    1
                } else {
                    symbols.flatten().unwrap_or(1)
                };
                u32::try_from(count.max(1)).map_or(200, |n| n.saturating_mul(4).min(200))
            }
            Endpoint::OpenOrders => {
                if has_symbol {
                    6
                } else {
                    80
                }
            }
            Endpoint::MyTrades => {
                if params.is_some_and(|p| p.has("orderId")) {
                    5
                } else {
                    20
                }
            }
        }
    }
}

/// `/depth` weight by (capped) limit: 1–100 → 5, 101–500 → 25, 501–1000 → 50, more → 250.
fn depth_weight(limit: u64) -> u32 {
    match limit.min(5000) {
        0..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weight(endpoint: Endpoint, query: &str) -> u32 {
        endpoint.weight(Params::parse(Some(query)).ok().as_ref())
    }

    fn symbols(n: usize) -> String {
        let list: Vec<String> = (0..n).map(|i| format!("\"S{i}\"")).collect();
        format!("symbols=[{}]", list.join(","))
    }

    #[test]
    fn paths() {
        assert_eq!(
            Endpoint::from_path("/api/v3/ticker/24hr"),
            Some(Endpoint::Ticker24hr)
        );
        assert_eq!(
            Endpoint::from_path("/api/v3/ticker"),
            Some(Endpoint::RollingTicker)
        );
        assert_eq!(Endpoint::from_path("/api/v3/Ping"), None);
        assert_eq!(Endpoint::from_path("/api/v3/ping/"), None);
        assert_eq!(Endpoint::from_path("/api/v1/ping"), None);
    }

    #[test]
    fn weights_per_protocol_section_6() {
        assert_eq!(weight(Endpoint::Ping, ""), 1);
        assert_eq!(weight(Endpoint::ExchangeInfo, ""), 20);
        for (limit, w) in [
            ("", 5),
            ("limit=1", 5),
            ("limit=100", 5),
            ("limit=101", 25),
            ("limit=500", 25),
            ("limit=501", 50),
            ("limit=1000", 50),
            ("limit=1001", 250),
            ("limit=5000", 250),
            ("limit=999999", 250),
            ("limit=abc", 5),
        ] {
            assert_eq!(weight(Endpoint::Depth, limit), w, "{limit}");
        }
        assert_eq!(weight(Endpoint::Trades, ""), 25);
        assert_eq!(weight(Endpoint::HistoricalTrades, ""), 25);
        assert_eq!(weight(Endpoint::AggTrades, ""), 4);
        assert_eq!(weight(Endpoint::Klines, ""), 2);
        assert_eq!(weight(Endpoint::AvgPrice, ""), 2);
        assert_eq!(weight(Endpoint::Ticker24hr, "symbol=X"), 2);
        assert_eq!(weight(Endpoint::Ticker24hr, ""), 80);
        assert_eq!(weight(Endpoint::Ticker24hr, &symbols(20)), 2);
        assert_eq!(weight(Endpoint::Ticker24hr, &symbols(21)), 40);
        assert_eq!(weight(Endpoint::Ticker24hr, &symbols(100)), 40);
        assert_eq!(weight(Endpoint::Ticker24hr, &symbols(101)), 80);
        assert_eq!(weight(Endpoint::Ticker24hr, "symbols=BAD"), 2);
        assert_eq!(weight(Endpoint::TickerPrice, "symbol=X"), 2);
        assert_eq!(weight(Endpoint::TickerPrice, ""), 4);
        assert_eq!(weight(Endpoint::BookTicker, &symbols(3)), 4);
        assert_eq!(weight(Endpoint::RollingTicker, "symbol=X"), 4);
        assert_eq!(weight(Endpoint::RollingTicker, &symbols(3)), 12);
        assert_eq!(weight(Endpoint::RollingTicker, &symbols(50)), 200);
        assert_eq!(weight(Endpoint::RollingTicker, &symbols(100)), 200);
        assert_eq!(weight(Endpoint::RollingTicker, ""), 4);
    }
}
