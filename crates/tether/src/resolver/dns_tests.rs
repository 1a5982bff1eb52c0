use super::*;
use crate::Code;
use std::time::Duration;
use tokio::time::timeout;

fn quick() -> DnsConfig {
    DnsConfig::default()
        .with_min_resolution_interval(Duration::ZERO)
        .with_query_timeout(Duration::from_millis(100))
}

#[tokio::test]
async fn an_ip_literal_resolves_to_itself_without_dns() {
    for (host, addr) in [("127.0.0.1", "127.0.0.1:50051"), ("::1", "[::1]:50051")] {
        // A server nobody listens on: a DNS query would fail.
        let server = Some("127.0.0.1:9".parse().unwrap());
        let mut r = DnsResolver::new(host, 50051, server, quick());
        let (listener, mut rx) = ResolverListener::new();
        r.start(listener);
        let got = rx.try_recv().expect("reported at once").unwrap();
        assert_eq!(got.addresses, vec![Address::Tcp(addr.parse().unwrap())]);
        assert!(r.task.is_none(), "no task for a literal");
        r.resolve_now();
        assert_eq!(rx.try_recv().unwrap().unwrap(), got);
    }
}

#[test]
fn starting_outside_a_runtime_reports_an_error() {
    let mut r = DnsResolver::new("svc.test", 1, None, quick());
    let (listener, mut rx) = ResolverListener::new();
    r.start(listener);
    let err = rx.try_recv().unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert!(err.message().contains("tokio runtime"), "{err:?}");
}

/// A UDP socket that swallows queries: every resolution times out.
async fn silent_server() -> (tokio::net::UdpSocket, SocketAddr) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_an_unavailable_report() {
    let (_socket, addr) = silent_server().await;
    let mut r = DnsResolver::new("svc.test", 1, Some(addr), quick());
    let (listener, mut rx) = ResolverListener::new();
    r.start(listener);
    let report = timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
    let err = report.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
    assert!(
        err.message()
            .starts_with("DNS resolution of svc.test failed: "),
        "{err:?}"
    );
}

#[tokio::test]
async fn dropping_the_resolver_ends_its_task() {
    let (_socket, addr) = silent_server().await;
    let config = quick().with_query_timeout(Duration::from_secs(30));
    let mut r = DnsResolver::new("svc.test", 1, Some(addr), config);
    let (listener, mut rx) = ResolverListener::new();
    r.start(listener);
    drop(r);
    // The task held the last sender: its end closes the channel.
    let end = timeout(Duration::from_secs(2), rx.recv()).await.unwrap();
    assert!(end.is_none(), "{end:?}");
}

#[tokio::test]
async fn the_task_ends_when_the_listener_closes() {
    let (_socket, addr) = silent_server().await;
    let config = quick().with_query_timeout(Duration::from_secs(30));
    let mut r = DnsResolver::new("svc.test", 1, Some(addr), config);
    let (listener, rx) = ResolverListener::new();
    r.start(listener);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let task = r.task.as_ref().unwrap();
    assert!(!task.is_finished(), "still resolving");
    drop(rx);
    let ended = async {
        while !task.is_finished() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    timeout(Duration::from_secs(2), ended).await.unwrap();
}
