//! What `demo` shows: a live block redrawn in place on a terminal (ANSI
//! escapes, no extra dependency), plain lines otherwise, and the summary.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::time::Duration;

use crypto_exchange::chaos::{DemoNote, DemoStatus, DemoSummary};

/// How many recent notes the live block keeps.
const RECENT: usize = 6;

fn secs(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{:.2}s", d.as_secs_f64()))
}

/// The live terminal block: redrawn over itself.
pub(crate) struct Live {
    drawn: usize,
    recent: VecDeque<String>,
    header: String,
}

impl Live {
    pub(crate) fn new(header: String) -> Self {
        // Hide the cursor while redrawing.
        print!("\x1b[?25l");
        Live {
            drawn: 0,
            recent: VecDeque::new(),
            header,
        }
    }

    pub(crate) fn note(&mut self, elapsed: Duration, note: &DemoNote) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(format!("{:>5.1}s {note}", elapsed.as_secs_f64()));
    }

    pub(crate) fn draw(&mut self, status: &DemoStatus) {
        let mut lines = vec![self.header.clone(), String::new()];
        lines.push(format!("{:<22} {:>8} {:>9} {:>14}", "stream", "events", "events/s", "last id"));
        for s in &status.streams {
            lines.push(format!(
                "{:<22} {:>8} {:>9.1} {:>14}",
                s.name,
                s.events,
                s.rate,
                s.last_id.map_or_else(|| "-".to_owned(), |id| id.to_string())
            ));
        }
        lines.push(String::new());
        for (name, state) in &status.connections {
            lines.push(format!("{name:<22} {state}"));
        }
        for (endpoint, state) in &status.breakers {
            lines.push(format!("breaker {endpoint}: {state}"));
        }
        let alerts = if status.alerts.is_empty() {
            "no active alert".to_owned()
        } else {
            status.alerts.join(", ")
        };
        lines.push(format!("health {}: {alerts}", status.health));
        let now = match &status.active {
            Some((label, left)) => format!("now: {label}, {:.0}s left", left.as_secs_f64()),
            None => format!("next fault in {:.0}s", status.next_fault_in.as_secs_f64()),
        };
        lines.push(format!("faults {} injected, {} recovered; {now}", status.faults, status.recoveries));
        lines.push(format!(
            "MTTR so far: mean {}, max {}",
            secs(status.mttr.0),
            secs(status.mttr.1)
        ));
        lines.push(format!(
            "integrity (live): lost {}, duplicated {}; {} trades backfilled from REST, {} ids reported lost",
            status.lost, status.duplicated, status.backfilled, status.gaps_reported
        ));
        lines.push(String::new());
        lines.extend(self.recent.iter().cloned());
        let mut out = String::new();
        if self.drawn > 0 {
            // Back to the block's first line, then clear to the end of the screen.
            let _ = write!(out, "\x1b[{}F\x1b[J", self.drawn);
        }
        for line in &lines {
            let _ = writeln!(out, "{line}");
        }
        self.drawn = lines.len();
        let mut stdout = io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        print!("\x1b[?25h");
        let _ = io::stdout().flush();
    }
}

/// One plain status line.
pub(crate) fn plain_line(status: &DemoStatus) -> String {
    let rate: f64 = status.streams.iter().map(|s| s.rate).sum();
    let connections: Vec<String> = status
        .connections
        .iter()
        .map(|(name, state)| format!("{name}: {state}"))
        .collect();
    let breakers: Vec<&str> = status.breakers.iter().map(|(_, s)| s.as_str()).collect();
    format!(
        "[{:>4}s] {rate:>6.0} events/s | {} | breaker {} | health {} ({} alerts) | faults {}, recovered {} | MTTR max {} | lost {} duplicated {}",
        status.elapsed.as_secs(),
        if connections.is_empty() { "no connection yet".to_owned() } else { connections.join(", ") },
        if breakers.is_empty() { "-".to_owned() } else { breakers.join(",") },
        status.health,
        status.alerts.len(),
        status.faults,
        status.recoveries,
        secs(status.mttr.1),
        status.lost,
        status.duplicated,
    )
}

/// The summary lines.
pub(crate) fn summary(summary: &DemoSummary) -> Vec<String> {
    let last = &summary.last;
    let m = &summary.report.measures.overall;
    let events: u64 = last.streams.iter().map(|s| s.events).sum();
    vec![
        format!(
            "summary: {events} events in {:.1}s; {} faults injected, {} recoveries (MTTR mean {}, max {}); {} rotations without a gap",
            last.elapsed.as_secs_f64(),
            last.faults,
            last.recoveries,
            secs(m.mttr.mean),
            secs(m.mttr.max),
            summary.rotations
        ),
        format!(
            "integrity against the simulator's history of every aggTrade id: lost = {}, duplicated = {}, out of order = {}; {} trades recovered from REST after reconnects; {} ids reported lost by the client",
            m.lost, m.duplicated, m.out_of_order, last.backfilled, last.gaps_reported
        ),
        format!(
            "Binance limits {}: at most {} frames/s on a connection, {} connection attempts",
            if m.limits.respected { "respected" } else { "EXCEEDED" },
            m.limits.frames_per_sec_max.unwrap_or(0),
            m.limits.connection_attempts
        ),
        format!(
            "health at the end: {}; alerts active {}, resolved {}",
            last.health,
            last.alerts.len(),
            summary.alerts_resolved
        ),
    ]
}
