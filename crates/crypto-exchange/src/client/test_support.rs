//! Test support for the client's paused-time tests on the in-memory transport:
//! a connector the pool can clone and that records every attempt, the server's
//! side of the subscription protocol, frame builders, and bounded waits.
//!
//! Every wait here is bounded by [`LIMIT`] of *virtual* time: under
//! `#[tokio::test(start_paused = true)]` tokio advances the clock whenever every
//! task is idle, so a signal that never comes fails the test at once instead of
//! hanging it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use tokio::sync::{broadcast, watch};
use tokio::time::Instant;
use ws_transport::memory::{Acceptor, Attempt, MemoryConnector, Sent, SentFrame, Server};
use ws_transport::{Connection, Connector, Error, TransportConfig, WsUrl};

use super::config::ClientConfig;
use super::driver::Delivery;
use super::endpoints::Endpoints;
use super::lifecycle::Lifecycle;
use super::live::StreamEvent;
use crate::domain::{Event, StreamName};

/// Longest virtual time any single wait of a test may take.
pub(crate) const LIMIT: Duration = Duration::from_secs(3600);

/// A [`MemoryConnector`] behind an `Arc`, so that the pool can clone it, which
/// also records when each connection attempt started (on tokio's clock).
#[derive(Clone)]
pub(crate) struct Memory {
    connector: Arc<MemoryConnector>,
    attempts: Arc<watch::Sender<Vec<Instant>>>,
}

impl Memory {
    /// A connector whose connections use `transport`, and the acceptor that
    /// receives the server side of each connection it opens.
    pub(crate) fn new(transport: &TransportConfig) -> Result<(Self, Acceptor)> {
        let (connector, acceptor) = MemoryConnector::new(transport.clone())?;
        Ok((
            Memory {
                connector: Arc::new(connector),
                attempts: Arc::new(watch::Sender::new(Vec::new())),
            },
            acceptor,
        ))
    }

    /// Appends outcomes for the next connection attempts (then every attempt is
    /// accepted).
    pub(crate) fn script(&self, attempts: impl IntoIterator<Item = Attempt>) {
        self.connector.script(attempts);
    }

    /// When each connection attempt so far started.
    pub(crate) fn attempts(&self) -> Vec<Instant> {
        self.attempts.borrow().clone()
    }

    /// Waits until at least `count` connection attempts have started, and returns
    /// when each started.
    ///
    /// An in-memory attempt completes in the same poll of the driver that starts
    /// it, so once this returns the driver has also handled the attempt's outcome.
    pub(crate) async fn wait_attempts(&self, count: usize) -> Result<Vec<Instant>> {
        let mut attempts = self.attempts.subscribe();
        let seen = tokio::time::timeout(LIMIT, attempts.wait_for(|a| a.len() >= count))
            .await
            .with_context(|| format!("fewer than {count} connection attempts"))??
            .clone();
        Ok(seen)
    }
}

impl Connector for Memory {
    fn connect(&self, url: &WsUrl) -> impl Future<Output = Result<Connection, Error>> + Send {
        self.attempts.send_modify(|a| a.push(Instant::now()));
        let connector = Arc::clone(&self.connector);
        let url = url.clone();
        async move { connector.connect(&url).await }
    }
}

/// A test configuration: one loopback endpoint, otherwise `ClientConfig`'s
/// defaults (Binance's), adjusted by `adjust`.
pub(crate) fn config(adjust: impl FnOnce(&mut ClientConfig)) -> ClientConfig {
    let mut config = ClientConfig::with_endpoints("ws://127.0.0.1:9443", "http://127.0.0.1:9443");
    adjust(&mut config);
    config
}

/// `config`'s endpoints, each with a breaker of `config.breaker`.
pub(crate) fn endpoints(config: &ClientConfig) -> Result<Arc<Endpoints>> {
    let registry = circuit_breaker::Registry::new(config.breaker.clone())?;
    let endpoints = Endpoints::new(&config.endpoints, &config.fallback.endpoints, &registry)
        .map_err(anyhow::Error::msg)?;
    Ok(Arc::new(endpoints))
}

/// Parses stream names.
pub(crate) fn streams<S: AsRef<str>>(names: &[S]) -> Result<Vec<StreamName>> {
    names
        .iter()
        .map(|name| {
            name.as_ref()
                .parse::<StreamName>()
                .with_context(|| format!("stream name {:?}", name.as_ref()))
        })
        .collect()
}

/// A combined `aggTrade` frame of `symbol` (lower case, as in the stream name)
/// with aggregate-trade id `id`.
pub(crate) fn agg_trade(symbol: &str, id: u64) -> String {
    format!(
        r#"{{"stream":"{symbol}@aggTrade","data":{{"e":"aggTrade","E":1672515782136,"s":"{upper}","a":{id},"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":true,"M":true}}}}"#,
        upper = symbol.to_uppercase(),
    )
}

/// The aggregate-trade id of an event, if it is one.
pub(crate) fn agg_id(event: &StreamEvent) -> Option<u64> {
    match &event.event {
        Event::AggTrade(trade) => Some(trade.agg_trade_id),
        _ => None,
    }
}

/// A `SUBSCRIBE` or `UNSUBSCRIBE` request the client sent, as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    /// When the connection handed the frame over (after pacing).
    pub(crate) at: Instant,
    /// `SUBSCRIBE` or `UNSUBSCRIBE`.
    pub(crate) method: String,
    /// The stream names.
    pub(crate) params: Vec<String>,
    /// The request id.
    pub(crate) id: i64,
}

/// The next frame the client sent on `server`'s connection.
pub(crate) async fn next_sent(server: &mut Server) -> Result<Sent> {
    tokio::time::timeout(LIMIT, server.recv())
        .await
        .context("the client sent nothing")?
        .context("the client is gone")
}

/// The next frame the client sent, which must be a request.
pub(crate) async fn next_request(server: &mut Server) -> Result<Request> {
    let sent = next_sent(server).await?;
    let SentFrame::Text(text) = &sent.frame else {
        bail!("expected a request, the client sent {sent:?}");
    };
    let value: serde_json::Value =
        serde_json::from_str(text).with_context(|| format!("request {text}"))?;
    let method = value["method"]
        .as_str()
        .with_context(|| format!("no method in {text}"))?
        .to_owned();
    let params = value["params"]
        .as_array()
        .with_context(|| format!("no params in {text}"))?
        .iter()
        .map(|p| p.as_str().map(str::to_owned))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("a param is not a string in {text}"))?;
    let id = value["id"]
        .as_i64()
        .with_context(|| format!("no id in {text}"))?;
    Ok(Request {
        at: sent.at,
        method,
        params,
        id,
    })
}

/// Answers request `id` as Binance does (`{"result":null,"id":…}`).
pub(crate) fn reply(server: &Server, id: i64) {
    server.send_text(format!(r#"{{"result":null,"id":{id}}}"#));
}

/// Reads the next request, checks it is a `SUBSCRIBE` of exactly `streams`,
/// and answers it.
pub(crate) async fn answer_subscribe(server: &mut Server, streams: &[&str]) -> Result<Request> {
    let request = next_request(server).await?;
    ensure!(
        request.method == "SUBSCRIBE" && request.params == streams,
        "expected SUBSCRIBE {streams:?}, got {request:?}"
    );
    reply(server, request.id);
    Ok(request)
}

/// The next connection the client opens.
pub(crate) async fn accept(acceptor: &mut Acceptor) -> Result<Server> {
    let (_, server) = tokio::time::timeout(LIMIT, acceptor.accept())
        .await
        .context("no connection opened")?
        .context("the connector is gone")?;
    Ok(server)
}

/// Waits for the first lifecycle signal matching `pred`, returning it with
/// every signal seen before it.
pub(crate) async fn wait_for(
    lifecycle: &mut broadcast::Receiver<Lifecycle>,
    pred: impl Fn(&Lifecycle) -> bool,
) -> Result<(Lifecycle, Vec<Lifecycle>)> {
    let mut before = Vec::new();
    tokio::time::timeout(LIMIT, async {
        loop {
            let signal = lifecycle.recv().await.context("lifecycle")?;
            if pred(&signal) {
                return Ok((signal, before));
            }
            before.push(signal);
        }
    })
    .await
    .context("lifecycle signal not seen")?
}

/// The lifecycle signals already emitted, without waiting.
pub(crate) fn drain(lifecycle: &mut broadcast::Receiver<Lifecycle>) -> Vec<Lifecycle> {
    std::iter::from_fn(|| lifecycle.try_recv().ok()).collect()
}

/// The next event delivered to a subscriber.
pub(crate) async fn next_event(events: &mut EventsRx) -> Result<StreamEvent> {
    loop {
        let delivery = match tokio::time::timeout(LIMIT, events.recv())
            .await
            .context("no event")?
            .context("event channel closed")?
        {
            Recv::Item(delivery) => delivery,
            Recv::Lagged(missed) => anyhow::bail!("the test subscriber lagged: {missed} missed"),
        };
        // Notices (gaps, backfills) are not events; the tests that expect them
        // read the channel themselves.
        if let Delivery::Event(event) = delivery {
            return Ok(event);
        }
    }
}

/// What a subscriber channel carries in these tests.
pub(crate) type Events = Delivery<StreamName, StreamEvent>;

/// A test subscriber's receiver.
pub(crate) type EventsRx = crate::client::sink::Receiver<Events>;
use crate::client::sink::Recv;

/// Reads frames until the client's close frame, returning its code and the text
/// frames sent before it.
pub(crate) async fn until_close(server: &mut Server) -> Result<(Option<u16>, Vec<String>)> {
    let mut texts = Vec::new();
    loop {
        match next_sent(server).await?.frame {
            SentFrame::Close { code, .. } => return Ok((code, texts)),
            SentFrame::Text(text) => texts.push(text),
            _ => {}
        }
    }
}
