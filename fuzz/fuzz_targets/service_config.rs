//! The service config parser (`tether::service_config`) fed arbitrary text,
//! both as a service config document and as a DNS TXT record's list of
//! choices (gRFC A2) whose chosen config is parsed in turn.
//!
//! Invariants: no panic; an error names a JSON path starting with `$` and
//! says what is wrong; a parsed config keeps gRFC A6's limits (at most one
//! of retry and hedging per method, `maxAttempts` in 2..=5, backoffs above
//! zero, a finite multiplier above zero, a non-empty retryable list, no
//! `OK` or repeated codes; `maxTokens` in 1..=1000, `tokenRatio` at least
//! 0.001), equals its clone (no NaN inside) and answers lookups.
//!
//! Input: the bytes as text (invalid UTF-8 replaced by U+FFFD, so seeds
//! are plain JSON files); the percentage roll for the TXT choice is
//! derived from the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tether::service_config::{select_txt_choice, ServiceConfig, ServiceConfigError};
use tether::Code;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(ServiceConfig::parse(&text));
    let roll = data
        .iter()
        .fold(0u32, |sum, &b| sum.wrapping_add(u32::from(b)))
        % 100;
    match select_txt_choice(&text, "host", roll) {
        Ok(Some(chosen)) => check(ServiceConfig::parse(&chosen)),
        Ok(None) => {}
        Err(error) => check_error(&error),
    }
});

fn check(result: Result<ServiceConfig, ServiceConfigError>) {
    let config = match result {
        Ok(config) => config,
        Err(error) => return check_error(&error),
    };
    for method in &config.method_configs {
        assert!(
            method.retry_policy.is_none() || method.hedging_policy.is_none(),
            "both policies: {method:?}"
        );
        if let Some(retry) = &method.retry_policy {
            assert!((2..=5).contains(&retry.max_attempts), "{retry:?}");
            assert!(!retry.initial_backoff.is_zero(), "{retry:?}");
            assert!(!retry.max_backoff.is_zero(), "{retry:?}");
            assert!(
                retry.backoff_multiplier.is_finite() && retry.backoff_multiplier > 0.0,
                "{retry:?}"
            );
            assert!(!retry.retryable_status_codes.is_empty(), "{retry:?}");
            check_codes(&retry.retryable_status_codes);
            for code in Code::ALL {
                assert_eq!(
                    retry.is_retryable(code),
                    retry.retryable_status_codes.contains(&code)
                );
            }
        }
        if let Some(hedging) = &method.hedging_policy {
            assert!((2..=5).contains(&hedging.max_attempts), "{hedging:?}");
            check_codes(&hedging.non_fatal_status_codes);
        }
    }
    if let Some(throttling) = config.retry_throttling {
        assert!(
            (1..=1000).contains(&throttling.max_tokens),
            "{throttling:?}"
        );
        assert!(throttling.token_ratio_milli >= 1, "{throttling:?}");
    }
    // Reflexive equality: no NaN made it in.
    assert_eq!(config.clone(), config);
    for path in ["/pkg.Svc/Method", "/", "", "/a/b/c"] {
        let _ = config.method_config(path);
    }
}

/// No OK and no repeats.
fn check_codes(codes: &[Code]) {
    for (position, code) in codes.iter().enumerate() {
        assert_ne!(*code, Code::Ok, "{codes:?}");
        assert!(!codes[..position].contains(code), "repeated: {codes:?}");
    }
}

fn check_error(error: &ServiceConfigError) {
    assert!(error.path().starts_with('$'), "{error}");
    assert!(!error.message().is_empty(), "{error}");
    assert!(
        error.to_string().starts_with("service config: $"),
        "{error}"
    );
}
