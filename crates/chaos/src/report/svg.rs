//! The timeline as a hand-written SVG picture: events per second per
//! stream, shaded fault windows, and state lanes.

use std::fmt::Write as _;
use std::time::Duration;

use super::Report;
use super::format::{secs, xml};
use crate::measure::{Lane, Timeline};

const WIDTH: f64 = 960.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = 24.0;
const PLOT: f64 = WIDTH - LEFT - RIGHT;
const CHART_TOP: f64 = 56.0;
const CHART_HEIGHT: f64 = 200.0;
const LANE_HEIGHT: f64 = 18.0;
const LANE_GAP: f64 = 6.0;
/// At most this many points per polyline; longer runs are averaged.
const MAX_POINTS: usize = 1000;

const STREAM_COLOURS: [&str; 8] = [
    "#1f77b4", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#2ca02c", "#ff7f0e",
];
/// Severity 0 (fine) to 4 (worst).
const SEVERITY_COLOURS: [&str; 5] = ["#2ca02c", "#bcbd22", "#ffbf00", "#ff7f0e", "#d62728"];
const SEVERITY_NAMES: [&str; 5] = ["fine", "notice", "impaired", "down", "critical"];

/// One point of a stream's line: a group of buckets' start, its width, and
/// its rate in events per second.
type Point = (Duration, Duration, f64);

/// Maps time to x and rate to y.
struct Scale {
    duration: f64,
    max_rate: f64,
}

impl Scale {
    fn x(&self, t: Duration) -> f64 {
        LEFT + (t.as_secs_f64() / self.duration).clamp(0.0, 1.0) * PLOT
    }

    fn y(&self, rate: f64) -> f64 {
        CHART_TOP + CHART_HEIGHT - (rate / self.max_rate).clamp(0.0, 1.0) * CHART_HEIGHT
    }
}

/// 1, 2 or 5 times a power of ten, at least `value`.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let power = 10_f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|&v| v >= value)
        .unwrap_or(10.0 * power)
}

/// A tick step giving at most about ten ticks over `duration` seconds.
fn tick_step(duration: f64) -> f64 {
    const STEPS: [f64; 16] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0,
        3600.0,
    ];
    STEPS
        .into_iter()
        .find(|&step| duration / step <= 10.0)
        .unwrap_or_else(|| nice_ceiling(duration / 10.0))
}

/// Rates in events per second, averaged in groups so there are at most
/// [`MAX_POINTS`]: `(group start, group length, rate)`.
#[allow(
    clippy::cast_precision_loss,
    reason = "counts and bucket indices are far below 2^52"
)]
fn rates(counts: &[u64], bucket: Duration) -> Vec<Point> {
    let group = counts.len().div_ceil(MAX_POINTS).max(1);
    let width = bucket.saturating_mul(u32::try_from(group).unwrap_or(u32::MAX));
    counts
        .chunks(group)
        .enumerate()
        .map(|(i, chunk)| {
            let sum: u64 = chunk.iter().sum();
            let span = bucket.as_secs_f64() * chunk.len() as f64;
            let start = width.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
            (
                start,
                bucket.saturating_mul(chunk.len() as u32),
                sum as f64 / span,
            )
        })
        .collect()
}

/// Renders the picture.
pub(crate) fn render(report: &Report) -> String {
    let timeline = &report.timeline;
    let all_rates: Vec<(&String, Vec<Point>)> = timeline
        .streams
        .iter()
        .map(|(name, counts)| (name, rates(counts, timeline.bucket)))
        .collect();
    let peak = all_rates
        .iter()
        .flat_map(|(_, r)| r.iter().map(|&(_, _, rate)| rate))
        .fold(0.0, f64::max);
    let scale = Scale {
        duration: timeline.duration.as_secs_f64().max(0.001),
        max_rate: nice_ceiling(peak),
    };
    let legend_rows = all_rates.len().div_ceil(3).max(1);
    let legend_top = CHART_TOP + CHART_HEIGHT + 34.0;
    #[allow(clippy::cast_precision_loss, reason = "a handful of rows and lanes")]
    let lanes_top = legend_top + legend_rows as f64 * 18.0 + 12.0;
    #[allow(clippy::cast_precision_loss, reason = "a handful of lanes")]
    let lanes_bottom = lanes_top + timeline.lanes.len() as f64 * (LANE_HEIGHT + LANE_GAP);
    let height = lanes_bottom + 40.0;

    let mut out = String::new();
    // Writing to a `String` cannot fail; the results are ignored.
    let _ = header(&mut out, report, height);
    let _ = faults(&mut out, timeline, &scale, lanes_bottom);
    let _ = axes(&mut out, &scale);
    let _ = streams(&mut out, &all_rates, &scale, legend_top);
    for (i, lane) in timeline.lanes.iter().enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "a handful of lanes")]
        let top = lanes_top + i as f64 * (LANE_HEIGHT + LANE_GAP);
        let _ = lane_row(&mut out, lane, top, &scale, timeline.duration);
    }
    let _ = key(&mut out, lanes_bottom + 14.0);
    out.push_str("</svg>\n");
    out
}

fn header(out: &mut String, report: &Report, height: f64) -> std::fmt::Result {
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" font-family="sans-serif" font-size="11">"#
    )?;
    let verdict = if report.verdict.passed {
        "passed"
    } else {
        "failed"
    };
    writeln!(
        out,
        r#"<title>{} — {verdict}</title><rect width="100%" height="100%" fill="white"/>"#,
        xml(&report.scenario)
    )?;
    writeln!(
        out,
        r#"<text x="{LEFT}" y="22" font-size="15" font-weight="bold">{} — {verdict}</text>"#,
        xml(&report.scenario)
    )?;
    writeln!(
        out,
        r##"<text x="{LEFT}" y="40" fill="#555">{} events, {} faults, started {}, ran {}</text>"##,
        report.measures.overall.events,
        report.timeline.faults.len(),
        xml(&report.started),
        secs(report.duration)
    )
}

fn faults(out: &mut String, timeline: &Timeline, scale: &Scale, bottom: f64) -> std::fmt::Result {
    writeln!(out, r#"<g class="faults">"#)?;
    for (i, fault) in timeline.faults.iter().enumerate() {
        let x = scale.x(fault.start);
        let end = scale.x(fault.end.unwrap_or(timeline.duration));
        let width = (end - x).max(2.0);
        let label = xml(&fault.label);
        let until = fault.end.map_or_else(|| "the end".to_owned(), secs);
        writeln!(
            out,
            r##"<rect class="fault-window" x="{x:.1}" y="{CHART_TOP}" width="{width:.1}" height="{:.1}" fill="#d62728" fill-opacity="0.14" stroke="#d62728" stroke-opacity="0.5"><title>{label}: {} to {until}</title></rect>"##,
            bottom - CHART_TOP,
            secs(fault.start)
        )?;
        #[allow(clippy::cast_precision_loss, reason = "i % 3 is tiny")]
        let y = CHART_TOP + 12.0 + (i % 3) as f64 * 12.0;
        writeln!(
            out,
            r##"<text class="fault-label" x="{:.1}" y="{y:.1}" fill="#a01010" font-size="10">{label}</text>"##,
            x + 3.0
        )?;
    }
    writeln!(out, "</g>")
}

fn axes(out: &mut String, scale: &Scale) -> std::fmt::Result {
    let bottom = CHART_TOP + CHART_HEIGHT;
    writeln!(out, r##"<g class="axes" stroke="#999">"##)?;
    writeln!(
        out,
        r#"<line x1="{LEFT}" y1="{bottom}" x2="{:.1}" y2="{bottom}"/><line x1="{LEFT}" y1="{CHART_TOP}" x2="{LEFT}" y2="{bottom}"/>"#,
        LEFT + PLOT
    )?;
    writeln!(out, "</g>")?;
    let step = tick_step(scale.duration);
    let mut t = 0.0;
    while t <= scale.duration + 1e-9 {
        let x = scale.x(Duration::from_secs_f64(t));
        let label = if step < 1.0 {
            format!("{t:.1} s")
        } else {
            format!("{t:.0} s")
        };
        writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{bottom}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{label}</text>"##,
            bottom + 4.0,
            bottom + 16.0
        )?;
        t += step;
    }
    for share in [0.0, 0.5, 1.0] {
        let rate = scale.max_rate * share;
        let y = scale.y(rate);
        writeln!(
            out,
            r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#eee"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{rate:.0}/s</text>"##,
            LEFT,
            LEFT + PLOT,
            LEFT - 6.0,
            y + 4.0
        )?;
    }
    writeln!(
        out,
        r##"<text x="12" y="{:.1}" fill="#333">events per second</text>"##,
        CHART_TOP + CHART_HEIGHT / 2.0
    )
}

fn streams(
    out: &mut String,
    all: &[(&String, Vec<Point>)],
    scale: &Scale,
    legend_top: f64,
) -> std::fmt::Result {
    for (i, (name, rates)) in all.iter().enumerate() {
        let colour = STREAM_COLOURS[i % STREAM_COLOURS.len()];
        let mut points = String::new();
        for &(start, width, rate) in rates {
            let x = scale.x(start + width / 2);
            let _ = write!(points, "{x:.1},{:.1} ", scale.y(rate));
        }
        writeln!(
            out,
            r#"<polyline class="stream" fill="none" stroke="{colour}" stroke-width="1.5" points="{}"><title>{}</title></polyline>"#,
            points.trim_end(),
            xml(name)
        )?;
        #[allow(clippy::cast_precision_loss, reason = "a handful of streams")]
        let (x, y) = (
            LEFT + (i % 3) as f64 * 250.0,
            legend_top + (i / 3) as f64 * 18.0,
        );
        writeln!(
            out,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="3"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 4.0,
            x + 18.0,
            y - 4.0,
            x + 24.0,
            xml(name)
        )?;
    }
    Ok(())
}

fn lane_row(
    out: &mut String,
    lane: &Lane,
    top: f64,
    scale: &Scale,
    duration: Duration,
) -> std::fmt::Result {
    writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#333">{} {}</text>"##,
        LEFT - 6.0,
        top + 13.0,
        lane.kind.as_str(),
        xml(&lane.name)
    )?;
    for (i, change) in lane.changes.iter().enumerate() {
        let until = lane.changes.get(i + 1).map_or(duration, |next| next.at);
        let x = scale.x(change.at);
        let width = (scale.x(until) - x).max(0.5);
        let colour = SEVERITY_COLOURS[usize::from(change.severity.min(4))];
        let state = xml(&change.state);
        writeln!(
            out,
            r#"<rect class="state" x="{x:.1}" y="{top:.1}" width="{width:.1}" height="{LANE_HEIGHT}" fill="{colour}"><title>{state}: {} to {}</title></rect>"#,
            secs(change.at),
            secs(until)
        )?;
        if width > 7.0 * state.len() as f64 {
            writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" fill="white" font-size="10">{state}</text>"#,
                x + 3.0,
                top + 13.0
            )?;
        }
    }
    Ok(())
}

fn key(out: &mut String, y: f64) -> std::fmt::Result {
    for (i, (colour, name)) in SEVERITY_COLOURS.iter().zip(SEVERITY_NAMES).enumerate() {
        #[allow(clippy::cast_precision_loss, reason = "five entries")]
        let x = LEFT + i as f64 * 90.0;
        writeln!(
            out,
            r##"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/><text x="{:.1}" y="{y:.1}" fill="#555">{name}</text>"##,
            y - 10.0,
            x + 16.0
        )?;
    }
    writeln!(
        out,
        r##"<rect x="{:.1}" y="{:.1}" width="12" height="12" fill="#d62728" fill-opacity="0.14" stroke="#d62728" stroke-opacity="0.5"/><text x="{:.1}" y="{y:.1}" fill="#555">fault window</text>"##,
        LEFT + 450.0,
        y - 10.0,
        LEFT + 466.0
    )
}
