//! [`ServiceConfigError`] and [`Path`], the JSON path every error names.

use crate::status::Status;
use serde_json::{Map, Value};
use std::fmt;

/// Why a service config (or a DNS TXT record holding one) was rejected:
/// the JSON path of the offending value (`$.methodConfig[1].timeout`) and
/// what is wrong with it.
///
/// Displays as `service config: <path>: <message>`; converts into a
/// [`Status`] with [`Code::InvalidArgument`](crate::Code::InvalidArgument)
/// and the same text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceConfigError {
    path: String,
    message: String,
}

impl ServiceConfigError {
    /// The JSON path of the offending value, `$` for the document itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong with the value at [`path`](Self::path).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ServiceConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service config: {}: {}", self.path, self.message)
    }
}

impl std::error::Error for ServiceConfigError {}

impl From<ServiceConfigError> for Status {
    fn from(error: ServiceConfigError) -> Status {
        Status::invalid_argument(error.to_string())
    }
}

/// A JSON path, built on the stack while the parser walks the document and
/// rendered to text only when an error needs it.
#[derive(Clone, Copy, Debug)]
pub(super) enum Path<'a> {
    /// `$`, the document.
    Root,
    /// A field of an object: `.name`, or `["odd name"]`.
    Key(&'a Path<'a>, &'a str),
    /// An element of an array: `[3]`.
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    /// The path of field `key` of the object at this path.
    pub(super) fn key(&'a self, key: &'a str) -> Path<'a> {
        Path::Key(self, key)
    }

    /// The path of element `index` of the array at this path.
    pub(super) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    /// An error about the value at this path.
    pub(super) fn error(&self, message: impl Into<String>) -> ServiceConfigError {
        ServiceConfigError {
            path: self.to_string(),
            message: message.into(),
        }
    }

    /// "expected `what`, got `value`" at this path.
    pub(super) fn expected(&self, what: &str, value: &Value) -> ServiceConfigError {
        self.error(format!("expected {what}, got {}", describe(value)))
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => f.write_str("$"),
            Path::Key(parent, key) => {
                let plain =
                    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                if plain {
                    write!(f, "{parent}.{key}")
                } else {
                    write!(f, "{parent}[{}]", Value::from(*key))
                }
            }
            Path::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// A short description of a JSON value for error messages: scalars as JSON
/// (long strings cut), containers by kind, so a message stays one line.
pub(super) fn describe(value: &Value) -> String {
    const MAX_CHARS: usize = 40;
    match value {
        Value::String(text) if text.chars().count() > MAX_CHARS => {
            let cut: String = text.chars().take(MAX_CHARS).collect();
            format!("{}...", Value::from(cut))
        }
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
        scalar => scalar.to_string(),
    }
}

/// Field `key` of `object`; absent and `null` are the same (proto3 JSON).
pub(super) fn field<'v>(object: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    object.get(key).filter(|value| !value.is_null())
}

/// The value as an object, or an error at `path`.
pub(super) fn object<'v>(
    value: &'v Value,
    path: &Path<'_>,
) -> Result<&'v Map<String, Value>, ServiceConfigError> {
    value
        .as_object()
        .ok_or_else(|| path.expected("an object", value))
}

/// The value as an array, or an error at `path`.
pub(super) fn array<'v>(
    value: &'v Value,
    path: &Path<'_>,
) -> Result<&'v [Value], ServiceConfigError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(path.expected("an array", other)),
    }
}

/// The value as a string, or an error at `path`.
pub(super) fn string<'v>(value: &'v Value, path: &Path<'_>) -> Result<&'v str, ServiceConfigError> {
    value
        .as_str()
        .ok_or_else(|| path.expected("a string", value))
}

/// The value as a boolean, or an error at `path`.
pub(super) fn boolean(value: &Value, path: &Path<'_>) -> Result<bool, ServiceConfigError> {
    value
        .as_bool()
        .ok_or_else(|| path.expected("a boolean", value))
}

/// `text` parsed as JSON, or an error at `$`.
pub(super) fn parse_json(text: &str) -> Result<Value, ServiceConfigError> {
    serde_json::from_str(text).map_err(|e| Path::Root.error(format!("invalid JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn paths_render_keys_and_indexes() {
        let root = Path::Root;
        let configs = root.key("methodConfig");
        let first = configs.index(1);
        let timeout = first.key("timeout");
        assert_eq!(timeout.to_string(), "$.methodConfig[1].timeout");
        let odd = root.key("a.b \"c\"");
        assert_eq!(odd.to_string(), r#"$["a.b \"c\""]"#);
        let empty = root.key("");
        assert_eq!(empty.to_string(), r#"$[""]"#);
        assert_eq!(root.index(0).to_string(), "$[0]");
    }

    #[test]
    fn error_display_and_status() {
        let root = Path::Root;
        let timeout = root.key("timeout");
        let error = timeout.expected("a duration like \"1.5s\"", &Value::from("abc"));
        assert_eq!(error.path(), "$.timeout");
        assert_eq!(
            error.message(),
            r#"expected a duration like "1.5s", got "abc""#
        );
        let text = error.to_string();
        assert_eq!(
            text,
            r#"service config: $.timeout: expected a duration like "1.5s", got "abc""#
        );
        let status = Status::from(error);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), text);
    }

    #[test]
    fn describe_is_short() {
        assert_eq!(describe(&Value::Null), "null");
        assert_eq!(describe(&serde_json::json!(1.5)), "1.5");
        assert_eq!(describe(&serde_json::json!([1, 2])), "an array");
        assert_eq!(describe(&serde_json::json!({"a": 1})), "an object");
        let long = "x".repeat(100);
        assert_eq!(
            describe(&Value::from(long)),
            format!("\"{}\"...", "x".repeat(40))
        );
    }

    #[test]
    fn invalid_json_is_reported_at_the_root() {
        let error = parse_json("{\"a\": ").unwrap_err();
        assert_eq!(error.path(), "$");
        assert!(error.message().starts_with("invalid JSON: "), "{error}");
    }
}
