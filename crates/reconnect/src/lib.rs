//! Reconnect policy as a sans-IO state machine.
//!
//! `reconnect` will decide when a dropped connection is tried again: an
//! exponential schedule of 1 s, 2 s, 4 s … capped at 30 s with ±10 % jitter,
//! a connection-quality rule so a connection that drops right after opening
//! keeps climbing the schedule, longer backoff after rate-limit causes, and a
//! budget of connection attempts.
//!
//! ## Design
//!
//! The core does no IO and never reads the clock: time and randomness are
//! passed in, decisions come back as values. It depends on no other
//! workspace crate and knows nothing of WebSockets or Binance.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the resilient-connections work
//! (issue 3). Nothing is exported today.
