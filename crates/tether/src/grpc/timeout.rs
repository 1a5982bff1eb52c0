//! The `grpc-timeout` header (PROTOCOL-HTTP2.md, "Timeout").
//!
//! `Timeout → "grpc-timeout" TimeoutValue TimeoutUnit`, where the value is at
//! most 8 ASCII digits and the unit one of `H` (hours), `M` (minutes), `S`
//! (seconds), `m` (milliseconds), `u` (microseconds), `n` (nanoseconds).

use std::fmt;
use std::time::Duration;

/// The largest TimeoutValue: 8 digits.
const MAX_VALUE: u128 = 99_999_999;

/// The units, finest first, with their length in nanoseconds.
const UNITS: [(u8, u128); 6] = [
    (b'n', 1),
    (b'u', 1_000),
    (b'm', 1_000_000),
    (b'S', 1_000_000_000),
    (b'M', 60_000_000_000),
    (b'H', 3_600_000_000_000),
];

/// An encoded `grpc-timeout` value, kept inline (no allocation).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TimeoutValue {
    buf: [u8; 9],
    len: u8,
}

impl TimeoutValue {
    /// Encodes `timeout` in the finest unit whose value fits in 8 digits,
    /// rounding up so the server never sees a shorter deadline than ours.
    /// Durations beyond 99,999,999 hours are clamped to that.
    pub fn from_duration(timeout: Duration) -> TimeoutValue {
        let nanos = timeout.as_nanos();
        let (unit, value) = UNITS
            .iter()
            .map(|&(unit, size)| (unit, nanos.div_ceil(size)))
            .find(|&(_, value)| value <= MAX_VALUE)
            .unwrap_or((b'H', MAX_VALUE));
        let mut digits = [0u8; 8];
        let mut n = value;
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let count = digits.len() - i;
        let mut buf = [0u8; 9];
        buf[..count].copy_from_slice(&digits[i..]);
        buf[count] = unit;
        TimeoutValue {
            buf,
            len: (count + 1) as u8,
        }
    }

    /// The header value's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }

    /// The header value as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl fmt::Debug for TimeoutValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeoutValue({:?})", self.as_str())
    }
}

impl fmt::Display for TimeoutValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Parses a `grpc-timeout` value: 1 to 8 digits and a unit. `None` for
/// anything else.
pub fn parse(value: &[u8]) -> Option<Duration> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'));
    let size = UNITS.iter().find(|(u, _)| *u == unit)?.1;
    let nanos = u128::from(n) * size;
    Some(Duration::new(
        u64::try_from(nanos / 1_000_000_000).ok()?,
        (nanos % 1_000_000_000) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(d: Duration) -> String {
        TimeoutValue::from_duration(d).to_string()
    }

    #[test]
    fn picks_the_finest_unit_that_fits() {
        assert_eq!(enc(Duration::ZERO), "0n");
        assert_eq!(enc(Duration::from_nanos(1)), "1n");
        assert_eq!(enc(Duration::from_nanos(99_999_999)), "99999999n");
        assert_eq!(enc(Duration::from_nanos(100_000_000)), "100000u");
        assert_eq!(enc(Duration::from_millis(100)), "100000u");
        assert_eq!(enc(Duration::from_secs(1)), "1000000u");
        assert_eq!(enc(Duration::from_secs(100)), "100000m");
        assert_eq!(enc(Duration::from_secs(100_000)), "100000S");
        assert_eq!(enc(Duration::from_secs(100_000_000)), "1666667M");
        assert_eq!(enc(Duration::from_secs(6_000_000_000)), "1666667H");
    }

    #[test]
    fn rounds_up_and_clamps() {
        // 100 ms + 1 ns does not fit in nanoseconds; it rounds up in micros.
        assert_eq!(enc(Duration::new(0, 100_000_001)), "100001u");
        assert_eq!(enc(Duration::MAX), "99999999H");
        let v = TimeoutValue::from_duration(Duration::from_secs(3));
        assert!(v.as_bytes().len() <= 9);
        assert_eq!(format!("{v:?}"), "TimeoutValue(\"3000000u\")");
    }

    #[test]
    fn parse_each_unit() {
        assert_eq!(parse(b"1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse(b"2M"), Some(Duration::from_secs(120)));
        assert_eq!(parse(b"3S"), Some(Duration::from_secs(3)));
        assert_eq!(parse(b"4m"), Some(Duration::from_millis(4)));
        assert_eq!(parse(b"5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse(b"99999999n"), Some(Duration::from_nanos(99_999_999)));
        assert_eq!(parse(b"0n"), Some(Duration::ZERO));
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            &b""[..],
            b"S",
            b"1",
            b"123456789S",
            b"1s",
            b"1h",
            b"-1S",
            b"1 S",
            b"+1S",
            b"1.5S",
        ] {
            assert_eq!(parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn round_trip_never_shortens() {
        for nanos in [1u64, 999, 1_000_001, 123_456_789_012, 7_200_000_000_001] {
            let d = Duration::from_nanos(nanos);
            let back = parse(TimeoutValue::from_duration(d).as_bytes()).unwrap();
            assert!(back >= d, "{d:?} -> {back:?}");
        }
    }
}
