//! gRFC A2: the service config a DNS TXT record (`grpc_config=<json>`)
//! offers this client.

use super::error::{array, field, object, parse_json, string, Path, ServiceConfigError};
use serde_json::{Map, Value};

/// The client language tether announces in `clientLanguage` matching.
const LANGUAGE: &str = "rust";

/// The fields a choice may have; gRFC A2 makes any other field an error.
const CHOICE_FIELDS: [&str; 4] = [
    "clientLanguage",
    "percentage",
    "clientHostname",
    "serviceConfig",
];

/// Picks the service config for this client from the text of a DNS TXT
/// record after its `grpc_config=` prefix (gRFC A2).
///
/// The text is a JSON array of choices:
/// `{"clientLanguage": [...], "percentage": 0-100, "clientHostname": [...],
/// "serviceConfig": {...}}`. A choice applies when `clientLanguage` is
/// absent, empty or contains `"rust"` (any case); `clientHostname` is
/// absent, empty or contains `hostname` (hostnames compare ignoring ASCII
/// case); and `percentage_roll` (a random number in `0..100`, clamped to
/// 99) is below `percentage` (absent means 100). The first choice that
/// applies wins, and its `serviceConfig` object is returned re-serialized
/// as JSON text for [`ServiceConfig::parse`](super::ServiceConfig::parse);
/// `None` when no choice applies.
///
/// Every choice is checked, not only up to the chosen one: text that is
/// not a JSON array, a choice that is not an object, a field of the wrong
/// type, a percentage outside `0..=100`, a missing `serviceConfig` or an
/// unknown field is an error naming its path (`$[1].percentage`).
pub fn select_txt_choice(
    txt: &str,
    hostname: &str,
    percentage_roll: u32,
) -> Result<Option<String>, ServiceConfigError> {
    let value = parse_json(txt)?;
    let root = Path::Root;
    let mut chosen = None;
    for (position, choice) in array(&value, &root)?.iter().enumerate() {
        let choice = Choice::parse(choice, &root.index(position))?;
        if chosen.is_none() && choice.applies(hostname, percentage_roll.min(99)) {
            chosen = Some(choice.service_config);
        }
    }
    chosen
        .map(|config| {
            serde_json::to_string(config).map_err(|e| {
                root.error(format!("cannot re-serialize the chosen serviceConfig: {e}"))
            })
        })
        .transpose()
}

/// One choice of the TXT record.
struct Choice<'v> {
    /// `clientLanguage`; empty when absent.
    languages: Vec<&'v str>,
    /// `percentage`; 100 when absent.
    percentage: u32,
    /// `clientHostname`; empty when absent.
    hostnames: Vec<&'v str>,
    /// `serviceConfig`, an object.
    service_config: &'v Map<String, Value>,
}

impl<'v> Choice<'v> {
    fn parse(value: &'v Value, path: &Path<'_>) -> Result<Choice<'v>, ServiceConfigError> {
        let fields = object(value, path)?;
        if let Some(unknown) = fields
            .keys()
            .find(|key| !CHOICE_FIELDS.contains(&key.as_str()))
        {
            return Err(path.key(unknown).error(format!(
                "unknown field in a service config choice (gRFC A2 allows only {})",
                CHOICE_FIELDS.join(", ")
            )));
        }
        let languages = strings(fields, "clientLanguage", path)?;
        let hostnames = strings(fields, "clientHostname", path)?;
        let percentage = match field(fields, "percentage") {
            None => 100,
            Some(value) => value
                .as_u64()
                .filter(|percentage| *percentage <= 100)
                .and_then(|percentage| u32::try_from(percentage).ok())
                .ok_or_else(|| {
                    path.key("percentage")
                        .expected("a whole number from 0 to 100", value)
                })?,
        };
        let config_path = path.key("serviceConfig");
        let service_config = match field(fields, "serviceConfig") {
            Some(config) => object(config, &config_path)?,
            None => return Err(config_path.error("required")),
        };
        Ok(Choice {
            languages,
            percentage,
            hostnames,
            service_config,
        })
    }

    /// Whether this choice is meant for a Rust client on `hostname` whose
    /// roll (in `0..100`) is `roll`.
    fn applies(&self, hostname: &str, roll: u32) -> bool {
        let language = self.languages.is_empty()
            || self
                .languages
                .iter()
                .any(|l| l.eq_ignore_ascii_case(LANGUAGE));
        let host = self.hostnames.is_empty()
            || self
                .hostnames
                .iter()
                .any(|h| h.eq_ignore_ascii_case(hostname));
        language && host && roll < self.percentage
    }
}

/// A list of strings in field `key` of a choice; empty when absent.
fn strings<'v>(
    fields: &'v Map<String, Value>,
    key: &'static str,
    path: &Path<'_>,
) -> Result<Vec<&'v str>, ServiceConfigError> {
    let Some(list) = field(fields, key) else {
        return Ok(Vec::new());
    };
    let list_path = path.key(key);
    array(list, &list_path)?
        .iter()
        .enumerate()
        .map(|(position, item)| string(item, &list_path.index(position)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service_config::{LbConfig, ServiceConfig};

    fn pick(txt: &str, hostname: &str, roll: u32) -> Option<String> {
        select_txt_choice(txt, hostname, roll).unwrap()
    }

    fn pick_error(txt: &str) -> (String, String) {
        let error = select_txt_choice(txt, "host", 0).unwrap_err();
        (error.path().to_owned(), error.message().to_owned())
    }

    #[test]
    fn a_choice_without_conditions_applies() {
        let txt = r#"[{"serviceConfig": {"loadBalancingPolicy": "round_robin"}}]"#;
        let chosen = pick(txt, "anyhost", 99).unwrap();
        let config = ServiceConfig::parse(&chosen).unwrap();
        assert_eq!(config.load_balancing, Some(LbConfig::RoundRobin));
    }

    #[test]
    fn language_must_include_rust() {
        let txt = r#"[
            {"clientLanguage": ["go", "java"], "serviceConfig": {"n": 1}},
            {"clientLanguage": ["c++", "RUST"], "serviceConfig": {"n": 2}},
            {"serviceConfig": {"n": 3}}
        ]"#;
        assert_eq!(pick(txt, "h", 0).as_deref(), Some(r#"{"n":2}"#));
        let only_go = r#"[{"clientLanguage": ["go"], "serviceConfig": {}}]"#;
        assert_eq!(pick(only_go, "h", 0), None);
        let empty_list = r#"[{"clientLanguage": [], "serviceConfig": {"n": 4}}]"#;
        assert_eq!(pick(empty_list, "h", 0).as_deref(), Some(r#"{"n":4}"#));
    }

    #[test]
    fn percentage_compares_with_the_roll() {
        let txt = r#"[{"percentage": 30, "serviceConfig": {"n": 1}}, {"serviceConfig": {"n": 2}}]"#;
        assert_eq!(pick(txt, "h", 0).as_deref(), Some(r#"{"n":1}"#));
        assert_eq!(pick(txt, "h", 29).as_deref(), Some(r#"{"n":1}"#));
        assert_eq!(pick(txt, "h", 30).as_deref(), Some(r#"{"n":2}"#));
        assert_eq!(pick(txt, "h", 99).as_deref(), Some(r#"{"n":2}"#));
        let never = r#"[{"percentage": 0, "serviceConfig": {}}]"#;
        assert_eq!(pick(never, "h", 0), None);
        let always = r#"[{"percentage": 100, "serviceConfig": {}}]"#;
        assert_eq!(pick(always, "h", 99).as_deref(), Some("{}"));
        // A roll outside 0..100 is clamped to 99.
        assert_eq!(pick(always, "h", 1000).as_deref(), Some("{}"));
        let most = r#"[{"percentage": 99, "serviceConfig": {}}]"#;
        assert_eq!(pick(most, "h", 1000), None);
    }

    #[test]
    fn hostname_must_be_listed() {
        let txt = r#"[
            {"clientHostname": ["a.example", "b.example"], "serviceConfig": {"n": 1}},
            {"clientHostname": ["c.example"], "serviceConfig": {"n": 2}}
        ]"#;
        assert_eq!(pick(txt, "b.example", 0).as_deref(), Some(r#"{"n":1}"#));
        assert_eq!(pick(txt, "C.Example", 0).as_deref(), Some(r#"{"n":2}"#));
        assert_eq!(pick(txt, "d.example", 0), None);
    }

    #[test]
    fn first_applicable_choice_wins() {
        let txt = r#"[
            {"clientLanguage": ["go"], "serviceConfig": {"n": 1}},
            {"percentage": 50, "clientHostname": ["h"], "serviceConfig": {"n": 2}},
            {"clientLanguage": ["rust"], "serviceConfig": {"n": 3}},
            {"serviceConfig": {"n": 4}}
        ]"#;
        assert_eq!(pick(txt, "h", 10).as_deref(), Some(r#"{"n":2}"#));
        assert_eq!(pick(txt, "h", 60).as_deref(), Some(r#"{"n":3}"#));
        assert_eq!(pick(txt, "other", 10).as_deref(), Some(r#"{"n":3}"#));
        assert_eq!(pick("[]", "h", 0), None);
    }

    #[test]
    fn errors_name_their_path() {
        assert_eq!(
            pick_error(r#"{"serviceConfig": {}}"#),
            ("$".into(), "expected an array, got an object".into())
        );
        assert_eq!(pick_error("grpc_config=[]").0, "$");
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}}, 5]"#),
            ("$[1]".into(), "expected an object, got 5".into())
        );
        let (path, message) = pick_error(r#"[{"serviceConfig": {}, "clientLanguages": ["rust"]}]"#);
        assert_eq!(path, "$[0].clientLanguages");
        assert!(
            message.starts_with("unknown field in a service config choice"),
            "{message}"
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}, "percentage": 101}]"#),
            (
                "$[0].percentage".into(),
                "expected a whole number from 0 to 100, got 101".into()
            )
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}, "percentage": -1}]"#).0,
            "$[0].percentage"
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}, "percentage": "50"}]"#).0,
            "$[0].percentage"
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}, "clientLanguage": "rust"}]"#),
            (
                "$[0].clientLanguage".into(),
                r#"expected an array, got "rust""#.into()
            )
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": {}, "clientHostname": ["h", 1]}]"#),
            (
                "$[0].clientHostname[1]".into(),
                "expected a string, got 1".into()
            )
        );
        assert_eq!(
            pick_error(r#"[{"percentage": 50}]"#),
            ("$[0].serviceConfig".into(), "required".into())
        );
        assert_eq!(
            pick_error(r#"[{"serviceConfig": "{}"}]"#),
            (
                "$[0].serviceConfig".into(),
                r#"expected an object, got "{}""#.into()
            )
        );
    }

    #[test]
    fn choices_after_the_chosen_one_are_still_checked() {
        let txt = r#"[{"serviceConfig": {}}, {"serviceConfig": {}, "bogus": 1}]"#;
        let error = select_txt_choice(txt, "h", 0).unwrap_err();
        assert_eq!(error.path(), "$[1].bogus");
    }
}
