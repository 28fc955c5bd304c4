//! Reports: JSON round trip, Markdown figures, a well-formed SVG with one
//! shaded window per fault, files written, and a directory that cannot be.

mod xml;

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, bail};
use chaos::{
    BreakerState, ConnState, Delivered, Error, Guarantees, HealthLevel, Recorder, RecorderConfig,
    Report, StreamSpec,
};

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

/// A 10 s run: two streams, three faults (the last still active), lanes.
fn report(guarantees: Guarantees) -> Result<Report> {
    let t0 = Instant::now();
    let t = |ms: u64| t0 + Duration::from_millis(ms);
    let mut rec = Recorder::new(RecorderConfig::default(), t0)?;
    rec.declare_stream(
        "btcusdt@aggTrade",
        StreamSpec::every(ms(500)).contiguous(),
        t(0),
    );
    rec.on_connection_state("conn-1", ConnState::Connected, t(0));
    rec.on_breaker("ws <main> & \"rest\"", BreakerState::Closed, t(0));
    rec.on_health(HealthLevel::Healthy, t(0));
    let mut id = 0;
    for at in (100..10_000).step_by(100) {
        if (3000..5000).contains(&at) {
            continue;
        }
        if at == 2000 {
            let f = rec.on_fault_start("latency 100ms + up to 0s downstream", t(at));
            rec.on_fault_end(f, t(2500));
        }
        if at == 9500 {
            rec.on_fault_start("refuse", t(at));
        }
        if at == 5000 {
            rec.on_connection_state("conn-1", ConnState::Connected, t(at));
            rec.on_health(HealthLevel::Healthy, t(at));
        }
        id += 1;
        rec.on_event("btcusdt@aggTrade", Delivered::id(id), t(at));
        if at % 200 == 0 {
            rec.on_event("ethusdt@aggTrade", Delivered::anonymous(), t(at));
        }
        if at == 2900 {
            let f = rec.on_fault_start("blackhole <both>", t(3000));
            rec.on_connection_state("conn-1", ConnState::Reconnecting, t(3500));
            rec.on_health(HealthLevel::Degraded, t(3500));
            rec.on_fault_end(f, t(4800));
        }
    }
    let recording = rec.finish(t(10_000));
    let started = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_860_000);
    Ok(Report::new(
        "three faults",
        Some(42),
        started,
        recording,
        guarantees,
    ))
}

#[test]
fn json_round_trips() -> Result<()> {
    let report = report(Guarantees::default())?;
    let json = report.to_json()?;
    assert!(json.contains("\"scenario\": \"three faults\""));
    assert_eq!(Report::from_json(&json)?, report);
    assert!(matches!(Report::from_json("{"), Err(Error::Json { .. })));
    Ok(())
}

#[test]
fn markdown_carries_the_figures() -> Result<()> {
    let guarantees = Guarantees {
        max_mttr: Some(ms(500)),
        ..Guarantees::default()
    };
    let report = report(guarantees)?;
    let md = report.to_markdown();
    let m = &report.measures;
    let agg = &m.streams["btcusdt@aggTrade"];
    assert_eq!(agg.events, 79);
    assert!(md.starts_with("# Chaos report: three faults\n"), "{md}");
    assert!(md.contains("| seed | 42 |"));
    assert!(md.contains("| started | 2026-11-28T"), "{md}");
    assert!(md.contains("| duration | 10.000 s |"));
    assert!(
        md.contains("| faults | 3 (2 recovered, 0 not recovered, 1 not judged) |"),
        "{md}"
    );
    assert!(md.contains("| recovery success rate | 100.000 % |"), "{md}");
    // The blackhole: 3000 ms until the next event at 5000 ms.
    assert_eq!(agg.mttr.max, Some(ms(2000)));
    // Six (fault, stream) pairs: 0, 2000, 0 (aggTrade) and 0, 2000, 100 ms (ethusdt, every 200 ms).
    assert!(
        md.contains("| MTTR mean / max | 0.683 s / 2.000 s |"),
        "{md}"
    );
    assert!(md.contains("| lowest availability | 84.000 % |"), "{md}");
    assert!(
        md.contains("| blackhole <both> | 3.000 s | 4.800 s | 1.800 s |"),
        "{md}"
    );
    assert!(md.contains("| refuse | 9.500 s | still active | – |"));
    assert!(md.contains("| btcusdt@aggTrade | 79 | 84.000 % |"), "{md}");
    assert!(md.contains("![timeline](timeline.svg)"));
    assert!(md.contains("**failed** (2 violations)"), "{md}");
    assert!(md.contains("- btcusdt@aggTrade: recovery took 2s"), "{md}");
    Ok(())
}

#[test]
fn svg_is_well_formed_with_one_shaded_window_per_fault() -> Result<()> {
    let report = report(Guarantees::default())?;
    let svg = report.to_svg();
    let elements = xml::check(&svg).map_err(anyhow::Error::msg)?;
    assert_eq!(elements.first().map(String::as_str), Some("svg"));
    assert!(svg.contains(r#"xmlns="http://www.w3.org/2000/svg""#));
    assert_eq!(svg.matches(r#"class="fault-window""#).count(), 3);
    assert_eq!(svg.matches(r#"class="fault-label""#).count(), 3);
    assert_eq!(svg.matches(r#"<polyline class="stream""#).count(), 2);
    // Labels with markup characters are escaped.
    assert!(svg.contains("blackhole &lt;both&gt;"));
    assert!(svg.contains("breaker ws &lt;main&gt; &amp; &quot;rest&quot;"));
    // Three lanes: connection, breaker, health.
    for lane in ["connection conn-1", "health system"] {
        assert!(svg.contains(lane), "{lane}");
    }
    Ok(())
}

#[test]
fn an_empty_run_still_renders() -> Result<()> {
    let t0 = Instant::now();
    let rec = Recorder::new(RecorderConfig::default(), t0)?;
    let report = Report::new(
        "nothing",
        None,
        SystemTime::UNIX_EPOCH,
        rec.finish(t0),
        Guarantees::default(),
    );
    xml::check(&report.to_svg()).map_err(anyhow::Error::msg)?;
    assert!(report.to_markdown().contains("| seed | – |"));
    assert!(report.verdict.passed);
    Ok(())
}

fn scratch(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("chaos-report-{}-{name}", std::process::id()))
}

#[test]
fn writes_json_markdown_and_svg_into_a_new_directory() -> Result<()> {
    let dir = scratch("ok").join("nested");
    let report = report(Guarantees::default())?;
    let files = report.write_to(&dir)?;
    assert_eq!(files.svg, dir.join("timeline.svg"));
    assert_eq!(
        Report::from_json(&std::fs::read_to_string(&files.json)?)?,
        report
    );
    assert_eq!(
        std::fs::read_to_string(&files.markdown)?,
        report.to_markdown()
    );
    assert_eq!(std::fs::read_to_string(&files.svg)?, report.to_svg());
    std::fs::remove_dir_all(scratch("ok"))?;
    Ok(())
}

#[test]
fn a_directory_that_cannot_be_written_is_a_clear_error() -> Result<()> {
    // A file where the directory should be: nobody can create it, root included.
    let blocker = scratch("blocked");
    std::fs::write(&blocker, "not a directory")?;
    let dir = blocker.join("reports");
    let report = report(Guarantees::default())?;
    let Err(error) = report.write_to(&dir) else {
        bail!("wrote into a directory under a file");
    };
    std::fs::remove_file(&blocker)?;
    let message = error.to_string();
    assert!(matches!(error, Error::ReportWrite { .. }), "{error:?}");
    assert!(
        message.contains(&format!("directory {}", dir.display())),
        "{message}"
    );
    assert!(!error.is_retryable());
    Ok(())
}
