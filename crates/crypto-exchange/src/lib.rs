//! A fault-tolerant client for Binance Spot WebSocket streams.
