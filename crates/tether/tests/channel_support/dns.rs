//! A DNS server on a loopback port for the `dns:` resolver tests: dnsmasq
//! (Debian `dnsmasq-base`, scripts/install-peers.sh) serving names from a
//! hosts file with a 1 s TTL, like a headless Kubernetes service.
//!
//! [`Dns::set`] rewrites the file, sends SIGHUP (dnsmasq rereads it and
//! drops its cache) and waits until the answers changed. The process is
//! killed by pid when the [`Dns`] is dropped.

use super::peers::{free_port, Peer};
use super::within;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// dnsmasq in /usr/sbin or on PATH; `None` (skip) when missing, a panic with
/// `TETHER_REQUIRE_PEERS=1`.
pub fn dnsmasq() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/sbin/dnsmasq")];
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path).map(|d| d.join("dnsmasq")));
    }
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(found);
    }
    if std::env::var("TETHER_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("peers required but dnsmasq is missing (scripts/install-peers.sh installs dnsmasq-base)");
    }
    eprintln!("skipping: dnsmasq is missing (run scripts/install-peers.sh)");
    None
}

/// A dnsmasq serving one name on 127.0.0.1:`port()` (UDP and TCP).
pub struct Dns {
    peer: Option<Peer>,
    pid: u32,
    dir: PathBuf,
    hosts: PathBuf,
    name: String,
    port: u16,
}

impl Dns {
    /// Starts dnsmasq answering `name` with `addrs` (IPv4 literals); waits
    /// (at most 10 s) until it answers. `None` when dnsmasq is missing.
    pub async fn start(name: &str, addrs: &[&str]) -> Option<Dns> {
        let bin = dnsmasq()?;
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "tether-dns-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o755);
        let hosts = dir.join("hosts");
        write_hosts(&hosts, name, addrs);
        // A port free for TCP and UDP can be taken between our check and
        // dnsmasq's bind: try a few.
        for _ in 0..5 {
            let port = free_udp_tcp_port();
            let mut cmd = Command::new(&bin);
            cmd.args([
                "-k",
                &format!("--port={port}"),
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--no-resolv",
                "--no-hosts",
                &format!("--addn-hosts={}", hosts.display()),
                "--local-ttl=1",
                "--user=nobody",
                "--group=nogroup",
                &format!("--pid-file={}", dir.join("pid").display()),
                "--log-facility=-",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            let mut peer = Peer::new(cmd.spawn().expect("start dnsmasq"));
            let want = sorted(addrs);
            for _ in 0..100 {
                if peer.exited() {
                    break; // the port was taken, most likely: try another
                }
                if query_a(port, name).await.map(|a| sorted_ips(&a)) == Some(want.clone()) {
                    return Some(Dns {
                        pid: peer.pid(),
                        peer: Some(peer),
                        dir,
                        hosts,
                        name: name.to_string(),
                        port,
                    });
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        panic!("dnsmasq did not start (5 tries)");
    }

    /// The DNS port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The pid of dnsmasq.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `dns://127.0.0.1:<dns port>/<name>:<backend_port>`.
    pub fn target(&self, name: &str, backend_port: u16) -> String {
        format!("dns://127.0.0.1:{}/{name}:{backend_port}", self.port)
    }

    /// Makes the name answer `addrs` (empty: no address): rewrites the
    /// hosts file, SIGHUPs dnsmasq, and waits (at most 5 s) until it answers
    /// the new list.
    pub async fn set(&self, addrs: &[&str]) {
        write_hosts(&self.hosts, &self.name, addrs);
        let status = Command::new("kill")
            .args(["-HUP", &self.pid.to_string()])
            .status()
            .expect("run kill -HUP");
        assert!(status.success(), "kill -HUP {} failed", self.pid);
        let want = sorted(addrs);
        within(5, async {
            loop {
                if self.query_a(&self.name).await.map(|a| sorted_ips(&a)) == Some(want.clone()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    /// One A query for `name` to this server (see [`query_a`]).
    pub async fn query_a(&self, name: &str) -> Option<Vec<Ipv4Addr>> {
        query_a(self.port, name).await
    }
}

/// One A query over UDP to 127.0.0.1:`port` (a hand-built packet, 250 ms
/// timeout): the addresses answered, or `None` without an answer in time.
pub async fn query_a(port: u16, name: &str) -> Option<Vec<Ipv4Addr>> {
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.connect(("127.0.0.1", port)).await.unwrap();
    let id = (std::process::id() as u16) ^ 0x5a5a;
    sock.send(&a_query(id, name)).await.ok()?;
    let mut buf = [0u8; 1500];
    let n = tokio::time::timeout(Duration::from_millis(250), sock.recv(&mut buf))
        .await
        .ok()?
        .ok()?;
    Some(parse_a_answers(id, &buf[..n]))
}

impl Drop for Dns {
    fn drop(&mut self) {
        drop(self.peer.take()); // kills dnsmasq by pid
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn write_hosts(path: &Path, name: &str, addrs: &[&str]) {
    let mut text = String::new();
    for a in addrs {
        let _: Ipv4Addr = a.parse().expect("an IPv4 literal");
        text.push_str(&format!("{a} {name}\n"));
    }
    // Write then rename: dnsmasq never reads a half-written file.
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, text).unwrap();
    set_mode(&tmp, 0o644);
    std::fs::rename(&tmp, path).unwrap();
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn sorted(addrs: &[&str]) -> Vec<Ipv4Addr> {
    let mut v: Vec<Ipv4Addr> = addrs.iter().map(|a| a.parse().unwrap()).collect();
    v.sort();
    v
}

fn sorted_ips(addrs: &[Ipv4Addr]) -> Vec<Ipv4Addr> {
    let mut v = addrs.to_vec();
    v.sort();
    v
}

/// A port on 127.0.0.1 free for both TCP and UDP (at the time of asking).
pub fn free_udp_tcp_port() -> u16 {
    loop {
        let port = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A DNS query for the A records of `name`, recursion desired.
pub fn a_query(id: u16, name: &str) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&[0x01, 0x00]); // flags: RD
    q.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]); // QD 1, AN 0, NS 0, AR 0
    for label in name.trim_end_matches('.').split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 1, 0, 1]); // QTYPE A, QCLASS IN
    q
}

/// The A records in the answer section of a response to query `id` (an
/// NXDOMAIN or an empty answer gives none).
pub fn parse_a_answers(id: u16, msg: &[u8]) -> Vec<Ipv4Addr> {
    assert!(msg.len() >= 12, "short DNS response");
    assert_eq!(u16::from_be_bytes([msg[0], msg[1]]), id, "DNS response id");
    assert!(msg[2] & 0x80 != 0, "not a DNS response");
    let qd = u16::from_be_bytes([msg[4], msg[5]]);
    let an = u16::from_be_bytes([msg[6], msg[7]]);
    let mut at = 12;
    for _ in 0..qd {
        at = skip_name(msg, at) + 4;
    }
    let mut out = Vec::new();
    for _ in 0..an {
        at = skip_name(msg, at);
        let rtype = u16::from_be_bytes([msg[at], msg[at + 1]]);
        let rdlen = u16::from_be_bytes([msg[at + 8], msg[at + 9]]) as usize;
        at += 10;
        if rtype == 1 && rdlen == 4 {
            out.push(Ipv4Addr::new(
                msg[at],
                msg[at + 1],
                msg[at + 2],
                msg[at + 3],
            ));
        }
        at += rdlen;
    }
    out
}

fn skip_name(msg: &[u8], mut at: usize) -> usize {
    loop {
        let len = msg[at];
        if len & 0xc0 == 0xc0 {
            return at + 2; // a compression pointer ends the name
        }
        at += 1 + len as usize;
        if len == 0 {
            return at;
        }
    }
}
