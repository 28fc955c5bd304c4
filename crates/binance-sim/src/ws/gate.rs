//! The socket under a stream connection, with the stall fault built in: while the
//! simulator is stalled, writes wait, so nothing at all leaves the server (not even
//! the pongs tungstenite sends on its own), while reading goes on.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::state::Shared;

/// A TCP stream whose writes are held while the simulator is stalled.
///
/// A held write returns `Pending` without registering a waker: the connection task
/// always also waits on `Faults::stall_changed`, which wakes it when the stall ends,
/// and then polls the writes again.
#[derive(Debug)]
pub(crate) struct Gated {
    pub(crate) inner: TcpStream,
    shared: Arc<Shared>,
    /// Off during the handshake (a stall holds data, not new connections) and once
    /// the server closes (its close frame always goes out).
    armed: bool,
}

impl Gated {
    pub(crate) fn new(inner: TcpStream, shared: Arc<Shared>) -> Self {
        Gated {
            inner,
            shared,
            armed: false,
        }
    }

    /// Starts or stops holding writes during stalls.
    pub(crate) fn arm(&mut self, armed: bool) {
        self.armed = armed;
    }

    fn held(&self) -> bool {
        self.armed && self.shared.faults.stalled.load(Ordering::SeqCst)
    }
}

impl AsyncRead for Gated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Gated {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.held() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.held() {
            return Poll::Pending;
        }
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
