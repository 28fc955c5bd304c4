//! Fault controls, shared by [`SimHandle`](crate::SimHandle) and the admin HTTP API.

use std::time::Duration;

use tokio::time::Instant;

use crate::error::SimError;
use crate::market::DepthFault;
use crate::state::{ActiveRestFault, ConnCommand, DropKind, RestFault, Shared, lock, now_ms};

impl Shared {
    /// Drops every open stream connection; returns how many were told to.
    pub(crate) fn drop_connections(&self, how: DropKind) -> usize {
        self.commands.send(ConnCommand::Drop(how)).unwrap_or(0)
    }

    /// Sends `serverShutdown` on every open stream connection; returns how many.
    pub(crate) fn send_server_shutdown(&self) -> usize {
        self.commands.send(ConnCommand::ServerShutdown).unwrap_or(0)
    }

    /// Starts or ends a stall.
    pub(crate) fn set_stalled(&self, stalled: bool) {
        self.faults.set_stalled(stalled);
    }

    /// Refuses new stream connections for `duration` (zero stops refusing).
    pub(crate) fn refuse_connections(&self, duration: Duration) {
        *lock(&self.faults.refuse_until) = Some(Instant::now() + duration);
    }

    /// Makes REST misbehave for `duration`, or until cleared.
    pub(crate) fn set_rest_fault(&self, fault: RestFault, duration: Option<Duration>) {
        *lock(&self.faults.rest) = Some(ActiveRestFault {
            fault,
            until: duration.map(|d| Instant::now() + d),
        });
    }

    /// Ends any REST fault.
    pub(crate) fn clear_rest_fault(&self) {
        *lock(&self.faults.rest) = None;
    }

    /// Arms a one-shot depth fault for `symbol`.
    pub(crate) fn depth_fault(&self, symbol: &str, fault: DepthFault) -> Result<(), SimError> {
        lock(&self.market)
            .symbol_mut(symbol)
            .ok_or_else(|| SimError::UnknownSymbol(symbol.to_owned()))?
            .inject_depth_fault(fault);
        Ok(())
    }

    /// Changes a symbol's market action rate.
    pub(crate) fn set_symbol_rate(
        &self,
        symbol: &str,
        actions_per_sec: f64,
    ) -> Result<(), SimError> {
        if !actions_per_sec.is_finite() || actions_per_sec < 0.0 {
            return Err(SimError::InvalidControl(format!(
                "actions_per_sec = {actions_per_sec} must be a non-negative number"
            )));
        }
        lock(&self.market)
            .symbol_mut(symbol)
            .ok_or_else(|| SimError::UnknownSymbol(symbol.to_owned()))?
            .set_rate(actions_per_sec, now_ms());
        Ok(())
    }
}
