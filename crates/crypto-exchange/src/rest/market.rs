//! The REST client's market-data calls: order-book snapshots and trades, by id
//! or the most recent, each with Binance's weight.

use super::{RestClient, RestError};
use crate::domain::rest::{
    AggTradeRecord, DepthSnapshot, TradeRecord, decode_agg_trades, decode_depth_snapshot,
    decode_trades,
};
use crate::domain::{Symbol, TimeUnit};

/// The weight of `GET /api/v3/depth` with `limit` levels (PROTOCOL.md §6).
#[must_use]
pub fn depth_weight(limit: u32) -> u32 {
    match limit.clamp(1, 5000) {
        1..=100 => 5,
        101..=500 => 25,
        501..=1000 => 50,
        _ => 250,
    }
}

impl RestClient {
    /// `GET /api/v3/depth`: an order-book snapshot (weight 5 to 250 by `limit`).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn depth(&self, symbol: &Symbol, limit: u32) -> Result<DepthSnapshot, RestError> {
        let limit = limit.clamp(1, 5000);
        let weight = depth_weight(limit);
        let path = "/api/v3/depth";
        let response = self
            .get(
                path,
                &[
                    ("symbol", symbol.as_str().to_owned()),
                    ("limit", limit.to_string()),
                ],
                weight,
            )
            .await?;
        decode_depth_snapshot(&response.body).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/aggTrades?fromId=`: up to `limit` (≤ 1000) aggregate trades from
    /// `from_id` on, oldest first (weight 4).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn agg_trades(
        &self,
        symbol: &Symbol,
        from_id: u64,
        limit: u16,
    ) -> Result<Vec<AggTradeRecord>, RestError> {
        let path = "/api/v3/aggTrades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("fromId", from_id.to_string()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 4).await?;
        decode_agg_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/historicalTrades?fromId=`: up to `limit` (≤ 1000) trades from
    /// `from_id` on, oldest first (weight 25).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn historical_trades(
        &self,
        symbol: &Symbol,
        from_id: u64,
        limit: u16,
    ) -> Result<Vec<TradeRecord>, RestError> {
        let path = "/api/v3/historicalTrades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("fromId", from_id.to_string()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 25).await?;
        decode_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/ping` (weight 1).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn ping(&self) -> Result<(), RestError> {
        self.get("/api/v3/ping", &[], 1).await.map(drop)
    }

    /// `GET /api/v3/aggTrades` without `fromId`: the `limit` (≤ 1000) most
    /// recent aggregate trades, oldest first (weight 4).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn recent_agg_trades(
        &self,
        symbol: &Symbol,
        limit: u16,
    ) -> Result<Vec<AggTradeRecord>, RestError> {
        let path = "/api/v3/aggTrades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 4).await?;
        decode_agg_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }

    /// `GET /api/v3/trades`: the `limit` (≤ 1000) most recent trades, oldest
    /// first (weight 25).
    ///
    /// # Errors
    /// See [`RestError`].
    pub async fn recent_trades(
        &self,
        symbol: &Symbol,
        limit: u16,
    ) -> Result<Vec<TradeRecord>, RestError> {
        let path = "/api/v3/trades";
        let query = [
            ("symbol", symbol.as_str().to_owned()),
            ("limit", limit.clamp(1, 1000).to_string()),
        ];
        let response = self.get(path, &query, 25).await?;
        decode_trades(&response.body, TimeUnit::Millisecond).map_err(|e| decode_error(path, &e))
    }
}

fn decode_error(path: &str, error: &crate::domain::DecodeError) -> RestError {
    RestError::Decode {
        path: path.to_owned(),
        detail: error.to_string(),
    }
}
