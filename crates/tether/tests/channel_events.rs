//! Channel observability against a scripted server: the events given to
//! `ChannelBuilder::on_event`, and the `keepalive_time` and `rtt` getters.

mod channel_support;

use channel_support::*;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether::{Channel, ChannelEvent, ConnectivityState};
use tether_h2::ErrorCode;

type Seen = Arc<Mutex<Vec<ChannelEvent>>>;

/// A channel builder that records every event.
fn recording(target: &str) -> (tether::ChannelBuilder, Seen) {
    let seen: Seen = Arc::default();
    let s = seen.clone();
    let builder = Channel::builder(target)
        .unwrap()
        .on_event(move |e| s.lock().unwrap().push(e.clone()));
    (builder, seen)
}

/// Waits (up to 5 s) until an event matches `pred`.
async fn wait_for(seen: &Seen, pred: impl Fn(&ChannelEvent) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !seen.lock().unwrap().iter().any(&pred) {
        assert!(
            Instant::now() < deadline,
            "no such event within 5 s; seen: {:?}",
            seen.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn state(from: ConnectivityState, to: ConnectivityState) -> ChannelEvent {
    ChannelEvent::StateChanged { from, to }
}

// Tokio's paused clock: the PING gaps are virtual time, exact under load.
#[tokio::test(start_paused = true)]
async fn too_many_pings_fires_keepalive_doubled_and_doubles_keepalive_time() {
    let (l, target) = listen().await;
    let addr = l.local_addr().unwrap().to_string();
    let (builder, seen) = recording(&target);
    let channel = builder
        .keepalive(
            tether::Keepalive::new(Duration::from_millis(100), Duration::from_secs(2))
                .permit_without_calls(true),
        )
        .build()
        .unwrap();
    assert_eq!(channel.keepalive_time(), Some(Duration::from_millis(100)));
    assert_eq!(channel.rtt(), None);
    channel.state(true);
    let mut server = within(5, accept(&l)).await;
    // Three keepalive pings, answered: RTTs are reported.
    for _ in 0..3 {
        within(5, server.next_any()).await;
    }
    wait_for(&seen, |e| matches!(e, ChannelEvent::PingRtt(_))).await;
    assert!(channel.rtt().is_some());
    server
        .goaway(0, ErrorCode::ENHANCE_YOUR_CALM, b"too_many_pings")
        .await;
    wait_for(&seen, |e| {
        matches!(e, ChannelEvent::ConnectionClosed { .. })
    })
    .await;
    assert_eq!(channel.keepalive_time(), Some(Duration::from_millis(200)));

    let events = seen.lock().unwrap().clone();
    let pos = |want: &ChannelEvent| {
        events
            .iter()
            .position(|e| e == want)
            .unwrap_or_else(|| panic!("no {want:?} in {events:?}"))
    };
    use ConnectivityState::*;
    let connecting = pos(&state(Idle, Connecting));
    let connected = pos(&ChannelEvent::Connected { addr });
    let ready = pos(&state(Connecting, Ready));
    let goaway = pos(&ChannelEvent::GoAway {
        code: tether_h2::ErrorCode::ENHANCE_YOUR_CALM,
        debug: "too_many_pings".into(),
    });
    let doubled = pos(&ChannelEvent::KeepaliveDoubled {
        time: Duration::from_millis(200),
    });
    let idle = pos(&state(Ready, Idle));
    assert!(
        connecting < connected && connected < ready && ready < goaway,
        "{events:?}"
    );
    assert!(goaway < doubled && doubled < idle, "{events:?}");
    let closed = events
        .iter()
        .find_map(|e| match e {
            ChannelEvent::ConnectionClosed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(closed.contains("ENHANCE_YOUR_CALM"), "{closed}");

    // The next connection pings at the doubled interval.
    channel.state(true);
    let mut second = within(5, accept(&l)).await;
    // Three PINGs, so that there are two gaps to check.
    while second.pings.len() < 3 {
        within(5, second.next_any()).await;
    }
    let gaps: Vec<_> = second.pings.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter()
            .all(|g| *g >= Duration::from_millis(200) && *g < Duration::from_millis(250)),
        "{gaps:?}"
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, ChannelEvent::KeepaliveDoubled { .. }))
            .count(),
        1
    );
}

#[tokio::test]
async fn a_dropped_connection_is_reported_and_reconnects_through_transient_failure() {
    let (l, target) = listen().await;
    let addr = l.local_addr().unwrap();
    let (builder, seen) = recording(&target);
    let mut backoff = tether::backoff::BackoffConfig::default();
    backoff.initial_backoff = Duration::from_millis(100);
    backoff.jitter = 0.0;
    let channel = builder.backoff(backoff).build().unwrap();
    assert_eq!(channel.keepalive_time(), None);
    channel.state(true);
    let server = within(5, accept(&l)).await;
    wait_for(&seen, |e| {
        *e == state(ConnectivityState::Connecting, ConnectivityState::Ready)
    })
    .await;
    // The server goes away: socket and listener.
    drop(server);
    drop(l);
    wait_for(&seen, |e| {
        matches!(e, ChannelEvent::ConnectionClosed { .. })
    })
    .await;
    wait_for(&seen, |e| {
        *e == state(ConnectivityState::Ready, ConnectivityState::Idle)
    })
    .await;
    channel.state(true);
    wait_for(&seen, |e| {
        *e == state(
            ConnectivityState::Connecting,
            ConnectivityState::TransientFailure,
        )
    })
    .await;
    // It comes back on the same port: TRANSIENT_FAILURE -> READY (sticky
    // TRANSIENT_FAILURE, gRFC A62: the retries in between show on the
    // subchannel, not the channel).
    let l = tokio::net::TcpListener::bind(addr).await.unwrap();
    let _server = within(5, accept(&l)).await;
    wait_for(&seen, |e| {
        *e == state(
            ConnectivityState::TransientFailure,
            ConnectivityState::Ready,
        )
    })
    .await;
    assert!(
        !seen.lock().unwrap().contains(&state(
            ConnectivityState::TransientFailure,
            ConnectivityState::Connecting
        )),
        "{:?}",
        seen.lock().unwrap()
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while channel.state(false) != ConnectivityState::Ready {
        assert!(
            channel
                .wait_for_state_change(channel.state(false), deadline)
                .await
        );
    }
    let events = seen.lock().unwrap().clone();
    let closed = events
        .iter()
        .find_map(|e| match e {
            ChannelEvent::ConnectionClosed { reason } => Some(reason.clone()),
            _ => None,
        })
        .unwrap();
    assert!(closed.contains("transport"), "{closed}");
    let connects = events
        .iter()
        .filter(|e| matches!(e, ChannelEvent::Connected { .. }))
        .count();
    assert_eq!(connects, 2, "{events:?}");
}
