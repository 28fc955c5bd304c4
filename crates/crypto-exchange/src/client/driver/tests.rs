//! Deterministic tests of the connection driver: the production decoder on the
//! in-memory transport, under paused tokio time (no sockets, no real time).
//!
//! Each test starts one [`Driver`] with a fixed seed, plays the server through
//! the `Server` handles its connector hands out, and observes the driver only
//! through what a user sees: lifecycle signals, delivered events, counters, and
//! the frames the server receives (with their send times on tokio's clock).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use reconnect::AttemptBudget;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use ws_transport::CloseCause;
use ws_transport::memory::{Acceptor, Attempt, SentFrame, Server};

use super::{Command, Driver, DriverSpec};
use crate::client::config::ClientConfig;
use crate::client::lifecycle::Lifecycle;
use crate::client::live::{LiveDecoder, StreamEvent};
use crate::client::stats::{ClientStats, Counters};
use crate::client::test_support::{
    EventsRx, LIMIT, Memory, Request, accept, agg_id, agg_trade, answer_subscribe, config, drain,
    endpoints, next_event, next_request, next_sent, reply, streams, until_close, wait_for,
};
use crate::domain::StreamName;

mod rotation;
mod schedule;

/// The subscriber id the tests use.
const SINK: u64 = 1;

/// One driver task on the in-memory transport, and the handles to watch it.
struct Harness {
    commands: mpsc::UnboundedSender<Command<StreamName, StreamEvent>>,
    task: JoinHandle<()>,
    connector: Memory,
    acceptor: Acceptor,
    lifecycle: broadcast::Receiver<Lifecycle>,
    counters: Arc<Counters>,
}

impl Harness {
    /// Starts a driver with `config`, whose first connection attempts end as
    /// `script` says (then every attempt is accepted).
    fn start(config: ClientConfig, script: impl IntoIterator<Item = Attempt>) -> Result<Self> {
        let (connector, acceptor) = Memory::new(&config.transport)?;
        connector.script(script);
        let (lifecycle_tx, lifecycle) = broadcast::channel(4096);
        let counters = Arc::new(Counters::default());
        let spec = DriverSpec {
            id: 1,
            endpoints: endpoints(&config)?,
            budget: AttemptBudget::new(config.attempt_budget.clone())?,
            config: Arc::new(config),
            connector: connector.clone(),
            lifecycle: lifecycle_tx,
            counters: Arc::clone(&counters),
            decoder: LiveDecoder::new(),
            seed: 7,
            backfill: None,
            refresh: None,
            poll: None,
            degrade: None,
            health: None,
        };
        let (commands, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(Driver::new(spec, rx).run());
        Ok(Harness {
            commands,
            task,
            connector,
            acceptor,
            lifecycle,
            counters,
        })
    }

    /// Subscribes `names` for the tests' subscriber; returns its receiver.
    fn subscribe<S: AsRef<str>>(&self, names: &[S]) -> Result<EventsRx> {
        let (sender, receiver) = crate::client::sink::channel(4096);
        self.commands
            .send(Command::Subscribe {
                streams: streams(names)?,
                sink: SINK,
                sender,
            })
            .ok()
            .context("driver gone")?;
        Ok(receiver)
    }

    /// Sends a command to the driver.
    fn command(&self, command: Command<StreamName, StreamEvent>) -> Result<()> {
        self.commands.send(command).ok().context("driver gone")
    }

    /// The next connection the driver opens.
    async fn accept(&mut self) -> Result<Server> {
        accept(&mut self.acceptor).await
    }

    /// Waits for a lifecycle signal matching `pred`; returns it and the signals before it.
    async fn wait_for(
        &mut self,
        pred: impl Fn(&Lifecycle) -> bool,
    ) -> Result<(Lifecycle, Vec<Lifecycle>)> {
        wait_for(&mut self.lifecycle, pred).await
    }

    /// The counters now.
    fn stats(&self) -> ClientStats {
        self.counters.snapshot()
    }

    /// Waits for the driver task to end.
    async fn ended(&mut self) -> Result<()> {
        tokio::time::timeout(LIMIT, &mut self.task)
            .await
            .context("the driver task did not end")??;
        Ok(())
    }
}

/// True for `Lifecycle::Subscribed`.
fn is_subscribed(signal: &Lifecycle) -> bool {
    matches!(signal, Lifecycle::Subscribed { .. })
}

/// True for `Lifecycle::Disconnected`.
fn is_disconnected(signal: &Lifecycle) -> bool {
    matches!(signal, Lifecycle::Disconnected { .. })
}

/// Which `SUBSCRIBE` requests the server answers as they arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// Every one.
    All,
    /// Every one but the first, whose id is left to the caller.
    AllButFirst,
}

/// Reads `SUBSCRIBE` requests until every one of `names` was requested, answering
/// them as `answer` says; checks that each stream is requested exactly once and
/// that the frames leave at most 4 per rolling second. Returns the requests.
async fn read_subscribes(
    server: &mut Server,
    names: &[String],
    answer: Answer,
) -> Result<Vec<Request>> {
    let mut requests: Vec<Request> = Vec::new();
    let mut requested = Vec::new();
    while requested.len() < names.len() {
        let request = next_request(server).await?;
        ensure!(request.method == "SUBSCRIBE", "{request:?}");
        if answer == Answer::All || !requests.is_empty() {
            reply(server, request.id);
        }
        requested.extend(request.params.iter().cloned());
        requests.push(request);
    }
    // Every stream exactly once.
    let unique: HashSet<&String> = requested.iter().collect();
    ensure!(
        unique.len() == requested.len(),
        "a stream was requested twice"
    );
    ensure!(
        unique == names.iter().collect(),
        "the requested streams are not the subscribed ones"
    );
    // At most 4 frames in any rolling second: any 5 consecutive frames span at least 1 s.
    for five in requests.windows(5) {
        let span = five[4].at - five[0].at;
        ensure!(
            span >= Duration::from_secs(1),
            "requests {} to {} left within {span:?}",
            five[0].id,
            five[4].id
        );
    }
    Ok(requests)
}

/// Plays the server for one (re)connect of a driver holding `names`: reads every
/// `SUBSCRIBE` (see [`read_subscribes`]; the first is answered last), and checks
/// that `Subscribed` comes only after the last answer. `marker` is a fresh
/// aggregate-trade id for the first stream (an event the server sends as a
/// barrier: once it is delivered, every frame before it was handled).
async fn restore(
    h: &mut Harness,
    server: &mut Server,
    names: &[String],
    events: &mut EventsRx,
    marker: u64,
) -> Result<usize> {
    // Withhold the first answer: `Subscribed` must wait for every request.
    let requests = read_subscribes(server, names, Answer::AllButFirst).await?;
    // Nothing more is sent, and nothing is confirmed while one request is
    // unanswered, even once every other answer was handled.
    tokio::time::advance(Duration::from_secs(2)).await;
    let symbol = names[0].trim_end_matches("@aggTrade");
    server.send_text(agg_trade(symbol, marker));
    ensure!(agg_id(&next_event(events).await?) == Some(marker));
    ensure!(server.try_recv().is_none(), "an extra frame was sent");
    let early = drain(&mut h.lifecycle);
    ensure!(
        !early.iter().any(is_subscribed),
        "subscribed before every answer: {early:?}"
    );
    reply(server, requests[0].id);
    let (signal, _) = h.wait_for(is_subscribed).await?;
    ensure!(
        signal
            == Lifecycle::Subscribed {
                connection: 1,
                streams: names.len()
            },
        "{signal:?}"
    );
    Ok(requests.len())
}

#[tokio::test(start_paused = true)]
async fn restoring_a_thousand_streams_is_paced_complete_and_confirmed() -> Result<()> {
    let mut h = Harness::start(
        config(|c| {
            c.streams_per_connection = 1000;
            c.streams_per_request = 10;
        }),
        [],
    )?;
    let names: Vec<String> = (0..1000).map(|i| format!("sym{i}usdt@aggTrade")).collect();
    let mut events = h.subscribe(&names)?;

    let mut first = h.accept().await?;
    ensure!(restore(&mut h, &mut first, &names, &mut events, 1).await? == 100);

    // A reconnect restores everything again, on the same terms.
    first.fail(CloseCause::Reset);
    let mut second = h.accept().await?;
    ensure!(restore(&mut h, &mut second, &names, &mut events, 2).await? == 100);

    h.command(Command::Shutdown)?;
    ensure!(until_close(&mut second).await? == (Some(1000), vec![]));
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn bad_input_is_counted_and_never_fatal() -> Result<()> {
    let mut h = Harness::start(config(|_| {}), [])?;
    let mut events = h.subscribe(&["btcusdt@aggTrade"])?;
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;

    // Invalid: not JSON, JSON of no known shape, an aggTrade with a numeric price.
    server.send_text("not json");
    server.send_text(r#"{"foo":1}"#);
    server.send_text(agg_trade("btcusdt", 7).replace(r#""p":"0.001""#, r#""p":0.001"#));
    // Unknown: an event type this crate does not know.
    server.send_text(r#"{"stream":"btcusdt@aggTrade","data":{"e":"futureEvent","E":1}}"#);
    // Unrouted: a well-formed event on a stream nobody subscribed to.
    server.send_text(agg_trade("ethusdt", 1));
    // Unexpected: a binary frame.
    server.send_binary(vec![0_u8, 1, 2]);
    // Then a valid event.
    server.send_text(agg_trade("btcusdt", 8));

    let event = next_event(&mut events).await?;
    ensure!(
        agg_id(&event) == Some(8) && event.stream.to_string() == "btcusdt@aggTrade",
        "{event:?}"
    );
    ensure!(
        events.try_recv().is_none(),
        "only the valid event is delivered"
    );
    let stats = h.stats();
    ensure!(
        (
            stats.invalid_frames,
            stats.unknown_frames,
            stats.unrouted_events,
            stats.unexpected_frames,
            stats.events_delivered,
            stats.connect_failures,
        ) == (3, 1, 1, 1, 1, 0),
        "{stats:?}"
    );
    // The connection was never dropped: no signal since `Subscribed`, no second
    // connection, and the client sent nothing (no close).
    ensure!(drain(&mut h.lifecycle).is_empty());
    ensure!(h.acceptor.try_accept().is_none());
    ensure!(server.try_recv().is_none());

    h.command(Command::Shutdown)?;
    ensure!(until_close(&mut server).await?.0 == Some(1000));
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn an_oversized_frame_reconnects_on_schedule_and_loses_nothing() -> Result<()> {
    let mut h = Harness::start(config(|c| c.transport.max_frame_size = 1024), [])?;
    let mut events = h.subscribe(&["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    let mut first = h.accept().await?;
    answer_subscribe(&mut first, &["btcusdt@aggTrade", "ethusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;

    first.send_text(agg_trade("btcusdt", 1));
    first.send_text(agg_trade("btcusdt", 2));
    first.send_text("x".repeat(2048));
    let (signal, _) = h.wait_for(is_disconnected).await?;
    ensure!(
        matches!(&signal, Lifecycle::Disconnected { cause, .. } if cause == "frame_too_big"),
        "{signal:?}"
    );
    let closed_at = Instant::now();
    let (signal, _) = h
        .wait_for(|l| matches!(l, Lifecycle::Reconnecting { .. }))
        .await?;
    let Lifecycle::Reconnecting {
        delay_ms,
        rate_limited: false,
        ..
    } = signal
    else {
        anyhow::bail!("{signal:?}");
    };
    ensure!(
        (900..=1100).contains(&delay_ms),
        "first delay {delay_ms} ms"
    );

    // Both events received before the big frame were delivered.
    ensure!(agg_id(&next_event(&mut events).await?) == Some(1));
    ensure!(agg_id(&next_event(&mut events).await?) == Some(2));

    let mut second = h.accept().await?;
    let waited = Instant::now() - closed_at;
    ensure!(
        waited >= Duration::from_millis(delay_ms) && waited < Duration::from_millis(delay_ms + 10),
        "reopened after {waited:?}, announced {delay_ms} ms"
    );
    answer_subscribe(&mut second, &["btcusdt@aggTrade", "ethusdt@aggTrade"]).await?;
    let (signal, _) = h.wait_for(is_subscribed).await?;
    ensure!(matches!(signal, Lifecycle::Subscribed { streams: 2, .. }));
    // The new connection delivers; what was delivered before is not repeated.
    second.send_text(agg_trade("btcusdt", 2));
    second.send_text(agg_trade("btcusdt", 3));
    ensure!(agg_id(&next_event(&mut events).await?) == Some(3));
    ensure!(h.stats().duplicates_removed == 1);

    h.command(Command::Shutdown)?;
    ensure!(until_close(&mut second).await?.0 == Some(1000));
    h.ended().await
}

#[tokio::test(start_paused = true)]
async fn shutdown_closes_with_1000_and_ends_the_task() -> Result<()> {
    let mut h = Harness::start(config(|_| {}), [])?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    h.command(Command::Shutdown)?;
    let sent = next_sent(&mut server).await?;
    ensure!(
        sent.frame
            == SentFrame::Close {
                code: Some(1000),
                reason: "client shutdown".into()
            },
        "{sent:?}"
    );
    h.ended().await?;
    ensure!(drain(&mut h.lifecycle).iter().all(|l| !is_disconnected(l)));
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn shutdown_while_waiting_to_reconnect_ends_the_task_at_once() -> Result<()> {
    let mut h = Harness::start(config(|_| {}), [Attempt::Fail(CloseCause::Refused)])?;
    let _events = h.subscribe(&["btcusdt@aggTrade"])?;
    h.wait_for(|l| matches!(l, Lifecycle::Reconnecting { .. }))
        .await?;
    let asked = Instant::now();
    h.command(Command::Shutdown)?;
    h.ended().await?;
    ensure!(Instant::now() == asked, "the task ended without waiting");
    ensure!(
        h.connector.attempts().len() == 1,
        "no attempt after shutdown"
    );
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn an_unsubscribe_is_sent_live() -> Result<()> {
    let mut h = Harness::start(config(|_| {}), [])?;
    let mut events = h.subscribe(&["btcusdt@aggTrade", "ethusdt@aggTrade"])?;
    let mut server = h.accept().await?;
    answer_subscribe(&mut server, &["btcusdt@aggTrade", "ethusdt@aggTrade"]).await?;
    h.wait_for(is_subscribed).await?;
    h.command(Command::Unsubscribe {
        streams: streams(&["ethusdt@aggTrade"])?,
        sink: SINK,
    })?;
    let request = next_request(&mut server).await?;
    ensure!(
        request.method == "UNSUBSCRIBE" && request.params == ["ethusdt@aggTrade"],
        "{request:?}"
    );
    reply(&server, request.id);
    // The stream is no longer routed; the other one still is.
    server.send_text(agg_trade("ethusdt", 1));
    server.send_text(agg_trade("btcusdt", 1));
    let event = next_event(&mut events).await?;
    ensure!(event.stream.to_string() == "btcusdt@aggTrade");
    ensure!(h.stats().unrouted_events == 1);
    h.command(Command::Shutdown)?;
    h.ended().await
}
