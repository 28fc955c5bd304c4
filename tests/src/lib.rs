//! Shared helpers for the workspace's end-to-end tests.
//!
//! The tests in `tests/tests/` start what they need (the simulated exchange,
//! later the fault proxy and the client) on `127.0.0.1:0`, drive it through
//! its public API only, and count every event they receive. Nothing here
//! reaches the internet.

pub mod backfill;
pub mod fallback;
