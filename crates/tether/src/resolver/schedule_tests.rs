use super::*;

fn s(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn no_jitter() -> BackoffConfig {
    BackoffConfig {
        jitter: 0.0,
        ..BackoffConfig::default()
    }
}

fn config(min_interval: Duration, refresh: DnsRefresh) -> DnsConfig {
    DnsConfig::default()
        .with_min_resolution_interval(min_interval)
        .with_refresh(refresh)
        .with_backoff(no_jitter())
}

/// A schedule that started at `t0` and completed one resolution, started
/// and finished at `t0`, with this TTL.
fn resolved_once(config: &DnsConfig, t0: Instant, ttl: Option<Duration>) -> Schedule {
    let mut sch = Schedule::new(config, 1);
    sch.start(t0);
    assert_eq!(sch.next(), Some(t0), "the first resolution is due at once");
    sch.resolving(t0);
    assert_eq!(sch.next(), None, "nothing is due while resolving");
    sch.succeeded(t0, ttl);
    sch
}

#[test]
fn defaults_are_documented_values() {
    let c = DnsConfig::default();
    assert_eq!(c.min_resolution_interval, s(30));
    assert_eq!(
        c.refresh,
        DnsRefresh::Ttl {
            min: s(30),
            max: s(300)
        }
    );
    assert!(!c.txt_service_config);
    assert_eq!(c.query_timeout, s(5));
    assert_eq!(c.backoff, BackoffConfig::default());
}

#[test]
fn requests_honour_the_minimum_interval() {
    let t0 = Instant::now();
    let c = config(s(30), DnsRefresh::Never);
    let mut sch = resolved_once(&c, t0, None);
    assert_eq!(sch.next(), None, "Never: no refresh on its own");
    sch.request(t0 + s(10));
    assert_eq!(sch.next(), Some(t0 + s(30)), "30 s after the last start");
    // A second request changes nothing.
    sch.request(t0 + s(20));
    assert_eq!(sch.next(), Some(t0 + s(30)));
    sch.resolving(t0 + s(30));
    sch.succeeded(t0 + s(31), None);
    // Long after the interval, a request is due at once.
    sch.request(t0 + s(100));
    assert_eq!(sch.next(), Some(t0 + s(100)));
}

#[test]
fn a_zero_minimum_interval_resolves_at_once() {
    let t0 = Instant::now();
    let c = config(Duration::ZERO, DnsRefresh::Never);
    let mut sch = resolved_once(&c, t0, None);
    sch.request(t0 + ms(1));
    assert_eq!(sch.next(), Some(t0 + ms(1)));
}

#[test]
fn the_ttl_is_clamped_both_ways() {
    let t0 = Instant::now();
    let c = config(
        Duration::ZERO,
        DnsRefresh::Ttl {
            min: s(30),
            max: s(300),
        },
    );
    let cases = [
        (Some(s(1)), s(30)),
        (Some(s(60)), s(60)),
        (Some(s(86_400)), s(300)),
        (None, s(300)),
    ];
    for (ttl, period) in cases {
        let sch = resolved_once(&c, t0, ttl);
        assert_eq!(sch.next(), Some(t0 + period), "ttl {ttl:?}");
    }
}

#[test]
fn a_ttl_refresh_honours_the_minimum_interval() {
    let t0 = Instant::now();
    let c = config(
        s(30),
        DnsRefresh::Ttl {
            min: s(1),
            max: s(300),
        },
    );
    let sch = resolved_once(&c, t0, Some(s(5)));
    assert_eq!(sch.next(), Some(t0 + s(30)));
}

#[test]
fn every_refreshes_at_a_fixed_period_whatever_the_ttl() {
    let t0 = Instant::now();
    let c = config(Duration::ZERO, DnsRefresh::Every(s(7)));
    let mut sch = resolved_once(&c, t0, Some(s(1000)));
    assert_eq!(sch.next(), Some(t0 + s(7)));
    sch.resolving(t0 + s(7));
    sch.succeeded(t0 + s(8), Some(s(1)));
    assert_eq!(sch.next(), Some(t0 + s(15)), "counted from the end");
}

#[test]
fn never_waits_for_requests() {
    let t0 = Instant::now();
    let c = config(Duration::ZERO, DnsRefresh::Never);
    let mut sch = resolved_once(&c, t0, Some(s(1)));
    assert_eq!(sch.next(), None);
    sch.request(t0 + s(3600));
    assert_eq!(sch.next(), Some(t0 + s(3600)));
}

#[test]
fn a_request_brings_a_later_refresh_forward_only() {
    let t0 = Instant::now();
    let c = config(
        s(10),
        DnsRefresh::Ttl {
            min: s(60),
            max: s(60),
        },
    );
    let mut sch = resolved_once(&c, t0, None);
    assert_eq!(sch.next(), Some(t0 + s(60)));
    sch.request(t0 + s(1));
    assert_eq!(sch.next(), Some(t0 + s(10)));
}

#[test]
fn requests_during_a_resolution_coalesce_into_one_after_it() {
    let t0 = Instant::now();
    let c = config(s(30), DnsRefresh::Never);
    let mut sch = resolved_once(&c, t0, None);
    sch.request(t0 + s(40));
    sch.resolving(t0 + s(40));
    for i in 0..5 {
        sch.request(t0 + s(41 + i));
        assert_eq!(sch.next(), None, "nothing starts while one is in flight");
    }
    sch.succeeded(t0 + s(50), None);
    assert_eq!(
        sch.next(),
        Some(t0 + s(70)),
        "one, after the minimum interval"
    );
    sch.resolving(t0 + s(70));
    sch.succeeded(t0 + s(71), None);
    assert_eq!(sch.next(), None, "and only one");
}

#[test]
fn error_backoff_grows_then_resets_after_a_success() {
    let t0 = Instant::now();
    let c = config(s(30), DnsRefresh::Never);
    let mut sch = Schedule::new(&c, 9);
    sch.start(t0);
    let mut now = t0;
    let mut delays = Vec::new();
    for _ in 0..5 {
        assert!(sch.next().is_some_and(|due| due >= now));
        now = sch.next().unwrap_or(now);
        sch.resolving(now);
        sch.failed(now + ms(100));
        let due = sch.next().unwrap();
        delays.push((due - now).as_millis());
    }
    // Counted from each attempt's start; the minimum interval does not apply.
    assert_eq!(delays, [1000, 1600, 2560, 4096, 6553]);
    now = sch.next().unwrap();
    sch.resolving(now);
    sch.succeeded(now, None);
    // Next failure starts over at 1 s.
    sch.request(now + s(30));
    let start = sch.next().unwrap();
    sch.resolving(start);
    sch.failed(start + ms(10));
    assert_eq!(sch.next(), Some(start + s(1)));
}

#[test]
fn a_failure_slower_than_its_backoff_retries_at_once() {
    let t0 = Instant::now();
    let c = config(s(30), DnsRefresh::Never);
    let mut sch = Schedule::new(&c, 0);
    sch.start(t0);
    sch.resolving(t0);
    sch.failed(t0 + s(10)); // a 10 s timeout, backoff 1 s
    assert_eq!(sch.next(), Some(t0 + s(10)));
}

#[test]
fn requests_during_backoff_wait_for_it() {
    let t0 = Instant::now();
    let c = config(Duration::ZERO, DnsRefresh::Never);
    let mut sch = Schedule::new(&c, 0);
    sch.start(t0);
    sch.resolving(t0);
    sch.failed(t0 + ms(10));
    assert_eq!(sch.next(), Some(t0 + s(1)));
    sch.request(t0 + ms(20));
    assert_eq!(
        sch.next(),
        Some(t0 + s(1)),
        "the retry is not brought forward"
    );
    // A request during a failing attempt does not add a second retry.
    sch.resolving(t0 + s(1));
    sch.request(t0 + ms(1100));
    sch.failed(t0 + ms(1200));
    assert_eq!(sch.next(), Some(t0 + ms(2600)));
}

#[test]
fn jitter_stays_within_twenty_percent() {
    let t0 = Instant::now();
    let c = DnsConfig::default();
    for seed in 0..20 {
        let mut sch = Schedule::new(&c, seed);
        sch.start(t0);
        sch.resolving(t0);
        sch.failed(t0);
        sch.resolving(t0);
        sch.failed(t0);
        let d = (sch.next().unwrap() - t0).as_secs_f64();
        assert!((1.28..=1.92).contains(&d), "seed {seed}: {d}");
    }
}

#[test]
fn huge_periods_do_not_overflow() {
    let t0 = Instant::now();
    let c = config(Duration::MAX, DnsRefresh::Every(Duration::MAX));
    let mut sch = resolved_once(&c, t0, None);
    assert!(sch.next().unwrap() > t0 + s(86_400));
    sch.request(t0);
    assert!(sch.next().unwrap() > t0 + s(86_400));
}
