//! The report as Markdown.

use std::fmt::Write as _;

use super::Report;
use super::format::{cell, opt_count, opt_secs, percent, secs};
use crate::measure::{LimitsRule, LossBasis};

/// Renders the whole report.
pub(crate) fn render(report: &Report) -> String {
    let mut out = String::new();
    // Writing to a `String` cannot fail; the results are ignored below.
    let _ = summary(&mut out, report);
    let _ = faults(&mut out, report);
    let _ = streams(&mut out, report);
    let _ = violations(&mut out, report);
    out
}

fn summary(out: &mut String, report: &Report) -> std::fmt::Result {
    let m = &report.measures;
    let o = &m.overall;
    let verdict = if report.verdict.passed {
        "**passed**".to_owned()
    } else {
        format!(
            "**failed** ({} violations)",
            report.verdict.violations.len()
        )
    };
    writeln!(out, "# Chaos report: {}\n", report.scenario)?;
    writeln!(out, "| | |\n|---|---|")?;
    writeln!(out, "| verdict | {verdict} |")?;
    writeln!(out, "| seed | {} |", opt_count(report.seed))?;
    writeln!(out, "| started | {} |", report.started)?;
    writeln!(out, "| duration | {} |", secs(report.duration))?;
    writeln!(out, "| events delivered | {} |", o.events)?;
    writeln!(
        out,
        "| faults | {} ({} recovered, {} not recovered, {} not judged) |",
        o.faults, o.faults_recovered, o.faults_unrecovered, o.faults_undecided
    )?;
    writeln!(
        out,
        "| recovery success rate | {} |",
        o.recovery_success_rate
            .map_or_else(|| "–".to_owned(), percent)
    )?;
    writeln!(
        out,
        "| MTTR mean / max | {} / {} |",
        opt_secs(o.mttr.mean),
        opt_secs(o.mttr.max)
    )?;
    writeln!(
        out,
        "| MTBF | {} (connected {}, connection failures: {}) |",
        opt_secs(o.mtbf),
        secs(o.connected_time),
        o.connection_failures
    )?;
    writeln!(
        out,
        "| lowest availability | {} |",
        o.min_availability.map_or_else(|| "–".to_owned(), percent)
    )?;
    writeln!(
        out,
        "| lost / duplicated / out of order | {} / {} / {} |",
        o.lost, o.duplicated, o.out_of_order
    )?;
    writeln!(out, "| wrong books | {} |", o.book_mismatches)?;
    writeln!(out, "| max data age | {} |", secs(o.max_data_age))?;
    let l = &o.limits;
    let judged = match report.guarantees.limits {
        LimitsRule::Enforced => "",
        LimitsRule::Ignored => " (not judged)",
    };
    writeln!(
        out,
        "| Binance limits | {}{judged}: frames/s {} of {}, connection attempts/5 min {} of {} ({} in all), REST weight/min {} of {} |",
        if l.respected {
            "respected"
        } else {
            "**exceeded**"
        },
        opt_count(l.frames_per_sec_max),
        l.allowed.frames_per_sec,
        opt_count(l.connection_attempts_5min_max),
        l.allowed.connection_attempts_per_5min,
        l.connection_attempts,
        opt_count(l.rest_weight_1m_max),
        l.allowed.rest_weight_per_min,
    )?;
    writeln!(out, "\n![timeline](timeline.svg)\n")
}

fn faults(out: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(out, "## Faults\n")?;
    if report.timeline.faults.is_empty() {
        return writeln!(out, "None.\n");
    }
    writeln!(
        out,
        "| # | fault | start | end | lasted |\n|---|---|---|---|---|"
    )?;
    for (i, fault) in report.timeline.faults.iter().enumerate() {
        let lasted = fault.end.map(|end| end.saturating_sub(fault.start));
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            i + 1,
            cell(&fault.label),
            secs(fault.start),
            fault.end.map_or_else(|| "still active".to_owned(), secs),
            opt_secs(lasted)
        )?;
    }
    writeln!(out)
}

fn streams(out: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(out, "## Streams\n")?;
    if report.measures.streams.is_empty() {
        return writeln!(out, "None.\n");
    }
    writeln!(
        out,
        "| stream | events | availability | outages | MTTR mean | MTTR max | back after clear (max) | max gap | max data age | lost | duplicated | out of order | gaps reported | books checked / wrong |"
    )?;
    writeln!(
        out,
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    )?;
    for (name, s) in &report.measures.streams {
        let lost = match s.loss_basis {
            LossBasis::Truth => s.lost.to_string(),
            LossBasis::IdHoles => format!("{} (id holes)", s.lost),
            LossBasis::Unknown => "–".to_owned(),
        };
        let mttr_max = match s.unrecovered_for {
            Some(waiting) => format!("{} (waiting {})", opt_secs(s.mttr.max), secs(waiting)),
            None => opt_secs(s.mttr.max),
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} |",
            cell(name),
            s.events,
            percent(s.availability),
            s.outages,
            opt_secs(s.mttr.mean),
            mttr_max,
            opt_secs(s.recovery_after_clear.max),
            secs(s.max_gap),
            secs(s.max_data_age),
            lost,
            s.duplicated,
            s.out_of_order,
            s.gaps_reported,
            s.book_checks,
            s.book_mismatches
        )?;
    }
    writeln!(out)
}

fn violations(out: &mut String, report: &Report) -> std::fmt::Result {
    writeln!(out, "## Violations\n")?;
    if report.verdict.violations.is_empty() {
        return writeln!(out, "None: every guarantee held.");
    }
    for violation in &report.verdict.violations {
        writeln!(out, "- {}", cell(&violation.to_string()))?;
    }
    Ok(())
}
