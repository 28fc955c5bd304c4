//! A local order book kept from the simulator's diff stream plus a REST snapshot, by
//! the procedure of PROTOCOL.md §5, equals the simulator's own book at checkpoints;
//! after an injected sequence gap the procedure detects it and rebuilds.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use binance_sim::market::Side;
use binance_sim::{Sim, SimConfig, SimHandle};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

type Levels = BTreeMap<String, String>;
type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const SYMBOL: &str = "BTCUSDT";
const WAIT: Duration = Duration::from_secs(10);

/// A book kept by the documented procedure.
#[derive(Debug, Default)]
struct LocalBook {
    id: u64,
    bids: Levels,
    asks: Levels,
}

/// What applying one diff did.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Stale,
    Applied,
    Gap,
}

impl LocalBook {
    fn from_snapshot(snapshot: &Value) -> Result<Self> {
        let side = |key: &str| -> Result<Levels> {
            snapshot[key]
                .as_array()
                .context("snapshot side")?
                .iter()
                .map(|l| Ok((level_str(&l[0])?, level_str(&l[1])?)))
                .collect()
        };
        Ok(LocalBook {
            id: snapshot["lastUpdateId"].as_u64().context("lastUpdateId")?,
            bids: side("bids")?,
            asks: side("asks")?,
        })
    }

    fn apply(&mut self, diff: &Value) -> Result<Outcome> {
        let (first, last) = (
            diff["U"].as_u64().context("U")?,
            diff["u"].as_u64().context("u")?,
        );
        if last < self.id {
            return Ok(Outcome::Stale);
        }
        if first > self.id + 1 {
            return Ok(Outcome::Gap);
        }
        for (key, side) in [("b", &mut self.bids), ("a", &mut self.asks)] {
            for level in diff[key].as_array().context("levels")? {
                let (price, qty) = (level_str(&level[0])?, level_str(&level[1])?);
                if qty.parse::<f64>()? == 0.0 {
                    side.remove(&price);
                } else {
                    side.insert(price, qty);
                }
            }
        }
        self.id = last;
        Ok(Outcome::Applied)
    }
}

fn level_str(v: &Value) -> Result<String> {
    v.as_str()
        .map(str::to_owned)
        .context("price or quantity is not a string")
}

/// The simulator's own book, printed the way its payloads print it.
fn sim_book(sim: &SimHandle) -> (u64, Levels, Levels) {
    sim.with_market(|market| {
        let Some(m) = market.symbol(SYMBOL) else {
            return (0, Levels::new(), Levels::new());
        };
        let side = |side| {
            m.book()
                .top(side, usize::MAX)
                .into_iter()
                .map(|(p, q)| (p.to_string(), q.to_string()))
                .collect()
        };
        (m.update_id(), side(Side::Bid), side(Side::Ask))
    })
}

async fn next_diff(ws: &mut Socket) -> Result<Value> {
    loop {
        let message = timeout(WAIT, ws.next()).await.context("no diff in time")?;
        match message.context("stream ended")?? {
            Message::Text(text) => return Ok(serde_json::from_str(&text)?),
            Message::Close(frame) => bail!("closed: {frame:?}"),
            _ => {}
        }
    }
}

async fn snapshot(http: &reqwest::Client, sim: &SimHandle) -> Result<Value> {
    let url = format!("{}/api/v3/depth?symbol={SYMBOL}&limit=5000", sim.rest_url());
    let response = http.get(url).send().await?;
    ensure!(
        response.status().is_success(),
        "depth: {}",
        response.status()
    );
    Ok(response.json().await?)
}

/// Steps 1–5 of the procedure: buffer, snapshot (again while too old), drop, apply.
async fn build(ws: &mut Socket, http: &reqwest::Client, sim: &SimHandle) -> Result<LocalBook> {
    let mut buffered = vec![next_diff(ws).await?];
    let first_u = buffered[0]["U"].as_u64().context("U")?;
    let mut book = loop {
        let snap = snapshot(http, sim).await?;
        if snap["lastUpdateId"].as_u64().context("lastUpdateId")? >= first_u {
            break LocalBook::from_snapshot(&snap)?;
        }
        buffered.push(next_diff(ws).await?);
    };
    // Diffs that arrived while the snapshot was in flight are next on the socket;
    // `apply` ignores the stale ones, so applying them in order is the procedure.
    for diff in &buffered {
        ensure!(
            book.apply(diff)? != Outcome::Gap,
            "gap right after the snapshot"
        );
    }
    Ok(book)
}

/// Freezes the market, applies diffs until the local book has caught up with the
/// simulator's, compares them exactly, then lets the market run again.
async fn checkpoint(ws: &mut Socket, sim: &SimHandle, book: &mut LocalBook) -> Result<()> {
    sim.set_symbol_rate(SYMBOL, 0.0)?;
    let (frozen_id, bids, asks) = sim_book(sim);
    while book.id < frozen_id {
        let diff = next_diff(ws).await?;
        ensure!(book.apply(&diff)? != Outcome::Gap, "unexpected gap");
    }
    ensure!(
        book.id == frozen_id,
        "local {} ahead of frozen {frozen_id}",
        book.id
    );
    ensure!(book.bids == bids, "bids differ");
    ensure!(book.asks == asks, "asks differ");
    sim.set_symbol_rate(SYMBOL, 200.0)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_book_matches_the_simulators_book_and_rebuilds_after_a_gap() -> Result<()> {
    let mut config = SimConfig::default();
    for spec in &mut config.symbols {
        spec.actions_per_sec = 200.0;
    }
    let sim = Sim::start(config).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/ws/{}@depth@100ms", sim.ws_url(), SYMBOL.to_lowercase());
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;

    let mut book = build(&mut ws, &http, &sim).await?;
    for _ in 0..3 {
        // Let some changes flow, then compare.
        for _ in 0..5 {
            let diff = next_diff(&mut ws).await?;
            ensure!(book.apply(&diff)? != Outcome::Gap, "unexpected gap");
        }
        checkpoint(&mut ws, &sim, &mut book).await?;
    }

    // An injected gap is detected by the apply rule, and a rebuild converges again.
    sim.inject_depth_gap(SYMBOL)?;
    let mut saw_gap = false;
    for _ in 0..50 {
        let diff = next_diff(&mut ws).await?;
        if book.apply(&diff)? == Outcome::Gap {
            saw_gap = true;
            break;
        }
    }
    ensure!(saw_gap, "the injected gap was not seen");
    let mut book = build(&mut ws, &http, &sim).await?;
    checkpoint(&mut ws, &sim, &mut book).await?;
    sim.shutdown().await;
    Ok(())
}
