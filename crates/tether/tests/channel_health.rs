//! Client-side health checking (gRFC A17) against real servers: grpc-go
//! policy servers on 127.0.0.2, .3, .4 (channel_support::backends) whose
//! health service flips "tether.test" to NOT_SERVING on SIGUSR1 and back on
//! SIGUSR2, and grpc-go's interop server, which has no health service.
//!
//! Every test is bounded in time and skips without the peers
//! (scripts/install-peers.sh --with-go) unless `TETHER_REQUIRE_PEERS=1`.

mod channel_support;

use channel_support::backends::Backends;
use channel_support::test_service::{held, spread, unary};
use channel_support::within;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether::channel::SubchannelHealth;
use tether::service_config::LbConfig;
use tether::{Channel, ChannelEvent, ConnectivityState};

const CALL: Duration = Duration::from_secs(5);
const SERVICE: &str = "tether.test";

/// Every event, with the time it came.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(Instant, ChannelEvent)>>>);

impl Events {
    fn hook(&self) -> impl Fn(&ChannelEvent) + Send + Sync + 'static {
        let events = self.0.clone();
        move |e: &ChannelEvent| events.lock().unwrap().push((Instant::now(), e.clone()))
    }

    /// When `address` was first reported with `health` (after `since`).
    fn health_at(
        &self,
        address: &str,
        health: SubchannelHealth,
        since: Instant,
    ) -> Option<Instant> {
        self.0.lock().unwrap().iter().find_map(|(t, e)| match e {
            ChannelEvent::SubchannelHealth {
                address: a,
                health: h,
            } if a == address && *h == health && *t >= since => Some(*t),
            _ => None,
        })
    }

    fn count_health(&self, health: SubchannelHealth) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, e)| matches!(e, ChannelEvent::SubchannelHealth { health: h, .. } if *h == health))
            .count()
    }
}

/// Waits (bounded) until `address` is reported with `health` after `since`.
async fn wait_health(
    events: &Events,
    address: &str,
    health: SubchannelHealth,
    since: Instant,
) -> Instant {
    within(10, async {
        loop {
            if let Some(t) = events.health_at(address, health, since) {
                return t;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
}

fn round_robin_over(b: &Backends, events: &Events) -> Channel {
    Channel::builder(&b.ipv4_target(&[0, 1, 2]))
        .unwrap()
        .load_balancing(LbConfig::RoundRobin)
        .health_check(SERVICE)
        .on_event(events.hook())
        .build()
        .unwrap()
}

/// Flipping one of three servers to NOT_SERVING stops new calls to it
/// (measured from the moment the client received the change), while a call
/// it was serving finishes; flipping it back brings traffic back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_not_serving_backend_gets_no_new_calls_and_comes_back_when_serving() {
    let Some(b) = Backends::start(3, &[]).await else {
        return;
    };
    let events = Events::default();
    let ch = round_robin_over(&b, &events);
    let counts = within(20, spread(&ch, 30, CALL)).await;
    assert_eq!(counts.len(), 3, "all three serve while healthy: {counts:?}");
    for i in 0..3 {
        assert_eq!(
            ch.subchannels()
                .iter()
                .find(|s| s.address.to_string() == b.addr(i))
                .and_then(|s| s.health),
            Some(SubchannelHealth::Serving)
        );
    }

    // Calls in flight when it flips: three of about 1.2 s, which round_robin
    // spreads over the three backends.
    let flipped = b.addr(1);
    let in_flight: Vec<_> = (0..3)
        .map(|_| {
            let ch = ch.clone();
            tokio::spawn(async move { held(&ch, 6, Duration::from_millis(200), CALL).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Calls every few ms while the server flips; each records where it went.
    let signalled = Instant::now();
    b.signal(1, "USR1");
    let mut served: Vec<(Instant, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < deadline {
        let started = Instant::now();
        let backend = unary(&ch, true, CALL).await.expect("call while flipping");
        served.push((started, backend));
    }
    let received = events
        .health_at(
            &flipped,
            SubchannelHealth::NotServing(tether::health::ServingStatus::NotServing),
            signalled,
        )
        .expect("the NOT_SERVING change was reported");
    let last_there = served
        .iter()
        .filter(|(_, backend)| *backend == flipped)
        .map(|(t, _)| *t)
        .max();
    if let Some(last) = last_there {
        let after_received = last.saturating_duration_since(received);
        println!(
            "last call to the NOT_SERVING backend started {:?} after the change reached the client \
             ({:?} after the signal)",
            after_received,
            last.saturating_duration_since(signalled)
        );
        assert!(
            after_received < Duration::from_millis(100),
            "a call started {after_received:?} after the change still went to {flipped}"
        );
    }
    let after_signal = served
        .iter()
        .filter(|(t, backend)| *backend == flipped && *t >= signalled)
        .count();
    println!(
        "the change reached the client {:?} after the signal; calls started after the signal \
         that went to the NOT_SERVING backend: {after_signal} (of {})",
        received.saturating_duration_since(signalled),
        served.len()
    );
    let late: BTreeMap<&str, usize> = served
        .iter()
        .filter(|(t, _)| *t > received + Duration::from_millis(100))
        .fold(BTreeMap::new(), |mut m, (_, b)| {
            *m.entry(b.as_str()).or_insert(0) += 1;
            m
        });
    assert!(!late.contains_key(flipped.as_str()), "{late:?}");
    assert_eq!(late.len(), 2, "the other two keep serving: {late:?}");
    // Its connection stays up, and the call it was serving finished.
    let mut on_flipped = 0;
    for call in in_flight {
        let (backend, n) = within(10, call).await.unwrap().expect("a call in flight");
        assert_eq!(
            n, 6,
            "the call in flight on {backend} got all its responses"
        );
        on_flipped += usize::from(backend == flipped);
    }
    assert_eq!(on_flipped, 1, "one of them was on the backend that flipped");
    let snap = ch
        .subchannels()
        .into_iter()
        .find(|s| s.address.to_string() == flipped)
        .unwrap();
    assert_eq!(snap.connections, 1, "{snap:?}");

    // Back to SERVING: traffic returns.
    let back = Instant::now();
    b.signal(1, "USR2");
    wait_health(&events, &flipped, SubchannelHealth::Serving, back).await;
    let counts = within(20, spread(&ch, 30, CALL)).await;
    assert_eq!(counts.len(), 3, "{counts:?}");
}

/// A server without a health service (grpc-go's interop server): the
/// subchannel is used as healthy, reported once as `Disabled`.
#[tokio::test]
async fn a_server_without_a_health_service_is_used_as_healthy() {
    let Some(server) = channel_support::peers::peer_file("bin/go-interop-server") else {
        return;
    };
    let port = channel_support::peers::free_port();
    let child = std::process::Command::new(server)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the interop server");
    // Killed (by pid) when dropped.
    let _peer = channel_support::peers::Peer::new(child);
    within(30, async {
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let events = Events::default();
    let ch = Channel::builder(&format!("ipv4:127.0.0.1:{port}"))
        .unwrap()
        .load_balancing(LbConfig::RoundRobin)
        .health_check(SERVICE)
        .on_event(events.hook())
        .build()
        .unwrap();
    let req = tether::Request::new(bytes::Bytes::new())
        .with_wait_for_ready(true)
        .with_timeout(CALL);
    within(
        10,
        ch.unary(
            "/grpc.testing.TestService/EmptyCall",
            req,
            tether::BytesCodec,
        ),
    )
    .await
    .expect("the call goes through");
    assert_eq!(events.count_health(SubchannelHealth::Disabled), 1);
    assert_eq!(ch.subchannels()[0].health, Some(SubchannelHealth::Disabled));
}

/// Killing a server and starting it again resumes its health watch: its
/// subchannel serves again once the restarted server says SERVING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_is_watched_again() {
    let Some(mut b) = Backends::start(2, &[]).await else {
        return;
    };
    let events = Events::default();
    let ch = Channel::builder(&b.ipv4_target(&[0, 1]))
        .unwrap()
        .load_balancing(LbConfig::RoundRobin)
        .health_check(SERVICE)
        .on_event(events.hook())
        .build()
        .unwrap();
    assert_eq!(within(20, spread(&ch, 10, CALL)).await.len(), 2);
    b.kill(0);
    // Calls already on their way to it when it died fail (that needs
    // retries); wait until the channel has seen the loss.
    within(10, async {
        while ch
            .subchannels()
            .iter()
            .any(|s| s.address.to_string() == b.addr(0) && s.state == ConnectivityState::Ready)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let counts = within(20, spread(&ch, 10, CALL)).await;
    assert_eq!(counts.keys().collect::<Vec<_>>(), vec![&b.addr(1)]);
    let restarted = Instant::now();
    b.restart(0).await;
    wait_health(&events, &b.addr(0), SubchannelHealth::Serving, restarted).await;
    let counts = within(20, spread(&ch, 10, CALL)).await;
    assert_eq!(counts.len(), 2, "{counts:?}");
}

/// Beyond the spec: with health checking under pick_first, a NOT_SERVING
/// address makes the policy move on to the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pick_first_moves_off_a_not_serving_address() {
    let Some(b) = Backends::start(2, &[]).await else {
        return;
    };
    let events = Events::default();
    let ch = Channel::builder(&b.ipv4_target(&[0, 1]))
        .unwrap()
        .health_check(SERVICE)
        .health_check_pick_first(true)
        .on_event(events.hook())
        .build()
        .unwrap();
    let counts = within(20, spread(&ch, 5, CALL)).await;
    assert_eq!(counts.keys().collect::<Vec<_>>(), vec![&b.addr(0)]);
    let flipped = Instant::now();
    b.signal(0, "USR1");
    wait_health(
        &events,
        &b.addr(0),
        SubchannelHealth::NotServing(tether::health::ServingStatus::NotServing),
        flipped,
    )
    .await;
    let counts = within(20, spread(&ch, 5, CALL)).await;
    assert_eq!(counts.keys().collect::<Vec<_>>(), vec![&b.addr(1)]);
}

/// The service config turns it on too (`healthCheckConfig.serviceName`,
/// with round_robin from the same config).
#[tokio::test]
async fn the_service_config_turns_health_checking_on() {
    let Some(b) = Backends::start(1, &[]).await else {
        return;
    };
    let events = Events::default();
    let ch = Channel::builder(&b.ipv4_target(&[0]))
        .unwrap()
        .default_service_config(
            r#"{"loadBalancingConfig": [{"round_robin": {}}],
                "healthCheckConfig": {"serviceName": "tether.down"}}"#,
        )
        .unwrap()
        .on_event(events.hook())
        .build()
        .unwrap();
    // "tether.down" is NOT_SERVING on the policy server: no call goes there.
    ch.state(true);
    let since = Instant::now() - Duration::from_secs(1);
    wait_health(
        &events,
        &b.addr(0),
        SubchannelHealth::NotServing(tether::health::ServingStatus::NotServing),
        since,
    )
    .await;
    let err = unary(&ch, false, CALL).await.unwrap_err();
    assert_eq!(err.code(), tether::Code::Unavailable, "{err}");
    assert!(err.message().contains("health"), "{err}");
}
