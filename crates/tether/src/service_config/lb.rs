//! The load-balancing policy: `loadBalancingConfig`, or the deprecated
//! `loadBalancingPolicy` string.

use super::duration;
use super::error::{array, boolean, field, object, string, Path, ServiceConfigError};
use serde_json::{Map, Value};
use std::time::Duration;

/// A load-balancing policy tether supports, with its configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LbConfig {
    /// `{"pick_first": {"shuffleAddressList": true}}`: one connection, to
    /// the first address that works (gRFC A62).
    PickFirst {
        /// Shuffle the resolver's addresses before trying them in order.
        shuffle_address_list: bool,
    },
    /// `{"round_robin": {}}`: a connection to every address, calls spread
    /// over the ready ones in turn.
    RoundRobin,
    /// `{"peak_ewma": {"decay": "10s"}}`: a connection to every address,
    /// as round_robin; each call goes to the cheaper of two READY
    /// subchannels drawn at random, scored by a peak-sensitive moving
    /// average of their response latency times their calls waiting + 1
    /// (Finagle's and Linkerd's "power of two choices over peak EWMA"). A
    /// slow or stuck backend stops receiving calls within a few calls.
    PeakEwma {
        /// The moving average's time constant (`decay`, default 10 s).
        decay: Duration,
    },
    /// `{"outlier_detection_experimental": {..., "childPolicy": [...]}}`:
    /// gRFC A50's outlier detection around `child` (round_robin or
    /// peak_ewma; the first of `childPolicy` tether supports).
    OutlierDetection {
        /// Its settings.
        config: OutlierDetection,
        /// The policy it wraps.
        child: Box<LbConfig>,
    },
}

impl LbConfig {
    /// The policy that manages the subchannels (the child of outlier
    /// detection, else itself).
    pub fn leaf(&self) -> &LbConfig {
        match self {
            LbConfig::OutlierDetection { child, .. } => child.leaf(),
            other => other,
        }
    }
}

/// gRFC A50's settings (the JSON names in parentheses). Defaults: an
/// interval of 10 s, 30 s base ejection, 300 s maximum, at most 10 % of
/// the subchannels ejected (at least one), neither algorithm on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutlierDetection {
    /// Between two sweeps (`interval`).
    pub interval: Duration,
    /// An ejection lasts this times the subchannel's ejection count
    /// (`baseEjectionTime`)...
    pub base_ejection_time: Duration,
    /// ... at most the larger of this and the base (`maxEjectionTime`).
    pub max_ejection_time: Duration,
    /// At most this percentage of subchannels ejected at once, at least
    /// one (`maxEjectionPercent`, ≤ 100).
    pub max_ejection_percent: u32,
    /// Ejection of success-rate outliers (`successRateEjection`).
    pub success_rate_ejection: Option<SuccessRateEjection>,
    /// Ejection above a failure percentage (`failurePercentageEjection`).
    pub failure_percentage_ejection: Option<FailurePercentageEjection>,
}

impl Default for OutlierDetection {
    fn default() -> Self {
        OutlierDetection {
            interval: Duration::from_secs(10),
            base_ejection_time: Duration::from_secs(30),
            max_ejection_time: Duration::from_secs(300),
            max_ejection_percent: 10,
            success_rate_ejection: None,
            failure_percentage_ejection: None,
        }
    }
}

/// `successRateEjection`: a subchannel whose success rate is below
/// `mean − stdev × stdevFactor / 1000` of those with `requestVolume` calls
/// or more, when at least `minimumHosts` have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuccessRateEjection {
    /// `stdevFactor` (default 1900: 1.9 standard deviations).
    pub stdev_factor: u32,
    /// `enforcementPercentage`: the chance, in %, that an outlier is
    /// ejected (default 100).
    pub enforcement_percentage: u32,
    /// `minimumHosts` (default 5).
    pub minimum_hosts: u32,
    /// `requestVolume` (default 100).
    pub request_volume: u32,
}

impl Default for SuccessRateEjection {
    fn default() -> Self {
        SuccessRateEjection {
            stdev_factor: 1900,
            enforcement_percentage: 100,
            minimum_hosts: 5,
            request_volume: 100,
        }
    }
}

/// `failurePercentageEjection`: a subchannel whose calls failed more than
/// `threshold` % of the time, over `requestVolume` calls or more, when the
/// channel has at least `minimumHosts` subchannels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FailurePercentageEjection {
    /// `threshold`, in % (default 85).
    pub threshold: u32,
    /// `enforcementPercentage` (default 100).
    pub enforcement_percentage: u32,
    /// `minimumHosts` (default 5).
    pub minimum_hosts: u32,
    /// `requestVolume` (default 50).
    pub request_volume: u32,
}

impl Default for FailurePercentageEjection {
    fn default() -> Self {
        FailurePercentageEjection {
            threshold: 85,
            enforcement_percentage: 100,
            minimum_hosts: 5,
            request_volume: 50,
        }
    }
}

/// The policies tether supports, as named in error messages.
const SUPPORTED: &str =
    "tether supports pick_first, round_robin, peak_ewma and outlier_detection_experimental";

/// The policy of the service config object `root`.
///
/// `loadBalancingConfig` is a list in order of preference: the first entry
/// naming a supported policy wins, entries naming unknown policies are
/// skipped, and a list naming none is an error. When the list is absent
/// or empty, the deprecated `loadBalancingPolicy` (case-insensitive) is
/// used; naming an unsupported policy there is an error too.
pub(super) fn parse(root: &Map<String, Value>) -> Result<Option<LbConfig>, ServiceConfigError> {
    let top = Path::Root;
    // Checked even when loadBalancingConfig wins: a known field's type.
    let policy_path = top.key("loadBalancingPolicy");
    let policy = match field(root, "loadBalancingPolicy") {
        Some(value) => Some(string(value, &policy_path)?),
        None => None,
    };
    if let Some(list) = field(root, "loadBalancingConfig") {
        let list_path = top.key("loadBalancingConfig");
        let entries = array(list, &list_path)?;
        if !entries.is_empty() {
            return first_supported(entries, &list_path).map(Some);
        }
    }
    let Some(policy) = policy else {
        return Ok(None);
    };
    if policy.eq_ignore_ascii_case("pick_first") {
        Ok(Some(LbConfig::PickFirst {
            shuffle_address_list: false,
        }))
    } else if policy.eq_ignore_ascii_case("round_robin") {
        Ok(Some(LbConfig::RoundRobin))
    } else {
        Err(policy_path.error(format!(
            "unsupported policy {}; {SUPPORTED}",
            Value::from(policy)
        )))
    }
}

/// The first entry of a non-empty `loadBalancingConfig` that tether supports.
fn first_supported(entries: &[Value], path: &Path<'_>) -> Result<LbConfig, ServiceConfigError> {
    let mut unknown = Vec::new();
    for (index, entry) in entries.iter().enumerate() {
        let entry_path = path.index(index);
        let policies = object(entry, &entry_path)?;
        let mut names = policies.iter();
        let (Some((name, config)), None) = (names.next(), names.next()) else {
            return Err(entry_path.error(format!(
                "expected an object with exactly one key (the policy name), got {} keys",
                policies.len()
            )));
        };
        let config_path = entry_path.key(name);
        match name.as_str() {
            "pick_first" => return pick_first(config, &config_path),
            "round_robin" => {
                if !config.is_null() {
                    object(config, &config_path)?;
                }
                return Ok(LbConfig::RoundRobin);
            }
            "peak_ewma" => return peak_ewma(config, &config_path),
            "outlier_detection_experimental" => return outlier_detection(config, &config_path),
            _ => unknown.push(Value::from(name.as_str()).to_string()),
        }
    }
    Err(path.error(format!(
        "no supported policy (saw {}); {SUPPORTED}",
        unknown.join(", ")
    )))
}

/// The `pick_first` configuration object (`null` is the default).
fn pick_first(config: &Value, path: &Path<'_>) -> Result<LbConfig, ServiceConfigError> {
    let mut shuffle_address_list = false;
    if !config.is_null() {
        let fields = object(config, path)?;
        if let Some(shuffle) = field(fields, "shuffleAddressList") {
            shuffle_address_list = boolean(shuffle, &path.key("shuffleAddressList"))?;
        }
    }
    Ok(LbConfig::PickFirst {
        shuffle_address_list,
    })
}

/// The `outlier_detection_experimental` configuration object.
fn outlier_detection(config: &Value, path: &Path<'_>) -> Result<LbConfig, ServiceConfigError> {
    let fields = object(config, path)?;
    let mut od = OutlierDetection::default();
    let duration_of = |key: &str, into: &mut Duration| -> Result<(), ServiceConfigError> {
        if let Some(v) = field(fields, key) {
            *into = duration::parse(v, &path.key(key))?;
        }
        Ok(())
    };
    duration_of("interval", &mut od.interval)?;
    duration_of("baseEjectionTime", &mut od.base_ejection_time)?;
    duration_of("maxEjectionTime", &mut od.max_ejection_time)?;
    if od.interval.is_zero() {
        return Err(path.key("interval").error("must be greater than 0"));
    }
    if let Some(v) = field(fields, "maxEjectionPercent") {
        od.max_ejection_percent = percent(v, &path.key("maxEjectionPercent"))?;
    }
    if let Some(v) = field(fields, "successRateEjection") {
        let p = path.key("successRateEjection");
        let f = object(v, &p)?;
        let mut sr = SuccessRateEjection::default();
        if let Some(v) = field(f, "stdevFactor") {
            sr.stdev_factor = whole(v, &p.key("stdevFactor"))?;
        }
        if let Some(v) = field(f, "enforcementPercentage") {
            sr.enforcement_percentage = percent(v, &p.key("enforcementPercentage"))?;
        }
        if let Some(v) = field(f, "minimumHosts") {
            sr.minimum_hosts = whole(v, &p.key("minimumHosts"))?;
        }
        if let Some(v) = field(f, "requestVolume") {
            sr.request_volume = whole(v, &p.key("requestVolume"))?;
        }
        od.success_rate_ejection = Some(sr);
    }
    if let Some(v) = field(fields, "failurePercentageEjection") {
        let p = path.key("failurePercentageEjection");
        let f = object(v, &p)?;
        let mut fp = FailurePercentageEjection::default();
        if let Some(v) = field(f, "threshold") {
            fp.threshold = percent(v, &p.key("threshold"))?;
        }
        if let Some(v) = field(f, "enforcementPercentage") {
            fp.enforcement_percentage = percent(v, &p.key("enforcementPercentage"))?;
        }
        if let Some(v) = field(f, "minimumHosts") {
            fp.minimum_hosts = whole(v, &p.key("minimumHosts"))?;
        }
        if let Some(v) = field(f, "requestVolume") {
            fp.request_volume = whole(v, &p.key("requestVolume"))?;
        }
        od.failure_percentage_ejection = Some(fp);
    }
    let child_path = path.key("childPolicy");
    let Some(children) = field(fields, "childPolicy") else {
        return Err(child_path.error("a required field is missing"));
    };
    let children = array(children, &child_path)?;
    if children.is_empty() {
        return Err(child_path.error("must name a policy"));
    }
    let child = first_supported(children, &child_path)?;
    if let LbConfig::PickFirst { .. } | LbConfig::OutlierDetection { .. } = child {
        return Err(child_path.error(
            "outlier detection wraps round_robin or peak_ewma (one subchannel per address)",
        ));
    }
    Ok(LbConfig::OutlierDetection {
        config: od,
        child: Box::new(child),
    })
}

/// A whole, non-negative JSON number that fits in a `u32`.
fn whole(value: &Value, path: &Path<'_>) -> Result<u32, ServiceConfigError> {
    value
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| path.expected("a whole number from 0 to 4294967295", value))
}

/// A percentage: a whole number from 0 to 100.
fn percent(value: &Value, path: &Path<'_>) -> Result<u32, ServiceConfigError> {
    match whole(value, path)? {
        n if n <= 100 => Ok(n),
        n => Err(path.error(format!("a percentage is at most 100, got {n}"))),
    }
}

/// The `peak_ewma` configuration object (`null` is the default): `decay`,
/// a duration greater than zero.
fn peak_ewma(config: &Value, path: &Path<'_>) -> Result<LbConfig, ServiceConfigError> {
    let mut decay = crate::lb::DEFAULT_DECAY;
    if !config.is_null() {
        let fields = object(config, path)?;
        if let Some(value) = field(fields, "decay") {
            let decay_path = path.key("decay");
            decay = duration::parse(value, &decay_path)?;
            if decay.is_zero() {
                return Err(decay_path.error(format!("must be greater than 0, got {value}")));
            }
        }
    }
    Ok(LbConfig::PeakEwma { decay })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn outlier_detection_with_its_child() {
        let config = lb(json!({"loadBalancingConfig": [{"outlier_detection_experimental": {
            "interval": "1s", "baseEjectionTime": "2s", "maxEjectionPercent": 50,
            "failurePercentageEjection": {"threshold": 60, "minimumHosts": 3, "requestVolume": 10},
            "childPolicy": [{"weighted_target": {}}, {"peak_ewma": {}}]
        }}]}))
        .unwrap()
        .unwrap();
        let LbConfig::OutlierDetection { config: od, child } = &config else {
            panic!("{config:?}");
        };
        assert_eq!(od.interval, Duration::from_secs(1));
        assert_eq!(od.base_ejection_time, Duration::from_secs(2));
        assert_eq!(od.max_ejection_time, Duration::from_secs(300));
        assert_eq!(od.max_ejection_percent, 50);
        assert_eq!(od.success_rate_ejection, None);
        let fp = od.failure_percentage_ejection.unwrap();
        assert_eq!(
            (
                fp.threshold,
                fp.enforcement_percentage,
                fp.minimum_hosts,
                fp.request_volume
            ),
            (60, 100, 3, 10)
        );
        assert_eq!(config.leaf(), &**child);
        assert!(matches!(**child, LbConfig::PeakEwma { .. }));
        let errors = [
            (json!({"childPolicy": [{"round_robin": {}}], "maxEjectionPercent": 101}), "$.loadBalancingConfig[0].outlier_detection_experimental.maxEjectionPercent"),
            (json!({"childPolicy": [{"round_robin": {}}], "interval": "0s"}), "$.loadBalancingConfig[0].outlier_detection_experimental.interval"),
            (json!({}), "$.loadBalancingConfig[0].outlier_detection_experimental.childPolicy"),
            (json!({"childPolicy": [{"pick_first": {}}]}), "$.loadBalancingConfig[0].outlier_detection_experimental.childPolicy"),
            (json!({"childPolicy": [{"round_robin": {}}], "successRateEjection": {"stdevFactor": -1}}), "$.loadBalancingConfig[0].outlier_detection_experimental.successRateEjection.stdevFactor"),
        ];
        for (body, path) in errors {
            let (got, message) = lb_error(
                json!({"loadBalancingConfig": [{"outlier_detection_experimental": body}]}),
            );
            assert_eq!(got, path, "{message}");
        }
    }

    #[test]
    fn peak_ewma_and_its_decay() {
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"peak_ewma": {}}]})),
            Ok(Some(LbConfig::PeakEwma {
                decay: Duration::from_secs(10)
            }))
        );
        assert_eq!(
            lb(
                json!({"loadBalancingConfig": [{"peak_ewma": {"decay": "2.5s"}}, {"round_robin": {}}]})
            ),
            Ok(Some(LbConfig::PeakEwma {
                decay: Duration::from_millis(2500)
            }))
        );
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": [{"peak_ewma": {"decay": "0s"}}]})),
            (
                "$.loadBalancingConfig[0].peak_ewma.decay".to_owned(),
                r#"must be greater than 0, got "0s""#.to_owned()
            )
        );
    }

    fn lb(value: Value) -> Result<Option<LbConfig>, ServiceConfigError> {
        parse(value.as_object().expect("test input is an object"))
    }

    fn lb_error(value: Value) -> (String, String) {
        let error = lb(value).unwrap_err();
        (error.path().to_owned(), error.message().to_owned())
    }

    #[test]
    fn absent_null_or_empty_is_none() {
        assert_eq!(lb(json!({})), Ok(None));
        assert_eq!(lb(json!({"loadBalancingConfig": null})), Ok(None));
        assert_eq!(lb(json!({"loadBalancingConfig": []})), Ok(None));
    }

    #[test]
    fn known_policies_and_their_configs() {
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"round_robin": {}}]})),
            Ok(Some(LbConfig::RoundRobin))
        );
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}]})),
            Ok(Some(LbConfig::PickFirst {
                shuffle_address_list: true
            }))
        );
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"pick_first": {"futureKnob": 1}}]})),
            Ok(Some(LbConfig::PickFirst {
                shuffle_address_list: false
            }))
        );
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"pick_first": null}]})),
            Ok(Some(LbConfig::PickFirst {
                shuffle_address_list: false
            }))
        );
    }

    #[test]
    fn first_supported_entry_wins_and_unknown_ones_are_skipped() {
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"xds_wrr": {"x": 1}}, {"round_robin": {}}]})),
            Ok(Some(LbConfig::RoundRobin))
        );
        assert_eq!(
            lb(json!({"loadBalancingConfig": [
                {"grpclb": 5}, {"pick_first": {}}, {"round_robin": {}}
            ]})),
            Ok(Some(LbConfig::PickFirst {
                shuffle_address_list: false
            }))
        );
        // Entries after the chosen one are not looked at.
        assert_eq!(
            lb(json!({"loadBalancingConfig": [{"round_robin": {}}, "junk"]})),
            Ok(Some(LbConfig::RoundRobin))
        );
        // Policy names are case-sensitive in loadBalancingConfig.
        assert!(lb(json!({"loadBalancingConfig": [{"ROUND_ROBIN": {}}]})).is_err());
    }

    #[test]
    fn no_supported_policy_names_what_it_saw() {
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": [{"xds_wrr": {}}]})),
            (
                "$.loadBalancingConfig".to_owned(),
                r#"no supported policy (saw "xds_wrr"); tether supports pick_first, round_robin, peak_ewma and outlier_detection_experimental"#
                    .to_owned()
            )
        );
        let (_, message) = lb_error(json!({"loadBalancingConfig": [{"a": {}}, {"b": {}}]}));
        assert!(
            message.starts_with(r#"no supported policy (saw "a", "b");"#),
            "{message}"
        );
    }

    #[test]
    fn malformed_entries_name_their_path() {
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": {"round_robin": {}}})),
            (
                "$.loadBalancingConfig".to_owned(),
                "expected an array, got an object".to_owned()
            )
        );
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": ["round_robin"]})),
            (
                "$.loadBalancingConfig[0]".to_owned(),
                r#"expected an object, got "round_robin""#.to_owned()
            )
        );
        assert_eq!(
            lb_error(
                json!({"loadBalancingConfig": [{"x": {}}, {"pick_first": {}, "round_robin": {}}]})
            ),
            (
                "$.loadBalancingConfig[1]".to_owned(),
                "expected an object with exactly one key (the policy name), got 2 keys".to_owned()
            )
        );
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": [{}]})).1,
            "expected an object with exactly one key (the policy name), got 0 keys"
        );
        assert_eq!(
            lb_error(json!({"loadBalancingConfig": [{"round_robin": []}]})),
            (
                "$.loadBalancingConfig[0].round_robin".to_owned(),
                "expected an object, got an array".to_owned()
            )
        );
        assert_eq!(
            lb_error(
                json!({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": "yes"}}]})
            ),
            (
                "$.loadBalancingConfig[0].pick_first.shuffleAddressList".to_owned(),
                r#"expected a boolean, got "yes""#.to_owned()
            )
        );
    }

    #[test]
    fn deprecated_policy_string() {
        assert_eq!(
            lb(json!({"loadBalancingPolicy": "ROUND_ROBIN"})),
            Ok(Some(LbConfig::RoundRobin))
        );
        assert_eq!(
            lb(json!({"loadBalancingPolicy": "Pick_First"})),
            Ok(Some(LbConfig::PickFirst {
                shuffle_address_list: false
            }))
        );
        // An empty loadBalancingConfig expresses no preference.
        assert_eq!(
            lb(json!({"loadBalancingPolicy": "round_robin", "loadBalancingConfig": []})),
            Ok(Some(LbConfig::RoundRobin))
        );
        // loadBalancingConfig wins over the deprecated field.
        assert_eq!(
            lb(
                json!({"loadBalancingPolicy": "grpclb", "loadBalancingConfig": [{"round_robin": {}}]})
            ),
            Ok(Some(LbConfig::RoundRobin))
        );
        assert_eq!(
            lb_error(json!({"loadBalancingPolicy": "grpclb"})),
            (
                "$.loadBalancingPolicy".to_owned(),
                r#"unsupported policy "grpclb"; tether supports pick_first, round_robin, peak_ewma and outlier_detection_experimental"#
                    .to_owned()
            )
        );
        assert_eq!(
            lb_error(
                json!({"loadBalancingPolicy": 1, "loadBalancingConfig": [{"round_robin": {}}]})
            ),
            (
                "$.loadBalancingPolicy".to_owned(),
                "expected a string, got 1".to_owned()
            )
        );
    }
}
