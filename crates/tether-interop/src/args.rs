//! The standard interop client flags, parsed by hand, and the channel they
//! describe.

use std::time::Duration;
use tether::{Channel, TlsConfig};

/// The flags of the standard interop client.
///
/// Flags are `--name=value` or `--name value`; boolean flags also accept
/// the bare `--name` (true).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientArgs {
    /// `--server_host` (default `127.0.0.1`).
    pub server_host: String,
    /// `--server_port` (required).
    pub server_port: u16,
    /// `--test_case`: a case of [`crate::cases::ALL`] or `all` (default `all`).
    pub test_case: String,
    /// `--use_tls`.
    pub use_tls: bool,
    /// `--use_test_ca`: trust only `--ca_file` instead of the web's roots.
    pub use_test_ca: bool,
    /// `--ca_file`: the PEM file of the test CA (read with `--use_test_ca`).
    pub ca_file: Option<String>,
    /// `--server_host_override`: the TLS server name and `:authority`.
    pub server_host_override: Option<String>,
}

impl Default for ClientArgs {
    fn default() -> Self {
        ClientArgs {
            server_host: "127.0.0.1".to_owned(),
            server_port: 0,
            test_case: "all".to_owned(),
            use_tls: false,
            use_test_ca: false,
            ca_file: None,
            server_host_override: None,
        }
    }
}

fn parse_bool(flag: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("--{flag} takes true or false, not {value:?}")),
    }
}

impl ClientArgs {
    /// Parses the flags (without the program name).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<ClientArgs, String> {
        let mut out = ClientArgs::default();
        let mut port = None;
        let mut args = args.into_iter().peekable();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                return Err(format!("unexpected argument {arg:?} (flags start with --)"));
            };
            let (name, inline) = match flag.split_once('=') {
                Some((n, v)) => (n.to_owned(), Some(v.to_owned())),
                None => (flag.to_owned(), None),
            };
            let is_bool = matches!(name.as_str(), "use_tls" | "use_test_ca");
            let value = match inline {
                Some(v) => v,
                None if is_bool => match args.peek().map(String::as_str) {
                    Some("true" | "false") => args.next().unwrap_or_default(),
                    _ => "true".to_owned(),
                },
                None => args
                    .next()
                    .ok_or_else(|| format!("--{name} needs a value"))?,
            };
            match name.as_str() {
                "server_host" => out.server_host = value,
                "server_port" => {
                    port = Some(
                        value
                            .parse::<u16>()
                            .map_err(|_| format!("--server_port: not a port: {value:?}"))?,
                    )
                }
                "test_case" => out.test_case = value,
                "use_tls" => out.use_tls = parse_bool(&name, &value)?,
                "use_test_ca" => out.use_test_ca = parse_bool(&name, &value)?,
                "ca_file" => out.ca_file = Some(value),
                "server_host_override" => out.server_host_override = Some(value),
                _ => return Err(format!("unknown flag --{name}")),
            }
        }
        out.server_port = port.ok_or("--server_port is required")?;
        Ok(out)
    }

    /// The channel the flags describe (lazy: it connects on the first call).
    pub fn channel(&self) -> Result<Channel, String> {
        let host = if self.server_host.contains(':') {
            format!("[{}]", self.server_host)
        } else {
            self.server_host.clone()
        };
        let scheme = if self.use_tls { "https" } else { "http" };
        let target = format!("{scheme}://{host}:{}", self.server_port);
        let mut builder =
            Channel::builder(&target).map_err(|s| format!("bad target {target:?}: {s}"))?;
        builder = builder.connect_timeout(Duration::from_secs(20));
        if self.use_tls {
            let mut tls = TlsConfig::new();
            if self.use_test_ca {
                let file = self
                    .ca_file
                    .as_deref()
                    .ok_or("--use_test_ca needs --ca_file (no test CA is built in)")?;
                let pem = std::fs::read(file).map_err(|e| format!("reading {file}: {e}"))?;
                tls = tls
                    .ca_pem(&pem)
                    .map_err(|s| format!("bad CA file {file}: {s}"))?;
            }
            if let Some(name) = &self.server_host_override {
                tls = tls.server_name(name);
            }
            builder = builder.tls(tls);
        }
        if let Some(name) = &self.server_host_override {
            builder = builder.authority(name);
        }
        builder
            .build()
            .map_err(|s| format!("bad channel settings: {s}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<ClientArgs, String> {
        ClientArgs::parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn standard_flags() {
        let a = parse(&[
            "--server_host=localhost",
            "--server_port",
            "8080",
            "--test_case=large_unary",
            "--use_tls",
            "--use_test_ca=true",
            "--ca_file=/x/ca.pem",
            "--server_host_override=foo.test.google.fr",
        ])
        .unwrap();
        assert_eq!(a.server_host, "localhost");
        assert_eq!(a.server_port, 8080);
        assert_eq!(a.test_case, "large_unary");
        assert!(a.use_tls && a.use_test_ca);
        assert_eq!(a.ca_file.as_deref(), Some("/x/ca.pem"));
        assert_eq!(
            a.server_host_override.as_deref(),
            Some("foo.test.google.fr")
        );
        let b = parse(&["--use_tls", "false", "--server_port=1"]).unwrap();
        assert!(!b.use_tls);
        assert_eq!(b.test_case, "all");
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&[]).unwrap_err(), "--server_port is required");
        assert!(parse(&["--server_port=x"])
            .unwrap_err()
            .contains("not a port"));
        assert!(parse(&["--nope=1"])
            .unwrap_err()
            .contains("unknown flag --nope"));
        assert!(parse(&["--use_tls=maybe"])
            .unwrap_err()
            .contains("true or false"));
        assert!(parse(&["--server_host"])
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&["stray"])
            .unwrap_err()
            .contains("unexpected argument"));
    }
}
