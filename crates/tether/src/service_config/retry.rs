//! gRFC A6 retry settings: a method's [`RetryPolicy`] or [`HedgingPolicy`]
//! and the channel's [`RetryThrottling`], parsed and validated.
//!
//! The rules follow A6's "Configuration Language" section and
//! `grpc/service_config/service_config.proto`; where those leave a choice,
//! the comment at the check says which implementation tether follows.

use super::duration;
use super::error::{array, describe, field, object, Path, ServiceConfigError};
use crate::status::Code;
use serde_json::{Map, Value};
use std::time::Duration;

/// gRFC A6 "Limits on Retries and Hedges": `maxAttempts` has a client-side
/// maximum of 5 by default; "higher values will be treated as equal to the
/// maximum value".
const MAX_ATTEMPTS_CAP: u32 = 5;

/// A6: `maxAttempts` "is required and must be two or greater".
const MIN_ATTEMPTS: u32 = 2;

/// The largest `retryThrottling.maxTokens` (grpc-go's range `(0, 1000]`).
const MAX_TOKENS_CAP: u32 = 1000;

/// A method's `retryPolicy` (gRFC A6): failed calls are tried again, after
/// an exponential, randomized backoff, when their status is retryable.
///
/// The parser guarantees what the field docs say; [`new`](Self::new)
/// guarantees the attempt range and a list without duplicates. The
/// fields are public, so code that applies a policy should still not
/// panic on other values.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The most attempts a call makes, the first one included
    /// (`maxAttempts`): in `2..=5`. The config must say at least 2; larger
    /// values count as 5 (A6 "Limits on Retries and Hedges").
    pub max_attempts: u32,
    /// The first retry waits a random time in `[0, initial_backoff)`
    /// (`initialBackoff`, required, greater than zero).
    pub initial_backoff: Duration,
    /// The ceiling of the backoff (`maxBackoff`, required, greater than
    /// zero): retry `n` waits a random time in
    /// `[0, min(initial_backoff * backoff_multiplier^(n-1), max_backoff))`.
    pub max_backoff: Duration,
    /// The backoff's growth per retry (`backoffMultiplier`, required,
    /// finite and greater than zero).
    pub backoff_multiplier: f64,
    /// The statuses that may be retried (`retryableStatusCodes`, required,
    /// non-empty), in the order listed, without duplicates, never
    /// [`Code::Ok`].
    pub retryable_status_codes: Vec<Code>,
}

impl RetryPolicy {
    /// A policy built by hand.
    ///
    /// Does not panic: `max_attempts` is clamped into `2..=5` (below 2
    /// becomes 2, above 5 becomes 5, as A6 caps it) and repeated codes
    /// are dropped (the first stays). The other values are kept as given;
    /// [`ServiceConfig::parse`](super::ServiceConfig::parse) would reject
    /// zero backoffs, a multiplier that is not finite and above zero, an
    /// empty code list and [`Code::Ok`].
    pub fn new(
        max_attempts: u32,
        initial_backoff: Duration,
        max_backoff: Duration,
        backoff_multiplier: f64,
        retryable_status_codes: Vec<Code>,
    ) -> RetryPolicy {
        RetryPolicy {
            max_attempts: max_attempts.clamp(MIN_ATTEMPTS, MAX_ATTEMPTS_CAP),
            initial_backoff,
            max_backoff,
            backoff_multiplier,
            retryable_status_codes: dedupe(retryable_status_codes),
        }
    }

    /// Whether a call that ended with `code` may be retried.
    pub fn is_retryable(&self, code: Code) -> bool {
        self.retryable_status_codes.contains(&code)
    }
}

/// A method's `hedgingPolicy` (gRFC A6): copies of a call are sent every
/// `hedging_delay` until one succeeds or a fatal status arrives.
///
/// As for [`RetryPolicy`], the parser guarantees what the field docs say.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HedgingPolicy {
    /// The most copies of a call sent, the first one included
    /// (`maxAttempts`): in `2..=5`, with the same rule as
    /// [`RetryPolicy::max_attempts`].
    pub max_attempts: u32,
    /// The time between sending one copy and the next (`hedgingDelay`);
    /// zero (the default when absent) sends them all at once.
    pub hedging_delay: Duration,
    /// The statuses after which the other copies go on
    /// (`nonFatalStatusCodes`), without duplicates, never [`Code::Ok`].
    /// Any other status ends the call. Optional, empty when absent: A6
    /// calls it required, but C-core and grpc-go accept a policy without
    /// it.
    pub non_fatal_status_codes: Vec<Code>,
}

impl HedgingPolicy {
    /// A policy built by hand.
    ///
    /// Does not panic: `max_attempts` is clamped into `2..=5` and repeated
    /// codes are dropped (the first stays), as for [`RetryPolicy::new`].
    pub fn new(
        max_attempts: u32,
        hedging_delay: Duration,
        non_fatal_status_codes: Vec<Code>,
    ) -> HedgingPolicy {
        HedgingPolicy {
            max_attempts: max_attempts.clamp(MIN_ATTEMPTS, MAX_ATTEMPTS_CAP),
            hedging_delay,
            non_fatal_status_codes: dedupe(non_fatal_status_codes),
        }
    }

    /// Whether, after a copy ended with `code`, the other copies go on.
    pub fn is_non_fatal(&self, code: Code) -> bool {
        self.non_fatal_status_codes.contains(&code)
    }
}

/// The channel's `retryThrottling` (gRFC A6): a token bucket that stops
/// retries and hedges while too many calls fail.
///
/// The bucket holds up to `max_tokens`; every failed attempt takes one
/// token, every successful call puts back the token ratio; retries and
/// hedges are sent only while more than `max_tokens / 2` are left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryThrottling {
    /// The bucket's size and starting level (`maxTokens`): a whole number
    /// in `1..=1000`. The proto only says "greater than zero"; the bound
    /// is grpc-go's, which rejects a larger value, and so does tether (an
    /// error, not a cap). C-core and grpc-java take any positive value.
    pub max_tokens: u32,
    /// `tokenRatio` in thousandths of a token (`0.1` is `100`), at least 1.
    /// A6 supports "up to 3 decimal places": the parser reads the number's
    /// decimal digits (no floating-point rounding) and drops any beyond
    /// the third, as C-core does, so `0.1234` is `123` and `0.0001` (zero
    /// thousandths) is an error. Values above `u32::MAX` thousandths are
    /// held as `u32::MAX`.
    pub token_ratio_milli: u32,
}

impl RetryThrottling {
    /// Throttling built by hand: `token_ratio` tokens are put back per
    /// successful call.
    ///
    /// Does not panic: `max_tokens` is clamped into `1..=1000`;
    /// `token_ratio` is rounded to the nearest thousandth (unlike the
    /// parser, which truncates the decimal text: an `f64` such as `0.29`
    /// is slightly below its decimal value) and clamped into
    /// `0.001..=u32::MAX / 1000`, NaN and negative ratios becoming
    /// `0.001`.
    pub fn new(max_tokens: u32, token_ratio: f64) -> RetryThrottling {
        let milli = (token_ratio * 1000.0).round();
        // `as` saturates (negatives to 0, NaN to 0 too); then 0 becomes 1.
        let token_ratio_milli = (milli as u32).max(1);
        RetryThrottling {
            max_tokens: max_tokens.clamp(1, MAX_TOKENS_CAP),
            token_ratio_milli,
        }
    }
}

/// `codes` in order without repeats (the first of each stays).
fn dedupe(codes: Vec<Code>) -> Vec<Code> {
    let mut unique = Vec::with_capacity(codes.len());
    for code in codes {
        if !unique.contains(&code) {
            unique.push(code);
        }
    }
    unique
}

/// The `retryPolicy` object at `path`.
pub(super) fn parse_retry_policy(
    value: &Value,
    path: &Path<'_>,
) -> Result<RetryPolicy, ServiceConfigError> {
    let policy = object(value, path)?;
    let max_attempts = parse_max_attempts(policy, path)?;
    let initial_backoff = parse_backoff(policy, "initialBackoff", path)?;
    let max_backoff = parse_backoff(policy, "maxBackoff", path)?;
    let multiplier_path = path.key("backoffMultiplier");
    let backoff_multiplier = parse_multiplier(
        required(policy, "backoffMultiplier", path)?,
        &multiplier_path,
    )?;
    let codes_path = path.key("retryableStatusCodes");
    let codes = required(policy, "retryableStatusCodes", path)?;
    let retryable_status_codes = parse_codes(codes, &codes_path)?;
    // A6: "This field is required and must be non-empty."
    if retryable_status_codes.is_empty() {
        return Err(codes_path.error("must not be empty"));
    }
    Ok(RetryPolicy {
        max_attempts,
        initial_backoff,
        max_backoff,
        backoff_multiplier,
        retryable_status_codes,
    })
}

/// The `hedgingPolicy` object at `path`.
pub(super) fn parse_hedging_policy(
    value: &Value,
    path: &Path<'_>,
) -> Result<HedgingPolicy, ServiceConfigError> {
    let policy = object(value, path)?;
    let max_attempts = parse_max_attempts(policy, path)?;
    // A6: "Set this to "0s", or leave unset, to immediately send all
    // maxAttempts RPCs."
    let hedging_delay = match field(policy, "hedgingDelay") {
        Some(delay) => duration::parse(delay, &path.key("hedgingDelay"))?,
        None => Duration::ZERO,
    };
    let non_fatal_status_codes = match field(policy, "nonFatalStatusCodes") {
        Some(codes) => parse_codes(codes, &path.key("nonFatalStatusCodes"))?,
        None => Vec::new(),
    };
    Ok(HedgingPolicy {
        max_attempts,
        hedging_delay,
        non_fatal_status_codes,
    })
}

/// The `retryThrottling` object at `path`.
pub(super) fn parse_retry_throttling(
    value: &Value,
    path: &Path<'_>,
) -> Result<RetryThrottling, ServiceConfigError> {
    let throttling = object(value, path)?;
    let tokens_path = path.key("maxTokens");
    let tokens = required(throttling, "maxTokens", path)?;
    let Some(count) = whole_number(tokens) else {
        return Err(tokens_path.expected("a whole number", tokens));
    };
    // service_config.proto: "required and must be greater than zero"; the
    // upper bound is grpc-go's `(0, 1000]` (an error there too).
    let max_tokens = u32::try_from(count)
        .ok()
        .filter(|count| (1..=MAX_TOKENS_CAP).contains(count))
        .ok_or_else(|| {
            tokens_path.error(format!(
                "must be between 1 and {MAX_TOKENS_CAP}, got {}",
                describe(tokens)
            ))
        })?;
    let ratio_path = path.key("tokenRatio");
    let ratio = required(throttling, "tokenRatio", path)?;
    let text = match ratio {
        Value::Number(number) => number.to_string(),
        // proto3 JSON also writes a float as a string.
        Value::String(text) => text.clone(),
        other => return Err(ratio_path.expected("a number like 0.1", other)),
    };
    let Some((negative, milli)) = thousandths(&text) else {
        return Err(ratio_path.expected("a number like 0.1", ratio));
    };
    // service_config.proto: "required and must be greater than zero. Up
    // to 3 decimal places are supported."
    if negative || milli == 0 {
        return Err(ratio_path.error(format!(
            "must be at least 0.001 (3 decimal places are used), got {}",
            describe(ratio)
        )));
    }
    Ok(RetryThrottling {
        max_tokens,
        token_ratio_milli: milli,
    })
}

/// Field `key` of `object`, or an error naming it as missing (`null` is
/// missing too).
fn required<'v>(
    object: &'v Map<String, Value>,
    key: &str,
    path: &Path<'_>,
) -> Result<&'v Value, ServiceConfigError> {
    field(object, key).ok_or_else(|| path.key(key).error("a required field is missing"))
}

/// `maxAttempts` of the policy object at `path`: at least 2, capped at 5.
fn parse_max_attempts(
    policy: &Map<String, Value>,
    path: &Path<'_>,
) -> Result<u32, ServiceConfigError> {
    let attempts_path = path.key("maxAttempts");
    let attempts = required(policy, "maxAttempts", path)?;
    match whole_number(attempts) {
        // A6: "higher values will be treated as equal to the maximum value".
        Some(count) if count >= i128::from(MIN_ATTEMPTS) => {
            Ok(u32::try_from(count).map_or(MAX_ATTEMPTS_CAP, |c| c.min(MAX_ATTEMPTS_CAP)))
        }
        // A6: "This field is required and must be two or greater."
        Some(_) => Err(attempts_path.error(format!(
            "must be at least {MIN_ATTEMPTS}, got {}",
            describe(attempts)
        ))),
        None => Err(attempts_path.expected("a whole number", attempts)),
    }
}

/// The backoff `key` of the retry policy at `path`: required, above zero.
fn parse_backoff(
    policy: &Map<String, Value>,
    key: &str,
    path: &Path<'_>,
) -> Result<Duration, ServiceConfigError> {
    let backoff_path = path.key(key);
    let value = required(policy, key, path)?;
    let backoff = duration::parse(value, &backoff_path)?;
    // A6: "They both must be greater than zero."
    if backoff.is_zero() {
        return Err(backoff_path.error(format!("must be greater than 0, got {}", describe(value))));
    }
    Ok(backoff)
}

/// `backoffMultiplier`: a JSON number or, as proto3 JSON allows, a string
/// holding one; finite and above zero.
fn parse_multiplier(value: &Value, path: &Path<'_>) -> Result<f64, ServiceConfigError> {
    let multiplier = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => match text.as_str() {
            // proto3 JSON's names for the special values (rejected below).
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            text if thousandths(text).is_some() => text.parse().ok(),
            _ => None,
        },
        _ => None,
    };
    let Some(multiplier) = multiplier else {
        return Err(path.expected("a number", value));
    };
    // A6: "Required. Must be greater than zero." Also finite, so backoff
    // arithmetic stays defined.
    if !(multiplier.is_finite() && multiplier > 0.0) {
        return Err(path.error(format!(
            "must be a finite number greater than 0, got {}",
            describe(value)
        )));
    }
    Ok(multiplier)
}

/// A list of status codes at `path`, in order, repeats dropped.
fn parse_codes(value: &Value, path: &Path<'_>) -> Result<Vec<Code>, ServiceConfigError> {
    let mut codes = Vec::new();
    for (index, item) in array(value, path)?.iter().enumerate() {
        let code = parse_code(item, &path.index(index))?;
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// One status code: its name as `doc/statuscodes.md` spells it
/// (`"UNAVAILABLE"`, exact case, as grpc-go and C-core read it) or its
/// number (grpc-java also reads numbers). `OK` is an error: a success is
/// neither retried nor a failure of a hedge.
fn parse_code(value: &Value, path: &Path<'_>) -> Result<Code, ServiceConfigError> {
    const EXPECTED: &str = "a status code name like \"UNAVAILABLE\" or a number from 1 to 16";
    let code = match value {
        Value::String(name) => Code::from_name(name),
        Value::Number(_) => whole_number(value)
            .and_then(|number| usize::try_from(number).ok())
            .and_then(|number| Code::ALL.get(number).copied()),
        _ => None,
    };
    match code {
        Some(Code::Ok) => Err(path.error(format!(
            "OK is not an error status code, got {}",
            describe(value)
        ))),
        Some(code) => Ok(code),
        None => Err(path.expected(EXPECTED, value)),
    }
}

/// A whole number as proto3 JSON writes an integer field: a JSON number
/// without a fraction (`3`, `3.0`, `3e0`) or a string of digits with an
/// optional `-` (`"3"`). Values beyond `i128` saturate. `None` for
/// anything else.
fn whole_number(value: &Value) -> Option<i128> {
    match value {
        Value::Number(number) => {
            if let Some(whole) = number.as_u64() {
                Some(i128::from(whole))
            } else if let Some(whole) = number.as_i64() {
                Some(i128::from(whole))
            } else {
                let float = number.as_f64()?;
                // `as` saturates; only finite whole floats get here.
                (float.is_finite() && float.fract() == 0.0).then_some(float as i128)
            }
        }
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Only digits, so the one possible failure is overflow.
            let negative = digits.len() != text.len();
            Some(
                text.parse()
                    .unwrap_or(if negative { i128::MIN } else { i128::MAX }),
            )
        }
        _ => None,
    }
}

/// A decimal number in JSON syntax (`-?digits(.digits)?([eE][+-]?digits)?`,
/// leading zeros allowed) as its sign and its magnitude in thousandths,
/// truncated toward zero and saturated at `u32::MAX`. Exact: the digits
/// are shifted, never converted to a float. `None` when `text` is not such
/// a number.
fn thousandths(text: &str) -> Option<(bool, u32)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, Some(exponent)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) if all_digits(fraction) => (whole, fraction),
        Some(_) => return None,
        None => (mantissa, ""),
    };
    if !all_digits(whole) {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(exponent) => {
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if !all_digits(digits) {
                return None;
            }
            // Only digits, so the one possible failure is overflow.
            let magnitude: i64 = digits.parse().unwrap_or(i64::MAX);
            if exponent.starts_with('-') {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    // The digits of the mantissa, with the decimal point after `point` of
    // them; times 1000 it moves 3 further right. The value in thousandths
    // is the first `keep` digits, followed by zeros if there are fewer.
    let point = i64::try_from(whole.len())
        .unwrap_or(i64::MAX)
        .saturating_add(exponent);
    // Negative means the number is below 0.001: zero thousandths.
    let keep = usize::try_from(point.saturating_add(3)).unwrap_or(0);
    let mut milli: u64 = 0;
    for digit in whole.bytes().chain(fraction.bytes()).take(keep) {
        milli = milli
            .saturating_mul(10)
            .saturating_add(u64::from(digit - b'0'));
    }
    if milli != 0 {
        let padding = keep.saturating_sub(whole.len() + fraction.len());
        // Past 20 zeros any non-zero value has saturated already.
        for _ in 0..padding.min(20) {
            milli = milli.saturating_mul(10);
        }
    }
    Some((negative, u32::try_from(milli).unwrap_or(u32::MAX)))
}

/// Non-empty and ASCII digits only.
fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// The policy parsed as `$.methodConfig[0].retryPolicy`.
    fn retry(value: Value) -> Result<RetryPolicy, ServiceConfigError> {
        let root = Path::Root;
        let list = root.key("methodConfig");
        let entry = list.index(0);
        parse_retry_policy(&value, &entry.key("retryPolicy"))
    }

    /// The policy parsed as `$.methodConfig[0].hedgingPolicy`.
    fn hedging(value: Value) -> Result<HedgingPolicy, ServiceConfigError> {
        let root = Path::Root;
        let list = root.key("methodConfig");
        let entry = list.index(0);
        parse_hedging_policy(&value, &entry.key("hedgingPolicy"))
    }

    /// The throttling parsed as `$.retryThrottling`.
    fn throttling(value: Value) -> Result<RetryThrottling, ServiceConfigError> {
        let root = Path::Root;
        parse_retry_throttling(&value, &root.key("retryThrottling"))
    }

    /// The path and message of an error.
    fn failure<T: std::fmt::Debug>(result: Result<T, ServiceConfigError>) -> (String, String) {
        let error = result.unwrap_err();
        (error.path().to_owned(), error.message().to_owned())
    }

    /// gRFC A6's retry policy example, verbatim.
    fn a6_retry() -> Value {
        json!({
            "maxAttempts": 4,
            "initialBackoff": ".1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"]
        })
    }

    /// A6's retry example with `key` set to `value` (removed for `None`).
    fn a6_retry_with(key: &str, value: Option<Value>) -> Value {
        let mut policy = a6_retry();
        let fields = policy.as_object_mut().unwrap();
        match value {
            Some(value) => fields.insert(key.to_owned(), value),
            None => fields.remove(key),
        };
        policy
    }

    #[test]
    fn a6_retry_policy_example() {
        let policy = retry(a6_retry()).unwrap();
        assert_eq!(
            policy,
            RetryPolicy::new(4, ms(100), ms(1000), 2.0, vec![Code::Unavailable])
        );
        assert_eq!(policy.max_attempts, 4);
        assert_eq!(policy.initial_backoff, ms(100));
        assert_eq!(policy.max_backoff, Duration::from_secs(1));
        assert_eq!(policy.backoff_multiplier, 2.0);
        assert_eq!(policy.retryable_status_codes, vec![Code::Unavailable]);
        assert!(policy.is_retryable(Code::Unavailable));
        assert!(!policy.is_retryable(Code::Internal));
        assert!(!policy.is_retryable(Code::Ok));
    }

    #[test]
    fn a6_hedging_policy_examples() {
        let policy = hedging(json!({
            "maxAttempts": 4,
            "hedgingDelay": ".5s",
            "nonFatalStatusCodes": ["UNAVAILABLE", "INTERNAL", "ABORTED"]
        }))
        .unwrap();
        let codes = vec![Code::Unavailable, Code::Internal, Code::Aborted];
        assert_eq!(policy, HedgingPolicy::new(4, ms(500), codes.clone()));
        assert_eq!(policy.max_attempts, 4);
        assert_eq!(policy.hedging_delay, ms(500));
        assert_eq!(policy.non_fatal_status_codes, codes);
        assert!(policy.is_non_fatal(Code::Aborted));
        assert!(!policy.is_non_fatal(Code::DeadlineExceeded));
        // A6's second example: all four at once.
        let at_once = hedging(json!({
            "maxAttempts": 4,
            "hedgingDelay": "0s",
            "nonFatalStatusCodes": ["UNAVAILABLE", "INTERNAL", "ABORTED"]
        }))
        .unwrap();
        assert_eq!(at_once.hedging_delay, Duration::ZERO);
    }

    #[test]
    fn a6_retry_throttling_example() {
        let throttle = throttling(json!({"maxTokens": 10, "tokenRatio": 0.1})).unwrap();
        assert_eq!(throttle, RetryThrottling::new(10, 0.1));
        assert_eq!(throttle.max_tokens, 10);
        assert_eq!(throttle.token_ratio_milli, 100);
    }

    #[test]
    fn max_attempts_above_five_is_capped() {
        for attempts in [json!(7), json!(6), json!("7"), json!(1e9), json!(u64::MAX)] {
            let policy = retry(a6_retry_with("maxAttempts", Some(attempts.clone()))).unwrap();
            assert_eq!(policy.max_attempts, 5, "{attempts}");
        }
        let huge = json!("99999999999999999999999999999999999999999999");
        let policy = retry(a6_retry_with("maxAttempts", Some(huge))).unwrap();
        assert_eq!(policy.max_attempts, 5);
        let policy = hedging(json!({"maxAttempts": 7})).unwrap();
        assert_eq!(policy.max_attempts, 5);
        for (attempts, expected) in [(json!(2), 2), (json!(5), 5), (json!("3"), 3)] {
            let policy = retry(a6_retry_with("maxAttempts", Some(attempts))).unwrap();
            assert_eq!(policy.max_attempts, expected);
        }
    }

    #[test]
    fn max_attempts_below_two_or_not_whole_is_an_error() {
        let path = "$.methodConfig[0].retryPolicy.maxAttempts";
        let cases = [
            (json!(1), "must be at least 2, got 1"),
            (json!(0), "must be at least 2, got 0"),
            (json!(-3), "must be at least 2, got -3"),
            (json!("1"), "must be at least 2, got \"1\""),
            (json!("-7"), "must be at least 2, got \"-7\""),
            (json!(2.5), "expected a whole number, got 2.5"),
            (json!("2.0"), "expected a whole number, got \"2.0\""),
            (json!(""), "expected a whole number, got \"\""),
            (json!(true), "expected a whole number, got true"),
            (json!([3]), "expected a whole number, got an array"),
        ];
        for (attempts, message) in cases {
            let result = retry(a6_retry_with("maxAttempts", Some(attempts.clone())));
            assert_eq!(failure(result), (path.into(), message.into()), "{attempts}");
        }
        assert_eq!(
            failure(hedging(json!({"maxAttempts": 1}))),
            (
                "$.methodConfig[0].hedgingPolicy.maxAttempts".into(),
                "must be at least 2, got 1".into()
            )
        );
    }

    #[test]
    fn each_required_field_missing_is_an_error() {
        for key in [
            "maxAttempts",
            "initialBackoff",
            "maxBackoff",
            "backoffMultiplier",
            "retryableStatusCodes",
        ] {
            let expected = (
                format!("$.methodConfig[0].retryPolicy.{key}"),
                "a required field is missing".to_owned(),
            );
            // Absent and null are the same (proto3 JSON).
            assert_eq!(failure(retry(a6_retry_with(key, None))), expected);
            assert_eq!(
                failure(retry(a6_retry_with(key, Some(Value::Null)))),
                expected
            );
        }
        assert_eq!(
            failure(hedging(json!({"hedgingDelay": "1s"}))),
            (
                "$.methodConfig[0].hedgingPolicy.maxAttempts".into(),
                "a required field is missing".into()
            )
        );
        for (input, key) in [
            (json!({"tokenRatio": 0.1}), "maxTokens"),
            (json!({"maxTokens": 10}), "tokenRatio"),
            (json!({"maxTokens": 10, "tokenRatio": null}), "tokenRatio"),
        ] {
            assert_eq!(
                failure(throttling(input)),
                (
                    format!("$.retryThrottling.{key}"),
                    "a required field is missing".into()
                )
            );
        }
    }

    #[test]
    fn hedging_delay_and_codes_are_optional() {
        let policy = hedging(json!({"maxAttempts": 3})).unwrap();
        assert_eq!(policy, HedgingPolicy::new(3, Duration::ZERO, Vec::new()));
        let policy = hedging(json!({
            "maxAttempts": 3, "hedgingDelay": null, "nonFatalStatusCodes": []
        }))
        .unwrap();
        assert_eq!(policy.non_fatal_status_codes, Vec::new());
        assert!(!policy.is_non_fatal(Code::Unavailable));
        let (path, message) = failure(hedging(json!({"maxAttempts": 3, "hedgingDelay": "-1s"})));
        assert_eq!(path, "$.methodConfig[0].hedgingPolicy.hedgingDelay");
        assert_eq!(message, "a duration must not be negative, got \"-1s\"");
    }

    #[test]
    fn backoffs_must_be_positive_durations() {
        for key in ["initialBackoff", "maxBackoff"] {
            let path = format!("$.methodConfig[0].retryPolicy.{key}");
            let cases = [
                (json!("0s"), "must be greater than 0, got \"0s\""),
                (json!("0.000s"), "must be greater than 0, got \"0.000s\""),
                (json!("-1s"), "a duration must not be negative, got \"-1s\""),
                (
                    json!("-0.1s"),
                    "a duration must not be negative, got \"-0.1s\"",
                ),
                (json!(1), "expected a duration like \"1.5s\", got 1"),
                (json!("1"), "expected a duration like \"1.5s\", got \"1\""),
            ];
            for (backoff, message) in cases {
                let result = retry(a6_retry_with(key, Some(backoff.clone())));
                assert_eq!(failure(result), (path.clone(), message.into()), "{backoff}");
            }
            let policy = retry(a6_retry_with(key, Some(json!("0.000000001s")))).unwrap();
            assert!(!policy.initial_backoff.is_zero() && !policy.max_backoff.is_zero());
        }
    }

    #[test]
    fn backoff_multiplier_must_be_finite_and_positive() {
        let path = "$.methodConfig[0].retryPolicy.backoffMultiplier";
        let cases = [
            (json!(0), "must be a finite number greater than 0, got 0"),
            (
                json!(0.0),
                "must be a finite number greater than 0, got 0.0",
            ),
            (json!(-2), "must be a finite number greater than 0, got -2"),
            (
                json!(-0.5),
                "must be a finite number greater than 0, got -0.5",
            ),
            (
                json!("0"),
                "must be a finite number greater than 0, got \"0\"",
            ),
            (
                json!("NaN"),
                "must be a finite number greater than 0, got \"NaN\"",
            ),
            (
                json!("Infinity"),
                "must be a finite number greater than 0, got \"Infinity\"",
            ),
            (
                json!("1e999"),
                "must be a finite number greater than 0, got \"1e999\"",
            ),
            (json!("two"), "expected a number, got \"two\""),
            (json!(" 2"), "expected a number, got \" 2\""),
            (json!("2."), "expected a number, got \"2.\""),
            (json!(true), "expected a number, got true"),
            (json!({}), "expected a number, got an object"),
        ];
        for (multiplier, message) in cases {
            let result = retry(a6_retry_with("backoffMultiplier", Some(multiplier.clone())));
            assert_eq!(
                failure(result),
                (path.into(), message.into()),
                "{multiplier}"
            );
        }
        for (multiplier, expected) in [
            (json!(1.5), 1.5),
            (json!(0.5), 0.5),
            (json!("1.5"), 1.5),
            (json!("2"), 2.0),
            (json!("25e-1"), 2.5),
            (json!(1e300), 1e300),
        ] {
            let policy = retry(a6_retry_with("backoffMultiplier", Some(multiplier))).unwrap();
            assert_eq!(policy.backoff_multiplier, expected);
        }
    }

    #[test]
    fn status_code_lists() {
        let codes_path = "$.methodConfig[0].retryPolicy.retryableStatusCodes";
        let with_codes = |codes: Value| retry(a6_retry_with("retryableStatusCodes", Some(codes)));
        assert_eq!(
            failure(with_codes(json!([]))),
            (codes_path.into(), "must not be empty".into())
        );
        assert_eq!(
            failure(with_codes(json!("UNAVAILABLE"))),
            (
                codes_path.into(),
                "expected an array, got \"UNAVAILABLE\"".into()
            )
        );
        let expected = "expected a status code name like \"UNAVAILABLE\" or a number from 1 to 16";
        let cases = [
            (json!(["UNAVAILABLE", "NOT_A_CODE"]), 1, "\"NOT_A_CODE\""),
            (json!(["unavailable"]), 0, "\"unavailable\""),
            (json!(["Unavailable"]), 0, "\"Unavailable\""),
            (json!([" UNAVAILABLE"]), 0, "\" UNAVAILABLE\""),
            (json!(["14"]), 0, "\"14\""),
            (json!([14, 17]), 1, "17"),
            (json!([-1]), 0, "-1"),
            (json!([14.5]), 0, "14.5"),
            (json!([null]), 0, "null"),
            (json!([["UNAVAILABLE"]]), 0, "an array"),
        ];
        for (codes, index, got) in cases {
            assert_eq!(
                failure(with_codes(codes.clone())),
                (
                    format!("{codes_path}[{index}]"),
                    format!("{expected}, got {got}")
                ),
                "{codes}"
            );
        }
        for (codes, got) in [(json!(["OK"]), "\"OK\""), (json!(["ABORTED", 0]), "0")] {
            let index = codes.as_array().unwrap().len() - 1;
            assert_eq!(
                failure(with_codes(codes.clone())),
                (
                    format!("{codes_path}[{index}]"),
                    format!("OK is not an error status code, got {got}")
                ),
                "{codes}"
            );
        }
        let (path, _) = failure(hedging(
            json!({"maxAttempts": 2, "nonFatalStatusCodes": ["OK"]}),
        ));
        assert_eq!(
            path,
            "$.methodConfig[0].hedgingPolicy.nonFatalStatusCodes[0]"
        );
    }

    #[test]
    fn status_codes_by_number_and_without_repeats() {
        let policy = retry(a6_retry_with(
            "retryableStatusCodes",
            Some(json!([14, "UNAVAILABLE", 16, 1, 13.0, "CANCELLED", 14])),
        ))
        .unwrap();
        assert_eq!(
            policy.retryable_status_codes,
            vec![
                Code::Unavailable,
                Code::Unauthenticated,
                Code::Cancelled,
                Code::Internal
            ]
        );
        // Every code but OK, by name and by number.
        for code in Code::ALL.into_iter().skip(1) {
            for spelled in [json!(code.name()), json!(code.as_i32())] {
                let policy = retry(a6_retry_with(
                    "retryableStatusCodes",
                    Some(json!([spelled])),
                ))
                .unwrap();
                assert_eq!(policy.retryable_status_codes, vec![code]);
            }
        }
        let policy = hedging(json!({
            "maxAttempts": 2,
            "nonFatalStatusCodes": ["INTERNAL", 13, "INTERNAL"]
        }))
        .unwrap();
        assert_eq!(policy.non_fatal_status_codes, vec![Code::Internal]);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let policy = retry(a6_retry_with("perAttemptRecvTimeout", Some(json!("1s")))).unwrap();
        assert_eq!(policy, retry(a6_retry()).unwrap());
        assert!(hedging(json!({"maxAttempts": 2, "future": [1]})).is_ok());
        assert!(throttling(json!({"maxTokens": 1, "tokenRatio": 1, "x": {}})).is_ok());
    }

    #[test]
    fn policies_must_be_objects() {
        assert_eq!(
            failure(retry(json!([]))),
            (
                "$.methodConfig[0].retryPolicy".into(),
                "expected an object, got an array".into()
            )
        );
        assert_eq!(
            failure(hedging(json!("x"))),
            (
                "$.methodConfig[0].hedgingPolicy".into(),
                "expected an object, got \"x\"".into()
            )
        );
        assert_eq!(
            failure(throttling(json!(10))),
            (
                "$.retryThrottling".into(),
                "expected an object, got 10".into()
            )
        );
    }

    #[test]
    fn token_ratio_keeps_three_decimal_places() {
        let ratio = |ratio: Value| {
            throttling(json!({"maxTokens": 10, "tokenRatio": ratio})).map(|t| t.token_ratio_milli)
        };
        let cases = [
            (json!(0.1), 100),
            (json!(0.1234), 123),
            (json!(0.1239), 123),
            (json!(0.001), 1),
            (json!(0.29), 290),
            (json!(1), 1000),
            (json!(1.5), 1500),
            (json!(2.0), 2000),
            (json!(1e-3), 1),
            (json!(1e3), 1_000_000),
            (json!(0.999_999), 999),
            (json!("0.1"), 100),
            (json!("0.1234"), 123),
            (json!("0.0999999999999999999999"), 99),
            (json!("1E-1"), 100),
            (json!("12.5e-1"), 1250),
            (json!("007"), 7000),
            (json!(u64::MAX), u32::MAX),
            (json!(1e300), u32::MAX),
            (json!("1e99999999999999999999"), u32::MAX),
        ];
        for (input, expected) in cases {
            assert_eq!(ratio(input.clone()), Ok(expected), "{input}");
        }
        let path = "$.retryThrottling.tokenRatio";
        let too_small = |got: &str| {
            (
                path.to_owned(),
                format!("must be at least 0.001 (3 decimal places are used), got {got}"),
            )
        };
        for (input, got) in [
            (json!(0), "0"),
            (json!(0.0), "0.0"),
            (json!(0.0001), "0.0001"),
            (json!(0.0009), "0.0009"),
            (json!(-0.1), "-0.1"),
            (json!(-1), "-1"),
            (json!("0.0005"), "\"0.0005\""),
            (json!("-0"), "\"-0\""),
            (
                json!("1e-99999999999999999999"),
                "\"1e-99999999999999999999\"",
            ),
        ] {
            assert_eq!(failure(ratio(input.clone())), too_small(got), "{input}");
        }
        for input in [
            json!("abc"),
            json!(""),
            json!(".1"),
            json!("1."),
            json!("+1"),
            json!("1e"),
            json!("0x1"),
            json!(" 0.1"),
            json!("NaN"),
            json!(true),
            json!([0.1]),
        ] {
            let (error_path, message) = failure(ratio(input.clone()));
            assert_eq!(error_path, path);
            assert!(
                message.starts_with("expected a number like 0.1, got "),
                "{message}"
            );
        }
    }

    #[test]
    fn max_tokens_is_from_one_to_a_thousand() {
        let tokens = |tokens: Value| {
            throttling(json!({"maxTokens": tokens, "tokenRatio": 0.5})).map(|t| t.max_tokens)
        };
        for (input, expected) in [
            (json!(1), 1),
            (json!(1000), 1000),
            (json!("10"), 10),
            (json!(10.0), 10),
        ] {
            assert_eq!(tokens(input.clone()), Ok(expected), "{input}");
        }
        let path = "$.retryThrottling.maxTokens";
        for (input, message) in [
            (json!(0), "must be between 1 and 1000, got 0"),
            (json!(1001), "must be between 1 and 1000, got 1001"),
            (json!(-5), "must be between 1 and 1000, got -5"),
            (json!("0"), "must be between 1 and 1000, got \"0\""),
            (
                json!(u64::MAX),
                "must be between 1 and 1000, got 18446744073709551615",
            ),
            (json!(10.5), "expected a whole number, got 10.5"),
            (json!("ten"), "expected a whole number, got \"ten\""),
        ] {
            assert_eq!(
                failure(tokens(input.clone())),
                (path.into(), message.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn constructors_clamp_instead_of_panicking() {
        let policy = RetryPolicy::new(0, ms(1), ms(2), 1.5, vec![Code::Aborted, Code::Aborted]);
        assert_eq!(policy.max_attempts, 2);
        assert_eq!(policy.retryable_status_codes, vec![Code::Aborted]);
        assert_eq!(
            RetryPolicy::new(u32::MAX, ms(1), ms(2), 1.5, vec![]).max_attempts,
            5
        );
        assert_eq!(
            RetryPolicy::new(3, ms(1), ms(2), 1.5, vec![]).max_attempts,
            3
        );
        let hedge = HedgingPolicy::new(9, ms(5), vec![Code::Internal, Code::Internal]);
        assert_eq!(hedge.max_attempts, 5);
        assert_eq!(hedge.non_fatal_status_codes, vec![Code::Internal]);
        assert_eq!(HedgingPolicy::new(1, ms(5), vec![]).max_attempts, 2);

        let cases = [
            ((10, 0.1), (10, 100)),
            ((10, 0.29), (10, 290)),
            ((10, 0.1235), (10, 124)),
            ((0, 0.5), (1, 500)),
            ((5000, 0.5), (1000, 500)),
            ((7, 0.0), (7, 1)),
            ((7, 0.0001), (7, 1)),
            ((7, -3.0), (7, 1)),
            ((7, f64::NAN), (7, 1)),
            ((7, f64::INFINITY), (7, u32::MAX)),
            ((7, 1e12), (7, u32::MAX)),
        ];
        for ((tokens, ratio), (max_tokens, milli)) in cases {
            let throttle = RetryThrottling::new(tokens, ratio);
            assert_eq!(
                (throttle.max_tokens, throttle.token_ratio_milli),
                (max_tokens, milli),
                "new({tokens}, {ratio})"
            );
        }
    }

    #[test]
    fn thousandths_reads_decimal_text_exactly() {
        assert_eq!(thousandths("0.1"), Some((false, 100)));
        assert_eq!(thousandths("-0.1"), Some((true, 100)));
        assert_eq!(thousandths("123.4567"), Some((false, 123_456)));
        assert_eq!(thousandths("0.00001e5"), Some((false, 1000)));
        assert_eq!(thousandths("1000e-6"), Some((false, 1)));
        assert_eq!(thousandths("1000e-7"), Some((false, 0)));
        assert_eq!(thousandths("0e999999"), Some((false, 0)));
        assert_eq!(thousandths("4294967.295"), Some((false, u32::MAX)));
        assert_eq!(thousandths("4294967.296"), Some((false, u32::MAX)));
        for bad in [
            "", "-", ".", "1.", ".1", "1e", "1e+", "--1", "1.2.3", "1e1.5", "１",
        ] {
            assert_eq!(thousandths(bad), None, "{bad:?}");
        }
    }

    proptest! {
        /// Any decimal with at most 3 fraction digits reads back exactly.
        #[test]
        fn thousandths_match_integer_arithmetic(whole in 0u32..4_294_967, fraction in 0u32..1000) {
            let text = format!("{whole}.{fraction:03}");
            prop_assert_eq!(thousandths(&text), Some((false, whole * 1000 + fraction)));
            let shifted = format!("{whole}{fraction:03}e-3");
            prop_assert_eq!(thousandths(&shifted), Some((false, whole * 1000 + fraction)));
        }

        #[test]
        fn thousandths_never_panics(text in "[-+0-9.eE]{0,24}") {
            let _ = thousandths(&text);
        }

        /// `RetryThrottling::new` always yields values the parser accepts.
        #[test]
        fn throttling_constructor_is_in_range(tokens in any::<u32>(), ratio in any::<f64>()) {
            let throttle = RetryThrottling::new(tokens, ratio);
            prop_assert!((1..=MAX_TOKENS_CAP).contains(&throttle.max_tokens));
            prop_assert!(throttle.token_ratio_milli >= 1);
        }
    }
}
