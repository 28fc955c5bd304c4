//! Tiny loopback servers for the socket tests: a tokio-tungstenite WebSocket server
//! and a raw TCP server, each serving one connection with a given handler.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of helpers"
)]

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use ws_transport::{Connection, Event, Stats};

/// Serves one WebSocket connection on `127.0.0.1:0` with `handler`.
pub(crate) async fn ws_server<F, Fut>(handler: F) -> (SocketAddr, JoinHandle<()>)
where
    F: FnOnce(WebSocketStream<TcpStream>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tcp_server(|tcp| async move {
        let ws = tokio_tungstenite::accept_async(tcp)
            .await
            .expect("server handshake");
        handler(ws).await;
    })
    .await
}

/// Serves one raw TCP connection on `127.0.0.1:0` with `handler`.
pub(crate) async fn tcp_server<F, Fut>(handler: F) -> (SocketAddr, JoinHandle<()>)
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.expect("accept");
        handler(tcp).await;
    });
    (addr, task)
}

pub(crate) fn ws_url(addr: SocketAddr) -> String {
    format!("ws://{addr}/ws")
}

/// Drives a connection until it closes, collecting what it delivered.
pub(crate) fn drive(mut conn: Connection) -> JoinHandle<(Vec<Event>, Stats)> {
    tokio::spawn(async move {
        let mut events = Vec::new();
        loop {
            let event = conn.next().await;
            let done = matches!(event, Event::Closed(_));
            events.push(event);
            if done {
                return (events, conn.stats());
            }
        }
    })
}

pub(crate) fn texts(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

pub(crate) fn last_cause(events: &[Event]) -> &ws_transport::CloseCause {
    match events.last() {
        Some(Event::Closed(cause)) => cause,
        other => panic!("expected Closed last, got {other:?}"),
    }
}
