//! Shared test harness: a proxy in front of a server whose accepted sockets
//! are handed to the test, so each test drives both ends itself.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use chaos::{Proxy, ProxyConfig};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The longest any test waits for something that should happen.
pub(crate) const PATIENCE: Duration = Duration::from_secs(10);

/// The server behind the proxy: every accepted socket comes out of `accepted`.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    accepted: mpsc::UnboundedReceiver<TcpStream>,
}

impl Server {
    pub(crate) async fn start() -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, accepted) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                if tx.send(socket).is_err() {
                    break;
                }
            }
        });
        Ok(Self { addr, accepted })
    }

    /// The next connection the proxy opened to the server.
    pub(crate) async fn next(&mut self) -> io::Result<TcpStream> {
        match tokio::time::timeout(PATIENCE, self.accepted.recv()).await {
            Ok(Some(socket)) => Ok(socket),
            Ok(None) => Err(io::Error::other("the server stopped")),
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "no connection reached the server",
            )),
        }
    }
}

/// A server, a proxy in front of it, and one client connected through both.
pub(crate) struct Rig {
    pub(crate) server: Server,
    pub(crate) proxy: Proxy,
    pub(crate) client: TcpStream,
    pub(crate) upstream: TcpStream,
}

impl Rig {
    pub(crate) async fn start() -> anyhow::Result<Self> {
        let mut server = Server::start().await?;
        let proxy = Proxy::start(ProxyConfig::new(server.addr)).await?;
        let client = TcpStream::connect(proxy.addr()).await?;
        let upstream = server.next().await?;
        Ok(Self {
            server,
            proxy,
            client,
            upstream,
        })
    }
}

/// Reads exactly `n` bytes within [`PATIENCE`].
pub(crate) async fn read_n(socket: &mut TcpStream, n: usize) -> anyhow::Result<Vec<u8>> {
    let mut buffer = vec![0_u8; n];
    tokio::time::timeout(PATIENCE, socket.read_exact(&mut buffer)).await??;
    Ok(buffer)
}

/// What a read ends with, within [`PATIENCE`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    Data(usize),
    Eof,
    Reset,
    OtherError(io::ErrorKind),
    TimedOut,
}

pub(crate) async fn read_once(socket: &mut TcpStream, wait: Duration) -> ReadEnd {
    let mut buffer = [0_u8; 4096];
    match tokio::time::timeout(wait, socket.read(&mut buffer)).await {
        Err(_) => ReadEnd::TimedOut,
        Ok(Ok(0)) => ReadEnd::Eof,
        Ok(Ok(n)) => ReadEnd::Data(n),
        Ok(Err(e)) if e.kind() == io::ErrorKind::ConnectionReset => ReadEnd::Reset,
        Ok(Err(e)) => ReadEnd::OtherError(e.kind()),
    }
}

/// Reads until end of stream or error, within [`PATIENCE`], skipping data.
pub(crate) async fn read_to_end(socket: &mut TcpStream) -> ReadEnd {
    loop {
        match read_once(socket, PATIENCE).await {
            ReadEnd::Data(_) => {}
            end => return end,
        }
    }
}

pub(crate) async fn write(socket: &mut TcpStream, data: &[u8]) -> anyhow::Result<()> {
    tokio::time::timeout(PATIENCE, socket.write_all(data)).await??;
    Ok(())
}
