//! `methodConfig` entries: [`MethodConfig`] and [`MethodName`].

use super::duration;
use super::error::{array, boolean, field, object, string, Path, ServiceConfigError};
use super::retry::{self, HedgingPolicy, RetryPolicy};
use serde_json::Value;
use std::time::Duration;

/// Settings for the calls one `methodConfig` entry names.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct MethodConfig {
    /// The methods this entry applies to (`name`). An entry without names
    /// applies to no method (the proto says such entries are skipped).
    pub names: Vec<MethodName>,
    /// The default deadline of a call (`timeout`, e.g. `"1.5s"`); the
    /// smaller of this and the application's deadline applies.
    pub timeout: Option<Duration>,
    /// Whether calls wait for a ready connection instead of failing fast
    /// (`waitForReady`), unless the application says otherwise.
    pub wait_for_ready: Option<bool>,
    /// The largest request message, in bytes (`maxRequestMessageBytes`).
    pub max_request_message_bytes: Option<usize>,
    /// The largest response message, in bytes (`maxResponseMessageBytes`).
    pub max_response_message_bytes: Option<usize>,
    /// How failed calls are retried (`retryPolicy`, gRFC A6). The parser
    /// never sets both this and `hedging_policy` (the proto makes them a
    /// oneof); `None` (absent or `null`) means no retries beyond the
    /// transparent ones.
    pub retry_policy: Option<RetryPolicy>,
    /// How calls are hedged (`hedgingPolicy`, gRFC A6).
    pub hedging_policy: Option<HedgingPolicy>,
}

/// One `name` of a method config: `{"service": "pkg.Svc", "method": "M"}`.
///
/// Both empty is the default for every method; a service alone is the
/// default for that service's methods. An empty string, `null` and an
/// absent field are the same and are all held as `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MethodName {
    /// The fully qualified service (`pkg.Svc`), `None` for the default name.
    pub service: Option<String>,
    /// The method (`M`), `None` for every method of the service.
    pub method: Option<String>,
}

impl MethodName {
    /// The name for error messages: `{"service": "s", "method": "m"}`,
    /// `{"service": "s"}` or `{}` (the default).
    pub(super) fn describe(&self) -> String {
        let quote = |text: &str| Value::from(text).to_string();
        match (&self.service, &self.method) {
            (Some(service), Some(method)) => {
                format!(
                    r#"{{"service": {}, "method": {}}}"#,
                    quote(service),
                    quote(method)
                )
            }
            (Some(service), None) => format!(r#"{{"service": {}}}"#, quote(service)),
            (None, Some(method)) => format!(r#"{{"method": {}}}"#, quote(method)),
            (None, None) => "{}".to_owned(),
        }
    }
}

/// The method config at `path` (an element of `$.methodConfig`).
pub(super) fn parse(value: &Value, path: &Path<'_>) -> Result<MethodConfig, ServiceConfigError> {
    let entry = object(value, path)?;
    let mut config = MethodConfig::default();
    if let Some(names) = field(entry, "name") {
        let names_path = path.key("name");
        for (index, name) in array(names, &names_path)?.iter().enumerate() {
            config
                .names
                .push(parse_name(name, &names_path.index(index))?);
        }
    }
    if let Some(timeout) = field(entry, "timeout") {
        config.timeout = Some(duration::parse(timeout, &path.key("timeout"))?);
    }
    if let Some(wait) = field(entry, "waitForReady") {
        config.wait_for_ready = Some(boolean(wait, &path.key("waitForReady"))?);
    }
    if let Some(size) = field(entry, "maxRequestMessageBytes") {
        let size_path = path.key("maxRequestMessageBytes");
        config.max_request_message_bytes = Some(parse_size(size, &size_path)?);
    }
    if let Some(size) = field(entry, "maxResponseMessageBytes") {
        let size_path = path.key("maxResponseMessageBytes");
        config.max_response_message_bytes = Some(parse_size(size, &size_path)?);
    }
    let retry_policy = field(entry, "retryPolicy");
    let hedging_policy = field(entry, "hedgingPolicy");
    let hedging_path = path.key("hedgingPolicy");
    // service_config.proto: a oneof, so at most one of the two (checked
    // first, whatever either holds).
    if retry_policy.is_some() && hedging_policy.is_some() {
        return Err(hedging_path.error("retryPolicy and hedgingPolicy are mutually exclusive"));
    }
    if let Some(policy) = retry_policy {
        let retry_path = path.key("retryPolicy");
        config.retry_policy = Some(retry::parse_retry_policy(policy, &retry_path)?);
    }
    if let Some(policy) = hedging_policy {
        config.hedging_policy = Some(retry::parse_hedging_policy(policy, &hedging_path)?);
    }
    Ok(config)
}

/// One element of `name`.
fn parse_name(value: &Value, path: &Path<'_>) -> Result<MethodName, ServiceConfigError> {
    let name = object(value, path)?;
    let part = |key: &'static str| -> Result<Option<String>, ServiceConfigError> {
        match field(name, key) {
            None => Ok(None),
            Some(text) => {
                let text = string(text, &path.key(key))?;
                Ok((!text.is_empty()).then(|| text.to_owned()))
            }
        }
    };
    let service = part("service")?;
    let method = part("method")?;
    // service_config.proto: if the service is empty, the method must be too.
    if let (None, Some(method)) = (&service, &method) {
        return Err(path.key("service").error(format!(
            "required when a method is named (method {})",
            Value::from(method.as_str())
        )));
    }
    Ok(MethodName { service, method })
}

/// A message size: a JSON number or, as proto3 JSON allows, a string of
/// digits. Whole numbers written with a fraction or exponent (`4e6`) are
/// accepted as numbers; fractions, negatives and values above `usize` are
/// errors.
fn parse_size(value: &Value, path: &Path<'_>) -> Result<usize, ServiceConfigError> {
    let negative = || path.error(format!("a size must not be negative, got {value}"));
    let too_large = || path.error(format!("a size is at most {}, got {value}", usize::MAX));
    let bytes: u64 = match value {
        Value::Number(number) => {
            if let Some(whole) = number.as_u64() {
                whole
            } else if number.as_i64().is_some() {
                return Err(negative());
            } else {
                // A float: whole and in range, or an error.
                let float = number.as_f64().unwrap_or(f64::NAN);
                if float.fract() != 0.0 || !float.is_finite() {
                    return Err(path.expected("a whole number of bytes", value));
                }
                if float < 0.0 {
                    return Err(negative());
                }
                // 2^64: every f64 below it converts exactly into a u64.
                if float >= 18_446_744_073_709_551_616.0 {
                    return Err(too_large());
                }
                float as u64
            }
        }
        Value::String(text) => {
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(path.expected("a whole number of bytes", value));
            }
            if digits.len() != text.len() {
                return Err(negative());
            }
            text.parse().map_err(|_| too_large())?
        }
        other => return Err(path.expected("a whole number of bytes", other)),
    };
    usize::try_from(bytes).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;
    use serde_json::json;

    fn method_config(value: Value) -> Result<MethodConfig, ServiceConfigError> {
        let root = Path::Root;
        let list = root.key("methodConfig");
        parse(&value, &list.index(0))
    }

    fn name(service: Option<&str>, method: Option<&str>) -> MethodName {
        MethodName {
            service: service.map(str::to_owned),
            method: method.map(str::to_owned),
        }
    }

    #[test]
    fn parses_every_field() {
        let config = method_config(json!({
            "name": [{"service": "pkg.Svc", "method": "M"}, {"service": "pkg.Other"}, {}],
            "timeout": "2.5s",
            "waitForReady": true,
            "maxRequestMessageBytes": 1024,
            "maxResponseMessageBytes": "4194304",
            "retryPolicy": {
                "maxAttempts": 3,
                "initialBackoff": "0.25s",
                "maxBackoff": "2s",
                "backoffMultiplier": 1.5,
                "retryableStatusCodes": ["UNAVAILABLE", "RESOURCE_EXHAUSTED"]
            },
            "futureField": [1, 2, 3]
        }))
        .unwrap();
        assert_eq!(
            config.names,
            vec![
                name(Some("pkg.Svc"), Some("M")),
                name(Some("pkg.Other"), None),
                name(None, None)
            ]
        );
        assert_eq!(config.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(config.wait_for_ready, Some(true));
        assert_eq!(config.max_request_message_bytes, Some(1024));
        assert_eq!(config.max_response_message_bytes, Some(4_194_304));
        assert_eq!(
            config.retry_policy,
            Some(RetryPolicy::new(
                3,
                Duration::from_millis(250),
                Duration::from_secs(2),
                1.5,
                vec![Code::Unavailable, Code::ResourceExhausted]
            ))
        );
        assert_eq!(config.hedging_policy, None);
    }

    #[test]
    fn empty_null_and_absent_names_are_the_same() {
        let config = method_config(json!({"name": [
            {"service": "s", "method": ""},
            {"service": "s", "method": null},
            {"service": "", "method": ""},
            {"service": null}
        ]}))
        .unwrap();
        assert_eq!(
            config.names,
            vec![
                name(Some("s"), None),
                name(Some("s"), None),
                name(None, None),
                name(None, None)
            ]
        );
    }

    #[test]
    fn nulls_are_absent_and_names_are_optional() {
        let config = method_config(json!({
            "name": null, "timeout": null, "waitForReady": null, "retryPolicy": null
        }))
        .unwrap();
        assert_eq!(config, MethodConfig::default());
        // A null policy does not count against the other one.
        let config = method_config(json!({
            "retryPolicy": null, "hedgingPolicy": {"maxAttempts": 2}
        }))
        .unwrap();
        assert_eq!(config.retry_policy, None);
        assert_eq!(
            config.hedging_policy,
            Some(HedgingPolicy::new(2, Duration::ZERO, vec![]))
        );
        let config = method_config(json!({
            "retryPolicy": {
                "maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s",
                "backoffMultiplier": 1, "retryableStatusCodes": [14]
            },
            "hedgingPolicy": null
        }))
        .unwrap();
        assert_eq!(config.hedging_policy, None);
        assert!(config.retry_policy.is_some());
    }

    #[test]
    fn method_without_service_is_an_error() {
        let error =
            method_config(json!({"name": [{"service": "a"}, {"method": "Foo"}]})).unwrap_err();
        assert_eq!(error.path(), "$.methodConfig[0].name[1].service");
        assert_eq!(
            error.message(),
            r#"required when a method is named (method "Foo")"#
        );
    }

    #[test]
    fn wrong_types_name_their_path() {
        let cases = [
            (
                json!([]),
                "$.methodConfig[0]",
                "expected an object, got an array",
            ),
            (
                json!({"name": {}}),
                "$.methodConfig[0].name",
                "expected an array, got an object",
            ),
            (
                json!({"name": ["x"]}),
                "$.methodConfig[0].name[0]",
                "expected an object, got \"x\"",
            ),
            (
                json!({"name": [{"service": 7}]}),
                "$.methodConfig[0].name[0].service",
                "expected a string, got 7",
            ),
            (
                json!({"name": [{"service": "s", "method": false}]}),
                "$.methodConfig[0].name[0].method",
                "expected a string, got false",
            ),
            (
                json!({"waitForReady": "true"}),
                "$.methodConfig[0].waitForReady",
                "expected a boolean, got \"true\"",
            ),
            (
                json!({"timeout": 5}),
                "$.methodConfig[0].timeout",
                "expected a duration like \"1.5s\", got 5",
            ),
            (
                json!({"retryPolicy": []}),
                "$.methodConfig[0].retryPolicy",
                "expected an object, got an array",
            ),
            (
                json!({"hedgingPolicy": 1}),
                "$.methodConfig[0].hedgingPolicy",
                "expected an object, got 1",
            ),
            (
                json!({"retryPolicy": {}, "hedgingPolicy": {}}),
                "$.methodConfig[0].hedgingPolicy",
                "retryPolicy and hedgingPolicy are mutually exclusive",
            ),
            (
                json!({"retryPolicy": {}}),
                "$.methodConfig[0].retryPolicy.maxAttempts",
                "a required field is missing",
            ),
            (
                json!({"hedgingPolicy": {"maxAttempts": 4, "hedgingDelay": 0.5}}),
                "$.methodConfig[0].hedgingPolicy.hedgingDelay",
                "expected a duration like \"1.5s\", got 0.5",
            ),
        ];
        for (input, path, message) in cases {
            let error = method_config(input.clone()).unwrap_err();
            assert_eq!((error.path(), error.message()), (path, message), "{input}");
        }
    }

    fn size(value: Value) -> Result<usize, ServiceConfigError> {
        let root = Path::Root;
        parse_size(&value, &root.key("maxRequestMessageBytes"))
    }

    #[test]
    fn sizes_accept_numbers_and_digit_strings() {
        assert_eq!(size(json!(0)), Ok(0));
        assert_eq!(size(json!(4194304)), Ok(4_194_304));
        assert_eq!(size(json!("4194304")), Ok(4_194_304));
        assert_eq!(size(json!("007")), Ok(7));
        assert_eq!(size(json!(4e6)), Ok(4_000_000));
        assert_eq!(size(json!(16.0)), Ok(16));
        #[cfg(target_pointer_width = "64")]
        assert_eq!(size(json!(u64::MAX)), Ok(usize::MAX));
    }

    #[test]
    fn sizes_reject_negatives_fractions_and_overflow() {
        let message = |value: Value| size(value).unwrap_err().message().to_owned();
        assert_eq!(message(json!(-1)), "a size must not be negative, got -1");
        assert_eq!(
            message(json!("-1")),
            "a size must not be negative, got \"-1\""
        );
        assert_eq!(
            message(json!(-2.0)),
            "a size must not be negative, got -2.0"
        );
        assert_eq!(
            message(json!(1.5)),
            "expected a whole number of bytes, got 1.5"
        );
        for bad in [
            json!(""),
            json!("1.5"),
            json!("+1"),
            json!(" 1"),
            json!("1e3"),
            json!("-"),
        ] {
            assert_eq!(
                message(bad.clone()),
                format!("expected a whole number of bytes, got {bad}")
            );
        }
        assert_eq!(
            message(json!(true)),
            "expected a whole number of bytes, got true"
        );
        assert_eq!(
            message(json!([1])),
            "expected a whole number of bytes, got an array"
        );
        assert!(message(json!("18446744073709551616")).starts_with("a size is at most"));
        assert!(message(json!(1e20)).starts_with("a size is at most"));
        let error = size(json!(-1)).unwrap_err();
        assert_eq!(error.path(), "$.maxRequestMessageBytes");
    }
}
