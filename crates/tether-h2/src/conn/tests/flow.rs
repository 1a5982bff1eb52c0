//! Flow-control tests: receive windows, send chunking, padding, BDP (need HPACK).

use super::streams::{rst_frame, stream_reset};
use super::*;

#[test]
fn data_before_headers_is_a_stream_error_and_credits_the_connection() {
    let config = Config {
        initial_connection_window: 65_535,
        ..Config::default()
    };
    let mut t = Peer::new(config);
    t.handshake(&[]);
    let a = t.open(false);
    let _ = t.drain_frames();
    t.deliver(&wire::data(1, &[0; 16_000], false));
    t.deliver(&wire::data(1, &[0; 16_000], false));
    t.deliver(&wire::data(1, &[0; 8_000], false));
    assert_eq!(
        t.drain_events(),
        vec![stream_reset(
            1,
            ErrorCode::PROTOCOL_ERROR,
            "DATA before the response HEADERS (§8.1)"
        )]
    );
    // The first frame reset the stream; the others were absorbed; all
    // 40,000 octets were credited back to the connection.
    assert_eq!(
        t.drain_frames(),
        vec![
            rst_frame(1, ErrorCode::PROTOCOL_ERROR),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 40_000
            }),
        ]
    );
    // Frames for the reset stream are absorbed within the grace period.
    t.deliver(&wire::data(1, &[0; 10], false));
    t.deliver(&wire::rst(1, ErrorCode::CANCEL.0));
    assert_eq!(t.drain_events(), vec![]);
    assert_eq!(t.drain_frames(), vec![]);
    assert_eq!(
        t.client.send_data(a, Bytes::new(), true),
        Err(CallError::UnknownStream(a))
    );
}

#[test]
fn stream_window_overflow_and_receive_flow_control() {
    let config = Config {
        initial_stream_window: 1000,
        bdp_window: false,
        ..Config::default()
    };
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.open(false);
    let _ = t.drain_frames();
    let resp = t.response_frame(1);
    t.deliver(&resp);
    t.deliver(&wire::data(1, &[7; 600], false));
    let _ = t.drain_events();
    // Released octets are announced once half the window is owed.
    t.client.release_capacity(StreamId::new(1), 499);
    assert_eq!(t.drain_frames(), vec![]);
    t.client.release_capacity(StreamId::new(1), 1);
    assert_eq!(
        t.drain_frames(),
        vec![Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::new(1),
            increment: 500
        })]
    );
    // 900 available now; 901 is too much.
    t.deliver(&wire::data(1, &[7; 901], false));
    assert_eq!(
        t.drain_events(),
        vec![stream_reset(
            1,
            ErrorCode::FLOW_CONTROL_ERROR,
            "DATA beyond the stream window (§6.9.1)"
        )]
    );
    assert_eq!(
        t.drain_frames(),
        vec![rst_frame(1, ErrorCode::FLOW_CONTROL_ERROR)]
    );
}

#[test]
fn send_respects_windows_and_frame_size() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::INITIAL_WINDOW_SIZE, 20_000)]);
    let id = t.open(false);
    t.client
        .send_data(id, Bytes::from(vec![1u8; 50_000]), true)
        .unwrap();
    let frames = t.drain_frames();
    let sizes: Vec<u32> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.flow_len),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![16_384, 3_616]);
    // A 1-byte update does not produce a 1-byte frame.
    t.deliver(&wire::window_update(1, 1));
    assert_eq!(t.drain_frames(), vec![]);
    t.deliver(&wire::window_update(1, 2000));
    let frames = t.drain_frames();
    let [Frame::Data(d)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!((d.flow_len, d.end_stream), (2001, false));
    // Lowering INITIAL_WINDOW_SIZE makes the window negative (§6.9.2).
    t.deliver(&wire::settings(&[(wire::INITIAL_WINDOW_SIZE, 0)]));
    t.deliver(&wire::window_update(1, 20_000));
    assert_eq!(t.drain_frames(), vec![Frame::Settings(Settings::ack())]);
    t.deliver(&wire::window_update(1, 5_000));
    let frames = t.drain_frames();
    let [Frame::Data(d)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!(d.flow_len, 5_000);
}

#[test]
fn header_list_too_large_is_refused_locally() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_HEADER_LIST_SIZE, 100)]);
    let req = request(TEST_PATH);
    let err = t.try_open(&req, true);
    let size = req.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
    assert_eq!(err, Err(CallError::HeaderListTooLarge { size, limit: 100 }));
    assert_eq!(t.drain_frames(), vec![]);
    // The id was not used.
    t.deliver(&wire::settings(&[(wire::MAX_HEADER_LIST_SIZE, 1000)]));
    assert_eq!(t.open(false), StreamId::new(1));
}

#[test]
fn padded_data_credits_padding_back() {
    let config = Config {
        initial_connection_window: 65_535,
        bdp_window: false,
        ..Config::default()
    };
    let mut t = Peer::new(config);
    t.handshake(&[]);
    t.open(false);
    let _ = t.drain_frames();
    let resp = t.response_frame(1);
    t.deliver(&resp);
    for _ in 0..3 {
        // Pad Length 255, 15,745 data octets, 255 padding octets: 16,001.
        let b = wire::data_padded(1, &[9; 15_745], 255, false);
        t.deliver(&b);
    }
    let events = t.drain_events();
    let [Event::Headers { .. }, Event::Data { data, .. }, _, _] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(data.len(), 15_745);
    assert_eq!(t.drain_frames(), vec![]);
    // 3 x 256 octets of padding were freed at once; the rest on release.
    t.client.release_capacity(StreamId::new(1), 3 * 15_745);
    let frames = t.drain_frames();
    assert_eq!(
        frames,
        vec![
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 48_003
            }),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::new(1),
                increment: 48_003
            }),
        ]
    );
}

#[test]
fn bdp_ping_grows_the_windows() {
    let mut t = Peer::new(Config::default());
    t.handshake(&[(wire::MAX_FRAME_SIZE, 16_384)]);
    t.open(false);
    let _ = t.drain_frames();
    let resp = t.response_frame(1);
    t.deliver(&resp);
    t.deliver(&wire::data(1, &[0; 16_000], false));
    let frames = t.drain_frames();
    let [Frame::Ping(Ping {
        ack: false,
        payload,
    })] = frames[..]
    else {
        panic!("{frames:?}")
    };
    t.deliver(&wire::data(1, &[0; 16_000], false));
    t.deliver(&wire::data(1, &[0; 16_000], false));
    t.deliver(&wire::ping(payload, true));
    let frames = t.drain_frames();
    assert_eq!(
        frames,
        vec![Frame::Settings(Settings {
            ack: false,
            params: vec![Setting {
                id: SettingId::INITIAL_WINDOW_SIZE,
                value: 96_000
            }],
        }),]
    );
    let events = t.drain_events();
    assert!(matches!(
        events.last(),
        Some(Event::PingAck { id: None, .. })
    ));
}
