use super::*;
use crate::service_config::RetryThrottling;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A6's example policy: 4 attempts, backoff 0.1 s doubling up to 1 s,
/// UNAVAILABLE retryable.
fn a6_retry() -> CallPolicy {
    CallPolicy::retry(&RetryPolicy::new(
        4,
        ms(100),
        ms(1000),
        2.0,
        vec![Code::Unavailable],
    ))
}

fn a6_hedge(delay: Duration) -> CallPolicy {
    CallPolicy::hedge(&HedgingPolicy::new(
        4,
        delay,
        vec![Code::Unavailable, Code::Internal, Code::Aborted],
    ))
}

#[test]
fn codes_set_membership() {
    let set = Codes::of(&[Code::Unavailable, Code::Aborted]);
    for code in Code::ALL {
        assert_eq!(
            set.contains(code),
            matches!(code, Code::Unavailable | Code::Aborted),
            "{code}"
        );
    }
}

#[test]
fn pushback_values() {
    let p = |v: &str| Pushback::parse(Some(v.as_bytes()));
    assert_eq!(Pushback::parse(None), Pushback::None);
    assert_eq!(p("0"), Pushback::After(ms(0)));
    assert_eq!(p("250"), Pushback::After(ms(250)));
    assert_eq!(p("2147483647"), Pushback::After(ms(2_147_483_647)));
    // Leading zeros are tolerated (grpc-go reads them too).
    assert_eq!(p("0100"), Pushback::After(ms(100)));
    // Negative, malformed, out of i32 range, blanks, signs: stop.
    for bad in ["-1", "-0", "", "abc", "1.5", "2147483648", " 5", "5 ", "+5"] {
        assert_eq!(p(bad), Pushback::Stop, "{bad:?}");
    }
}

/// Over many draws, the n-th retry's delay stays within
/// `[0, min(initial × 2^(n-1), max))` and uses most of that range.
#[test]
fn backoff_stays_within_a6_bounds_over_many_draws() {
    let ceilings = [100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0];
    for (i, ceiling) in ceilings.iter().enumerate() {
        let n = i as u32 + 1;
        let (mut lo, mut hi, mut sum) = (f64::MAX, 0.0f64, 0.0);
        let draws = 2000;
        for seed in 0..draws {
            let mut s = RetryState::new(a6_retry(), seed * 7919 + 1);
            let d = s.backoff(n).as_secs_f64() * 1e3;
            assert!(
                d >= 0.0 && d < *ceiling,
                "retry {n}: {d} ms >= {ceiling} ms"
            );
            lo = lo.min(d);
            hi = hi.max(d);
            sum += d;
        }
        let mean = sum / draws as f64;
        assert!(lo < ceiling * 0.02, "retry {n}: smallest {lo}");
        assert!(hi > ceiling * 0.98, "retry {n}: largest {hi}");
        assert!(
            (mean - ceiling / 2.0).abs() < ceiling * 0.05,
            "retry {n}: mean {mean} vs {}",
            ceiling / 2.0
        );
    }
}

#[test]
fn retries_until_max_attempts() {
    let mut s = RetryState::new(a6_retry(), 1);
    for attempt in 2..=4 {
        match s.on_failure(Code::Unavailable, Pushback::None, None) {
            Decision::Retry(d) => assert!(d < ms(1000)),
            other => panic!("attempt {attempt}: {other:?}"),
        }
        assert_eq!(s.started(), attempt);
    }
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Stop(RetryStop::Exhausted)
    );
}

#[test]
fn non_retryable_codes_end_the_call_and_cost_no_tokens() {
    let t = Throttle::new(RetryThrottling::new(10, 0.1));
    let mut s = RetryState::new(a6_retry(), 1);
    assert_eq!(
        s.on_failure(Code::InvalidArgument, Pushback::None, Some(&t)),
        Decision::Stop(RetryStop::NotRetryable)
    );
    assert_eq!(t.tokens_milli(), 10_000);
    assert_eq!(
        RetryState::new(CallPolicy::None, 1).on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Stop(RetryStop::NotRetryable)
    );
}

#[test]
fn pushback_delay_is_exact_and_resets_the_backoff() {
    let mut s = RetryState::new(a6_retry(), 3);
    assert!(matches!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Retry(_)
    ));
    assert!(matches!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Retry(_)
    ));
    assert_eq!(s.backoff_n, 2);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::After(ms(1234)), None),
        Decision::Retry(ms(1234))
    );
    assert_eq!(
        s.backoff_n, 0,
        "the next backoff starts from initialBackoff"
    );
    // The server's delay applies even when the policy would not back off
    // that long, but never beyond maxAttempts.
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::After(ms(5)), None),
        Decision::Stop(RetryStop::Exhausted)
    );
}

#[test]
fn pushback_stop_ends_retries_and_costs_a_token_even_for_other_codes() {
    let t = Throttle::new(RetryThrottling::new(10, 0.1));
    let mut s = RetryState::new(a6_retry(), 1);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::Stop, Some(&t)),
        Decision::Stop(RetryStop::Pushback)
    );
    assert_eq!(t.tokens_milli(), 9000);
    let mut s = RetryState::new(a6_retry(), 1);
    assert_eq!(
        s.on_failure(Code::Internal, Pushback::Stop, Some(&t)),
        Decision::Stop(RetryStop::NotRetryable)
    );
    assert_eq!(
        t.tokens_milli(),
        8000,
        "a pushback stop counts as a failure"
    );
}

/// With every attempt failing, throttling lets the first calls retry,
/// then stops retries (one attempt per call) until successes refill the
/// bucket above half.
#[test]
fn throttling_cuts_attempts_per_call_to_one_and_recovers() {
    let t = Throttle::new(RetryThrottling::new(10, 0.1));
    let mut attempts_per_call = Vec::new();
    for call in 0..6u64 {
        let mut s = RetryState::new(a6_retry(), call);
        while let Decision::Retry(_) = s.on_failure(Code::Unavailable, Pushback::None, Some(&t)) {}
        attempts_per_call.push(s.started());
    }
    // 10 tokens: call 1 fails 4 times (6 left), call 2 fails once (5 left:
    // not above half) and may not retry; every later call makes one
    // attempt and takes one more token.
    assert_eq!(attempts_per_call, [4, 1, 1, 1, 1, 1]);
    assert_eq!(t.tokens_milli(), 1000);
    // 40 successes of 0.1: 5 tokens, still not above half.
    for _ in 0..40 {
        t.record_success();
    }
    let mut s = RetryState::new(a6_retry(), 9);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, Some(&t)),
        Decision::Stop(RetryStop::Throttled)
    );
    assert_eq!(t.tokens_milli(), 4000);
    // 30 more: 7 tokens; a failure leaves 6, above half: retried.
    for _ in 0..30 {
        t.record_success();
    }
    let mut s = RetryState::new(a6_retry(), 9);
    assert!(matches!(
        s.on_failure(Code::Unavailable, Pushback::None, Some(&t)),
        Decision::Retry(_)
    ));
}

#[test]
fn commit_closes_retries() {
    let mut s = RetryState::new(a6_retry(), 1);
    s.commit();
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Stop(RetryStop::Committed)
    );
}

/// Hedging: hedges are taken on the timer until maxAttempts; a non-fatal
/// failure asks for the next one at once, a pushback delays it, a pushback
/// stop or a fatal code ends hedging.
#[test]
fn hedging_timers_and_failures() {
    let mut s = RetryState::new(a6_hedge(ms(500)), 1);
    assert_eq!(s.hedging_delay(), Some(ms(500)));
    assert_eq!(s.take_hedge(None), Ok(()));
    assert_eq!(s.started(), 2);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Hedge(Duration::ZERO)
    );
    assert_eq!(
        s.on_failure(Code::Aborted, Pushback::After(ms(70)), None),
        Decision::Hedge(ms(70))
    );
    assert_eq!(s.take_hedge(None), Ok(()));
    assert_eq!(s.take_hedge(None), Ok(()));
    assert_eq!(s.started(), 4);
    assert_eq!(s.hedging_delay(), None);
    assert_eq!(s.take_hedge(None), Err(RetryStop::Exhausted));
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, None),
        Decision::Wait
    );

    let mut s = RetryState::new(a6_hedge(ms(500)), 1);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::Stop, None),
        Decision::Wait
    );
    assert_eq!(s.take_hedge(None), Err(RetryStop::Committed));

    let mut s = RetryState::new(a6_hedge(ms(500)), 1);
    assert_eq!(
        s.on_failure(Code::PermissionDenied, Pushback::None, None),
        Decision::Stop(RetryStop::NotRetryable)
    );
    assert!(s.is_closed());
}

#[test]
fn throttled_hedges_are_not_sent() {
    let t = Throttle::new(RetryThrottling::new(2, 0.5));
    t.record_failure();
    let mut s = RetryState::new(a6_hedge(Duration::ZERO), 1);
    assert_eq!(s.take_hedge(Some(&t)), Err(RetryStop::Throttled));
    assert_eq!(s.started(), 1);
    assert_eq!(
        s.on_failure(Code::Unavailable, Pushback::None, Some(&t)),
        Decision::Wait
    );
}
