//! Fault injection for network clients.
//!
//! `chaos` will provide a TCP fault-injection proxy (latency, bandwidth
//! limits, resets, refusals, blackholes, sliced writes, half-closes),
//! replayable failure scenarios, and resilience measures computed by
//! counting (MTTR, MTBF, availability, events lost, duplicated or out of
//! order), reported as JSON, Markdown and an SVG timeline.
//!
//! ## Design
//!
//! The proxy works at the TCP level and knows nothing of WebSockets policy;
//! the crate depends on no policy crate.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the chaos-engineering work
//! (issue 8). Nothing is exported today.
