//! REST `/api/v3` market-data server (to be written).

use std::sync::Arc;

use crate::state::Shared;

/// The REST routes.
pub(crate) fn router(shared: Arc<Shared>) -> axum::Router {
    let _ = shared;
    axum::Router::new()
}
