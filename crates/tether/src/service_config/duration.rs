//! `google.protobuf.Duration` in proto3 JSON form: a decimal number of
//! seconds with an `s` suffix (`"1.5s"`, `"0.000000001s"`, `"30s"`).
//!
//! The whole part may be left out before a fraction (`".1s"`): gRFC A6's
//! examples write backoffs that way and grpc-go reads them (C-core and
//! grpc-java do not).

use super::error::{Path, ServiceConfigError};
use serde_json::Value;
use std::time::Duration;

/// The largest number of seconds a `google.protobuf.Duration` may hold
/// (duration.proto: about 10,000 years).
const MAX_SECONDS: u64 = 315_576_000_000;

/// What a duration string gets wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem {
    /// Not `<digits>[.<digits>]s`.
    Malformed,
    /// A leading `-`: a timeout or backoff cannot be negative.
    Negative,
    /// More than 9 fraction digits (finer than a nanosecond).
    TooPrecise,
    /// More than [`MAX_SECONDS`].
    TooLarge,
}

/// The duration at `path`, or an error naming the path.
pub(super) fn parse(value: &Value, path: &Path<'_>) -> Result<Duration, ServiceConfigError> {
    const EXPECTED: &str = "a duration like \"1.5s\"";
    let Some(text) = value.as_str() else {
        return Err(path.expected(EXPECTED, value));
    };
    parse_str(text).map_err(|problem| match problem {
        Problem::Malformed => path.expected(EXPECTED, value),
        Problem::Negative => path.error(format!("a duration must not be negative, got {value}")),
        Problem::TooPrecise => path.error(format!(
            "a duration has at most 9 fraction digits (nanoseconds), got {value}"
        )),
        Problem::TooLarge => path.error(format!(
            "a duration is at most {MAX_SECONDS} seconds, got {value}"
        )),
    })
}

/// `<digits>[.<1 to 9 digits>]s`, as proto3 JSON writes a non-negative
/// `google.protobuf.Duration`, or `.<1 to 9 digits>s` (gRFC A6's
/// `".1s"`). No sign, exponent, blanks or other empty parts.
fn parse_str(text: &str) -> Result<Duration, Problem> {
    let body = text.strip_suffix('s').ok_or(Problem::Malformed)?;
    if let Some(magnitude) = body.strip_prefix('-') {
        // Tell "-1s" (well formed, but negative) from plain garbage.
        if magnitude.starts_with('-') {
            return Err(Problem::Malformed);
        }
        return Err(match parse_str(&format!("{magnitude}s")) {
            Ok(_) | Err(Problem::TooPrecise | Problem::TooLarge) => Problem::Negative,
            Err(problem) => problem,
        });
    }
    let (whole, fraction) = match body.split_once('.') {
        // ".1s": no whole part, as gRFC A6's examples write it.
        Some(("", fraction)) => ("0", Some(fraction)),
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (body, None),
    };
    if !all_digits(whole) {
        return Err(Problem::Malformed);
    }
    let mut nanos = 0u32;
    if let Some(fraction) = fraction {
        if !all_digits(fraction) {
            return Err(Problem::Malformed);
        }
        if fraction.len() > 9 {
            return Err(Problem::TooPrecise);
        }
        for position in 0..9 {
            let digit = fraction.as_bytes().get(position).map_or(0, |b| b - b'0');
            nanos = nanos * 10 + u32::from(digit);
        }
    }
    // Only digits, so the one possible failure is overflow.
    let seconds: u64 = whole.parse().map_err(|_| Problem::TooLarge)?;
    if seconds > MAX_SECONDS {
        return Err(Problem::TooLarge);
    }
    Ok(Duration::new(seconds, nanos))
}

/// Non-empty and ASCII digits only.
fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at_timeout(value: Value) -> Result<Duration, ServiceConfigError> {
        let root = Path::Root;
        parse(&value, &root.key("timeout"))
    }

    #[test]
    fn accepts_proto3_json_forms() {
        let cases = [
            ("1s", Duration::from_secs(1)),
            ("0s", Duration::ZERO),
            ("1.5s", Duration::from_millis(1500)),
            ("0.000000001s", Duration::from_nanos(1)),
            ("1.000340012s", Duration::new(1, 340_012)),
            ("0.1s", Duration::from_millis(100)),
            // gRFC A6's examples leave out the whole part.
            (".1s", Duration::from_millis(100)),
            (".5s", Duration::from_millis(500)),
            (".000000001s", Duration::from_nanos(1)),
            ("030s", Duration::from_secs(30)),
            (
                "315576000000.999999999s",
                Duration::new(MAX_SECONDS, 999_999_999),
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_str(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_strings() {
        for text in [
            "", "s", "1", "1.5", "abc", ".s", "1.s", "1.5.5s", "+1s", " 1s", "1s ", "1 s", "1e3s",
            "1,5s", "1S", "ss", "-s", "--1s", "-.s", "..5s", ".5.5s", ".+5s", "0x10s", "１s",
        ] {
            assert_eq!(parse_str(text), Err(Problem::Malformed), "{text:?}");
        }
    }

    #[test]
    fn rejects_negative_too_precise_and_too_large() {
        assert_eq!(parse_str("-1s"), Err(Problem::Negative));
        assert_eq!(parse_str("-0s"), Err(Problem::Negative));
        assert_eq!(parse_str("-0.0000000001s"), Err(Problem::Negative));
        assert_eq!(parse_str("-.5s"), Err(Problem::Negative));
        assert_eq!(parse_str(".0000000001s"), Err(Problem::TooPrecise));
        assert_eq!(parse_str("1.0000000001s"), Err(Problem::TooPrecise));
        assert_eq!(parse_str("315576000001s"), Err(Problem::TooLarge));
        assert_eq!(
            parse_str("99999999999999999999999s"),
            Err(Problem::TooLarge)
        );
    }

    #[test]
    fn errors_name_the_path_and_the_value() {
        let error = at_timeout(Value::from("abc")).unwrap_err();
        assert_eq!(
            error.to_string(),
            r#"service config: $.timeout: expected a duration like "1.5s", got "abc""#
        );
        let error = at_timeout(serde_json::json!(1.5)).unwrap_err();
        assert_eq!(
            error.message(),
            r#"expected a duration like "1.5s", got 1.5"#
        );
        let error = at_timeout(serde_json::json!({"seconds": 1})).unwrap_err();
        assert_eq!(
            error.message(),
            r#"expected a duration like "1.5s", got an object"#
        );
        let error = at_timeout(Value::from("-2s")).unwrap_err();
        assert_eq!(
            error.message(),
            r#"a duration must not be negative, got "-2s""#
        );
        let error = at_timeout(Value::from("1.0000000001s")).unwrap_err();
        assert_eq!(error.path(), "$.timeout");
        assert!(
            error.message().contains("at most 9 fraction digits"),
            "{error}"
        );
        let error = at_timeout(Value::from("400000000000s")).unwrap_err();
        assert!(
            error.message().contains("at most 315576000000 seconds"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn formatted_durations_parse_back(seconds in 0..=MAX_SECONDS, nanos in 0u32..1_000_000_000) {
            let text = format!("{seconds}.{nanos:09}s");
            prop_assert_eq!(parse_str(&text), Ok(Duration::new(seconds, nanos)));
        }

        #[test]
        fn arbitrary_strings_never_panic(text in ".{0,24}") {
            let _ = parse_str(&text);
        }
    }
}
