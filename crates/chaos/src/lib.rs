//! Fault injection for network clients: a TCP proxy that misbehaves on
//! command, resilience measures counted from what a client delivered, and
//! reports as JSON, Markdown and an SVG timeline.
//!
//! - **[`Proxy`]**: listens on loopback, forwards every connection to one
//!   upstream, and applies [`Fault`]s switched on and off at run time, per
//!   [`Direction`] where it matters: latency with seeded jitter, a bandwidth
//!   limit, resets, refused connections, a blackhole (sockets kept, nothing
//!   forwarded), writes sliced into small pieces, a half-close. It counts
//!   what passed ([`ProxyCounters`]). Dropping the handle stops it.
//! - **[`Recorder`]**: told each delivered event, each fault window and each
//!   connection, breaker and health state, it computes [`Measures`]: MTTR per
//!   stream (fault start to the next event), MTBF, availability per stream,
//!   recovery success rate, events lost, duplicated and out of order
//!   (exactly, against a truth), wrong books, the oldest data, and whether
//!   Binance's limits were respected. [`Verdict`] checks them against
//!   [`Guarantees`].
//! - **[`Report`]**: the measures, the [`Timeline`] and the verdict, as JSON,
//!   Markdown and a standalone SVG picture; [`Report::write_to`] writes all
//!   three.
//!
//! `docs/chaos.md` explains every fault and measure, with a sample report.
//!
//! ## Design
//!
//! The proxy works on TCP bytes and knows nothing of WebSockets or Binance;
//! the crate depends on no policy crate (DESIGN.md §2), so the states it
//! draws ([`ConnState`], [`BreakerState`], [`HealthLevel`]) restate the
//! policy crates' vocabulary and the facade maps one onto the other. The
//! recorder is sans-IO: it never reads the clock, every observation carries
//! its instant, so a scripted timeline gives exact, repeatable figures.
//! Scenarios (which faults, when, against which client) are not here: the
//! facade composes them from the proxy, the simulator and the recorder.
//!
//! ## Example
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//!
//! use chaos::{
//!     Delivered, Direction, Fault, Guarantees, Proxy, ProxyConfig, Recorder, RecorderConfig,
//!     Report, StreamSpec,
//! };
//! use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A server that sends one numbered event per write, and a proxy in front of it.
//! let server = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let upstream = server.local_addr()?;
//! tokio::spawn(async move {
//!     let (mut socket, _) = server.accept().await?;
//!     for id in 0..6_u8 {
//!         socket.write_all(&[id]).await?;
//!         tokio::time::sleep(Duration::from_millis(20)).await;
//!     }
//!     Ok::<_, std::io::Error>(())
//! });
//! let proxy = Proxy::start(ProxyConfig::new(upstream)).await?;
//!
//! let started = SystemTime::now();
//! let mut recorder = Recorder::new(RecorderConfig::default(), Instant::now())?;
//! let stream = "numbers";
//! recorder.declare_stream(stream, StreamSpec::every(Duration::from_secs(1)).contiguous(), Instant::now());
//! recorder.set_truth(stream, 0..6);
//!
//! let mut client = tokio::net::TcpStream::connect(proxy.addr()).await?;
//! let mut byte = [0_u8; 1];
//! for id in 0..6_u64 {
//!     if id == 3 {
//!         // Delay what the client receives for a while.
//!         let fault = Fault::Latency {
//!             base: Duration::from_millis(30),
//!             jitter: Duration::ZERO,
//!             direction: Direction::Downstream,
//!         };
//!         let set = proxy.set_fault(fault)?;
//!         let window = recorder.on_fault_start(fault.to_string(), Instant::now());
//!         client.read_exact(&mut byte).await?;
//!         recorder.on_event(stream, Delivered::id(u64::from(byte[0])), Instant::now());
//!         proxy.clear_fault(set);
//!         recorder.on_fault_end(window, Instant::now());
//!         continue;
//!     }
//!     client.read_exact(&mut byte).await?;
//!     recorder.on_event(stream, Delivered::id(u64::from(byte[0])), Instant::now());
//! }
//!
//! let report = Report::new("latency once", None, started, recorder.finish(Instant::now()), Guarantees::default());
//! assert!(report.verdict.passed, "{:?}", report.verdict);
//! assert_eq!(report.measures.streams[stream].lost, 0);
//! assert_eq!(proxy.counters().downstream.bytes, 6);
//! # Ok(())
//! # }
//! ```
//!
//! ## The `chaos-proxy` binary
//!
//! `chaos-proxy --upstream ADDR [--listen ADDR] [--seed N]` runs the proxy
//! alone and takes one command per line on standard input (`latency 200ms
//! 50ms down`, `blackhole`, `reset-all`, `clear`, `counters` …); see
//! `docs/chaos.md`.
//!
//! ## Feature flags
//!
//! None: the proxy needs tokio, the reports serde; both are always on.

#![doc(test(attr(deny(warnings))))]

mod error;
mod measure;
mod proxy;
mod report;
mod secs;

pub use error::Error;
pub use measure::{
    BinanceLimits, BookCheck, BreakerState, ConnState, Delivered, FaultMark, FaultWindow,
    Guarantees, HealthLevel, Ids, Lane, LaneKind, LimitKind, LimitsMeasured, LimitsRule, LossBasis,
    Measures, ObservedLimits, Overall, Recorder, RecorderConfig, Recording, StateChange,
    StreamMeasures, StreamSpec, TimeStats, Timeline, Verdict, Violation,
};
pub use proxy::{
    Direction, DirectionCounters, Fault, FaultId, MAX_FAULT_DURATION, Proxy, ProxyConfig,
    ProxyCounters,
};
pub use report::{Report, ReportFiles};
