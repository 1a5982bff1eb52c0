//! Parsing a channel target URI.

use crate::grpc::Scheme;
use crate::status::Status;
use std::path::PathBuf;

/// Where a channel connects: parsed from `http://host:port`,
/// `https://host:port`, `unix:/path` or `unix:///path`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A host name or IP address and a port, over TCP.
    Tcp {
        /// The host (an IPv6 literal without its brackets).
        host: String,
        /// The port (80 for `http`, 443 for `https` when absent).
        port: u16,
        /// `http` or `https`.
        scheme: Scheme,
        /// `host:port` as written, for `:authority`.
        authority: String,
    },
    /// A Unix domain socket path.
    Unix {
        /// The socket path.
        path: PathBuf,
    },
}

impl Target {
    /// Parses a target; anything else is INVALID_ARGUMENT.
    pub fn parse(target: &str) -> Result<Target, Status> {
        let bad = |why: &str| Status::invalid_argument(format!("invalid target {target:?}: {why}"));
        if let Some(rest) = target.strip_prefix("unix:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if !path.starts_with('/') {
                return Err(bad("a unix socket path must be absolute"));
            }
            return Ok(Target::Unix {
                path: PathBuf::from(path),
            });
        }
        let (scheme, rest) = if let Some(rest) = target.strip_prefix("http://") {
            (Scheme::Http, rest)
        } else if let Some(rest) = target.strip_prefix("https://") {
            (Scheme::Https, rest)
        } else {
            return Err(bad("expected http://, https:// or unix:"));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@']) {
            return Err(bad("expected host[:port] with no path"));
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            match after {
                "" => (host, default_port),
                p => (
                    host,
                    parse_port(p.strip_prefix(':').ok_or_else(|| bad("bad port"))?)
                        .ok_or_else(|| bad("bad port"))?,
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, p)) => (host, parse_port(p).ok_or_else(|| bad("bad port"))?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return Err(bad("empty host"));
        }
        Ok(Target::Tcp {
            host: host.to_owned(),
            port,
            scheme,
            authority: authority.to_owned(),
        })
    }

    /// The `:scheme` of requests on this target.
    pub fn scheme(&self) -> Scheme {
        match self {
            Target::Tcp { scheme, .. } => *scheme,
            Target::Unix { .. } => Scheme::Http,
        }
    }

    /// The default `:authority` (`host:port`, or `localhost` for a socket path).
    pub fn authority(&self) -> &str {
        match self {
            Target::Tcp { authority, .. } => authority,
            Target::Unix { .. } => "localhost",
        }
    }
}

fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn parses_targets() {
        assert_eq!(
            Target::parse("http://localhost:50051").unwrap(),
            Target::Tcp {
                host: "localhost".into(),
                port: 50051,
                scheme: Scheme::Http,
                authority: "localhost:50051".into()
            }
        );
        let t = Target::parse("https://[::1]").unwrap();
        assert!(matches!(t, Target::Tcp { ref host, port: 443, .. } if host == "::1"));
        assert_eq!(t.scheme(), Scheme::Https);
        assert_eq!(
            Target::parse("unix:///tmp/s.sock").unwrap(),
            Target::Unix {
                path: "/tmp/s.sock".into()
            }
        );
        assert_eq!(
            Target::parse("unix:/tmp/s.sock").unwrap(),
            Target::Unix {
                path: "/tmp/s.sock".into()
            }
        );
    }

    #[test]
    fn rejects_bad_targets() {
        for bad in [
            "localhost:1",
            "http://",
            "http://h:x",
            "http://h:1/p",
            "unix:rel",
            "ftp://h",
            "http://h:99999",
        ] {
            let err = Target::parse(bad).unwrap_err();
            assert_eq!(err.code(), Code::InvalidArgument, "{bad}");
        }
    }
}
