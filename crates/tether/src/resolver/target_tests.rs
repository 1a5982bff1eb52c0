use super::*;
use crate::Code;

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn dns(server: Option<&str>, host: &str, port: u16) -> Target {
    Target::Dns {
        server: server.map(sa),
        host: host.into(),
        port,
    }
}

fn ok(target: &str) -> ParsedTarget {
    Target::parse(target).unwrap_or_else(|e| panic!("{target:?} rejected: {e:?}"))
}

/// (target, what it names, its authority, tls)
fn accepted() -> Vec<(&'static str, Target, &'static str, bool)> {
    vec![
        // dns, in all its spellings.
        (
            "dns:svc.test:50051",
            dns(None, "svc.test", 50051),
            "svc.test:50051",
            false,
        ),
        (
            "dns:///svc.test:50051",
            dns(None, "svc.test", 50051),
            "svc.test:50051",
            false,
        ),
        (
            "dns:///svc.test",
            dns(None, "svc.test", 443),
            "svc.test",
            false,
        ),
        (
            "DNS:///svc.test",
            dns(None, "svc.test", 443),
            "svc.test",
            false,
        ),
        (
            "dns:///127.0.0.1:1",
            dns(None, "127.0.0.1", 1),
            "127.0.0.1:1",
            false,
        ),
        (
            "dns:///[::1]:50051",
            dns(None, "::1", 50051),
            "[::1]:50051",
            false,
        ),
        ("dns:///[::1]", dns(None, "::1", 443), "[::1]", false),
        ("dns:///::1", dns(None, "::1", 443), "::1", false),
        ("dns:///x:65535", dns(None, "x", 65535), "x:65535", false),
        (
            "dns://127.0.0.1:5353/svc.test:50051",
            dns(Some("127.0.0.1:5353"), "svc.test", 50051),
            "svc.test:50051",
            false,
        ),
        (
            "dns://10.0.0.53/a.b",
            dns(Some("10.0.0.53:53"), "a.b", 443),
            "a.b",
            false,
        ),
        (
            "dns://[::1]:5353/a:1",
            dns(Some("[::1]:5353"), "a", 1),
            "a:1",
            false,
        ),
        ("dns://[::1]/a", dns(Some("[::1]:53"), "a", 443), "a", false),
        // No scheme: DNS.
        (
            "localhost:50051",
            dns(None, "localhost", 50051),
            "localhost:50051",
            false,
        ),
        ("localhost", dns(None, "localhost", 443), "localhost", false),
        (
            "my-svc.ns.svc:80",
            dns(None, "my-svc.ns.svc", 80),
            "my-svc.ns.svc:80",
            false,
        ),
        ("::1", dns(None, "::1", 443), "::1", false),
        (
            "10.1.2.3:8080",
            dns(None, "10.1.2.3", 8080),
            "10.1.2.3:8080",
            false,
        ),
        (
            "[2001:db8::1]:9",
            dns(None, "2001:db8::1", 9),
            "[2001:db8::1]:9",
            false,
        ),
        // http and https.
        ("http://h", dns(None, "h", 80), "h", false),
        ("http://h:1234/", dns(None, "h", 1234), "h:1234", false),
        ("https://h", dns(None, "h", 443), "h", true),
        (
            "HTTPS://[::1]:8443",
            dns(None, "::1", 8443),
            "[::1]:8443",
            true,
        ),
        // Address lists.
        (
            "ipv4:127.0.0.1",
            Target::Ipv4(vec![sa("127.0.0.1:443")]),
            "127.0.0.1",
            false,
        ),
        (
            "ipv4:127.0.0.1:1,127.0.0.2",
            Target::Ipv4(vec![sa("127.0.0.1:1"), sa("127.0.0.2:443")]),
            "127.0.0.1:1,127.0.0.2",
            false,
        ),
        (
            "ipv4:///10.0.0.1:5",
            Target::Ipv4(vec![sa("10.0.0.1:5")]),
            "10.0.0.1:5",
            false,
        ),
        (
            "ipv6:::1",
            Target::Ipv6(vec![sa("[::1]:443")]),
            "::1",
            false,
        ),
        (
            "ipv6:[::1]",
            Target::Ipv6(vec![sa("[::1]:443")]),
            "[::1]",
            false,
        ),
        (
            "ipv6:[2607:f8b0:400e:c00::ef]:443,[::]:1234,::2",
            Target::Ipv6(vec![
                sa("[2607:f8b0:400e:c00::ef]:443"),
                sa("[::]:1234"),
                sa("[::2]:443"),
            ]),
            "[2607:f8b0:400e:c00::ef]:443,[::]:1234,::2",
            false,
        ),
        // Unix sockets.
        (
            "unix:/tmp/s.sock",
            Target::Unix("/tmp/s.sock".into()),
            "localhost",
            false,
        ),
        (
            "unix:///tmp/s.sock",
            Target::Unix("/tmp/s.sock".into()),
            "localhost",
            false,
        ),
        (
            "unix:rel/s.sock",
            Target::Unix("rel/s.sock".into()),
            "localhost",
            false,
        ),
        (
            "unix:s.sock",
            Target::Unix("s.sock".into()),
            "localhost",
            false,
        ),
        // Passthrough.
        (
            "passthrough:///h.example:50051",
            Target::Passthrough {
                host: "h.example".into(),
                port: 50051,
            },
            "h.example:50051",
            false,
        ),
        (
            "passthrough:///h",
            Target::Passthrough {
                host: "h".into(),
                port: 443,
            },
            "h",
            false,
        ),
        (
            "passthrough:h:1",
            Target::Passthrough {
                host: "h".into(),
                port: 1,
            },
            "h:1",
            false,
        ),
    ]
}

#[test]
fn accepts_every_documented_form() {
    for (text, target, authority, tls) in accepted() {
        let parsed = ok(text);
        assert_eq!(parsed.target, target, "{text}");
        assert_eq!(parsed.authority, authority, "{text}");
        assert_eq!(parsed.tls, tls, "{text}");
    }
}

#[test]
fn rejects_malformed_targets_naming_the_target() {
    let rejected = [
        ("", "empty"),
        (" localhost:1", "whitespace"),
        ("dns:///a b", "whitespace"),
        ("dns:", "missing host"),
        ("dns:///", "missing host"),
        ("dns://1.2.3.4", "missing host"),
        ("dns:///:50051", "missing host"),
        ("dns:///h:", "bad port"),
        ("dns:///h:x", "bad port"),
        ("dns:///h:-1", "bad port"),
        ("dns:///h:65536", "out of range"),
        ("dns:///h:1/path", "not host[:port]"),
        ("dns:///h?q", "not host[:port]"),
        ("dns:///[::1", "unclosed"),
        ("dns:///[::1]x", "after ']'"),
        ("dns:///[host]:1", "not an IPv6 address"),
        ("dns:///fe80::1:zz:1", "brackets"),
        ("dns://ns.example/h", "not a name"),
        ("dns://ns.example:53/h", "not a name"),
        ("dns://1.2.3.4:x/h", "not a name"),
        ("http://", "missing host"),
        ("http:h", "expected //host"),
        ("http://h:1/p", "no path"),
        ("http://u@h", "user information"),
        ("https://h:99999", "out of range"),
        ("ipv4:", "missing address"),
        ("ipv4:1.2.3.4,", "not an IPv4"),
        ("ipv4:1.2.3", "not an IPv4"),
        ("ipv4:::1", "not an IPv4"),
        ("ipv4:1.2.3.4:p", "bad port"),
        ("ipv4://host/1.2.3.4", "no authority"),
        ("ipv6:", "missing address"),
        ("ipv6:1.2.3.4", "not an IPv6"),
        ("ipv6:[::1]:", "bad port"),
        ("ipv6:[::1", "not an IPv6"),
        ("ipv6:::1:443x", "not an IPv6"),
        ("unix:", "missing socket path"),
        ("unix://", "absolute path"),
        ("unix://rel/s.sock", "absolute path"),
        ("passthrough:///", "missing host"),
        ("passthrough://auth/h:1", "no authority"),
        ("ftp://x", "unknown scheme"),
        ("foo:bar", "unknown scheme"),
        ("xds:///svc", "unknown scheme"),
        ("localhost:", "unknown scheme"),
    ];
    for (text, why) in rejected {
        let err = Target::parse(text).unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{text:?}");
        assert!(
            err.message().contains(&format!("{text:?}")),
            "{text:?}: {}",
            err.message()
        );
        assert!(err.message().contains(why), "{text:?}: {}", err.message());
    }
}

#[test]
fn a_bare_host_port_equals_its_dns_spelling() {
    for bare in [
        "localhost:50051",
        "svc.test",
        "127.0.0.1:1",
        "[::1]:2",
        "::1",
    ] {
        assert_eq!(ok(bare), ok(&format!("dns:///{bare}")), "{bare}");
    }
}

#[test]
fn the_dns_server_must_be_an_address() {
    let err = Target::parse("dns://resolver.local:53/svc.test").unwrap_err();
    assert!(err.message().contains("must be an IP address"), "{err:?}");
}
