//! Market-stream WebSocket server (to be written).

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::state::Shared;

/// Accepts stream connections until shutdown.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let _ = (listener, shared);
}
