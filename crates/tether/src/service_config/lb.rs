//! The load-balancing policy: `loadBalancingConfig`, or the deprecated
//! `loadBalancingPolicy` string.

use super::error::{array, boolean, field, object, string, Path, ServiceConfigError};
use serde_json::{Map, Value};

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
}

/// The policies tether supports, as named in error messages.
const SUPPORTED: &str = "tether supports pick_first and round_robin";

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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
                r#"no supported policy (saw "xds_wrr"); tether supports pick_first and round_robin"#
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
                r#"unsupported policy "grpclb"; tether supports pick_first and round_robin"#
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
