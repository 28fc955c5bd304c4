//! Error classification, recovery strategies and task supervision.
//!
//! `recovery` will map every error a client can meet to a class (transient,
//! rate-limited, authentication, server, configuration), choose a recovery
//! strategy for it, supervise long-lived tasks with restart limits (one for
//! one, at most 5 restarts in 10 s, then escalate) and keep subscription
//! state across failures.
//!
//! ## Design
//!
//! The policy core is sans-IO and depends on no other workspace crate.
//!
//! ## Status
//!
//! Not built yet: this crate arrives with the recovery work (issue 4).
//! Nothing is exported today.
