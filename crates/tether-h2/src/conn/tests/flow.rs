//! Flow-control tests: receive windows, send chunking, padding, BDP (need HPACK).

use super::streams::{data, rst, rst_frame, stream_reset, REQ};
use super::*;
use crate::frame::{flags, FrameType};

#[test]
fn data_before_headers_is_a_stream_error_and_credits_the_connection() {
    let config = Config {
        initial_connection_window: 65_535,
        ..Config::default()
    };
    let mut t = T::new(config);
    t.handshake(&[]);
    let a = t.open();
    let _ = t.frames();
    t.read(&data(1, &[0; 16_000], false));
    t.read(&data(1, &[0; 16_000], false));
    t.read(&data(1, &[0; 8_000], false));
    assert_eq!(
        t.events(),
        vec![stream_reset(
            1,
            ErrorCode::PROTOCOL_ERROR,
            "DATA before the response HEADERS (§8.1)"
        )]
    );
    // The first frame reset the stream; the others were absorbed; all
    // 40,000 octets were credited back to the connection.
    assert_eq!(
        t.frames(),
        vec![
            rst_frame(1, ErrorCode::PROTOCOL_ERROR),
            Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::ZERO,
                increment: 40_000
            }),
        ]
    );
    // Frames for the reset stream are absorbed within the grace period.
    t.read(&data(1, &[0; 10], false));
    t.read(&rst(1, ErrorCode::CANCEL));
    assert_eq!(t.events(), vec![]);
    assert_eq!(t.frames(), vec![]);
    assert_eq!(
        t.c.send_data(a, Bytes::new(), true),
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
    let mut t = T::new(config);
    t.handshake(&[]);
    t.open();
    let _ = t.frames();
    let resp = t.response(1);
    t.read(&resp);
    t.read(&data(1, &[7; 600], false));
    let _ = t.events();
    // Released octets are announced once half the window is owed.
    t.c.release_capacity(StreamId::new(1), 499);
    assert_eq!(t.frames(), vec![]);
    t.c.release_capacity(StreamId::new(1), 1);
    assert_eq!(
        t.frames(),
        vec![Frame::WindowUpdate(WindowUpdate {
            stream_id: StreamId::new(1),
            increment: 500
        })]
    );
    // 900 available now; 901 is too much.
    t.read(&data(1, &[7; 901], false));
    assert_eq!(
        t.events(),
        vec![stream_reset(
            1,
            ErrorCode::FLOW_CONTROL_ERROR,
            "DATA beyond the stream window (§6.9.1)"
        )]
    );
    assert_eq!(
        t.frames(),
        vec![rst_frame(1, ErrorCode::FLOW_CONTROL_ERROR)]
    );
}

#[test]
fn send_respects_windows_and_frame_size() {
    let mut t = T::new(Config::default());
    t.handshake(&[(SettingId::INITIAL_WINDOW_SIZE, 20_000)]);
    let id = t.open();
    t.c.send_data(id, Bytes::from(vec![1u8; 50_000]), true)
        .unwrap();
    let frames = t.frames();
    let sizes: Vec<u32> = frames
        .iter()
        .filter_map(|f| match f {
            Frame::Data(d) => Some(d.flow_len),
            _ => None,
        })
        .collect();
    assert_eq!(sizes, vec![16_384, 3_616]);
    // A 1-byte update does not produce a 1-byte frame.
    t.read(&window_update(1, 1));
    assert_eq!(t.frames(), vec![]);
    t.read(&window_update(1, 2000));
    let frames = t.frames();
    let [Frame::Data(d)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!((d.flow_len, d.end_stream), (2001, false));
    // Lowering INITIAL_WINDOW_SIZE makes the window negative (§6.9.2).
    t.read(&settings(&[(SettingId::INITIAL_WINDOW_SIZE, 0)]));
    t.read(&window_update(1, 20_000));
    assert_eq!(t.frames(), vec![Frame::Settings(Settings::ack())]);
    t.read(&window_update(1, 5_000));
    let frames = t.frames();
    let [Frame::Data(d)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert_eq!(d.flow_len, 5_000);
}

#[test]
fn header_list_too_large_is_refused_locally() {
    let mut t = T::new(Config::default());
    t.handshake(&[(SettingId::MAX_HEADER_LIST_SIZE, 100)]);
    let err = t.c.open_stream(&REQ, true, t.now);
    let size = REQ.iter().map(|f| f.name.len() + f.value.len() + 32).sum();
    assert_eq!(err, Err(CallError::HeaderListTooLarge { size, limit: 100 }));
    assert_eq!(t.frames(), vec![]);
    // The id was not used.
    t.read(&settings(&[(SettingId::MAX_HEADER_LIST_SIZE, 1000)]));
    assert_eq!(t.open(), StreamId::new(1));
}

#[test]
fn padded_data_credits_padding_back() {
    let config = Config {
        initial_connection_window: 65_535,
        bdp_window: false,
        ..Config::default()
    };
    let mut t = T::new(config);
    t.handshake(&[]);
    t.open();
    let _ = t.frames();
    let resp = t.response(1);
    t.read(&resp);
    for _ in 0..3 {
        let mut b = BytesMut::new();
        Head {
            length: 16_001,
            kind: FrameType::DATA,
            flags: flags::PADDED,
            stream_id: StreamId::new(1),
        }
        .encode(&mut b);
        b.extend_from_slice(&[255]);
        b.extend_from_slice(&[9; 15_745]);
        b.extend_from_slice(&[0; 255]);
        t.read(&b);
    }
    let events = t.events();
    let [Event::Headers { .. }, Event::Data { data, .. }, _, _] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(data.len(), 15_745);
    assert_eq!(t.frames(), vec![]);
    // 3 x 256 octets of padding were freed at once; the rest on release.
    t.c.release_capacity(StreamId::new(1), 3 * 15_745);
    let frames = t.frames();
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
    let mut t = T::new(Config::default());
    t.handshake(&[(SettingId::MAX_FRAME_SIZE, 16_384)]);
    t.open();
    let _ = t.frames();
    let resp = t.response(1);
    t.read(&resp);
    t.read(&data(1, &[0; 16_000], false));
    let frames = t.frames();
    let [Frame::Ping(Ping {
        ack: false,
        payload,
    })] = frames[..]
    else {
        panic!("{frames:?}")
    };
    t.read(&data(1, &[0; 16_000], false));
    t.read(&data(1, &[0; 16_000], false));
    t.read(&ping(true, payload));
    let frames = t.frames();
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
    let events = t.events();
    assert!(matches!(
        events.last(),
        Some(Event::PingAck { id: None, .. })
    ));
}
