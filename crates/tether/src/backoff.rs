//! Connection backoff (low level), exactly as grpc/grpc
//! `doc/connection-backoff.md` specifies it:
//!
//! ```text
//! ConnectWithBackoff()
//!   current_backoff = INITIAL_BACKOFF
//!   current_deadline = now() + INITIAL_BACKOFF
//!   while (TryConnect(Max(current_deadline, now() + MIN_CONNECT_TIMEOUT)) != SUCCESS)
//!     SleepUntil(current_deadline)
//!     current_backoff = Min(current_backoff * MULTIPLIER, MAX_BACKOFF)
//!     current_deadline = now() + current_backoff +
//!       UniformRandom(-JITTER * current_backoff, JITTER * current_backoff)
//! ```
//!
//! [`Backoff`] is pure: it reads no clock (times are passed in) and its
//! jitter comes from a small PRNG seeded by the caller.

use std::time::{Duration, Instant};

/// The parameters of [`Backoff`]; [`Default`] gives the specification's values.
///
/// Non-exhaustive so that parameters can be added: start from
/// [`BackoffConfig::default`] and set the fields you need
/// (`let mut b = BackoffConfig::default(); b.initial_backoff = ...;`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct BackoffConfig {
    /// INITIAL_BACKOFF: the delay after the first failure (1 s).
    pub initial_backoff: Duration,
    /// MULTIPLIER: the factor applied after each failure (1.6).
    pub multiplier: f64,
    /// JITTER: the relative random spread, clamped to 0..=1 (0.2, ±20 %).
    pub jitter: f64,
    /// MAX_BACKOFF: the ceiling of the un-jittered delay (120 s).
    pub max_backoff: Duration,
    /// MIN_CONNECT_TIMEOUT: the shortest time one attempt is given (20 s).
    pub min_connect_timeout: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_backoff: Duration::from_secs(1),
            multiplier: 1.6,
            jitter: 0.2,
            max_backoff: Duration::from_secs(120),
            min_connect_timeout: Duration::from_secs(20),
        }
    }
}

/// The backoff state of one subchannel.
///
/// Use: when an attempt starts at `t`, give it until
/// [`Backoff::connect_deadline`]`(t)`; if it fails, start the next attempt
/// [`Backoff::next_delay`] after `t` (not after the failure); on success
/// (the server's first SETTINGS), [`Backoff::reset`].
#[derive(Clone, Debug)]
pub struct Backoff {
    config: BackoffConfig,
    /// current_backoff, without jitter.
    backoff: Duration,
    /// The jittered delay of the attempt in progress.
    delay: Duration,
    rng: SplitMix64,
}

impl Backoff {
    /// A fresh backoff; `seed` drives the jitter (any value, e.g. from the
    /// subchannel's address and the time it was created).
    pub fn new(config: BackoffConfig, seed: u64) -> Backoff {
        Backoff {
            config,
            backoff: config.initial_backoff,
            delay: config.initial_backoff,
            rng: SplitMix64(seed),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Back to the start: the next attempt's delay is INITIAL_BACKOFF,
    /// without jitter, as for the very first attempt.
    pub fn reset(&mut self) {
        self.backoff = self.config.initial_backoff;
        self.delay = self.config.initial_backoff;
    }

    /// The delay of the attempt in progress: from its start to the start of
    /// the next attempt if it fails.
    pub fn current_delay(&self) -> Duration {
        self.delay
    }

    /// How long the attempt that starts at `attempt_start` may take:
    /// `Max(current_deadline, now() + MIN_CONNECT_TIMEOUT)`.
    pub fn connect_deadline(&self, attempt_start: Instant) -> Instant {
        let wait = self.delay.max(self.config.min_connect_timeout);
        // A delay too large for the clock saturates at a year: "never".
        attempt_start
            .checked_add(wait)
            .unwrap_or(attempt_start + Duration::from_secs(365 * 24 * 3600))
    }

    /// The attempt in progress failed: returns its delay (the next attempt
    /// starts this long after it started) and advances to the next one:
    /// `Min(backoff × MULTIPLIER, MAX_BACKOFF)` with ±JITTER.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.delay;
        let grown = scale(self.backoff, self.config.multiplier.max(0.0));
        self.backoff = grown.min(self.config.max_backoff);
        let jitter = self.config.jitter.clamp(0.0, 1.0);
        let spread = self.rng.next_unit() * jitter;
        self.delay = scale(self.backoff, 1.0 + spread);
        delay
    }
}

/// `d × factor`, saturating instead of panicking.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for jitter.
#[derive(Clone, Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn next_unit(&mut self) -> f64 {
        let x = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        x * 2.0 - 1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> BackoffConfig {
        BackoffConfig {
            jitter: 0.0,
            ..BackoffConfig::default()
        }
    }

    fn ms(d: Duration) -> u128 {
        d.as_millis()
    }

    #[test]
    fn defaults_are_the_specs() {
        let c = BackoffConfig::default();
        assert_eq!(c.initial_backoff, Duration::from_secs(1));
        assert_eq!(c.multiplier, 1.6);
        assert_eq!(c.jitter, 0.2);
        assert_eq!(c.max_backoff, Duration::from_secs(120));
        assert_eq!(c.min_connect_timeout, Duration::from_secs(20));
    }

    #[test]
    fn sequence_without_jitter_grows_and_caps() {
        let mut b = Backoff::new(no_jitter(), 0);
        let seq: Vec<u128> = (0..13).map(|_| ms(b.next_delay())).collect();
        assert_eq!(
            seq,
            [
                1000, 1600, 2560, 4096, 6553, 10485, 16777, 26843, 42949, 68719, 109951, 120000,
                120000
            ]
        );
    }

    #[test]
    fn first_delay_has_no_jitter_and_later_ones_stay_within_20_percent() {
        for seed in 0..50 {
            let mut b = Backoff::new(BackoffConfig::default(), seed);
            assert_eq!(b.next_delay(), Duration::from_secs(1));
            let mut base = 1.0f64;
            for _ in 0..20 {
                base = (base * 1.6).min(120.0);
                let d = b.next_delay().as_secs_f64();
                assert!(
                    d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                    "{d} vs {base}"
                );
            }
        }
    }

    #[test]
    fn jitter_is_deterministic_per_seed_and_varies() {
        let run = |seed| {
            let mut b = Backoff::new(BackoffConfig::default(), seed);
            (0..6).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn reset_returns_to_initial() {
        let mut b = Backoff::new(BackoffConfig::default(), 3);
        for _ in 0..5 {
            b.next_delay();
        }
        assert!(b.current_delay() > Duration::from_secs(4));
        b.reset();
        assert_eq!(b.current_delay(), Duration::from_secs(1));
        assert_eq!(b.next_delay(), Duration::from_secs(1));
    }

    #[test]
    fn connect_deadline_is_at_least_min_connect_timeout() {
        let start = Instant::now();
        let mut b = Backoff::new(no_jitter(), 0);
        assert_eq!(b.connect_deadline(start), start + Duration::from_secs(20));
        for _ in 0..8 {
            b.next_delay();
        }
        // current_backoff is now 1.6^8 s ≈ 42.9 s > 20 s.
        assert_eq!(b.connect_deadline(start), start + b.current_delay());
        assert_eq!(ms(b.current_delay()), 42949);
    }

    #[test]
    fn absurd_configs_do_not_panic() {
        let mut b = Backoff::new(
            BackoffConfig {
                multiplier: f64::INFINITY,
                jitter: 5.0,
                max_backoff: Duration::MAX,
                ..BackoffConfig::default()
            },
            1,
        );
        for _ in 0..4 {
            b.next_delay();
        }
        let start = Instant::now();
        assert!(b.connect_deadline(start) > start);
        let mut b = Backoff::new(
            BackoffConfig {
                multiplier: -1.0,
                ..BackoffConfig::default()
            },
            1,
        );
        b.next_delay();
        assert_eq!(b.next_delay(), Duration::ZERO);
    }
}
