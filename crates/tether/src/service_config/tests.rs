//! Whole-document tests of [`ServiceConfig`]: parsing, errors with their
//! paths, method lookup precedence, and never panicking on any input.

use super::*;
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
        r#"{"retryThrottling": {"maxTokens": 10}, "healthCheckConfig": {}, "future": [1]}"#,
    )
    .unwrap();
    assert_eq!(config, ServiceConfig::default());
    assert_eq!(config.method_config("/a.B/C"), None);
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
        prop_oneof![
            Just("1.5s".to_owned()),
            Just("rust".to_owned()),
            Just("-1".to_owned()),
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
        }
        let txt = Value::Array(vec![value]).to_string();
        if let Ok(Some(chosen)) = select_txt_choice(&txt, "host", 50) {
            let _ = ServiceConfig::parse(&chosen);
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
