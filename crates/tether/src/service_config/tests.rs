//! Whole-document tests of [`ServiceConfig`]: parsing, errors with their
//! paths, method lookup precedence, retry settings, and never panicking on
//! any input.

use super::*;
use crate::status::Code;
use proptest::prelude::*;
use std::time::Duration;

fn error_of(json: &str) -> (String, String) {
    let error = ServiceConfig::parse(json).unwrap_err();
    (error.path().to_owned(), error.message().to_owned())
}

fn timeout_of(config: &ServiceConfig, path: &str) -> Option<Duration> {
    config.method_config(path).and_then(|m| m.timeout)
}

#[test]
fn empty_config_and_unknown_fields() {
    assert_eq!(ServiceConfig::parse("{}"), Ok(ServiceConfig::default()));
    let config = ServiceConfig::parse(
        r#"{"retryThrottling": null, "healthCheckConfig": {}, "future": [1]}"#,
    )
    .unwrap();
    assert_eq!(config, ServiceConfig::default());
    assert_eq!(config.method_config("/a.B/C"), None);
}

#[test]
fn retry_throttling_reaches_the_config_and_equality() {
    let config = ServiceConfig::parse(
        r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1, "future": 1}}"#,
    )
    .unwrap();
    assert_eq!(config.retry_throttling, Some(RetryThrottling::new(10, 0.1)));
    // PartialEq compares the throttling too.
    assert_ne!(config, ServiceConfig::default());
    let other =
        ServiceConfig::parse(r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0.2}}"#)
            .unwrap();
    assert_ne!(config, other);
    assert_eq!(
        error_of(r#"{"retryThrottling": {"maxTokens": 10}}"#),
        (
            "$.retryThrottling.tokenRatio".into(),
            "a required field is missing".into()
        )
    );
    assert_eq!(
        error_of(r#"{"retryThrottling": {"maxTokens": 0, "tokenRatio": 0.1}}"#),
        (
            "$.retryThrottling.maxTokens".into(),
            "must be between 1 and 1000, got 0".into()
        )
    );
    assert_eq!(
        error_of(r#"{"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}}"#),
        (
            "$.retryThrottling.tokenRatio".into(),
            "must be at least 0.001 (3 decimal places are used), got 0".into()
        )
    );
    assert_eq!(
        error_of(r#"{"retryThrottling": []}"#),
        (
            "$.retryThrottling".into(),
            "expected an object, got an array".into()
        )
    );
    // Decimal text, not a float: 0.1234 is 123 thousandths; strings too.
    let config = ServiceConfig::parse(
        r#"{"retryThrottling": {"maxTokens": "1000", "tokenRatio": "0.1234"}}"#,
    )
    .unwrap();
    let throttling = config.retry_throttling.unwrap();
    assert_eq!(
        (throttling.max_tokens, throttling.token_ratio_milli),
        (1000, 123)
    );
}

/// gRFC A6's three examples in one document, verbatim (`".1s"` included),
/// with the rest of a realistic config around them.
#[test]
fn a6_examples_in_a_full_config() {
    let config = ServiceConfig::parse(
        r#"{
          "loadBalancingConfig": [{"round_robin": {}}],
          "healthCheckConfig": {"serviceName": "pkg.Svc"},
          "methodConfig": [
            {
              "name": [{"service": "pkg.Svc", "method": "Get"}],
              "timeout": "2s",
              "retryPolicy": {
                "maxAttempts": 4,
                "initialBackoff": ".1s",
                "maxBackoff": "1s",
                "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"]
              }
            },
            {
              "name": [{"service": "pkg.Svc", "method": "Search"}],
              "hedgingPolicy": {
                "maxAttempts": 4,
                "hedgingDelay": ".5s",
                "nonFatalStatusCodes": ["UNAVAILABLE", "INTERNAL", "ABORTED"]
              }
            }
          ],
          "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
        }"#,
    )
    .unwrap();
    assert_eq!(config.load_balancing, Some(LbConfig::RoundRobin));
    assert_eq!(config.health_check_service.as_deref(), Some("pkg.Svc"));
    let get = config.method_config("/pkg.Svc/Get").unwrap();
    assert_eq!(
        get.retry_policy,
        Some(RetryPolicy::new(
            4,
            Duration::from_millis(100),
            Duration::from_secs(1),
            2.0,
            vec![Code::Unavailable]
        ))
    );
    assert_eq!(get.hedging_policy, None);
    let search = config.method_config("/pkg.Svc/Search").unwrap();
    assert_eq!(search.retry_policy, None);
    assert_eq!(
        search.hedging_policy,
        Some(HedgingPolicy::new(
            4,
            Duration::from_millis(500),
            vec![Code::Unavailable, Code::Internal, Code::Aborted]
        ))
    );
    let throttling = config.retry_throttling.unwrap();
    assert_eq!(
        (throttling.max_tokens, throttling.token_ratio_milli),
        (10, 100)
    );
}

#[test]
fn retry_errors_name_their_path_in_the_document() {
    let policy = |fields: &str| {
        format!(
            r#"{{"methodConfig": [{{}}, {{"name": [{{"service": "s"}}], "retryPolicy": {{{fields}}}}}]}}"#
        )
    };
    let valid =
        r#""maxAttempts": 3, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2"#;
    assert_eq!(
        error_of(&policy(&format!(
            r#"{valid}, "retryableStatusCodes": ["UNAVAILABLE", "UNAVAILBLE"]"#
        ))),
        (
            "$.methodConfig[1].retryPolicy.retryableStatusCodes[1]".into(),
            r#"expected a status code name like "UNAVAILABLE" or a number from 1 to 16, got "UNAVAILBLE""#
                .into()
        )
    );
    let error = ServiceConfig::parse(&policy(r#""maxAttempts": 1"#)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "service config: $.methodConfig[1].retryPolicy.maxAttempts: must be at least 2, got 1"
    );
    let config = ServiceConfig::parse(&policy(&format!(
        r#"{valid}, "retryableStatusCodes": [14, 4]"#
    )))
    .unwrap();
    let retry = config.method_config("/s/m").unwrap().retry_policy.as_ref();
    assert_eq!(
        retry.map(|r| r.retryable_status_codes.clone()),
        Some(vec![Code::Unavailable, Code::DeadlineExceeded])
    );
}

#[test]
fn health_check_config_names_the_service() {
    let config =
        ServiceConfig::parse(r#"{"healthCheckConfig": {"serviceName": "pkg.Svc"}}"#).unwrap();
    assert_eq!(config.health_check_service.as_deref(), Some("pkg.Svc"));
    let config = ServiceConfig::parse(r#"{"healthCheckConfig": {"serviceName": ""}}"#).unwrap();
    assert_eq!(config.health_check_service.as_deref(), Some(""));
    let err = ServiceConfig::parse(r#"{"healthCheckConfig": {"serviceName": 7}}"#).unwrap_err();
    assert!(
        err.to_string().contains("$.healthCheckConfig.serviceName"),
        "{err}"
    );
    let err = ServiceConfig::parse(r#"{"healthCheckConfig": []}"#).unwrap_err();
    assert!(err.to_string().contains("$.healthCheckConfig"), "{err}");
}

#[test]
fn the_spec_example_parses() {
    // doc/service_config.md's example, with a 9-digit fraction.
    let config = ServiceConfig::parse(
        r#"{
          "loadBalancingConfig": [ { "round_robin": {} } ],
          "methodConfig": [
            {
              "name": [
                { "service": "foo", "method": "bar" },
                { "service": "baz" }
              ],
              "timeout": "1.000000001s"
            }
          ]
        }"#,
    )
    .unwrap();
    assert_eq!(config.load_balancing, Some(LbConfig::RoundRobin));
    assert_eq!(config.method_configs.len(), 1);
    let expected = Some(Duration::new(1, 1));
    assert_eq!(timeout_of(&config, "/foo/bar"), expected);
    assert_eq!(timeout_of(&config, "/baz/anything"), expected);
    assert_eq!(config.method_config("/foo/other"), None);
}

#[test]
fn document_level_errors() {
    assert_eq!(
        error_of("[]"),
        ("$".into(), "expected an object, got an array".into())
    );
    assert_eq!(
        error_of("null"),
        ("$".into(), "expected an object, got null".into())
    );
    assert_eq!(error_of("").0, "$");
    assert!(error_of("{,}").1.starts_with("invalid JSON: "));
    assert_eq!(
        error_of(r#"{"methodConfig": {}}"#),
        (
            "$.methodConfig".into(),
            "expected an array, got an object".into()
        )
    );
    assert_eq!(
        error_of(r#"{"methodConfig": [{}, {"timeout": "abc"}]}"#),
        (
            "$.methodConfig[1].timeout".into(),
            r#"expected a duration like "1.5s", got "abc""#.into()
        )
    );
    assert_eq!(
        error_of(r#"{"methodConfig": [{"maxResponseMessageBytes": -5}]}"#),
        (
            "$.methodConfig[0].maxResponseMessageBytes".into(),
            "a size must not be negative, got -5".into()
        )
    );
    assert_eq!(
        error_of(r#"{"loadBalancingConfig": [{"xds_wrr": {}}]}"#).0,
        "$.loadBalancingConfig"
    );
}

#[test]
fn duplicate_names_across_entries_are_an_error() {
    let json = r#"{"methodConfig": [
        {"name": [{"service": "a", "method": "m"}, {"service": "b"}]},
        {"name": [{"service": "c"}, {"service": "b", "method": ""}]}
    ]}"#;
    assert_eq!(
        error_of(json),
        (
            "$.methodConfig[1].name[1]".into(),
            r#"duplicate method name {"service": "b"} (first at $.methodConfig[0].name[1])"#.into()
        )
    );
    let defaults = r#"{"methodConfig": [{"name": [{}]}, {"name": [{"service": ""}]}]}"#;
    assert_eq!(
        error_of(defaults),
        (
            "$.methodConfig[1].name[0]".into(),
            "duplicate method name {} (first at $.methodConfig[0].name[0])".into()
        )
    );
    let same_entry = r#"{"methodConfig": [{"name": [
        {"service": "a", "method": "m"}, {"service": "a", "method": "m"}
    ]}]}"#;
    assert_eq!(error_of(same_entry).0, "$.methodConfig[0].name[1]");
    // The same method in two services, or a service and one of its methods,
    // are different names.
    let distinct = r#"{"methodConfig": [
        {"name": [{"service": "a", "method": "m"}, {"service": "a"}]},
        {"name": [{"service": "b", "method": "m"}, {}]}
    ]}"#;
    assert!(ServiceConfig::parse(distinct).is_ok());
}

#[test]
fn lookup_prefers_method_then_service_then_default() {
    let config = ServiceConfig::parse(
        r#"{"methodConfig": [
            {"name": [{}], "timeout": "1s"},
            {"name": [{"service": "pkg.Svc"}], "timeout": "2s"},
            {"name": [{"service": "pkg.Svc", "method": "Exact"}], "timeout": "3s"},
            {"name": [{"service": "pkg.Other", "method": "Only"}], "timeout": "4s"}
        ]}"#,
    )
    .unwrap();
    let secs = |path: &str| timeout_of(&config, path).map(|t| t.as_secs());
    assert_eq!(secs("/pkg.Svc/Exact"), Some(3));
    assert_eq!(secs("/pkg.Svc/Else"), Some(2));
    assert_eq!(secs("/pkg.Other/Only"), Some(4));
    assert_eq!(secs("/pkg.Other/Else"), Some(1));
    assert_eq!(secs("/unknown.Svc/M"), Some(1));
    // Names are case-sensitive, and odd paths fall back to the default.
    assert_eq!(secs("/pkg.svc/Exact"), Some(1));
    assert_eq!(secs("/pkg.Svc/Exact/extra"), Some(2));
    assert_eq!(secs(""), Some(1));
    assert_eq!(secs("/"), Some(1));
    assert_eq!(secs("pkg.Svc/Exact"), Some(3));
}

#[test]
fn lookup_without_default_misses() {
    let config = ServiceConfig::parse(
        r#"{"methodConfig": [{"name": [{"service": "s", "method": "m"}], "waitForReady": true}]}"#,
    )
    .unwrap();
    assert_eq!(
        config.method_config("/s/m").and_then(|m| m.wait_for_ready),
        Some(true)
    );
    assert_eq!(config.method_config("/s/n"), None);
    assert_eq!(config.method_config("/t/m"), None);
}

#[test]
fn lookup_works_on_borrowed_slices() {
    // The lookup takes any &str, e.g. a slice of a larger buffer, and
    // neither copies it nor builds keys (see MethodIndex).
    let config = ServiceConfig::parse(
        r#"{"methodConfig": [{"name": [{"service": "pkg.Svc", "method": "M"}], "timeout": "5s"}]}"#,
    )
    .unwrap();
    let buffer = String::from(":path /pkg.Svc/M HTTP/2");
    let path = &buffer[6..16];
    assert_eq!(path, "/pkg.Svc/M");
    assert_eq!(timeout_of(&config, path), Some(Duration::from_secs(5)));
    let service = &path[..8];
    assert_eq!(config.method_config(service), None);
}

#[test]
fn entries_without_names_match_nothing() {
    let config =
        ServiceConfig::parse(r#"{"methodConfig": [{"name": [], "timeout": "1s"}]}"#).unwrap();
    assert_eq!(config.method_configs.len(), 1);
    assert_eq!(config.method_config("/a/b"), None);
}

#[test]
fn reindex_after_editing_by_hand() {
    let mut config =
        ServiceConfig::parse(r#"{"methodConfig": [{"name": [{}], "timeout": "1s"}]}"#).unwrap();
    let mut extra = MethodConfig::default();
    extra.names.push(MethodName {
        service: Some("s".to_owned()),
        method: None,
    });
    extra.timeout = Some(Duration::from_secs(9));
    config.method_configs.insert(0, extra);
    config.reindex();
    assert_eq!(timeout_of(&config, "/s/x"), Some(Duration::from_secs(9)));
    assert_eq!(timeout_of(&config, "/t/x"), Some(Duration::from_secs(1)));
}

#[test]
fn load_balancing_reaches_the_config() {
    let config =
        ServiceConfig::parse(r#"{"loadBalancingConfig": [{"unknown": {}}, {"pick_first": {"shuffleAddressList": true}}]}"#)
            .unwrap();
    assert_eq!(
        config.load_balancing,
        Some(LbConfig::PickFirst {
            shuffle_address_list: true
        })
    );
}

/// What every parsed config guarantees about its retry settings.
fn check_retry_invariants(config: &ServiceConfig) -> Result<(), TestCaseError> {
    for method in &config.method_configs {
        prop_assert!(method.retry_policy.is_none() || method.hedging_policy.is_none());
        if let Some(retry) = &method.retry_policy {
            prop_assert!((2..=5).contains(&retry.max_attempts));
            prop_assert!(!retry.initial_backoff.is_zero() && !retry.max_backoff.is_zero());
            prop_assert!(retry.backoff_multiplier.is_finite() && retry.backoff_multiplier > 0.0);
            prop_assert!(!retry.retryable_status_codes.is_empty());
            check_codes(&retry.retryable_status_codes)?;
        }
        if let Some(hedging) = &method.hedging_policy {
            prop_assert!((2..=5).contains(&hedging.max_attempts));
            check_codes(&hedging.non_fatal_status_codes)?;
        }
    }
    if let Some(throttling) = config.retry_throttling {
        prop_assert!((1..=1000).contains(&throttling.max_tokens));
        prop_assert!(throttling.token_ratio_milli >= 1);
    }
    Ok(())
}

/// No OK and no repeats.
fn check_codes(codes: &[Code]) -> Result<(), TestCaseError> {
    for (position, code) in codes.iter().enumerate() {
        prop_assert_ne!(*code, Code::Ok);
        prop_assert!(!codes[..position].contains(code), "{:?} repeated", code);
    }
    Ok(())
}

/// One field of a generated retry setting: `(value, valid)`, where the
/// value is absent (invalid: every generated field is required), one of
/// `valid` or one of `invalid`.
fn retry_field(
    valid: impl Strategy<Value = Value>,
    invalid: impl Strategy<Value = Value>,
) -> impl Strategy<Value = (Option<Value>, bool)> {
    prop_oneof![
        1 => Just((None, false)),
        6 => valid.prop_map(|value| (Some(value), true)),
        1 => invalid.prop_map(|value| (Some(value), false)),
    ]
}

/// Arbitrary JSON built mostly from the names the parser looks for, so
/// generated documents reach deep into it.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("methodConfig".to_owned()),
        Just("name".to_owned()),
        Just("service".to_owned()),
        Just("method".to_owned()),
        Just("timeout".to_owned()),
        Just("waitForReady".to_owned()),
        Just("maxRequestMessageBytes".to_owned()),
        Just("maxResponseMessageBytes".to_owned()),
        Just("retryPolicy".to_owned()),
        Just("hedgingPolicy".to_owned()),
        Just("maxAttempts".to_owned()),
        Just("initialBackoff".to_owned()),
        Just("maxBackoff".to_owned()),
        Just("backoffMultiplier".to_owned()),
        Just("retryableStatusCodes".to_owned()),
        Just("hedgingDelay".to_owned()),
        Just("nonFatalStatusCodes".to_owned()),
        Just("retryThrottling".to_owned()),
        Just("maxTokens".to_owned()),
        Just("tokenRatio".to_owned()),
        Just("healthCheckConfig".to_owned()),
        Just("serviceName".to_owned()),
        Just("loadBalancingConfig".to_owned()),
        Just("loadBalancingPolicy".to_owned()),
        Just("pick_first".to_owned()),
        Just("round_robin".to_owned()),
        Just("shuffleAddressList".to_owned()),
        Just("clientLanguage".to_owned()),
        Just("clientHostname".to_owned()),
        Just("percentage".to_owned()),
        Just("serviceConfig".to_owned()),
        ".{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        // Small numbers: attempt counts, codes, tokens, ratios.
        (-2i64..20).prop_map(Value::from),
        (-1000i32..3000).prop_map(|milli| Value::from(f64::from(milli) / 1000.0)),
        prop_oneof![
            Just("1.5s".to_owned()),
            Just(".1s".to_owned()),
            Just("0s".to_owned()),
            Just("rust".to_owned()),
            Just("-1".to_owned()),
            Just("3".to_owned()),
            Just("0.1".to_owned()),
            Just("UNAVAILABLE".to_owned()),
            Just("OK".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,64}", roll in 0u32..200) {
        let _ = ServiceConfig::parse(&text);
        let _ = select_txt_choice(&text, "host", roll);
    }

    #[test]
    fn arbitrary_json_never_panics(value in json_value(), path in "/?[a-z.]{0,6}/?[a-zA-Z]{0,4}") {
        let text = value.to_string();
        if let Ok(config) = ServiceConfig::parse(&text) {
            let _ = config.method_config(&path);
            check_retry_invariants(&config)?;
        }
        let txt = Value::Array(vec![value]).to_string();
        if let Ok(Some(chosen)) = select_txt_choice(&txt, "host", 50) {
            if let Ok(config) = ServiceConfig::parse(&chosen) {
                check_retry_invariants(&config)?;
            }
        }
    }

    /// Retry policies and throttling built field by field from valid and
    /// invalid values: the document parses exactly when every field is
    /// valid, and then holds what was written (capped where A6 caps).
    #[test]
    fn retry_fields_validate_one_by_one(
        attempts in retry_field(
            prop_oneof![(2u64..5).prop_map(Value::from), (5u64..100).prop_map(Value::from)],
            prop_oneof![(0u64..2).prop_map(Value::from), Just(Value::from(2.5)), Just(Value::from("x"))],
        ),
        initial in retry_field(
            prop_oneof![Just(Value::from("0.1s")), Just(Value::from(".5s")), Just(Value::from("3s"))],
            prop_oneof![Just(Value::from("0s")), Just(Value::from("-1s")), Just(Value::from(1))],
        ),
        max in retry_field(
            Just(Value::from("1s")),
            prop_oneof![Just(Value::from("0.0s")), Just(Value::from("1"))],
        ),
        multiplier in retry_field(
            prop_oneof![(1u32..100).prop_map(|m| Value::from(f64::from(m) / 10.0)), Just(Value::from("2"))],
            prop_oneof![Just(Value::from(0)), Just(Value::from(-1.5)), Just(Value::from("NaN"))],
        ),
        codes in retry_field(
            prop::collection::vec(1i32..=16, 1..4).prop_map(|codes| {
                Value::from(codes.into_iter().map(|c| Value::from(Code::from_i32(c).name())).collect::<Vec<_>>())
            }),
            prop_oneof![Just(serde_json::json!([])), Just(serde_json::json!(["OK"])), Just(serde_json::json!([17]))],
        ),
        tokens in retry_field(
            (1u64..=1000).prop_map(Value::from),
            prop_oneof![Just(Value::from(0)), Just(Value::from(1001)), Just(Value::from(1.5))],
        ),
        ratio in retry_field(
            (1u32..5000).prop_map(|m| Value::from(f64::from(m) / 1000.0)),
            prop_oneof![Just(Value::from(0)), Just(Value::from(0.0004)), Just(Value::from(-0.1))],
        ),
    ) {
        let mut policy = serde_json::Map::new();
        let mut throttling = serde_json::Map::new();
        let mut all_valid = true;
        // (in the retry policy rather than the throttling, field, value)
        for (in_policy, key, (value, valid)) in [
            (true, "maxAttempts", attempts.clone()),
            (true, "initialBackoff", initial),
            (true, "maxBackoff", max),
            (true, "backoffMultiplier", multiplier),
            (true, "retryableStatusCodes", codes),
            (false, "maxTokens", tokens.clone()),
            (false, "tokenRatio", ratio),
        ] {
            all_valid &= valid;
            let target = if in_policy { &mut policy } else { &mut throttling };
            if let Some(value) = value {
                target.insert(key.to_owned(), value);
            }
        }
        let document = serde_json::json!({
            "methodConfig": [{"name": [{}], "retryPolicy": policy}],
            "retryThrottling": throttling,
        });
        match ServiceConfig::parse(&document.to_string()) {
            Ok(config) => {
                prop_assert!(all_valid, "accepted {}", document);
                check_retry_invariants(&config)?;
                let retry = config.method_configs[0].retry_policy.as_ref().unwrap();
                let written = attempts.0.as_ref().and_then(Value::as_u64).unwrap();
                prop_assert_eq!(u64::from(retry.max_attempts), written.min(5));
                let throttle = config.retry_throttling.unwrap();
                prop_assert_eq!(Some(u64::from(throttle.max_tokens)), tokens.0.as_ref().and_then(Value::as_u64));
            }
            Err(error) => {
                prop_assert!(!all_valid, "rejected {}: {}", document, error);
                prop_assert!(error.path().starts_with('$'));
            }
        }
    }

    #[test]
    fn every_parsed_name_finds_its_entry(
        names in prop::collection::btree_set(("[a-c]{0,2}", "[x-z]{0,2}"), 1..8)
    ) {
        // One entry per distinct (service, method) name, the entry's
        // timeout being its position; a method needs a service.
        let names: Vec<_> = names
            .into_iter()
            .filter(|(service, method)| !service.is_empty() || method.is_empty())
            .collect();
        let entries: Vec<Value> = names
            .iter()
            .enumerate()
            .map(|(i, (service, method))| {
                serde_json::json!({
                    "name": [{"service": service, "method": method}],
                    "timeout": format!("{i}s"),
                })
            })
            .collect();
        let json = serde_json::json!({ "methodConfig": entries }).to_string();
        let config = ServiceConfig::parse(&json).unwrap();
        for (i, (service, method)) in names.iter().enumerate() {
            // Methods are made of x-z and services of a-c, so "q" is no
            // listed method and "q.Q" no listed service.
            let path = match (service.is_empty(), method.is_empty()) {
                (false, false) => format!("/{service}/{method}"),
                (false, true) => format!("/{service}/q"),
                _ => "/q.Q/q".to_owned(),
            };
            let found = timeout_of(&config, &path);
            prop_assert_eq!(found, Some(Duration::from_secs(i as u64)), "{}", path);
        }
    }
}
