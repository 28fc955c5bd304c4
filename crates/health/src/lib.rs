//! Health model for streaming clients.
//!
//! `health` will turn what a client observes (connections, messages, errors,
//! breaker transitions, rate-limit bans) into health levels (healthy →
//! warning → degraded → unhealthy → critical), per-connection statistics,
//! deduplicated alerts, trends and diagnostics with recommended actions, and
//! (behind features) Prometheus metrics and an HTTP `/health` endpoint.
//!
//! ## Design
//!
//! The model is sans-IO and depends on no other workspace crate.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the health-monitoring work
//! (issue 5). Nothing is exported today.
