//! Translating the client's vocabulary into the health monitor's: a
//! disconnect's cause label, a request error's code, a breaker's state, and a
//! stream's normal cadence.
//!
//! The mapping of ws-transport's close causes (by label, as lifecycle signals
//! carry them): `reset`/`eof` → `reset`; `io` → `other`; a rejected handshake
//! with 429 → `rate_limited`, 418 → `banned`, another status →
//! `handshake_rejected`; `tls_certificate` → `certificate`;
//! `handshake_timeout` → `timeout`; `frame_too_big`/`message_too_big` →
//! `too_big`; `closed_locally` → `local`; every other label by its name.

use std::time::Duration;

use health::{BreakerState, DisconnectCause, ErrorClass};

use crate::domain::{KlineInterval, StreamKind, StreamName};

/// The monitor's cause for a `Disconnected { cause, detail }` signal. The
/// handshake's status is only in the detail text
/// ("… rejected the websocket upgrade with http 429 …").
pub(crate) fn disconnect_cause(label: &str, detail: &str) -> DisconnectCause {
    match label {
        "normal" => DisconnectCause::Normal,
        "going_away" => DisconnectCause::GoingAway,
        "policy_violation" => DisconnectCause::PolicyViolation,
        "other_close" => DisconnectCause::OtherClose,
        "closed_locally" => DisconnectCause::Local,
        "handshake_rejected" => match handshake_status(detail) {
            Some(429) => DisconnectCause::RateLimited,
            Some(418) => DisconnectCause::Banned,
            _ => DisconnectCause::HandshakeRejected,
        },
        "refused" => DisconnectCause::Refused,
        "reset" | "eof" => DisconnectCause::Reset,
        "dns" => DisconnectCause::Dns,
        "tls_certificate" => DisconnectCause::Certificate,
        "tls" => DisconnectCause::Tls,
        "handshake_timeout" => DisconnectCause::Timeout,
        "silence" => DisconnectCause::Silence,
        "protocol" => DisconnectCause::Protocol,
        "frame_too_big" | "message_too_big" => DisconnectCause::TooBig,
        "server_shutdown" => DisconnectCause::ServerShutdown,
        _ => DisconnectCause::Other,
    }
}

/// The HTTP status after "http " in a rejected handshake's description.
fn handshake_status(detail: &str) -> Option<u16> {
    let at = detail.find("with http ")? + "with http ".len();
    detail.get(at..at + 3)?.parse().ok()
}

/// The class of an error reply to a WebSocket request, by Binance's code.
pub(crate) fn request_error_class(code: i64) -> ErrorClass {
    match code {
        -1003 => ErrorClass::RateLimited,
        -1007 => ErrorClass::Timeout,
        -1022 | -1125 | -2015 => ErrorClass::Authentication,
        -1199..=-1100 => ErrorClass::Configuration,
        -1099..=-1000 => ErrorClass::Server,
        _ => ErrorClass::Protocol,
    }
}

/// The monitor's state for a `Breaker { state }` signal's label; `reset` is a
/// close. `None` for a label this build does not know.
pub(crate) fn breaker_state_label(label: &str) -> Option<BreakerState> {
    Some(match label {
        "closed" | "reset" => BreakerState::Closed,
        "open" => BreakerState::Open,
        "half_open" => BreakerState::HalfOpen,
        "forced_open" => BreakerState::ForcedOpen,
        "disabled" => BreakerState::Disabled,
        _ => return None,
    })
}

/// The monitor's state for a circuit breaker's state.
pub(crate) fn breaker_state(state: circuit_breaker::State) -> BreakerState {
    match state {
        circuit_breaker::State::Open => BreakerState::Open,
        circuit_breaker::State::HalfOpen => BreakerState::HalfOpen,
        circuit_breaker::State::ForcedOpen => BreakerState::ForcedOpen,
        circuit_breaker::State::Disabled => BreakerState::Disabled,
        _ => BreakerState::Closed,
    }
}

/// The class of a REST failure that is being retried, from its description.
pub(crate) fn rest_error_class(reason: &str) -> ErrorClass {
    let reason = reason.to_ascii_lowercase();
    if reason.contains("timed out") || reason.contains("timeout") {
        ErrorClass::Timeout
    } else if reason.contains("http 5") || reason.contains("status 5") {
        ErrorClass::Server
    } else {
        ErrorClass::Network
    }
}

/// The normal interval of a stream with a fixed cadence: depth streams push
/// at their speed, klines every 2 s (1 s for 1-second candles); `None` (learn
/// it from traffic) for event-driven streams such as trades and tickers.
pub(crate) fn expected_interval(name: &str) -> Option<Duration> {
    let stream = name.parse::<StreamName>().ok()?;
    match stream.kind() {
        StreamKind::Depth(speed) | StreamKind::PartialDepth { speed, .. } => {
            Some(Duration::from_millis(speed.millis()))
        }
        StreamKind::Kline {
            interval: KlineInterval::S1,
            ..
        } => Some(Duration::from_secs(1)),
        StreamKind::Kline { .. } => Some(Duration::from_secs(2)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_labels_map_to_monitor_causes() {
        let rejected = |status: u16| {
            disconnect_cause(
                "handshake_rejected",
                &format!(
                    "could not connect: server rejected the websocket upgrade with http {status} (x)"
                ),
            )
        };
        assert_eq!(rejected(429), DisconnectCause::RateLimited);
        assert_eq!(rejected(418), DisconnectCause::Banned);
        assert_eq!(rejected(403), DisconnectCause::HandshakeRejected);
        for (label, cause) in [
            ("reset", DisconnectCause::Reset),
            ("eof", DisconnectCause::Reset),
            ("io", DisconnectCause::Other),
            ("tls_certificate", DisconnectCause::Certificate),
            ("handshake_timeout", DisconnectCause::Timeout),
            ("frame_too_big", DisconnectCause::TooBig),
            ("message_too_big", DisconnectCause::TooBig),
            ("closed_locally", DisconnectCause::Local),
            ("policy_violation", DisconnectCause::PolicyViolation),
            ("silence", DisconnectCause::Silence),
            ("refused", DisconnectCause::Refused),
            ("invalid", DisconnectCause::Other),
        ] {
            assert_eq!(disconnect_cause(label, ""), cause, "{label}");
        }
    }

    #[test]
    fn codes_states_and_cadences() {
        assert_eq!(request_error_class(-1121), ErrorClass::Configuration);
        assert_eq!(request_error_class(-2015), ErrorClass::Authentication);
        assert_eq!(request_error_class(2), ErrorClass::Protocol);
        assert_eq!(breaker_state_label("reset"), Some(BreakerState::Closed));
        assert_eq!(breaker_state_label("sideways"), None);
        assert_eq!(
            breaker_state(circuit_breaker::State::HalfOpen),
            BreakerState::HalfOpen
        );
        assert_eq!(rest_error_class("request timed out"), ErrorClass::Timeout);
        assert_eq!(
            expected_interval("btcusdt@depth@100ms"),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            expected_interval("btcusdt@depth"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            expected_interval("btcusdt@kline_1m"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(expected_interval("btcusdt@aggTrade"), None);
        assert_eq!(expected_interval("not a stream"), None);
    }
}
