//! gRPC service config (grpc/grpc `doc/service_config.md`), parsed from
//! its JSON form (the proto3 JSON mapping of
//! `grpc.service_config.ServiceConfig`): the load-balancing policy,
//! per-method settings with their retry or hedging policy, and retry
//! throttling (gRFC A6).
//!
//! ```
//! use std::time::Duration;
//! use tether::service_config::{LbConfig, ServiceConfig};
//! use tether::Code;
//!
//! let config = ServiceConfig::parse(r#"{
//!     "loadBalancingConfig": [{"round_robin": {}}],
//!     "methodConfig": [
//!         {"name": [{}], "timeout": "10s"},
//!         {
//!             "name": [{"service": "echo.Echo", "method": "Unary"}],
//!             "timeout": "1.5s",
//!             "waitForReady": true,
//!             "maxRequestMessageBytes": "4194304",
//!             "retryPolicy": {
//!                 "maxAttempts": 4,
//!                 "initialBackoff": "0.1s",
//!                 "maxBackoff": "1s",
//!                 "backoffMultiplier": 2,
//!                 "retryableStatusCodes": ["UNAVAILABLE"]
//!             }
//!         }
//!     ],
//!     "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}
//! }"#)?;
//! assert_eq!(config.load_balancing, Some(LbConfig::RoundRobin));
//! let unary = config.method_config("/echo.Echo/Unary").unwrap();
//! assert_eq!(unary.timeout, Some(Duration::from_millis(1500)));
//! assert_eq!(unary.max_request_message_bytes, Some(4 << 20));
//! let retry = unary.retry_policy.as_ref().unwrap();
//! assert_eq!(retry.max_attempts, 4);
//! assert_eq!(retry.initial_backoff, Duration::from_millis(100));
//! assert!(retry.is_retryable(Code::Unavailable));
//! let throttling = config.retry_throttling.unwrap();
//! assert_eq!((throttling.max_tokens, throttling.token_ratio_milli), (10, 100));
//! // Every other method gets the default entry (the empty name).
//! let other = config.method_config("/echo.Echo/Stream").unwrap();
//! assert_eq!(other.timeout, Some(Duration::from_secs(10)));
//! assert_eq!(other.retry_policy, None);
//!
//! // Errors name the JSON path of what is wrong.
//! let error = ServiceConfig::parse(r#"{"methodConfig": [{"timeout": "abc"}]}"#).unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     r#"service config: $.methodConfig[0].timeout: expected a duration like "1.5s", got "abc""#
//! );
//! # Ok::<(), tether::service_config::ServiceConfigError>(())
//! ```
//!
//! Unknown fields are ignored, so newer configs still parse; known fields
//! of the wrong type or out of range are errors. [`select_txt_choice`]
//! picks the config a DNS TXT record offers this client (gRFC A2).
//!
//! The retry settings follow gRFC A6 ("Configuration Language"): see
//! [`RetryPolicy`], [`HedgingPolicy`] and [`RetryThrottling`] for each
//! field's rule. In short, `maxAttempts` must be at least 2 and counts as
//! 5 above 5; backoffs must be above zero, the multiplier finite and
//! above zero; status codes are names as gRPC spells them
//! (`"UNAVAILABLE"`) or numbers, never `OK`, with repeats dropped;
//! `maxTokens` is a whole number from 1 to 1000 and `tokenRatio` is read
//! to 3 decimal places and must be at least 0.001.

mod duration;
mod error;
mod index;
mod lb;
mod method;
mod retry;
mod txt;

pub use error::ServiceConfigError;
pub use lb::{FailurePercentageEjection, LbConfig, OutlierDetection, SuccessRateEjection};
pub use method::{MethodConfig, MethodName};
pub use retry::{HedgingPolicy, RetryPolicy, RetryThrottling};
pub use txt::select_txt_choice;

use error::{array, field, object, parse_json, string, Path};
use index::MethodIndex;
use serde_json::Value;

/// A parsed service config.
///
/// [`method_config`](Self::method_config) uses an index built by
/// [`parse`](Self::parse); after changing `method_configs` by hand, call
/// [`reindex`](Self::reindex).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The first policy of `loadBalancingConfig` that tether supports (the
    /// list is in order of preference; entries naming unknown policies are
    /// skipped; a non-empty list naming no supported policy is an error).
    /// When that list is absent or empty, the deprecated
    /// `loadBalancingPolicy` string (`"round_robin"` or `"pick_first"`, any
    /// case). `None` when neither is given: the channel's default applies.
    pub load_balancing: Option<LbConfig>,
    /// The `methodConfig` entries, in order.
    pub method_configs: Vec<MethodConfig>,
    /// `healthCheckConfig.serviceName`: client-side health checking (gRFC
    /// A17) of this service on every subchannel, under `round_robin` (and
    /// under `pick_first` when the channel allows it). `None` when absent;
    /// `Some("")` checks the server's overall health.
    pub health_check_service: Option<String>,
    /// `retryThrottling` (gRFC A6): the token bucket that pauses retries
    /// and hedges on this channel while too many calls fail. `None` when
    /// absent (or `null`): no throttling.
    pub retry_throttling: Option<RetryThrottling>,
    /// Positions in `method_configs` by name.
    index: MethodIndex,
}

impl PartialEq for ServiceConfig {
    /// Compares the public fields; the index is derived from them.
    fn eq(&self, other: &ServiceConfig) -> bool {
        self.load_balancing == other.load_balancing
            && self.method_configs == other.method_configs
            && self.health_check_service == other.health_check_service
            && self.retry_throttling == other.retry_throttling
    }
}

impl ServiceConfig {
    /// Parses the JSON form of a service config.
    ///
    /// Errors carry the JSON path of the offending value: invalid JSON, a
    /// document that is not an object, known fields of the wrong type or
    /// out of range, a malformed or unsupported `loadBalancingConfig`, a
    /// method named without its service, a name listed twice across
    /// `methodConfig` entries, an entry with both a `retryPolicy` and a
    /// `hedgingPolicy`, or a retry setting missing or out of range (see
    /// [`RetryPolicy`], [`HedgingPolicy`] and [`RetryThrottling`]).
    pub fn parse(json: &str) -> Result<ServiceConfig, ServiceConfigError> {
        ServiceConfig::from_value(&parse_json(json)?)
    }

    /// The config of an already parsed JSON document.
    fn from_value(value: &Value) -> Result<ServiceConfig, ServiceConfigError> {
        let root = Path::Root;
        let document = object(value, &root)?;
        let load_balancing = lb::parse(document)?;
        let mut method_configs = Vec::new();
        if let Some(list) = field(document, "methodConfig") {
            let list_path = root.key("methodConfig");
            for (position, entry) in array(list, &list_path)?.iter().enumerate() {
                method_configs.push(method::parse(entry, &list_path.index(position))?);
            }
        }
        let mut health_check_service = None;
        if let Some(health) = field(document, "healthCheckConfig") {
            let health_path = root.key("healthCheckConfig");
            let health = object(health, &health_path)?;
            if let Some(name) = field(health, "serviceName") {
                let name = string(name, &health_path.key("serviceName"))?;
                health_check_service = Some(name.to_owned());
            }
        }
        let retry_throttling = match field(document, "retryThrottling") {
            Some(throttling) => Some(retry::parse_retry_throttling(
                throttling,
                &root.key("retryThrottling"),
            )?),
            None => None,
        };
        let (index, duplicate) = MethodIndex::build(&method_configs);
        if let Some(duplicate) = duplicate {
            let (entry, position) = duplicate.again;
            let (first_entry, first_position) = duplicate.first;
            let list_path = root.key("methodConfig");
            let entry_path = list_path.index(entry);
            let names_path = entry_path.key("name");
            let name = method_configs
                .get(entry)
                .and_then(|config| config.names.get(position))
                .map_or_else(String::new, MethodName::describe);
            return Err(names_path.index(position).error(format!(
                "duplicate method name {name} (first at $.methodConfig[{first_entry}].name[{first_position}])"
            )));
        }
        Ok(ServiceConfig {
            load_balancing,
            method_configs,
            health_check_service,
            retry_throttling,
            index,
        })
    }

    /// The method config that applies to a call on `path`
    /// (`/pkg.Svc/Method`): the entry naming that service and method, else
    /// the one naming the service alone, else the default (the empty name),
    /// else `None`.
    ///
    /// The lookup does not allocate: it hashes `&str` slices of `path`
    /// against an index precomputed by [`parse`](Self::parse).
    pub fn method_config(&self, path: &str) -> Option<&MethodConfig> {
        self.index
            .find(path)
            .and_then(|position| self.method_configs.get(position))
    }

    /// Rebuilds the lookup index after `method_configs` was changed by hand.
    /// A name listed twice then resolves to its first entry.
    pub fn reindex(&mut self) {
        self.index = MethodIndex::build(&self.method_configs).0;
    }
}

#[cfg(test)]
mod tests;
