//! Trade backfill against bad REST answers (issue 6): `trades.rs`'s paging rules,
//! through [`TradeBackfill`] and a real [`RestClient`], against a loopback HTTP
//! stub that answers each `GET /api/v3/aggTrades?fromId=&limit=` as a test says:
//! well-formed, empty, out of order, overlapping, outside the range, repeated,
//! with a hole, malformed, or failing.
//!
//! Every case asserts the documented rule (`docs/data-integrity.md`) as the exact
//! sequence of what the backfill reports (recovered ids and lost ranges, in
//! order), that every id of the range is accounted for exactly once (recovered
//! or reported lost), that the backfill ends (`done`), and how many REST calls it
//! took: never a panic, never an endless loop.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::driver::decode::{Backfill, BackfillMsg};
use super::live::{Source, StreamEvent};
use super::test_support::agg_id;
use super::trades::TradeBackfill;
use crate::domain::{Event, StreamName};
use crate::rest::{RestClient, RestConfig};

/// The range every case backfills: 2,500 ids, so three pages (1000, 1000, 500).
const FROM: u64 = 5_000;
const TO: u64 = 7_499;
/// Longest a backfill may take here.
const LIMIT: Duration = Duration::from_secs(20);

/// One request the stub answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Asked {
    from_id: u64,
    limit: u64,
}

/// How the stub answers one request: an HTTP status and a body.
type Answer = (u16, String);

/// A loopback HTTP server answering with `script(asked, call number)`.
struct Stub {
    url: String,
    asked: Arc<Mutex<Vec<Asked>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Stub {
    async fn start(
        script: impl Fn(Asked, usize) -> Answer + Send + Sync + 'static,
    ) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&asked);
        let script = Arc::new(script);
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = Arc::clone(&log);
                let script = Arc::clone(&script);
                tokio::spawn(async move {
                    let Some(request) = read_head(&mut socket).await else {
                        return;
                    };
                    let Some(query) = parse(&request) else {
                        let _ = socket.write_all(&response(400, "{}")).await;
                        return;
                    };
                    let call = {
                        let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
                        log.push(query);
                        log.len()
                    };
                    let (status, body) = script(query, call);
                    let _ = socket.write_all(&response(status, &body)).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Ok(Stub { url, asked, task })
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads an HTTP request head (the stub's requests have no body).
async fn read_head(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !buffer.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = socket.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8(buffer).ok()
}

/// `fromId` and `limit` of a `GET /api/v3/aggTrades?…` request line.
fn parse(request: &str) -> Option<Asked> {
    let target = request.lines().next()?.split(' ').nth(1)?;
    let (path, query) = target.split_once('?')?;
    if path != "/api/v3/aggTrades" {
        return None;
    }
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
    };
    Some(Asked {
        from_id: param("fromId")?,
        limit: param("limit")?,
    })
}

fn response(status: u16, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-mbx-used-weight-1m: 4\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A well-formed `aggTrades` record with id `id`.
fn record(id: u64) -> String {
    format!(
        r#"{{"a":{id},"p":"100.5","q":"0.25","f":{f},"l":{f},"T":1700000000000,"m":true,"M":true}}"#,
        f = id * 2
    )
}

/// A body of records with these ids, in this order.
fn page(ids: impl IntoIterator<Item = u64>) -> String {
    let records: Vec<String> = ids.into_iter().map(record).collect();
    format!("[{}]", records.join(","))
}

/// What Binance answers: `limit` records from `fromId` on.
fn honest(asked: Asked) -> Answer {
    (200, page(asked.from_id..asked.from_id + asked.limit))
}

/// One thing a backfill reported, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    /// An id recovered.
    Id(u64),
    /// A range reported lost.
    Lost(u64, u64),
}

/// Everything one backfill reported, in order, until `done`.
#[derive(Debug)]
struct Reported {
    items: Vec<Item>,
    asked: Vec<Asked>,
}

impl Reported {
    fn lost(&self) -> Vec<(u64, u64)> {
        self.items
            .iter()
            .filter_map(|item| match *item {
                Item::Lost(from, to) => Some((from, to)),
                Item::Id(_) => None,
            })
            .collect()
    }

    fn ids(&self) -> Vec<u64> {
        self.items
            .iter()
            .filter_map(|item| match *item {
                Item::Id(id) => Some(id),
                Item::Lost(..) => None,
            })
            .collect()
    }
}

/// How long the backfills here keep asking an unavailable host.
const PATIENCE: Duration = Duration::from_secs(2);

/// Backfills `FROM..=TO` of `btcusdt@aggTrade` against a stub answering with
/// `script`, and checks the rules every answer must keep.
async fn backfill(
    script: impl Fn(Asked, usize) -> Answer + Send + Sync + 'static,
) -> Result<Reported> {
    let stub = Stub::start(script).await?;
    let rest = RestClient::new(RestConfig {
        base_url: stub.url.clone(),
        timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(5),
        max_wait: Duration::from_secs(5),
        ..RestConfig::default()
    })?;
    let stream: StreamName = "btcusdt@aggTrade".parse()?;
    let (out, mut messages) = mpsc::unbounded_channel();
    TradeBackfill::with_patience(rest, PATIENCE).start(stream.clone(), FROM, TO, out);
    let mut items = Vec::new();
    let done = tokio::time::timeout(LIMIT, async {
        while let Some(msg) = messages.recv().await {
            if read(&stream, msg, &mut items)? {
                return Ok(());
            }
        }
        bail!("the backfill ended without `done`")
    })
    .await
    .context("the backfill did not end")?;
    done?;
    let reported = Reported {
        items,
        asked: stub.asked(),
    };
    accounted(&reported)?;
    Ok(reported)
}

/// Appends one message's items (lost range first, then events); true on `done`.
fn read(
    stream: &StreamName,
    msg: BackfillMsg<StreamName, StreamEvent>,
    items: &mut Vec<Item>,
) -> Result<bool> {
    ensure!(&msg.stream == stream, "a message for {}", msg.stream);
    if let Some((from, to)) = msg.lost {
        items.push(Item::Lost(from, to));
    }
    for (span, event) in msg.events {
        let id = agg_id(&event).context("a backfilled event that is not an aggTrade")?;
        ensure!(
            event.source == Source::Backfill,
            "{id} not marked as backfilled"
        );
        ensure!(
            span.is_some_and(|s| s.first == id && s.last == id && s.contiguous),
            "{id} with span {span:?}"
        );
        let Event::AggTrade(trade) = &event.event else {
            bail!("{id} is not an aggTrade");
        };
        ensure!(trade.first_trade_id == id * 2, "{id}: fields not kept");
        items.push(Item::Id(id));
    }
    Ok(msg.done)
}

/// Every id of the range is reported exactly once, recovered or lost, in
/// ascending order, and nothing outside the range is.
fn accounted(reported: &Reported) -> Result<()> {
    let mut next = FROM;
    for item in &reported.items {
        match *item {
            Item::Id(id) => {
                ensure!(
                    id == next,
                    "{id} reported where {next} was due: {:?}",
                    reported.items
                );
                next = id + 1;
            }
            Item::Lost(from, to) => {
                ensure!(
                    from == next && from <= to,
                    "lost {from}..={to} where {next} was due: {:?}",
                    reported.items
                );
                next = to + 1;
            }
        }
    }
    ensure!(
        next == TO + 1,
        "the range was not accounted for to its end ({next}): {:?}",
        reported.lost()
    );
    Ok(())
}

fn ids(range: std::ops::RangeInclusive<u64>) -> Vec<u64> {
    range.collect()
}

#[tokio::test]
async fn well_formed_pages_recover_the_range_in_three_calls() -> Result<()> {
    let reported = backfill(|asked, _| honest(asked)).await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    assert_eq!(
        reported.asked,
        vec![
            Asked {
                from_id: 5_000,
                limit: 1000
            },
            Asked {
                from_id: 6_000,
                limit: 1000
            },
            Asked {
                from_id: 7_000,
                limit: 500
            },
        ]
    );
    Ok(())
}

#[tokio::test]
async fn an_empty_first_page_reports_the_whole_range_lost_after_one_call() -> Result<()> {
    let reported = backfill(|_, _| (200, "[]".to_owned())).await?;
    assert_eq!(reported.items, vec![Item::Lost(FROM, TO)]);
    assert_eq!(reported.asked.len(), 1);
    Ok(())
}

#[tokio::test]
async fn an_empty_page_mid_range_reports_the_rest_lost() -> Result<()> {
    let reported = backfill(|asked, call| {
        if call == 2 {
            (200, "[]".to_owned())
        } else {
            honest(asked)
        }
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=5_999));
    assert_eq!(reported.lost(), vec![(6_000, TO)]);
    assert_eq!(reported.asked.len(), 2);
    Ok(())
}

#[tokio::test]
async fn a_page_starting_late_reports_the_ids_before_it_lost() -> Result<()> {
    // The exchange no longer keeps 5000..=5299 (older than its retention).
    let reported = backfill(|asked, _| {
        let first = asked.from_id.max(5_300);
        (200, page(first..first + asked.limit))
    })
    .await?;
    assert_eq!(reported.items.first(), Some(&Item::Lost(FROM, 5_299)));
    assert_eq!(reported.ids(), ids(5_300..=TO));
    assert_eq!(reported.lost(), vec![(FROM, 5_299)]);
    assert_eq!(reported.asked.len(), 3);
    Ok(())
}

#[tokio::test]
async fn a_hole_inside_a_page_is_one_lost_range_between_the_ids() -> Result<()> {
    let reported = backfill(|asked, _| {
        let ids = (asked.from_id..asked.from_id + asked.limit + 10)
            .filter(|id| !(5_500..5_510).contains(id))
            .take(usize::try_from(asked.limit).unwrap_or(1000));
        (200, page(ids))
    })
    .await?;
    assert_eq!(reported.lost(), vec![(5_500, 5_509)]);
    let position = reported
        .items
        .iter()
        .position(|i| *i == Item::Lost(5_500, 5_509))
        .context("no lost range")?;
    assert_eq!(reported.items[position - 1], Item::Id(5_499));
    assert_eq!(reported.items[position + 1], Item::Id(5_510));
    assert_eq!(reported.ids().len(), 2_490);
    Ok(())
}

#[tokio::test]
async fn overlapping_pages_are_deduplicated() -> Result<()> {
    // Every page also repeats the 50 records before `fromId`.
    let reported =
        backfill(|asked, _| (200, page(asked.from_id - 50..asked.from_id + asked.limit))).await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    assert_eq!(reported.asked.len(), 3);
    Ok(())
}

#[tokio::test]
async fn an_overlap_that_makes_no_progress_ends_the_backfill() -> Result<()> {
    // Pages shifted back by 600: each brings `limit - 600` new ids, until the one
    // asked with a limit of 600 (fromId 6,900) brings only ids already recovered;
    // the rest is then reported lost, not asked again.
    let reported = backfill(|asked, _| {
        let first = asked.from_id.saturating_sub(600).max(FROM);
        (200, page(first..first + asked.limit))
    })
    .await?;
    assert_eq!(
        reported.asked,
        vec![
            Asked {
                from_id: 5_000,
                limit: 1000
            },
            Asked {
                from_id: 6_000,
                limit: 1000
            },
            Asked {
                from_id: 6_400,
                limit: 1000
            },
            Asked {
                from_id: 6_800,
                limit: 700
            },
            Asked {
                from_id: 6_900,
                limit: 600
            },
        ]
    );
    assert_eq!(reported.ids(), ids(FROM..=6_899));
    assert_eq!(reported.lost(), vec![(6_900, TO)]);
    Ok(())
}

#[tokio::test]
async fn a_server_that_ignores_from_id_is_asked_twice_at_most() -> Result<()> {
    // Always the same page: the second answer makes no progress.
    let reported = backfill(|_, _| (200, page(FROM..FROM + 1000))).await?;
    assert_eq!(reported.ids(), ids(FROM..=5_999));
    assert_eq!(reported.lost(), vec![(6_000, TO)]);
    assert_eq!(reported.asked.len(), 2);
    Ok(())
}

#[tokio::test]
async fn records_before_the_range_only_are_no_progress() -> Result<()> {
    let reported = backfill(|_, _| (200, page(1_000..2_000))).await?;
    assert_eq!(reported.items, vec![Item::Lost(FROM, TO)]);
    assert_eq!(reported.asked.len(), 1);
    Ok(())
}

#[tokio::test]
async fn records_past_the_range_are_dropped() -> Result<()> {
    // The server ignores `limit`: 1000 records each time, past `TO` on the last page.
    let reported = backfill(|asked, _| (200, page(asked.from_id..asked.from_id + 1000))).await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    assert_eq!(reported.asked.len(), 3);
    Ok(())
}

#[tokio::test]
async fn repeated_records_in_a_page_are_dropped() -> Result<()> {
    let reported = backfill(|asked, _| {
        let ids = (asked.from_id..asked.from_id + asked.limit).flat_map(|id| [id, id]);
        (200, page(ids))
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    Ok(())
}

#[tokio::test]
async fn out_of_order_records_are_put_in_order() -> Result<()> {
    // Each page has two adjacent records swapped (…, 5101, 5100, …): the page is
    // sorted, so nothing is lost.
    let reported = backfill(|asked, _| {
        let mut ids: Vec<u64> = (asked.from_id..asked.from_id + asked.limit).collect();
        ids.swap(100, 101);
        (200, page(ids))
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    assert_eq!(reported.asked.len(), 3);
    Ok(())
}

#[tokio::test]
async fn a_reversed_page_is_recovered_whole() -> Result<()> {
    // Newest first: sorted, every record of every page is recovered.
    let reported = backfill(|asked, _| {
        (
            200,
            page((asked.from_id..asked.from_id + asked.limit).rev()),
        )
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert!(reported.lost().is_empty());
    assert_eq!(reported.asked.len(), 3);
    Ok(())
}

#[tokio::test]
async fn malformed_bodies_report_the_rest_lost_without_retrying() -> Result<()> {
    for body in [
        "{\"not\":\"a list\"}".to_owned(),
        "[{\"a\":5000,\"p\":\"x\"}]".to_owned(),
        page(FROM..FROM + 10)[..200].to_owned(),
        "<html>bad gateway</html>".to_owned(),
        String::new(),
    ] {
        let answer = body.clone();
        let reported = backfill(move |asked, call| {
            if call == 2 {
                (200, answer.clone())
            } else {
                honest(asked)
            }
        })
        .await
        .with_context(|| format!("body {body:?}"))?;
        assert_eq!(reported.ids(), ids(FROM..=5_999), "body {body:?}");
        assert_eq!(reported.lost(), vec![(6_000, TO)], "body {body:?}");
        assert_eq!(reported.asked.len(), 2, "body {body:?}");
    }
    Ok(())
}

#[tokio::test]
async fn a_failing_server_is_asked_again_for_the_patience_then_the_rest_reported_lost() -> Result<()>
{
    // 500 from the second call on: each page fetch is the client's own four
    // tries (one and three retries); the backfill fetches again after 250 ms,
    // 500 ms, … while its patience lasts, then reports the rest lost.
    let started = tokio::time::Instant::now();
    let reported = backfill(|asked, call| {
        if call >= 2 {
            (500, r#"{"code":-1001,"msg":"Internal error"}"#.to_owned())
        } else {
            honest(asked)
        }
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=5_999));
    assert_eq!(reported.lost(), vec![(6_000, TO)]);
    let failed = reported.asked.len() - 1;
    assert!(
        failed >= 2 * 4 && failed % 4 == 0,
        "asked again beyond the client's own retries, whole fetches: {} calls",
        reported.asked.len()
    );
    assert!(started.elapsed() >= Duration::from_millis(250));
    assert!(started.elapsed() < PATIENCE + Duration::from_secs(2));
    Ok(())
}

#[tokio::test]
async fn a_host_unavailable_for_a_while_is_waited_for_and_nothing_is_lost() -> Result<()> {
    // 503 for the second and third fetch (four tries each), then honest again.
    let reported = backfill(|asked, call| {
        if (2..=9).contains(&call) {
            (
                503,
                r#"{"code":-1001,"msg":"Service unavailable"}"#.to_owned(),
            )
        } else {
            honest(asked)
        }
    })
    .await?;
    assert_eq!(reported.ids(), ids(FROM..=TO));
    assert_eq!(reported.lost(), Vec::new());
    assert_eq!(reported.asked.len(), 3 + 8);
    Ok(())
}

#[tokio::test]
async fn a_refused_request_reports_the_range_lost_at_once() -> Result<()> {
    // 400 (Binance's -1100 for a bad parameter): not retried.
    let reported = backfill(|_, _| {
        (
            400,
            r#"{"code":-1100,"msg":"Illegal characters found in parameter"}"#.to_owned(),
        )
    })
    .await?;
    assert_eq!(reported.items, vec![Item::Lost(FROM, TO)]);
    assert_eq!(reported.asked.len(), 1);
    Ok(())
}

#[tokio::test]
async fn every_mix_of_answers_ends_and_every_call_makes_progress() -> Result<()> {
    // Two shapes of answer, alternating, for every pair: whatever comes, each call
    // but the last reports something new (an id or a lost range), so the number
    // of calls is bounded by the range, and the backfill ends.
    let shapes: [fn(Asked) -> Answer; 6] = [
        honest,
        |_| (200, "[]".to_owned()),
        |a| (200, page((a.from_id..a.from_id + a.limit).rev())),
        |a| (200, page(a.from_id.saturating_sub(900)..a.from_id + 100)),
        |a| (200, page(a.from_id + 5..a.from_id + 50)),
        |_| (200, "garbage".to_owned()),
    ];
    for first in shapes {
        for second in shapes {
            let reported = backfill(move |asked, call| {
                if call % 2 == 1 {
                    first(asked)
                } else {
                    second(asked)
                }
            })
            .await?;
            ensure!(
                reported.asked.len() <= reported.items.len() + 1,
                "{} calls for {} reports: {:?}",
                reported.asked.len(),
                reported.items.len(),
                reported.asked
            );
        }
    }
    Ok(())
}
