//! Translating how a transport connection ended into the reconnect policy's causes.

use reconnect::{Cause, CauseClass};
use ws_transport::{CloseCause, Error};

/// The reconnect policy's view of a transport close.
pub(crate) fn from_close(cause: &CloseCause) -> Cause {
    match cause {
        CloseCause::Normal { reason } => closed(1000, reason),
        CloseCause::GoingAway { reason } => closed(1001, reason),
        CloseCause::PolicyViolation { reason } => closed(1008, reason),
        CloseCause::OtherClose { code, reason }
        | CloseCause::ClosedLocally { code, reason, .. } => closed(*code, reason),
        CloseCause::HandshakeRejected {
            status,
            retry_after,
            ..
        } => Cause::HandshakeRejected {
            status: *status,
            retry_after: *retry_after,
        },
        CloseCause::Refused => Cause::Refused,
        CloseCause::Dns { .. } => Cause::Dns,
        CloseCause::TlsCertificate { .. } => Cause::Certificate,
        CloseCause::Tls { .. } => Cause::Tls,
        CloseCause::HandshakeTimeout { .. } => Cause::Timeout,
        CloseCause::Silence { .. } => Cause::Silence,
        CloseCause::Protocol { .. } => Cause::Protocol,
        CloseCause::FrameTooBig { .. } | CloseCause::MessageTooBig { .. } => Cause::FrameTooBig,
        // An EOF, a reset and any other I/O failure all mean the link is gone.
        _ => Cause::Reset,
    }
}

fn closed(code: u16, reason: &str) -> Cause {
    Cause::Closed {
        code,
        reason: reason.to_owned(),
    }
}

/// The reconnect policy's view of a failed connection attempt.
pub(crate) fn from_error(error: &Error) -> Cause {
    match error.cause() {
        Some(cause) => from_close(cause),
        // Configuration and URL errors cannot be fixed by retrying.
        None => Cause::Permanent {
            reason: error.to_string(),
        },
    }
}

/// The `fallback` crate's view of a cause (for the connection machine).
pub(crate) fn class(cause: &Cause) -> fallback::ErrorClass {
    match cause.class() {
        CauseClass::RateLimited => fallback::ErrorClass::RateLimited,
        CauseClass::Planned => fallback::ErrorClass::Planned,
        CauseClass::Permanent => fallback::ErrorClass::Permanent,
        // Transient, and whatever the policy learns to call a cause later.
        _ => fallback::ErrorClass::Transient,
    }
}
