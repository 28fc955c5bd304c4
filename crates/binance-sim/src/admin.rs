//! Admin HTTP API (to be written).

use std::sync::Arc;

use crate::state::Shared;

/// The admin routes.
pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    let _ = shared;
    axum::Router::new()
}
