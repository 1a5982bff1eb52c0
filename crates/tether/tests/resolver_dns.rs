//! The `dns:` resolver against a real DNS server: dnsmasq, serving a hosts
//! file we rewrite (and reload with SIGHUP) and a TXT record, with a 1 s
//! TTL. Every address stays in 127.0.0.0/8. Without dnsmasq the tests skip
//! with a message, or fail when `TETHER_REQUIRE_PEERS=1`.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use tether::resolver::{
    Address, DnsConfig, DnsRefresh, DnsResolver, Resolution, Resolver, ResolverListener, Target,
};
use tether::{Code, Status};

const SERVICE_CONFIG: &str = r#"[{"serviceConfig":{"loadBalancingConfig":[{"round_robin":{}}]}}]"#;

/// `dnsmasq` in PATH, /usr/sbin or /sbin; `None` (skip) or a panic when
/// `TETHER_REQUIRE_PEERS=1`.
fn dnsmasq_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/sbin".into(), "/sbin".into()]);
    let found = dirs
        .into_iter()
        .map(|d| d.join("dnsmasq"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
            panic!("peers required but dnsmasq is missing (apt-get install dnsmasq-base)");
        }
        eprintln!("skipping: dnsmasq is missing (apt-get install dnsmasq-base)");
    }
    found
}

/// A dnsmasq process serving `svc.test` from a hosts file; killed by pid
/// and its directory removed when dropped.
struct Dnsmasq {
    child: Child,
    dir: PathBuf,
    hosts: PathBuf,
    port: u16,
}

impl Dnsmasq {
    /// Starts dnsmasq with `hosts` as its hosts file; waits (at most 5 s)
    /// until it listens.
    fn start(hosts: &str) -> Option<Dnsmasq> {
        let binary = dnsmasq_binary()?;
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tether-dnsmasq-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        // dnsmasq drops to `nobody` and re-reads the file on SIGHUP.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let hosts_path = dir.join("hosts");
        write_world_readable(&hosts_path, hosts);
        // The TXT record goes in a configuration file: only there does
        // dnsmasq read quoted strings (the JSON has commas, which separate
        // strings on the command line). Two strings, which gRFC A2 joins.
        let conf = dir.join("dnsmasq.conf");
        let (a, b) = SERVICE_CONFIG.split_at(SERVICE_CONFIG.len() / 2);
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\\\""));
        let line = format!(
            "txt-record=_grpc_config.svc.test,{},{}\n",
            quote(&format!("grpc_config={a}")),
            quote(b)
        );
        write_world_readable(&conf, &line);
        let port = free_udp_port();
        let child = Command::new(binary)
            .arg("-k")
            .arg(format!("--port={port}"))
            .arg("--listen-address=127.0.0.1")
            .arg("--bind-interfaces")
            .arg("--no-resolv")
            .arg("--no-hosts")
            .arg(format!("--addn-hosts={}", hosts_path.display()))
            .arg("--local=/test/")
            .arg("--local-ttl=1")
            .arg(format!("--conf-file={}", conf.display()))
            .arg("--user=nobody")
            .arg("--group=nogroup")
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start dnsmasq");
        let mut server = Dnsmasq {
            child,
            dir,
            hosts: hosts_path,
            port,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        // Listening once the port can no longer be bound.
        while std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("dnsmasq exited: {status}");
            }
            assert!(Instant::now() < deadline, "dnsmasq did not listen in 5 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// `dns://127.0.0.1:PORT/<name>`.
    fn target(&self, name: &str) -> String {
        format!("dns://127.0.0.1:{}/{name}", self.port)
    }

    /// Replaces the hosts file and makes dnsmasq read it again.
    fn rewrite_hosts(&self, hosts: &str) {
        write_world_readable(&self.hosts, hosts);
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -HUP: {status}");
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_world_readable(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A resolver of `target` (which must be `dns:`) with `config`, started.
fn start(target: &str, config: DnsConfig) -> (DnsResolver, tether::resolver::ResolverReports) {
    let parsed = Target::parse(target).unwrap();
    let Target::Dns { server, host, port } = parsed.target else {
        panic!("not a dns target: {target}");
    };
    assert!(server.is_some());
    let mut resolver = DnsResolver::new(host, port, server, config);
    let (listener, rx) = ResolverListener::new();
    resolver.start(listener);
    (resolver, rx)
}

/// The next report, within 5 s.
async fn next(rx: &mut tether::resolver::ResolverReports) -> Result<Resolution, Status> {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("a report within 5 s")
        .expect("the resolver is running")
}

fn addresses(resolution: &Resolution) -> BTreeSet<Address> {
    resolution.addresses.iter().cloned().collect()
}

fn set(addrs: &[&str]) -> BTreeSet<Address> {
    addrs
        .iter()
        .map(|a| Address::Tcp(a.parse::<SocketAddr>().unwrap()))
        .collect()
}

fn no_limit() -> DnsConfig {
    // A query lost while dnsmasq reloads its hosts file (SIGHUP) is asked
    // again after 500 ms, not after the default 5 s (the whole window these
    // tests give a report).
    DnsConfig::default()
        .with_min_resolution_interval(Duration::ZERO)
        .with_query_timeout(Duration::from_millis(500))
}

#[tokio::test]
async fn names_resolve_to_the_servers_addresses() {
    let Some(dns) =
        Dnsmasq::start("127.0.0.11 svc.test\n127.0.0.12 svc.test\n127.0.0.13 other.test\n")
    else {
        return;
    };
    let (_resolver, mut rx) = start(&dns.target("svc.test:50051"), no_limit());
    let found = next(&mut rx).await.unwrap();
    assert_eq!(
        addresses(&found),
        set(&["127.0.0.11:50051", "127.0.0.12:50051"])
    );
    assert_eq!(found.service_config, None, "TXT is off by default");
}

#[tokio::test]
async fn a_ttl_refresh_sees_a_rewritten_hosts_file() {
    let Some(dns) = Dnsmasq::start("127.0.0.21 svc.test\n") else {
        return;
    };
    let one_second = DnsRefresh::Ttl {
        min: Duration::from_secs(1),
        max: Duration::from_secs(1),
    };
    let (_resolver, mut rx) = start(
        &dns.target("svc.test:1"),
        no_limit().with_refresh(one_second),
    );
    assert_eq!(
        addresses(&next(&mut rx).await.unwrap()),
        set(&["127.0.0.21:1"])
    );
    dns.rewrite_hosts("127.0.0.22 svc.test\n127.0.0.23 svc.test\n");
    let changed = Instant::now();
    let want = set(&["127.0.0.22:1", "127.0.0.23:1"]);
    loop {
        let got = addresses(&next(&mut rx).await.unwrap());
        if got == want {
            break;
        }
        assert_eq!(got, set(&["127.0.0.21:1"]), "only the old or the new list");
        assert!(
            changed.elapsed() < Duration::from_secs(3),
            "no new list after 3 s"
        );
    }
    assert!(
        changed.elapsed() < Duration::from_secs(3),
        "{:?}",
        changed.elapsed()
    );
}

#[tokio::test]
async fn resolve_now_sees_a_rewritten_hosts_file_without_a_refresh() {
    let Some(dns) = Dnsmasq::start("127.0.0.31 svc.test\n") else {
        return;
    };
    let config = no_limit().with_refresh(DnsRefresh::Never);
    let (mut resolver, mut rx) = start(&dns.target("svc.test:2"), config);
    assert_eq!(
        addresses(&next(&mut rx).await.unwrap()),
        set(&["127.0.0.31:2"])
    );
    dns.rewrite_hosts("127.0.0.32 svc.test\n");
    // No refresh on its own...
    let quiet = tokio::time::timeout(Duration::from_millis(1500), rx.recv()).await;
    assert!(quiet.is_err(), "unexpected report {quiet:?}");
    // ...until the channel asks.
    resolver.resolve_now();
    assert_eq!(
        addresses(&next(&mut rx).await.unwrap()),
        set(&["127.0.0.32:2"])
    );
}

#[tokio::test]
async fn a_missing_name_is_an_unavailable_report() {
    let Some(dns) = Dnsmasq::start("127.0.0.41 svc.test\n") else {
        return;
    };
    let (_resolver, mut rx) = start(&dns.target("missing.test:3"), no_limit());
    let err = next(&mut rx).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message()
            .starts_with("DNS resolution of missing.test failed"),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_txt_service_config_comes_only_when_enabled() {
    let Some(dns) = Dnsmasq::start("127.0.0.51 svc.test\n") else {
        return;
    };
    let (_on, mut rx) = start(
        &dns.target("svc.test:4"),
        no_limit().with_txt_service_config(true),
    );
    let found = next(&mut rx).await.unwrap();
    assert_eq!(found.service_config.as_deref(), Some(SERVICE_CONFIG));
    assert_eq!(addresses(&found), set(&["127.0.0.51:4"]));
    let (_off, mut rx) = start(&dns.target("svc.test:4"), no_limit());
    assert_eq!(next(&mut rx).await.unwrap().service_config, None);
}
