//! The decisions of gRFC A6 for one call, as a plain state machine: told
//! how each attempt ended and what the throttle allows, it says whether to
//! retry (and after how long) or to send a hedge. No clock, no I/O: the
//! caller owns the timers.

use super::throttle::Throttle;
use crate::service_config::{HedgingPolicy, RetryPolicy};
use crate::status::Code;
use std::time::Duration;

/// A set of status codes, one bit per code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Codes(u32);

impl Codes {
    pub(crate) fn of(codes: &[Code]) -> Codes {
        Codes(codes.iter().fold(0, |m, c| m | 1 << (c.as_i32() & 31)))
    }

    pub(crate) fn contains(self, code: Code) -> bool {
        self.0 & (1 << (code.as_i32() & 31)) != 0
    }
}

/// The retry or hedging policy of a call, copied out of the service config
/// (no allocation per call).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CallPolicy {
    /// Only transparent retries.
    None,
    Retry {
        max_attempts: u32,
        initial_backoff: Duration,
        max_backoff: Duration,
        multiplier: f64,
        codes: Codes,
    },
    Hedge {
        max_attempts: u32,
        delay: Duration,
        codes: Codes,
    },
}

impl CallPolicy {
    pub(crate) fn retry(p: &RetryPolicy) -> CallPolicy {
        CallPolicy::Retry {
            max_attempts: p.max_attempts.clamp(1, MAX_ATTEMPTS),
            initial_backoff: p.initial_backoff,
            max_backoff: p.max_backoff,
            multiplier: p.backoff_multiplier,
            codes: Codes::of(&p.retryable_status_codes),
        }
    }

    pub(crate) fn hedge(p: &HedgingPolicy) -> CallPolicy {
        CallPolicy::Hedge {
            max_attempts: p.max_attempts.clamp(1, MAX_ATTEMPTS),
            delay: p.hedging_delay,
            codes: Codes::of(&p.non_fatal_status_codes),
        }
    }

    pub(crate) fn is_none(&self) -> bool {
        matches!(self, CallPolicy::None)
    }

    pub(crate) fn is_hedging(&self) -> bool {
        matches!(self, CallPolicy::Hedge { .. })
    }
}

/// gRFC A6's client-side cap on `maxAttempts`.
pub(crate) const MAX_ATTEMPTS: u32 = 5;

/// What the server said about retrying, in `grpc-retry-pushback-ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushback {
    /// No pushback: the policy's backoff (or hedging delay) applies.
    None,
    /// Retry (or send the next hedge) after exactly this long.
    After(Duration),
    /// Do not retry, and send no more hedges.
    Stop,
}

impl Pushback {
    /// Reads a `grpc-retry-pushback-ms` value: a non-negative decimal
    /// 32-bit integer is a delay (leading zeros are tolerated, as grpc-go
    /// does, though A6 asks servers not to send them); anything else
    /// (negative, garbage, out of range) means "do not retry".
    pub(crate) fn parse(value: Option<&[u8]>) -> Pushback {
        let Some(v) = value else {
            return Pushback::None;
        };
        if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
            return Pushback::Stop;
        }
        match std::str::from_utf8(v)
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
        {
            Some(ms) if ms >= 0 => Pushback::After(Duration::from_millis(ms as u64)),
            _ => Pushback::Stop,
        }
    }
}

/// Why a failed attempt was not retried (or no further hedge was sent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryStop {
    /// The status is not in `retryableStatusCodes` (or is not a non-fatal
    /// code of the hedging policy).
    NotRetryable,
    /// `maxAttempts` attempts were made.
    Exhausted,
    /// Retry throttling: the channel's token count is at or below half of
    /// `maxTokens`.
    Throttled,
    /// The server's `grpc-retry-pushback-ms` said not to retry.
    Pushback,
    /// The call was committed (response headers received, or its request
    /// outgrew the retry buffer).
    Committed,
    /// No time is left before the call's deadline.
    Deadline,
}

impl RetryStop {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            RetryStop::NotRetryable => "status not retryable",
            RetryStop::Exhausted => "maxAttempts reached",
            RetryStop::Throttled => "throttled",
            RetryStop::Pushback => "server pushback: do not retry",
            RetryStop::Committed => "committed",
            RetryStop::Deadline => "deadline",
        }
    }
}

/// What to do after an attempt failed before the call committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Retry policy: start the next attempt after this delay.
    Retry(Duration),
    /// Hedging: the next hedge is due after this delay (zero: at once);
    /// other attempts may still be in flight.
    Hedge(Duration),
    /// Hedging: no new hedge, but attempts still in flight may succeed.
    Wait,
    /// The call ends with this attempt's status.
    Stop(RetryStop),
}

/// The retry and hedging state of one call.
#[derive(Debug)]
pub(crate) struct RetryState {
    policy: CallPolicy,
    /// Attempts started under the policy (the first one included;
    /// transparent retries are not counted).
    started: u32,
    /// Retries since the last pushback (the backoff's exponent).
    backoff_n: u32,
    /// No further attempts (committed, pushback stop, throttled hedges).
    closed: bool,
    /// Jitter source.
    rng: crate::lb::rng::Rng,
}

impl RetryState {
    /// The state of a call whose first attempt is being started.
    pub(crate) fn new(policy: CallPolicy, seed: u64) -> RetryState {
        RetryState {
            policy,
            started: 1,
            backoff_n: 0,
            closed: false,
            rng: crate::lb::rng::Rng::new(seed),
        }
    }

    pub(crate) fn policy(&self) -> &CallPolicy {
        &self.policy
    }

    /// Attempts started under the policy so far.
    pub(crate) fn started(&self) -> u32 {
        self.started
    }

    /// The call committed: no further attempts.
    pub(crate) fn commit(&mut self) {
        self.closed = true;
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// An attempt ended with `code` (not OK) before the call committed.
    /// Records the failure in `throttle` when the code is retryable or
    /// non-fatal or the server pushed back "stop" (gRFC A6 counts those,
    /// and only those, as failures).
    pub(crate) fn on_failure(
        &mut self,
        code: Code,
        pushback: Pushback,
        throttle: Option<&Throttle>,
    ) -> Decision {
        let codes = match self.policy {
            CallPolicy::None => return Decision::Stop(RetryStop::NotRetryable),
            CallPolicy::Retry { codes, .. } | CallPolicy::Hedge { codes, .. } => codes,
        };
        let counted = codes.contains(code);
        if counted || pushback == Pushback::Stop {
            if let Some(t) = throttle {
                t.record_failure();
            }
        }
        if let CallPolicy::Hedge { .. } = self.policy {
            return self.hedge_after_failure(counted, pushback, throttle);
        }
        if self.closed {
            return Decision::Stop(RetryStop::Committed);
        }
        if !counted {
            return Decision::Stop(RetryStop::NotRetryable);
        }
        if pushback == Pushback::Stop {
            self.closed = true;
            return Decision::Stop(RetryStop::Pushback);
        }
        if self.started >= self.max_attempts() {
            return Decision::Stop(RetryStop::Exhausted);
        }
        if throttle.is_some_and(|t| !t.allows()) {
            return Decision::Stop(RetryStop::Throttled);
        }
        let delay = match pushback {
            Pushback::After(d) => {
                // A6: after a pushback delay, the backoff starts over.
                self.backoff_n = 0;
                d
            }
            _ => {
                self.backoff_n += 1;
                self.backoff(self.backoff_n)
            }
        };
        self.started += 1;
        Decision::Retry(delay)
    }

    fn hedge_after_failure(
        &mut self,
        non_fatal: bool,
        pushback: Pushback,
        throttle: Option<&Throttle>,
    ) -> Decision {
        if !non_fatal {
            self.closed = true;
            return Decision::Stop(RetryStop::NotRetryable);
        }
        match pushback {
            Pushback::Stop => {
                self.closed = true;
                Decision::Wait
            }
            _ if self.closed || self.started >= self.max_attempts() => Decision::Wait,
            _ if throttle.is_some_and(|t| !t.allows()) => Decision::Wait,
            // A non-fatal status sends the next hedge at once (or after
            // the pushback delay).
            Pushback::After(d) => Decision::Hedge(d),
            Pushback::None => Decision::Hedge(Duration::ZERO),
        }
    }

    /// The hedging timer fired (or a `Decision::Hedge` came due): whether
    /// to send a hedge now. Counts it as started when it says yes.
    pub(crate) fn take_hedge(&mut self, throttle: Option<&Throttle>) -> Result<(), RetryStop> {
        if self.closed {
            return Err(RetryStop::Committed);
        }
        if self.started >= self.max_attempts() {
            return Err(RetryStop::Exhausted);
        }
        if throttle.is_some_and(|t| !t.allows()) {
            return Err(RetryStop::Throttled);
        }
        self.started += 1;
        Ok(())
    }

    /// The hedging delay, when more hedges may follow.
    pub(crate) fn hedging_delay(&self) -> Option<Duration> {
        match self.policy {
            CallPolicy::Hedge { delay, .. }
                if !self.closed && self.started < self.max_attempts() =>
            {
                Some(delay)
            }
            _ => None,
        }
    }

    fn max_attempts(&self) -> u32 {
        match self.policy {
            CallPolicy::None => 1,
            CallPolicy::Retry { max_attempts, .. } | CallPolicy::Hedge { max_attempts, .. } => {
                max_attempts
            }
        }
    }

    /// The delay before the `n`-th retry (1-based) after no pushback:
    /// uniform in `[0, min(initialBackoff × multiplier^(n-1), maxBackoff))`.
    fn backoff(&mut self, n: u32) -> Duration {
        let CallPolicy::Retry {
            initial_backoff,
            max_backoff,
            multiplier,
            ..
        } = self.policy
        else {
            return Duration::ZERO;
        };
        let exponent = i32::try_from(n.saturating_sub(1)).unwrap_or(i32::MAX);
        let ceiling = initial_backoff.as_secs_f64() * multiplier.powi(exponent);
        let ceiling = ceiling.min(max_backoff.as_secs_f64());
        let ceiling = if ceiling.is_finite() && ceiling > 0.0 {
            ceiling
        } else {
            0.0
        };
        Duration::try_from_secs_f64(ceiling * self.rng.next_unit()).unwrap_or(max_backoff)
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
