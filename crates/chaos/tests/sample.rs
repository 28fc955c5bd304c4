//! The sample report in `docs/`: a deterministic, hand-scripted one-minute
//! run (three streams, four faults, connection, breaker and health lanes),
//! rendered and compared with the committed `docs/chaos-sample.svg` and the
//! sample section of `docs/chaos.md`. Run with `CHAOS_UPDATE_SAMPLE=1` to
//! rewrite them.

mod xml;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use chaos::{
    BookCheck, BreakerState, ConnState, Delivered, Guarantees, HealthLevel, Recorder,
    RecorderConfig, Report, StreamSpec,
};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

const SEED: u64 = 2026;
const RUN_MS: u64 = 60_000;

/// What happens at one moment of the scripted run.
enum Step {
    Event(&'static str, Delivered),
    FaultStart(&'static str),
    FaultEnd(usize),
    Conn(ConnState),
    Breaker(BreakerState),
    Health(HealthLevel),
    Attempt,
    Frame,
    Rest(u64),
    Book(BookCheck),
    Gap(&'static str),
}

/// Outages seen by the client: (from, delivery resumes at), in ms. Events
/// the exchange produced meanwhile are delivered (backfilled) on resume.
const OUTAGES: [(u64, u64); 3] = [(20_000, 21_400), (30_000, 38_500), (45_000, 52_700)];
/// The latency window and its delay.
const LATENCY: (u64, u64) = (8_000, 14_000);

fn script() -> Vec<(u64, Step)> {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut steps = Vec::new();
    let streams: [(&str, u64, bool); 3] = [
        ("btcusdt@aggTrade", 25, true),
        ("ethusdt@aggTrade", 60, true),
        ("btcusdt@depth@100ms", 100, false),
    ];
    for (stream, every_ms, backfilled) in streams {
        let mut id = 1_000;
        // A client delivers in order: never before the previous event.
        let mut last = 0;
        for produced in (every_ms..RUN_MS).step_by(usize::try_from(every_ms).unwrap_or(1)) {
            id += 1;
            let jitter = rng.random_range(0..5);
            let outage = OUTAGES
                .iter()
                .find(|(from, to)| (*from..*to).contains(&produced));
            let delivered = match outage {
                Some(&(_, _)) if !backfilled => continue,
                Some(&(_, resume)) => resume + jitter,
                None if (LATENCY.0..LATENCY.1).contains(&produced) => {
                    produced + 200 + rng.random_range(0..50)
                }
                None => produced + jitter,
            };
            let delivered = delivered.max(last);
            last = delivered;
            let age = Duration::from_millis(delivered - produced);
            steps.push((delivered, Step::Event(stream, Delivered::id(id).aged(age))));
        }
    }
    let mut script = vec![
        (0, Step::Health(HealthLevel::Healthy)),
        (0, Step::Breaker(BreakerState::Closed)),
        (0, Step::Attempt),
        (0, Step::Conn(ConnState::Connecting)),
        (80, Step::Conn(ConnState::Connected)),
        (90, Step::Frame),
        (
            LATENCY.0,
            Step::FaultStart("latency 200ms + up to 50ms downstream"),
        ),
        (LATENCY.0 + 400, Step::Health(HealthLevel::Warning)),
        (LATENCY.1, Step::FaultEnd(0)),
        (LATENCY.1 + 300, Step::Health(HealthLevel::Healthy)),
        // A reset: reconnect after 1 s, backfill aggTrade, resync the book.
        (20_000, Step::FaultStart("reset")),
        (20_000, Step::FaultEnd(1)),
        (20_000, Step::Conn(ConnState::Reconnecting)),
        (20_000, Step::Health(HealthLevel::Degraded)),
        (21_000, Step::Attempt),
        (21_000, Step::Conn(ConnState::Connecting)),
        (21_300, Step::Conn(ConnState::Connected)),
        (21_310, Step::Frame),
        (21_350, Step::Rest(4)),
        (21_360, Step::Rest(4)),
        (21_380, Step::Rest(250)),
        (21_390, Step::Gap("btcusdt@depth@100ms")),
        (21_500, Step::Book(BookCheck::Consistent)),
        (22_000, Step::Health(HealthLevel::Healthy)),
        // A blackhole: silence, stall detected, reconnect once it clears.
        (30_000, Step::FaultStart("blackhole downstream")),
        (31_000, Step::Health(HealthLevel::Warning)),
        (33_000, Step::Health(HealthLevel::Degraded)),
        (36_000, Step::Conn(ConnState::Reconnecting)),
        (36_000, Step::Health(HealthLevel::Unhealthy)),
        (37_000, Step::Attempt),
        (37_000, Step::Conn(ConnState::Connecting)),
        (38_000, Step::FaultEnd(2)),
        (38_300, Step::Conn(ConnState::Connected)),
        (38_310, Step::Frame),
        (38_400, Step::Rest(4)),
        (38_410, Step::Rest(4)),
        (38_420, Step::Rest(250)),
        (38_430, Step::Gap("btcusdt@depth@100ms")),
        (38_600, Step::Book(BookCheck::Consistent)),
        (39_000, Step::Health(HealthLevel::Healthy)),
        // Refused connections: reset, then attempts refused until the breaker opens.
        (45_000, Step::FaultStart("refuse + reset")),
        (45_000, Step::Conn(ConnState::Reconnecting)),
        (45_000, Step::Health(HealthLevel::Degraded)),
        (46_000, Step::Attempt),
        (48_000, Step::Attempt),
        (48_000, Step::Breaker(BreakerState::Open)),
        (48_000, Step::Health(HealthLevel::Unhealthy)),
        (52_000, Step::FaultEnd(3)),
        (52_000, Step::Breaker(BreakerState::HalfOpen)),
        (52_000, Step::Attempt),
        (52_000, Step::Conn(ConnState::Connecting)),
        (52_500, Step::Conn(ConnState::Connected)),
        (52_500, Step::Breaker(BreakerState::Closed)),
        (52_510, Step::Frame),
        (52_600, Step::Rest(4)),
        (52_610, Step::Rest(4)),
        (52_620, Step::Rest(250)),
        (52_630, Step::Gap("btcusdt@depth@100ms")),
        (52_800, Step::Book(BookCheck::Consistent)),
        (53_500, Step::Health(HealthLevel::Healthy)),
    ];
    script.append(&mut steps);
    // Stable: steps at one instant keep their scripted order, events after.
    script.sort_by_key(|(at, _)| *at);
    script
}

/// The sample report.
fn sample() -> Result<Report> {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut rec = Recorder::new(RecorderConfig::default(), t0)?;
    let ms = Duration::from_millis;
    rec.declare_stream(
        "btcusdt@aggTrade",
        StreamSpec::every(ms(1000)).contiguous(),
        t0,
    );
    rec.declare_stream(
        "ethusdt@aggTrade",
        StreamSpec::every(ms(1000)).contiguous(),
        t0,
    );
    rec.declare_stream("btcusdt@depth@100ms", StreamSpec::every(ms(1000)), t0);
    let mut marks = Vec::new();
    for (time, step) in script() {
        let now = at(time);
        match step {
            Step::Event(stream, delivered) => rec.on_event(stream, delivered, now),
            Step::FaultStart(label) => marks.push(rec.on_fault_start(label, now)),
            Step::FaultEnd(i) => rec.on_fault_end(marks[i], now),
            Step::Conn(state) => rec.on_connection_state("conn-1", state, now),
            Step::Breaker(state) => rec.on_breaker("stream.binance.com", state, now),
            Step::Health(level) => rec.on_health(level, now),
            Step::Attempt => rec.on_connection_attempt(now),
            Step::Frame => rec.on_outbound_frame("conn-1", now),
            Step::Rest(weight) => rec.on_rest_weight(weight, now),
            Step::Book(check) => rec.on_book_check("btcusdt@depth@100ms", check, now),
            Step::Gap(stream) => rec.on_gap_reported(stream, now),
        }
    }
    let guarantees = Guarantees {
        max_mttr: Some(ms(10_000)),
        min_availability: Some(0.7),
        min_recovery_success: Some(1.0),
        max_data_age: Some(ms(10_000)),
        ..Guarantees::default()
    };
    let started = humantime::parse_rfc3339("2026-11-28T10:00:00Z")?;
    Ok(Report::new(
        "sample: latency, reset, blackhole, refuse",
        Some(SEED),
        started,
        rec.finish(at(RUN_MS)),
        guarantees,
    ))
}

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs")
}

const BEGIN: &str = "<!-- sample:begin -->\n";
const END: &str = "<!-- sample:end -->";

/// The report's Markdown as a section of `docs/chaos.md`: headings two
/// levels down, the picture already shown above it.
fn section(report: &Report) -> String {
    report
        .to_markdown()
        .lines()
        .filter(|line| !line.starts_with("![timeline]"))
        .map(|line| match line.strip_prefix('#') {
            Some(heading) => format!("###{heading}\n"),
            None => format!("{line}\n"),
        })
        .collect()
}

#[test]
fn the_committed_sample_matches_what_the_code_renders() -> Result<()> {
    let report = sample()?;
    assert!(report.verdict.passed, "{:?}", report.verdict);
    let svg = report.to_svg();
    xml::check(&svg).map_err(anyhow::Error::msg)?;
    assert_eq!(svg.matches(r#"class="fault-window""#).count(), 4);

    let (svg_path, md_path) = (docs().join("chaos-sample.svg"), docs().join("chaos.md"));
    let page = std::fs::read_to_string(&md_path).with_context(|| md_path.display().to_string())?;
    let start = page
        .find(BEGIN)
        .context("docs/chaos.md has no sample:begin marker")?
        + BEGIN.len();
    let end = page
        .find(END)
        .context("docs/chaos.md has no sample:end marker")?;
    let rendered = format!("{}{}{}", &page[..start], section(&report), &page[end..]);
    if std::env::var_os("CHAOS_UPDATE_SAMPLE").is_some() {
        std::fs::write(&svg_path, &svg)?;
        std::fs::write(&md_path, &rendered)?;
    }
    let committed_svg = std::fs::read_to_string(&svg_path)
        .with_context(|| format!("{}: run with CHAOS_UPDATE_SAMPLE=1", svg_path.display()))?;
    let committed_md = std::fs::read_to_string(&md_path)?;
    assert!(
        committed_svg == svg,
        "docs/chaos-sample.svg is stale: run with CHAOS_UPDATE_SAMPLE=1"
    );
    assert!(
        committed_md == rendered,
        "docs/chaos.md's sample is stale: run with CHAOS_UPDATE_SAMPLE=1"
    );
    Ok(())
}
