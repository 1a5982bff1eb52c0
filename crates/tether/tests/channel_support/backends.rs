//! Several grpc-go servers (`.peers/bin/go-policy-server`,
//! tests/peers/go/policy_server/main.go) on 127.0.0.2, .3, .4 ... sharing one
//! port, like the pods behind a headless service. Each one answers every
//! call with the response header `x-backend: <ip>:<port>`.
//!
//! Backends are addressed by index (0 is 127.0.0.2); [`Backends::kill`] and
//! [`Backends::restart`] stop and start one; dropping the [`Backends`] kills
//! them all, by pid.

use super::peers::{peer_file, start, Peer};
use super::within;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The response header naming the backend that served a call.
pub const BACKEND_HEADER: &str = "x-backend";

/// grpc-go policy servers on 127.0.0.2.. with one shared port.
pub struct Backends {
    bin: PathBuf,
    port: u16,
    flags: Vec<String>,
    /// Extra flags of single backends.
    own_flags: Vec<Vec<String>>,
    procs: Vec<Option<Peer>>,
}

impl Backends {
    /// Starts `n` servers (at most 8) on 127.0.0.2.. with the same port,
    /// each with the extra `flags` (`-max_concurrent_streams=2`,
    /// `-max_connection_age=1s` ...), and waits until each accepts TCP.
    /// `None` (skip) when the Go peers are not installed.
    pub async fn start(n: usize, flags: &[&str]) -> Option<Backends> {
        Backends::start_each(&vec![flags; n]).await
    }

    /// Starts one backend per entry of `flags`, each with its own flags
    /// (`-delay=1.5s` on one, `-die_after_messages=3` on another...).
    pub async fn start_each(flags: &[&[&str]]) -> Option<Backends> {
        let n = flags.len();
        assert!((1..=8).contains(&n), "1 to 8 backends");
        let bin = peer_file("bin/go-policy-server")?;
        let mut b = Backends {
            bin,
            port: shared_free_port(n),
            flags: Vec::new(),
            own_flags: flags
                .iter()
                .map(|f| f.iter().map(|f| f.to_string()).collect())
                .collect(),
            procs: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            b.restart(i).await;
        }
        Some(b)
    }

    /// How many backends (running or not).
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// The shared port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The IP of backend `i`: 127.0.0.(2 + i).
    pub fn ip(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, 2 + i as u8)
    }

    /// `127.0.0.(2+i):port`, as the `x-backend` header says it.
    pub fn addr(&self, i: usize) -> String {
        format!("{}:{}", self.ip(i), self.port)
    }

    /// The socket address of backend `i`.
    pub fn socket_addr(&self, i: usize) -> SocketAddr {
        SocketAddr::from((self.ip(i), self.port))
    }

    /// Which backend an `x-backend` value names.
    pub fn index_of(&self, header: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.addr(i) == header)
    }

    /// `http://127.0.0.(2+i):port`: a channel to backend `i` alone.
    pub fn http_target(&self, i: usize) -> String {
        format!("http://{}", self.addr(i))
    }

    /// `ipv4:127.0.0.2:P,127.0.0.3:P,...` for the backends `which`.
    pub fn ipv4_target(&self, which: &[usize]) -> String {
        let list: Vec<String> = which.iter().map(|&i| self.addr(i)).collect();
        format!("ipv4:{}", list.join(","))
    }

    /// The IPs of the backends `which`, as strings (for [`super::dns::Dns`]).
    pub fn ips(&self, which: &[usize]) -> Vec<String> {
        which.iter().map(|&i| self.ip(i).to_string()).collect()
    }

    /// Whether backend `i` runs (as far as we know: started, not killed).
    pub fn is_running(&self, i: usize) -> bool {
        self.procs[i].is_some()
    }

    /// Sends `signal` (`"USR1"`: its health service says NOT_SERVING for
    /// "" and "tether.test"; `"USR2"`: SERVING again) to backend `i`, by pid.
    pub fn signal(&self, i: usize, signal: &str) {
        let peer = self.procs[i].as_ref().expect("backend is running");
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(peer.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", peer.pid());
    }

    /// The process id of backend `i`, if it runs (for signals: the policy
    /// server flips its health on SIGUSR1 / SIGUSR2).
    pub fn pid(&self, i: usize) -> Option<u32> {
        self.procs[i].as_ref().map(Peer::pid)
    }

    /// Kills backend `i` (by pid) and waits until its port refuses.
    pub fn kill(&mut self, i: usize) {
        drop(self.procs[i].take());
        let addr = self.socket_addr(i);
        for _ in 0..100 {
            if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("backend {addr} still accepts after kill");
    }

    /// (Re)starts backend `i` with the same port and flags; waits (at most
    /// 30 s) until it accepts TCP.
    pub async fn restart(&mut self, i: usize) {
        drop(self.procs[i].take());
        let mut cmd = Command::new(&self.bin);
        cmd.arg("-host")
            .arg(self.ip(i).to_string())
            .arg("-port")
            .arg(self.port.to_string())
            .arg("-lifetime=120s")
            .args(&self.flags)
            .args(&self.own_flags[i]);
        let peer = start(cmd).await;
        let addr = self.socket_addr(i);
        within(30, async {
            while tokio::net::TcpStream::connect(addr).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        self.procs[i] = Some(peer);
    }
}

/// A port free on 127.0.0.2 .. 127.0.0.(1+n) at the time of asking.
pub fn shared_free_port(n: usize) -> u16 {
    'next: for _ in 0..100 {
        let first = TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2), 0)).unwrap();
        let port = first.local_addr().unwrap().port();
        let mut held = vec![first];
        for i in 1..n {
            match TcpListener::bind((Ipv4Addr::new(127, 0, 0, 2 + i as u8), port)) {
                Ok(l) => held.push(l),
                Err(_) => continue 'next,
            }
        }
        return port;
    }
    panic!("no port free on all of 127.0.0.2..");
}
