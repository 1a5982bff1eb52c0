//! Abuse limits and rarely taken paths (docs/hostile-peers.md sections G to K).

use super::streams::stream_reset;
use super::*;

#[test]
fn empty_data_frames_are_budgeted() {
    let mut config = Config::default();
    config.limits.max_empty_data_frames = 2;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.open(false);
    let _ = t.drain_frames();
    let resp = t.response_frame(1);
    t.deliver(&resp);
    t.deliver(&wire::data(1, b"", false));
    t.deliver(&wire::data(1, b"", false));
    assert_eq!(t.drain_events().len(), 1);
    t.deliver(&wire::data(1, b"", false));
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many empty DATA frames",
    );
}

#[test]
fn informational_responses_are_bounded() {
    let mut config = Config::default();
    config.limits.max_informational = 2;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.open(false);
    let _ = t.drain_frames();
    for _ in 0..2 {
        let b = t.headers_frame(1, &[(":status", "100")], false);
        t.deliver(&b);
    }
    assert_eq!(t.drain_events(), vec![]);
    let b = t.headers_frame(1, &[(":status", "100")], false);
    t.deliver(&b);
    assert_conn_error(
        &mut t,
        ErrorCode::ENHANCE_YOUR_CALM,
        "too many 1xx responses on one stream",
    );
}

#[test]
fn stream_window_update_errors_are_stream_scoped() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.open(false);
    t.open(false);
    let _ = t.drain_frames();
    // Increment 0 (the frame decoder's stream error) and overflow.
    t.deliver(&wire::window_update(1, 0));
    t.deliver(&wire::window_update(3, (1 << 31) - 1));
    let events = t.drain_events();
    let [Event::StreamReset {
        stream_id: s1,
        code: c1,
        remote: false,
        ..
    }, ev3] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!((s1.value(), *c1), (1, ErrorCode::PROTOCOL_ERROR));
    assert_eq!(
        *ev3,
        stream_reset(
            3,
            ErrorCode::FLOW_CONTROL_ERROR,
            "stream window over 2^31-1 (§6.9.1)"
        )
    );
    // WINDOW_UPDATE on the just-reset streams is ignored.
    t.deliver(&wire::window_update(1, 10));
    assert_eq!(t.drain_events(), vec![]);
    let frames = t.drain_frames();
    assert_eq!(frames.len(), 2);
    assert!(!t.client.is_closed());
}

#[test]
fn stream_ids_run_out() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[]);
    t.client.next_id = (1 << 31) - 1;
    assert_eq!(t.open(false), StreamId::MAX);
    assert_eq!(
        t.try_open(&request(TEST_PATH), true),
        Err(CallError::StreamIdsExhausted)
    );
}

#[test]
fn send_buffer_is_bounded_and_signals_ready() {
    let mut config = Config::default();
    config.limits.max_send_buffer = 100_000;
    let mut t = Peer::new(config);
    t.handshake(&[]);
    let id = t.open(false);
    t.client
        .send_data(id, Bytes::from(vec![0; 100_000]), false)
        .unwrap();
    assert_eq!(
        t.client.send_data(id, Bytes::from_static(b"x"), false),
        Err(CallError::SendBufferFull(id))
    );
    // 65,535 octets of window: 34,465 stay buffered, under half the limit.
    let frames = t.drain_frames();
    assert_eq!(frames.len(), 5, "{frames:?}");
    assert_eq!(t.drain_events(), vec![Event::SendReady(id)]);
    t.client
        .send_data(id, Bytes::from_static(b"x"), false)
        .unwrap();
}

#[test]
fn eof_fails_open_and_waiting_streams() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_CONCURRENT_STREAMS, 1)]);
    let (a, b) = (t.open(false), t.open(false));
    t.client.handle_eof(t.now());
    let reset = |id| Event::StreamReset {
        stream_id: id,
        code: ErrorCode::CANCEL,
        remote: false,
        error: None,
    };
    assert_eq!(
        t.drain_events(),
        vec![
            reset(a),
            reset(b),
            Event::Closed(CloseReason::TransportClosed)
        ]
    );
    assert_eq!(
        t.client.send_data(a, Bytes::new(), true),
        Err(CallError::UnknownStream(a))
    );
}

#[test]
fn reset_of_a_waiting_stream_sends_nothing() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_CONCURRENT_STREAMS, 0)]);
    let a = t.open(false);
    t.client.reset(a, ErrorCode::CANCEL).unwrap();
    assert_eq!(t.drain_frames(), vec![]);
    t.deliver(&wire::settings(&[(wire::MAX_CONCURRENT_STREAMS, 1)]));
    let b = t.open(false);
    let frames = t.drain_frames();
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert_eq!(frames[1].stream_id(), b);
    assert_eq!(t.drain_events().len(), 1);
}

#[test]
fn keepalive_sleeps_without_calls() {
    let config = Config {
        keepalive: Some(
            Keepalive::new(Duration::from_secs(10), Duration::from_secs(1))
                .permit_without_calls(false),
        ),
        ..Config::default()
    };
    let mut t = Peer::new(config);
    t.handshake(&[]);
    // Only the SETTINGS ACK deadline is left, and it was cleared by the ACK.
    assert_eq!(t.client.poll_timeout(), None);
    t.open(false);
    let _ = t.drain_frames();
    assert_eq!(
        t.client.poll_timeout(),
        Some(t.now() + Duration::from_secs(10))
    );
    t.tick(Duration::from_secs(10));
    let frames = t.drain_frames();
    assert!(
        matches!(frames[..], [Frame::Ping(Ping { ack: false, .. })]),
        "{frames:?}"
    );
    t.tick(Duration::from_secs(1));
    let events = t.drain_events();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[1], Event::Closed(CloseReason::KeepaliveTimeout));
}

#[derive(Default)]
struct Seen {
    frames: Vec<(Direction, FrameType, bool)>,
    windows: usize,
    rtts: usize,
}

struct Obs(std::sync::Arc<std::sync::Mutex<Seen>>);

impl Observer for Obs {
    fn frame(&mut self, dir: Direction, head: &Head, frame: Option<&Frame>) {
        self.0
            .lock()
            .unwrap()
            .frames
            .push((dir, head.kind, frame.is_some()));
    }
    fn window(&mut self, _: Direction, _: StreamId, _: i64) {
        self.0.lock().unwrap().windows += 1;
    }
    fn ping_rtt(&mut self, _: Duration) {
        self.0.lock().unwrap().rtts += 1;
    }
}

use crate::frame::FrameType;

#[test]
fn observer_sees_frames_windows_and_rtt() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::default()));
    let mut t = Peer::new(Config::default());
    t.client.set_observer(Box::new(Obs(seen.clone())));
    t.handshake(&[]);
    let id = t.open(false);
    t.client
        .send_data(id, Bytes::from_static(b"abc"), true)
        .unwrap();
    let ping_id = t.client.ping(t.now()).unwrap();
    let frames = t.drain_frames();
    let Some(Frame::Ping(p)) = frames.get(1) else {
        panic!("{frames:?}")
    };
    t.deliver(&wire::ping(p.payload, true));
    t.deliver(&wire::window_update(0, 10));
    assert!(t.drain_events().contains(&Event::PingAck {
        id: Some(ping_id),
        rtt: Duration::ZERO
    }));
    let seen = seen.lock().unwrap();
    use Direction::{Received, Sent};
    assert_eq!(
        seen.frames,
        vec![
            (Received, FrameType::SETTINGS, true),
            (Sent, FrameType::SETTINGS, true),
            (Received, FrameType::SETTINGS, true),
            (Sent, FrameType::HEADERS, true),
            (Sent, FrameType::PING, true),
            (Sent, FrameType::DATA, true),
            (Received, FrameType::PING, true),
            (Received, FrameType::WINDOW_UPDATE, true),
        ]
    );
    assert_eq!((seen.windows, seen.rtts), (1, 1));
}
