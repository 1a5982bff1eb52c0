//! Parsing a channel target (grpc/grpc `doc/naming.md`): the scheme picks
//! the resolver, the rest names what it resolves.
//!
//! | Written                                   | Parsed as                           |
//! |-------------------------------------------|-------------------------------------|
//! | `dns:[//server-ip[:port]/]host[:port]`    | [`Target::Dns`], port 443           |
//! | `host[:port]`, `[v6]:port` (no scheme)    | as `dns:///host[:port]`             |
//! | `http://host[:port]`                      | [`Target::Dns`], port 80            |
//! | `https://host[:port]`                     | [`Target::Dns`], port 443, TLS      |
//! | `ipv4:a.b.c.d[:port][,...]`               | [`Target::Ipv4`], port 443          |
//! | `ipv6:[addr][:port][,...]`, `ipv6:addr`   | [`Target::Ipv6`], port 443          |
//! | `unix:path` (relative or absolute), `unix:///abs` | [`Target::Unix`]            |
//! | `passthrough:///host[:port]`              | [`Target::Passthrough`], port 443   |
//!
//! Schemes are case-insensitive. `naming.md` sends an unknown scheme to DNS;
//! we only do that when what follows the colon is a port (`localhost:50051`
//! is `dns:///localhost:50051`), and otherwise reject the target (`foo:bar`,
//! `ftp://x`), so that a typo in a scheme is an error, not a DNS lookup of
//! a strange name.

use crate::status::Status;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;

/// The port a target gets when it names none (`naming.md`: 443).
const DEFAULT_PORT: u16 = 443;
/// The port of a DNS server named without one.
const DNS_PORT: u16 = 53;

/// What a channel target names: which resolver, and what it resolves.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// A host name (or an IP literal) resolved through DNS: `dns:`,
    /// `http://`, `https://`, or no scheme at all.
    Dns {
        /// The DNS server to ask (`dns://10.0.0.53:53/host`); the system's
        /// (`/etc/resolv.conf`) when `None`.
        server: Option<SocketAddr>,
        /// The host to resolve (an IPv6 literal without its brackets).
        host: String,
        /// The port of every address found.
        port: u16,
    },
    /// `ipv4:` addresses, in the order written.
    Ipv4(Vec<SocketAddr>),
    /// `ipv6:` addresses, in the order written.
    Ipv6(Vec<SocketAddr>),
    /// A Unix domain socket path (`unix:path` may be relative).
    Unix(PathBuf),
    /// A name handed as is to the connection (`passthrough:`), which lets
    /// the operating system resolve it when connecting.
    Passthrough {
        /// The host name or IP literal.
        host: String,
        /// The port.
        port: u16,
    },
}

/// A parsed target: what to resolve, the default `:authority`, and whether
/// the scheme asks for TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedTarget {
    /// What to resolve.
    pub target: Target,
    /// The default `:authority` of calls: the endpoint as written
    /// (`host:port`, `host`, or an `ipv4:`/`ipv6:` list), as grpc-go does;
    /// `localhost` for a Unix socket.
    pub authority: String,
    /// True for `https://` only.
    pub tls: bool,
}

impl Target {
    /// Parses a channel target; a malformed one is INVALID_ARGUMENT with a
    /// message naming the target and what is wrong.
    pub fn parse(target: &str) -> Result<ParsedTarget, Status> {
        let bad = |why: &str| Status::invalid_argument(format!("invalid target {target:?}: {why}"));
        if target.is_empty() {
            return Err(bad("empty target"));
        }
        if target.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("whitespace or control characters"));
        }
        let Some((scheme, rest)) = split_scheme(target) else {
            return dns_endpoint(target, None).map_err(|w| bad(&w));
        };
        let parsed = match scheme.to_ascii_lowercase().as_str() {
            "dns" => {
                let (authority, endpoint) = split_authority(rest);
                let server = match authority {
                    None | Some("") => None,
                    Some(a) => Some(dns_server(a).map_err(|w| bad(&w))?),
                };
                dns_endpoint(endpoint, server)
            }
            "http" | "https" => web(rest, scheme.eq_ignore_ascii_case("https")),
            "ipv4" => ip_list(rest, ipv4_entry).map(|(list, authority)| ParsedTarget {
                target: Target::Ipv4(list),
                authority,
                tls: false,
            }),
            "ipv6" => ip_list(rest, ipv6_entry).map(|(list, authority)| ParsedTarget {
                target: Target::Ipv6(list),
                authority,
                tls: false,
            }),
            "unix" => unix(rest),
            "passthrough" => passthrough(rest),
            // `localhost:50051`: a host and a port, not a scheme.
            _ if is_port(rest) => dns_endpoint(target, None),
            other => Err(format!(
                "unknown scheme {other:?} (expected dns, ipv4, ipv6, unix, passthrough, \
                 http or https)"
            )),
        };
        parsed.map_err(|w| bad(&w))
    }
}

/// `scheme:rest` when the text before the first colon is a URI scheme
/// (RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`).
fn split_scheme(target: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = target.split_once(':')?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    let valid = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// `//authority/path` -> `(Some(authority), path)`; anything else is a
/// path without an authority.
fn split_authority(rest: &str) -> (Option<&str>, &str) {
    match rest.strip_prefix("//") {
        Some(after) => match after.split_once('/') {
            Some((authority, path)) => (Some(authority), path),
            None => (Some(after), ""),
        },
        None => (None, rest),
    }
}

fn dns_endpoint(endpoint: &str, server: Option<SocketAddr>) -> Result<ParsedTarget, String> {
    let (host, port) = host_port(endpoint, DEFAULT_PORT)?;
    Ok(ParsedTarget {
        target: Target::Dns { server, host, port },
        authority: endpoint.to_owned(),
        tls: false,
    })
}

/// The DNS server of `dns://server/...`: an IP address with an optional
/// port (the resolver needs a socket address, not a name to resolve).
fn dns_server(authority: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = authority.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = authority
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(authority);
    match bare.parse::<IpAddr>() {
        Ok(ip) => Ok(SocketAddr::new(ip, DNS_PORT)),
        Err(_) => Err(format!(
            "the DNS server {authority:?} must be an IP address with an optional port \
             (e.g. 10.0.0.53:53 or [::1]:53), not a name"
        )),
    }
}

/// `http://host[:port][/]` and `https://...`.
fn web(rest: &str, tls: bool) -> Result<ParsedTarget, String> {
    let Some(after) = rest.strip_prefix("//") else {
        return Err("expected //host[:port] after the scheme".into());
    };
    let authority = after.strip_suffix('/').unwrap_or(after);
    if authority.contains('@') {
        return Err("user information is not allowed".into());
    }
    if authority.contains('/') {
        return Err("expected host[:port] with no path".into());
    }
    let (host, port) = host_port(authority, if tls { 443 } else { 80 })?;
    Ok(ParsedTarget {
        target: Target::Dns {
            server: None,
            host,
            port,
        },
        authority: authority.to_owned(),
        tls,
    })
}

fn passthrough(rest: &str) -> Result<ParsedTarget, String> {
    let (authority, endpoint) = split_authority(rest);
    if authority.is_some_and(|a| !a.is_empty()) {
        return Err("passthrough takes no authority (write passthrough:///host:port)".into());
    }
    let (host, port) = host_port(endpoint, DEFAULT_PORT)?;
    Ok(ParsedTarget {
        target: Target::Passthrough { host, port },
        authority: endpoint.to_owned(),
        tls: false,
    })
}

fn unix(rest: &str) -> Result<ParsedTarget, String> {
    let path = match rest.strip_prefix("//") {
        Some(abs) if abs.starts_with('/') => abs,
        Some(_) => {
            return Err("unix:// takes an absolute path (three slashes: unix:///path)".into());
        }
        None => rest,
    };
    if path.is_empty() {
        return Err("missing socket path".into());
    }
    Ok(ParsedTarget {
        target: Target::Unix(PathBuf::from(path)),
        authority: "localhost".into(),
        tls: false,
    })
}

/// A comma-separated list of addresses (`ipv4:`, `ipv6:`), with an optional
/// empty authority (`ipv4:///1.2.3.4`). Returns the list and the text of it.
fn ip_list(
    rest: &str,
    entry: fn(&str) -> Result<SocketAddr, String>,
) -> Result<(Vec<SocketAddr>, String), String> {
    let (authority, list) = split_authority(rest);
    if authority.is_some_and(|a| !a.is_empty()) {
        return Err("address lists take no authority".into());
    }
    if list.is_empty() {
        return Err("missing address".into());
    }
    let addresses = list.split(',').map(entry).collect::<Result<Vec<_>, _>>()?;
    Ok((addresses, list.to_owned()))
}

fn ipv4_entry(entry: &str) -> Result<SocketAddr, String> {
    let (ip, port) = match entry.rsplit_once(':') {
        Some((ip, port)) => (ip, parse_port(port)?),
        None => (entry, DEFAULT_PORT),
    };
    let ip: Ipv4Addr = ip
        .parse()
        .map_err(|_| format!("{entry:?} is not an IPv4 address[:port]"))?;
    Ok(SocketAddr::new(ip.into(), port))
}

fn ipv6_entry(entry: &str) -> Result<SocketAddr, String> {
    let not_v6 = || format!("{entry:?} is not an IPv6 address ([addr]:port, [addr] or addr)");
    let (ip, port) = match entry.strip_prefix('[') {
        Some(inner) => {
            let (ip, after) = inner.split_once(']').ok_or_else(not_v6)?;
            let port = match after {
                "" => DEFAULT_PORT,
                p => parse_port(p.strip_prefix(':').ok_or_else(not_v6)?)?,
            };
            (ip, port)
        }
        None => (entry, DEFAULT_PORT),
    };
    let ip: Ipv6Addr = ip.parse().map_err(|_| not_v6())?;
    Ok(SocketAddr::new(ip.into(), port))
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or an unbracketed IPv6
/// literal without a port. The host comes back without brackets.
fn host_port(endpoint: &str, default_port: u16) -> Result<(String, u16), String> {
    if endpoint.is_empty() {
        return Err("missing host".into());
    }
    if endpoint.contains(['/', '?', '#', '@']) {
        return Err(format!("{endpoint:?} is not host[:port]"));
    }
    if let Some(inner) = endpoint.strip_prefix('[') {
        let (ip, after) = inner
            .split_once(']')
            .ok_or_else(|| format!("unclosed '[' in {endpoint:?}"))?;
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{ip:?} in brackets is not an IPv6 address"));
        }
        let port = match after {
            "" => default_port,
            p => parse_port(
                p.strip_prefix(':')
                    .ok_or_else(|| format!("unexpected {p:?} after ']'"))?,
            )?,
        };
        return Ok((ip.to_owned(), port));
    }
    if endpoint.parse::<Ipv6Addr>().is_ok() {
        return Ok((endpoint.to_owned(), default_port));
    }
    let (host, port) = match endpoint.rsplit_once(':') {
        Some((host, port)) => (host, parse_port(port)?),
        None => (endpoint, default_port),
    };
    if host.is_empty() {
        return Err("missing host".into());
    }
    if host.contains([':', '[', ']']) {
        return Err(format!(
            "{endpoint:?} is not host[:port] (an IPv6 address with a port goes in brackets)"
        ));
    }
    Ok((host.to_owned(), port))
}

fn is_port(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn parse_port(p: &str) -> Result<u16, String> {
    if !is_port(p) {
        return Err(format!("bad port {p:?}"));
    }
    p.parse().map_err(|_| format!("port {p} is out of range"))
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
