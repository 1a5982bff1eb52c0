use super::*;

const MS: u64 = 1_000_000;
const TAU: Duration = DEFAULT_DECAY;

use crate::lb::rng::Rng;

/// Power of two choices over `scores` at `now`: the cheaper of two.
fn pick(scores: &[Score], rng: &mut Rng, now: u64) -> usize {
    let (a, b) = two_choices(rng.next_u64(), scores.len());
    if scores[b].cost(now, TAU) < scores[a].cost(now, TAU) {
        b
    } else {
        a
    }
}

#[test]
fn two_choices_are_distinct_and_cover_every_pair() {
    let mut rng = Rng::new(7);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..10_000 {
        let (a, b) = two_choices(rng.next_u64(), 4);
        assert!(a < 4 && b < 4 && a != b);
        seen.insert((a, b));
    }
    assert_eq!(seen.len(), 12);
}

#[test]
fn a_slow_response_is_a_peak_and_fast_ones_pull_it_down() {
    let s = Score::default();
    assert_eq!(s.estimate(0, TAU), None);
    s.start(0);
    assert_eq!(s.finish(0, MS, TAU), (None, MS as f64));
    // A slower response replaces the estimate at once.
    s.start(10 * MS);
    let (_, after) = s.finish(10 * MS, 510 * MS, TAU);
    assert_eq!(after, 500.0 * MS as f64);
    // A fast one 1 s later moves it by 1 - e^(-0.1) of the way.
    s.start(1510 * MS);
    let (before, after) = s.finish(1510 * MS, 1511 * MS, TAU);
    let w = (-1.001f64 / 10.0).exp();
    let want = 500.0 * MS as f64 * w + MS as f64 * (1.0 - w);
    assert!((after - want).abs() < 1.0, "{after} vs {want}");
    assert_eq!(before, Some(500.0 * MS as f64));
}

#[test]
fn without_responses_the_estimate_decays() {
    let s = Score::default();
    s.start(0);
    s.finish(0, 100 * MS, TAU);
    let e = |t: u64| s.estimate(t, TAU).unwrap() / MS as f64;
    assert!((e(100 * MS) - 100.0).abs() < 1e-6);
    // One τ later: e^-1.
    let one_tau = 100 * MS + TAU.as_nanos() as u64;
    assert!((e(one_tau) - 100.0 / std::f64::consts::E).abs() < 1e-6);
}

#[test]
fn waiting_calls_count_their_elapsed_time() {
    let s = Score::default();
    s.start(0);
    s.finish(0, MS, TAU);
    assert!((s.cost(MS, TAU) - MS as f64).abs() < 1.0);
    // Two calls waiting since 0 and 100 ms: at 1 s, mean wait 950 ms,
    // cost 950 ms x 3.
    s.start(0);
    s.start(100 * MS);
    let c = s.cost(1000 * MS, TAU) / MS as f64;
    assert!((c - 2850.0).abs() < 1.0, "{c}");
    assert_eq!(s.waiting(), 2);
}

#[test]
fn an_unscored_subchannel_is_tried_then_probed_one_call_at_a_time() {
    let s = Score::default();
    assert_eq!(s.cost(5 * MS, TAU), 0.0);
    s.start(5 * MS);
    assert!(s.cost(5 * MS, TAU) >= PENALTY_NS);
}

/// Three subchannels at 50 calls/s; one stops completing calls at 10 s.
/// Once its score has risen (its first stuck call is 100 ms old) it gets
/// at most 5 of the next 1,000 picks; after it recovers (its stuck calls
/// end at their 1 s deadline, then it answers in 1 ms again) it gets
/// traffic again within a few decay constants.
#[test]
fn a_stuck_subchannel_is_avoided_and_comes_back() {
    let scores: Vec<Score> = (0..3).map(|_| Score::default()).collect();
    let mut rng = Rng::new(42);
    let step = 20 * MS; // 50 calls/s
    let deadline = 1000 * MS;
    // Calls in flight on the stuck subchannel: their start times.
    let mut stuck: Vec<u64> = Vec::new();
    let stuck_from = 10_000 * MS;
    let mut now = 0;
    let mut picks_after_rise = 0;
    let mut counted = 0;
    let mut rise_at = None;
    // Healthy phase, then the stuck one, until 1,000 picks after the rise.
    while counted < 1000 {
        now += step;
        // Stuck calls end at their deadline (a 1 s latency sample).
        stuck.retain(|&start| {
            if now >= start + deadline {
                scores[0].finish(start, start + deadline, TAU);
                false
            } else {
                true
            }
        });
        let i = pick(&scores, &mut rng, now);
        scores[i].start(now);
        if i == 0 && now >= stuck_from {
            stuck.push(now);
        } else {
            scores[i].finish(now, now + MS, TAU);
        }
        if rise_at.is_none() && stuck.first().is_some_and(|&s| now >= s + 100 * MS) {
            rise_at = Some(now);
        }
        if rise_at.is_some() {
            counted += 1;
            if i == 0 {
                picks_after_rise += 1;
            }
        }
    }
    assert!(
        picks_after_rise <= 5,
        "the stuck subchannel got {picks_after_rise} of 1,000 picks"
    );
    // It recovers: stuck calls end at their deadline, later ones answer
    // in 1 ms. Count how long until it is picked again.
    let recovered = now;
    let mut back_after = None;
    for _ in 0..100_000 {
        now += step;
        stuck.retain(|&start| {
            if now >= start + deadline {
                scores[0].finish(start, start + deadline, TAU);
                false
            } else {
                true
            }
        });
        let i = pick(&scores, &mut rng, now);
        scores[i].start(now);
        scores[i].finish(now, now + MS, TAU);
        if i == 0 {
            back_after = Some(now - recovered);
            break;
        }
    }
    let back_after = back_after.expect("never picked again");
    let taus = back_after as f64 / TAU.as_nanos() as f64;
    // A 1 s peak against 1 ms peers: about ln(1000) = 6.9 τ.
    assert!(taus < 8.0, "picked again after {taus:.1} τ");
}

/// Equal subchannels: the spread stays within ±15 % of uniform. Calls
/// arrive every millisecond and last 1 to 5 ms (drawn at random), so
/// several overlap.
#[test]
fn equal_subchannels_share_evenly() {
    for n in [2usize, 3, 5] {
        let scores: Vec<Score> = (0..n).map(|_| Score::default()).collect();
        let mut rng = Rng::new(n as u64);
        let mut counts = vec![0usize; n];
        let mut now = 0;
        let mut open: Vec<(usize, u64, u64)> = Vec::new();
        let total = 30_000;
        for _ in 0..total {
            now += MS;
            open.retain(|&(i, start, end)| {
                if now >= end {
                    scores[i].finish(start, end, TAU);
                    false
                } else {
                    true
                }
            });
            let i = pick(&scores, &mut rng, now);
            scores[i].start(now);
            let took = MS + rng.next_u64() % (4 * MS);
            open.push((i, now, now + took));
            counts[i] += 1;
        }
        let fair = total as f64 / n as f64;
        for (i, c) in counts.iter().enumerate() {
            let off = (*c as f64 - fair).abs() / fair;
            assert!(
                off <= 0.15,
                "n={n}: subchannel {i} got {c} of {total} ({off:.2})"
            );
        }
    }
}

/// Found in review: the sum of the waiting calls' start times wraps after
/// long uptimes (585 calls waiting a year into the channel's life), and
/// the cost became about 1.8e19.
#[test]
fn the_sum_of_start_times_may_wrap() {
    let s = Score::default();
    s.start(0);
    s.finish(0, MS, TAU); // scored (decayed to nothing a year later)
    let year = 365 * 86_400 * 1_000_000_000u64;
    for _ in 0..600 {
        s.start(year);
    }
    let c = s.cost(year + 500 * MS, TAU) / 601.0;
    assert!((c - 500.0 * MS as f64).abs() < 1.0, "{c}");
}
