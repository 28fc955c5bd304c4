//! A circuit breaker as a sans-IO state machine.
//!
//! `circuit-breaker` will protect a dependency that is failing: closed →
//! open after 5 consecutive failures (or a failure rate over a window), fail
//! fast while open, half-open after 30 s with a limited number of probes,
//! closed again after enough successes. A registry keeps one named breaker
//! per endpoint.
//!
//! ## Design
//!
//! The core does no IO and never reads the clock; every transition is an
//! event value. It depends on no other workspace crate.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the circuit-breaker work (issue 4).
//! Nothing is exported today.
