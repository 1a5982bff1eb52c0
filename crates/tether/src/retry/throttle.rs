//! Retry throttling (gRFC A6): one token bucket per channel.

use crate::service_config::RetryThrottling;
use std::sync::atomic::{AtomicU32, Ordering};

/// gRFC A6's `token_count`, in thousandths of a token (the spec allows
/// three decimal places in `tokenRatio`): every failed attempt takes one
/// token, every successful call gives back `tokenRatio`; while the count is
/// at or below half of `maxTokens`, calls are not retried and hedges are
/// not sent.
///
/// Lock-free: calls on every connection update it with one atomic
/// read-modify-write.
#[derive(Debug)]
pub(crate) struct Throttle {
    /// `token_count × 1000`, in `0..=max`.
    tokens: AtomicU32,
    /// `maxTokens × 1000`.
    max: u32,
    /// `tokenRatio × 1000`.
    ratio: u32,
}

/// One token, in thousandths.
const TOKEN: u32 = 1000;

impl Throttle {
    /// A full bucket.
    pub(crate) fn new(config: RetryThrottling) -> Throttle {
        let max = config.max_tokens.saturating_mul(TOKEN);
        Throttle {
            tokens: AtomicU32::new(max),
            max,
            ratio: config.token_ratio_milli,
        }
    }

    /// The settings this bucket was made from (to keep it when a new
    /// service config repeats them).
    pub(crate) fn same_settings(&self, config: RetryThrottling) -> bool {
        self.max == config.max_tokens.saturating_mul(TOKEN)
            && self.ratio == config.token_ratio_milli
    }

    /// A failed attempt (a retryable or non-fatal status, or pushback
    /// saying not to retry): one token less, not below zero.
    pub(crate) fn record_failure(&self) {
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(t.saturating_sub(TOKEN))
            });
    }

    /// A successful call: `tokenRatio` more, not above `maxTokens`.
    pub(crate) fn record_success(&self) {
        let (max, ratio) = (self.max, self.ratio);
        let _ = self
            .tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < max).then(|| t.saturating_add(ratio).min(max))
            });
    }

    /// Whether retries and hedges may be sent: `token_count > maxTokens / 2`.
    pub(crate) fn allows(&self) -> bool {
        // tokens > max / 2, without rounding: 2 × tokens > max.
        u64::from(self.tokens.load(Ordering::Acquire)) * 2 > u64::from(self.max)
    }

    /// The tokens left, in thousandths.
    #[cfg(test)]
    pub(crate) fn tokens_milli(&self) -> u32 {
        self.tokens.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max_tokens: u32, ratio: f64) -> Throttle {
        Throttle::new(RetryThrottling::new(max_tokens, ratio))
    }

    /// gRFC A6's example: maxTokens 10, tokenRatio 0.1. The bucket starts
    /// full; 5 failures bring it to 5 = maxTokens / 2, where retries stop;
    /// one success (5.1) allows them again.
    #[test]
    fn a6_worked_example() {
        let t = throttle(10, 0.1);
        assert_eq!(t.tokens_milli(), 10_000);
        for left in (6..10).rev() {
            t.record_failure();
            assert_eq!(t.tokens_milli(), left * 1000);
            assert!(t.allows(), "{left} tokens > 5");
        }
        t.record_failure();
        assert_eq!(t.tokens_milli(), 5000);
        assert!(!t.allows(), "5 tokens is not above the threshold 5");
        t.record_success();
        assert_eq!(t.tokens_milli(), 5100);
        assert!(t.allows());
    }

    #[test]
    fn tokens_stay_within_zero_and_max() {
        let t = throttle(3, 0.5);
        for _ in 0..10 {
            t.record_failure();
        }
        assert_eq!(t.tokens_milli(), 0);
        assert!(!t.allows());
        for _ in 0..100 {
            t.record_success();
        }
        assert_eq!(t.tokens_milli(), 3000);
    }

    /// Ratios are exact in thousandths: ten successes of 0.1 make one
    /// token, with no floating-point drift.
    #[test]
    fn ratio_arithmetic_is_exact() {
        let t = throttle(100, 0.1);
        for _ in 0..60 {
            t.record_failure();
        }
        assert_eq!(t.tokens_milli(), 40_000);
        for _ in 0..100 {
            t.record_success();
        }
        assert_eq!(t.tokens_milli(), 50_000);
        assert!(!t.allows(), "exactly half: still throttled");
        t.record_success();
        assert!(t.allows());
    }

    /// An odd maxTokens: the threshold 3.5 is compared exactly.
    #[test]
    fn odd_max_threshold_is_exact() {
        let t = throttle(7, 0.5);
        for _ in 0..3 {
            t.record_failure();
        }
        assert_eq!(t.tokens_milli(), 4000);
        assert!(t.allows(), "4 > 3.5");
        t.record_success();
        t.record_failure();
        assert_eq!(t.tokens_milli(), 3500);
        assert!(!t.allows(), "3.5 is not above 3.5");
    }
}
