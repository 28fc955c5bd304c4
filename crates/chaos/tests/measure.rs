//! The recorder on hand-made timelines: every measure is checked against
//! the figure worked out by hand.

use std::time::{Duration, Instant};

use anyhow::Result;
use chaos::{
    BookCheck, BreakerState, ConnState, Delivered, Guarantees, HealthLevel, LaneKind, LimitKind,
    LossBasis, ObservedLimits, Recorder, RecorderConfig, StreamSpec, Verdict, Violation,
};

const AGG: &str = "btcusdt@aggTrade";
const DEPTH: &str = "btcusdt@depth@100ms";

/// A recorder started at a real instant, and a clock of offsets from it.
fn recorder() -> Result<(Recorder, impl Fn(u64) -> Instant)> {
    let t0 = Instant::now();
    let recorder = Recorder::new(RecorderConfig::default(), t0)?;
    Ok((recorder, move |ms: u64| t0 + Duration::from_millis(ms)))
}

fn ms(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn mttr_is_from_each_fault_start_to_the_first_event_after_it_per_stream() -> Result<()> {
    let (mut rec, t) = recorder()?;
    rec.declare_stream(AGG, StreamSpec::every(ms(100)), t(0));
    rec.declare_stream(DEPTH, StreamSpec::every(ms(100)), t(0));
    for at in (0..=1000).step_by(100) {
        rec.on_event(AGG, Delivered::anonymous(), t(at));
        rec.on_event(DEPTH, Delivered::anonymous(), t(at));
    }
    // Fault 1 at 1050 ms, cleared at 2000: aggTrade back at 2300, depth at 2600.
    let fault = rec.on_fault_start("reset", t(1050));
    rec.on_fault_end(fault, t(2000));
    rec.on_event(AGG, Delivered::anonymous(), t(2300));
    rec.on_event(DEPTH, Delivered::anonymous(), t(2600));
    // Fault 2 at 3000 (instantaneous): aggTrade back at 3500, depth at 3100.
    let fault = rec.on_fault_start("reset", t(3000));
    rec.on_fault_end(fault, t(3000));
    rec.on_event(DEPTH, Delivered::anonymous(), t(3100));
    rec.on_event(AGG, Delivered::anonymous(), t(3500));

    let m = rec.finish(t(3500)).measures;
    let agg = &m.streams[AGG];
    assert_eq!(agg.mttr.count, 2);
    assert_eq!(agg.mttr.max, Some(ms(1250)));
    assert_eq!(agg.mttr.mean, Some(ms(875)));
    assert_eq!(agg.recovery_after_clear.max, Some(ms(500)));
    assert_eq!(agg.recovery_after_clear.mean, Some(ms(400)));
    let depth = &m.streams[DEPTH];
    assert_eq!(depth.mttr.max, Some(ms(1550)));
    assert_eq!(depth.mttr.mean, Some(ms(825)));
    assert_eq!(depth.unrecovered_for, None);
    // Overall: the four (fault, stream) pairs.
    assert_eq!(m.overall.mttr.count, 4);
    assert_eq!(m.overall.mttr.mean, Some(ms(850)));
    assert_eq!(m.overall.mttr.max, Some(ms(1550)));
    assert_eq!(m.overall.faults, 2);
    assert_eq!(m.overall.faults_recovered, 2);
    assert_eq!(m.overall.recovery_success_rate, Some(1.0));
    Ok(())
}

#[test]
fn availability_counts_silence_beyond_the_expected_interval() -> Result<()> {
    let (mut rec, t) = recorder()?;
    // Declared at 0, expected every 200 ms, observed until 10 s.
    rec.declare_stream(AGG, StreamSpec::every(ms(200)), t(0));
    // First event at 500 ms: 300 ms late.
    for at in (500..=3000).step_by(100) {
        rec.on_event(AGG, Delivered::anonymous(), t(at));
    }
    // Silent 3000 → 7000: 3800 ms beyond the interval.
    for at in (7000..=9000).step_by(200) {
        rec.on_event(AGG, Delivered::anonymous(), t(at));
    }
    // Silent 9000 → 10000 at the end: 800 ms beyond.
    let m = rec.finish(t(10_000)).measures;
    let agg = &m.streams[AGG];
    let unavailable: u32 = 300 + 3800 + 800;
    assert_eq!(agg.availability, f64::from(10_000 - unavailable) / 10_000.0);
    assert_eq!(agg.outages, 3);
    assert_eq!(agg.max_gap, ms(4000));
    assert_eq!(agg.mtbf, Some(ms(10_000 - u64::from(unavailable)) / 3));
    assert_eq!(m.overall.min_availability, Some(agg.availability));

    // An undeclared stream is measured from its first event.
    let (mut rec, t) = recorder()?;
    rec.on_event(DEPTH, Delivered::anonymous(), t(5000));
    rec.on_event(DEPTH, Delivered::anonymous(), t(6000));
    let depth = &rec.finish(t(6000)).measures.streams[DEPTH];
    assert_eq!(depth.availability, 1.0);
    assert_eq!(depth.outages, 0);
    Ok(())
}

#[test]
fn lost_duplicated_and_out_of_order_are_exact_against_the_truth() -> Result<()> {
    let (mut rec, t) = recorder()?;
    rec.set_truth(AGG, 100..=120);
    // 100..=110, then 112 and 111 (swapped), 110 again (duplicate), 113..=118,
    // 200 (not in the truth); 119 and 120 never come.
    let mut ids: Vec<u64> = (100..=110).collect();
    ids.extend([112, 111, 110]);
    ids.extend(113..=118);
    ids.push(200);
    for (i, id) in ids.into_iter().enumerate() {
        rec.on_event(AGG, Delivered::id(id), t(i as u64 * 10));
    }
    let m = rec.finish(t(1000)).measures;
    let agg = &m.streams[AGG];
    assert_eq!(agg.loss_basis, LossBasis::Truth);
    assert_eq!(agg.events, 21);
    assert_eq!(agg.lost, 2, "119 and 120");
    assert_eq!(agg.duplicated, 1, "110 again");
    // 111 after 112, and 113..=118 are fine; 200 is in order but unexpected.
    assert_eq!(agg.out_of_order, 1);
    assert_eq!(agg.unexpected, 1);
    assert_eq!(
        (m.overall.lost, m.overall.duplicated, m.overall.out_of_order),
        (2, 1, 1)
    );
    Ok(())
}

#[test]
fn without_truth_loss_is_counted_from_holes_only_for_contiguous_ids() -> Result<()> {
    let (mut rec, t) = recorder()?;
    rec.declare_stream(AGG, StreamSpec::every(ms(1000)).contiguous(), t(0));
    rec.declare_stream(DEPTH, StreamSpec::every(ms(1000)), t(0));
    for (i, id) in [1_u64, 2, 3, 7, 8, 10].into_iter().enumerate() {
        rec.on_event(AGG, Delivered::id(id), t(i as u64));
        rec.on_event(DEPTH, Delivered::id(id * 10), t(i as u64));
    }
    let m = rec.finish(t(10)).measures;
    assert_eq!(m.streams[AGG].lost, 4, "4, 5, 6 and 9");
    assert_eq!(m.streams[AGG].loss_basis, LossBasis::IdHoles);
    assert_eq!(m.streams[DEPTH].lost, 0);
    assert_eq!(m.streams[DEPTH].loss_basis, LossBasis::Unknown);
    Ok(())
}

#[test]
fn data_age_is_now_minus_the_newest_event_time() -> Result<()> {
    let (mut rec, t) = recorder()?;
    rec.on_event(AGG, Delivered::id(1).aged(ms(50)), t(1000));
    // Delivered 3 s later; the newest data was 3050 ms old just before.
    rec.on_event(AGG, Delivered::id(2).aged(ms(20)), t(4000));
    // A backfilled old event does not make the data fresher.
    rec.on_event(AGG, Delivered::id(3).aged(ms(5000)), t(4100));
    let agg = &rec.finish(t(4200)).measures.streams[AGG];
    assert_eq!(agg.max_data_age, ms(3050));

    // At the end: 6 s since an event that was 20 ms old.
    let (mut rec, t) = recorder()?;
    rec.on_event(AGG, Delivered::id(1).aged(ms(20)), t(1000));
    assert_eq!(
        rec.finish(t(7000)).measures.streams[AGG].max_data_age,
        ms(6020)
    );
    Ok(())
}

#[test]
fn mtbf_counts_connected_time_over_failures_and_closing_is_no_failure() -> Result<()> {
    let (mut rec, t) = recorder()?;
    let conn = "conn-1";
    rec.on_connection_state(conn, ConnState::Connecting, t(0));
    rec.on_connection_state(conn, ConnState::Connected, t(1000));
    rec.on_connection_state(conn, ConnState::Reconnecting, t(11_000)); // failure 1 (10 s up)
    rec.on_connection_state(conn, ConnState::Connected, t(12_000));
    rec.on_connection_state(conn, ConnState::Disconnected, t(32_000)); // failure 2 (20 s up)
    rec.on_connection_state(conn, ConnState::Connected, t(33_000));
    // A rotation: the old connection closes on purpose after 5 s, a new one takes over.
    rec.on_connection_state(conn, ConnState::Closed, t(38_000));
    rec.on_connection_state("conn-2", ConnState::Connected, t(37_000));
    let m = rec.finish(t(47_000)).measures;
    assert_eq!(m.overall.connection_failures, 2);
    assert_eq!(
        m.overall.connected_time,
        ms(10_000 + 20_000 + 5000 + 10_000)
    );
    assert_eq!(m.overall.mtbf, Some(ms(45_000) / 2));
    Ok(())
}

#[test]
fn recovery_success_counts_recovered_late_and_undecided_faults() -> Result<()> {
    let t0 = Instant::now();
    let t = |ms: u64| t0 + Duration::from_millis(ms);
    let config = RecorderConfig {
        recovery_deadline: ms(1000),
        ..RecorderConfig::default()
    };
    let mut rec = Recorder::new(config, t0)?;
    rec.on_event(AGG, Delivered::anonymous(), t(0));
    // Recovered: back 500 ms after the end.
    let f = rec.on_fault_start("a", t(1000));
    rec.on_fault_end(f, t(2000));
    rec.on_event(AGG, Delivered::anonymous(), t(2500));
    // Late: back 1500 ms after the end.
    let f = rec.on_fault_start("b", t(3000));
    rec.on_fault_end(f, t(4000));
    rec.on_event(AGG, Delivered::anonymous(), t(5500));
    // Never back, deadline over at the end: unrecovered.
    let f = rec.on_fault_start("c", t(6000));
    rec.on_fault_end(f, t(7000));
    // Ends 200 ms before the end of the run: undecided.
    let g = rec.on_fault_start("d", t(9000));
    rec.on_fault_end(g, t(9800));
    // Still active at the end: undecided.
    rec.on_fault_start("e", t(9900));
    let m = rec.finish(t(10_000)).measures;
    assert_eq!(m.overall.faults, 5);
    assert_eq!(m.overall.faults_recovered, 1);
    assert_eq!(m.overall.faults_unrecovered, 2);
    assert_eq!(m.overall.faults_undecided, 2);
    assert_eq!(m.overall.recovery_success_rate, Some(1.0 / 3.0));
    // Waiting since fault c began.
    assert_eq!(m.streams[AGG].unrecovered_for, Some(ms(4000)));
    Ok(())
}

#[test]
fn limits_are_counted_over_rolling_windows() -> Result<()> {
    let (mut rec, t) = recorder()?;
    for at in [0, 100, 200, 300, 400, 900] {
        rec.on_outbound_frame("conn-1", t(at));
    }
    for at in [0, 500] {
        rec.on_outbound_frame("conn-2", t(at));
    }
    for i in 0..10 {
        rec.on_connection_attempt(t(i * 1000));
    }
    rec.on_rest_weight(250, t(0));
    rec.on_rest_weight(20, t(59_000));
    rec.on_rest_weight(4000, t(60_000));
    let limits = rec.finish(t(61_000)).measures.overall.limits;
    assert_eq!(limits.frames_per_sec_max, Some(6));
    assert_eq!(limits.connection_attempts_5min_max, Some(10));
    assert_eq!(limits.connection_attempts, 10);
    assert_eq!(limits.rest_weight_1m_max, Some(4020));
    assert!(!limits.respected, "6 frames in a second");

    // Figures from elsewhere (the simulator) are merged by maximum.
    rec.on_limits(ObservedLimits {
        frames_per_sec_max: Some(4),
        connection_attempts_5min_max: Some(400),
        rest_weight_1m_max: None,
    });
    let m = rec.finish(t(61_000)).measures;
    assert_eq!(m.overall.limits.frames_per_sec_max, Some(6));
    assert_eq!(m.overall.limits.connection_attempts_5min_max, Some(400));
    let Err(violations) = Verdict::check(&m, &Guarantees::default()) else {
        anyhow::bail!("limits broken but the verdict passed");
    };
    let kinds: Vec<LimitKind> = violations
        .iter()
        .filter_map(|v| match v {
            Violation::Limit { limit, .. } => Some(*limit),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [LimitKind::FramesPerSecond, LimitKind::ConnectionAttempts]
    );
    Ok(())
}

#[test]
fn a_broken_run_shows_every_violation_and_a_clean_one_passes() -> Result<()> {
    let (mut rec, t) = recorder()?;
    rec.declare_stream(AGG, StreamSpec::every(ms(100)).contiguous(), t(0));
    rec.set_truth(AGG, 1..=10);
    for (i, id) in [1, 2, 3, 3, 4].into_iter().enumerate() {
        rec.on_event(AGG, Delivered::id(id), t(i as u64 * 100));
    }
    let fault = rec.on_fault_start("blackhole", t(500));
    rec.on_fault_end(fault, t(1000));
    // Slow recovery (4.5 s after the fault began); id 5 is lost.
    for (i, id) in (6..=10).enumerate() {
        rec.on_event(AGG, Delivered::id(id), t(5000 + i as u64 * 100));
    }
    rec.on_book_check(DEPTH, BookCheck::Consistent, t(5000));
    rec.on_book_check(DEPTH, BookCheck::Mismatch, t(5100));
    let m = rec.finish(t(5400)).measures;
    let guarantees = Guarantees {
        max_mttr: Some(ms(2000)),
        min_availability: Some(0.9),
        ..Guarantees::default()
    };
    let Err(violations) = Verdict::check(&m, &guarantees) else {
        anyhow::bail!("a broken run passed");
    };
    let texts: Vec<String> = violations.iter().map(ToString::to_string).collect();
    assert!(violations.contains(&Violation::Lost {
        stream: AGG.into(),
        lost: 1,
        max: 0
    }));
    assert!(violations.contains(&Violation::Duplicated {
        stream: AGG.into(),
        duplicated: 1,
        max: 0
    }));
    assert!(violations.contains(&Violation::Mttr {
        stream: AGG.into(),
        mttr: ms(4500),
        max: ms(2000)
    }));
    assert!(violations.contains(&Violation::BookMismatches {
        stream: DEPTH.into(),
        mismatches: 1,
        max: 0
    }));
    assert!(
        violations
            .iter()
            .any(|v| matches!(v, Violation::Availability { stream, .. } if stream == AGG)),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("recovery took 4s 500ms")),
        "{texts:?}"
    );
    assert_eq!(violations.len(), 5, "{texts:?}");
    let verdict = Verdict::of(&m, &guarantees);
    assert!(!verdict.passed);

    // A clean run.
    let (mut rec, t) = recorder()?;
    rec.set_truth(AGG, 1..=50);
    for id in 1..=50 {
        rec.on_event(AGG, Delivered::id(id), t(id * 10));
    }
    let m = rec.finish(t(500)).measures;
    assert_eq!(Verdict::check(&m, &guarantees), Ok(()));
    assert!(Verdict::of(&m, &guarantees).passed);
    Ok(())
}

#[test]
fn the_timeline_has_buckets_faults_and_lanes() -> Result<()> {
    let (mut rec, t) = recorder()?;
    for at in [0, 100, 999, 1000, 2500] {
        rec.on_event(AGG, Delivered::anonymous(), t(at));
    }
    rec.on_event(DEPTH, Delivered::anonymous(), t(1500));
    let f = rec.on_fault_start("latency 200ms", t(1200));
    rec.on_fault_end(f, t(1800));
    rec.on_connection_state("conn-1", ConnState::Connected, t(0));
    rec.on_connection_state("conn-1", ConnState::Connected, t(10)); // no change: ignored
    rec.on_connection_state("conn-1", ConnState::Reconnecting, t(1300));
    rec.on_breaker("rest", BreakerState::Open, t(1400));
    rec.on_health(HealthLevel::Degraded, t(1300));
    let timeline = rec.finish(t(3200)).timeline;
    assert_eq!(timeline.streams[AGG], [3, 1, 1, 0]);
    assert_eq!(timeline.streams[DEPTH], [0, 1, 0, 0]);
    assert_eq!(timeline.faults.len(), 1);
    assert_eq!(timeline.faults[0].start, ms(1200));
    assert_eq!(timeline.faults[0].end, Some(ms(1800)));
    let kinds: Vec<LaneKind> = timeline.lanes.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [LaneKind::Connection, LaneKind::Breaker, LaneKind::Health]
    );
    assert_eq!(timeline.lanes[0].changes.len(), 2);
    assert_eq!(timeline.lanes[0].changes[1].state, "reconnecting");
    assert_eq!(timeline.lanes[0].changes[1].severity, 3);
    Ok(())
}

#[test]
fn bad_recorder_configuration_is_refused() {
    let config = RecorderConfig {
        bucket: Duration::ZERO,
        ..RecorderConfig::default()
    };
    assert!(Recorder::new(config, Instant::now()).is_err());
}
