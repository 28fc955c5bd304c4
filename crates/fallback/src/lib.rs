//! Graceful degradation: connection states, endpoint failover, polling.
//!
//! `fallback` will hold a connection-state machine (healthy, degraded,
//! unstable, failing, failed, recovering, fallback), an endpoint set scored
//! by health with fail-over and fail-back hysteresis, a plan for degrading
//! from WebSocket streams to REST polling, and a last-known-value cache that
//! marks values stale by their expected interval.
//!
//! ## Design
//!
//! The core is sans-IO and depends on no other workspace crate.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the degradation work (issue 7).
//! Nothing is exported today.
