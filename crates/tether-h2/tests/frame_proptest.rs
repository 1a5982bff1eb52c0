//! Property: any sequence of valid frames, encoded and cut into arbitrary
//! pieces, decodes to the same frames as when fed whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;
use tether_h2::frame::{
    Data, Decoded, DecoderLimits, Frame, FrameDecoder, FrameType, GoAway, Head, Headers, Ping,
    Priority, PrioritySpec, RstStream, Setting, SettingId, Settings, StreamId, WindowUpdate,
    MAX_WINDOW_SIZE,
};
use tether_h2::ErrorCode;

/// One frame to send: its wire bytes are produced by `encode`, and the
/// decoder must give back `expected`.
#[derive(Clone, Debug)]
enum Item {
    Data {
        stream: u32,
        data: Vec<u8>,
        pad: Option<u8>,
        end_stream: bool,
    },
    Block {
        stream: u32,
        block: Vec<u8>,
        end_stream: bool,
        chunk: u32,
    },
    Other(Frame),
}

impl Item {
    fn encode(&self, dst: &mut BytesMut) {
        match self {
            Item::Data {
                stream,
                data,
                pad,
                end_stream,
            } => match pad {
                Some(p) => Data::encode_padded(StreamId::new(*stream), data, *p, *end_stream, dst),
                None => Data::encode(StreamId::new(*stream), data, *end_stream, dst),
            },
            Item::Block {
                stream,
                block,
                end_stream,
                chunk,
            } => Headers::encode_block(StreamId::new(*stream), block, *end_stream, *chunk, dst),
            Item::Other(frame) => frame.encode(dst),
        }
    }

    fn expected(&self) -> Frame {
        match self {
            Item::Data {
                stream,
                data,
                pad,
                end_stream,
            } => Frame::Data(Data {
                stream_id: StreamId::new(*stream),
                data: Bytes::from(data.clone()),
                end_stream: *end_stream,
                flow_len: (data.len() + pad.map_or(0, |p| 1 + usize::from(p))) as u32,
            }),
            Item::Block {
                stream,
                block,
                end_stream,
                ..
            } => Frame::Headers(Headers {
                stream_id: StreamId::new(*stream),
                end_stream: *end_stream,
                end_headers: true,
                priority: None,
                fragment: Bytes::from(block.clone()),
            }),
            Item::Other(frame) => frame.clone(),
        }
    }
}

fn stream_id() -> impl Strategy<Value = u32> {
    1u32..=0x7fff_ffff
}

fn setting() -> impl Strategy<Value = Setting> {
    prop_oneof![
        (
            prop_oneof![Just(1u16), Just(3), Just(6), 7u16..=u16::MAX],
            any::<u32>()
        )
            .prop_map(|(id, value)| Setting {
                id: SettingId(id),
                value
            }),
        (0u32..=1).prop_map(|value| Setting {
            id: SettingId::ENABLE_PUSH,
            value
        }),
        (0u32..=MAX_WINDOW_SIZE).prop_map(|value| Setting {
            id: SettingId::INITIAL_WINDOW_SIZE,
            value
        }),
        (16_384u32..=16_777_215).prop_map(|value| Setting {
            id: SettingId::MAX_FRAME_SIZE,
            value
        }),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    prop_oneof![
        (
            stream_id(),
            prop::collection::vec(any::<u8>(), 0..300),
            prop::option::of(any::<u8>()),
            any::<bool>()
        )
            .prop_map(|(stream, data, pad, end_stream)| Item::Data {
                stream,
                data,
                pad,
                end_stream
            }),
        (
            stream_id(),
            prop::collection::vec(any::<u8>(), 0..600),
            any::<bool>(),
            prop_oneof![1u32..50, 50u32..1000]
        )
            .prop_map(|(stream, block, end_stream, chunk)| Item::Block {
                stream,
                block,
                end_stream,
                chunk
            }),
        (any::<bool>(), prop::collection::vec(setting(), 0..32)).prop_map(|(ack, params)| {
            // An ACK carries no parameters (§6.5).
            let params = if ack { Vec::new() } else { params };
            Item::Other(Frame::Settings(Settings { ack, params }))
        }),
        (any::<bool>(), any::<[u8; 8]>())
            .prop_map(|(ack, payload)| Item::Other(Frame::Ping(Ping { ack, payload }))),
        (
            0u32..=0x7fff_ffff,
            any::<u32>(),
            prop::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(last, code, debug)| Item::Other(Frame::GoAway(GoAway {
                last_stream_id: StreamId::new(last),
                code: ErrorCode(code),
                debug_data: Bytes::from(debug),
            }))),
        (0u32..=0x7fff_ffff, 1u32..=MAX_WINDOW_SIZE).prop_map(|(stream, increment)| {
            Item::Other(Frame::WindowUpdate(WindowUpdate {
                stream_id: StreamId::new(stream),
                increment,
            }))
        }),
        (stream_id(), any::<u32>()).prop_map(|(stream, code)| Item::Other(Frame::RstStream(
            RstStream {
                stream_id: StreamId::new(stream),
                code: ErrorCode(code),
            }
        ))),
        (stream_id(), 0u32..=0x7fff_ffff, any::<bool>(), any::<u8>())
            .prop_filter("no self-dependency", |(s, d, _, _)| s != d)
            .prop_map(
                |(stream, dep, exclusive, weight)| Item::Other(Frame::Priority(Priority {
                    stream_id: StreamId::new(stream),
                    spec: PrioritySpec {
                        dependency: StreamId::new(dep),
                        exclusive,
                        weight,
                    },
                }))
            ),
        (10u8..=255, any::<u8>(), 0u32..=0x7fff_ffff, 0u32..100).prop_map(
            |(kind, flags, stream, len)| Item::Other(Frame::Unknown(Head::new(
                len,
                FrameType(kind),
                flags,
                StreamId::new(stream)
            )))
        ),
    ]
}

/// Feeds `bytes` cut at `cuts` (sorted positions), draining after each piece.
fn decode_in_pieces(bytes: &[u8], cuts: &[usize]) -> Vec<Decoded> {
    // Blocks are cut into chunks as small as 1 byte: allow their CONTINUATIONs.
    let limits = DecoderLimits {
        max_continuation_frames: 1_000,
        ..DecoderLimits::default()
    };
    let mut dec = FrameDecoder::new(limits);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&bytes.len())) {
        let cut = cut.clamp(start, bytes.len());
        buf.extend_from_slice(&bytes[start..cut]);
        start = cut;
        while let Some(d) = dec.decode(&mut buf).unwrap() {
            out.push(d);
        }
    }
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert!(!dec.in_header_block());
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_frames_survive_random_segmentation(
        items in prop::collection::vec(item(), 1..12),
        cut_fractions in prop::collection::vec(0.0f64..1.0, 0..20),
    ) {
        let mut bytes = BytesMut::new();
        for item in &items {
            item.encode(&mut bytes);
        }
        let expected: Vec<Frame> = items.iter().map(Item::expected).collect();

        let whole = decode_in_pieces(&bytes, &[]);
        let got: Vec<Frame> = whole.iter().filter_map(|d| d.frame.clone()).collect();
        prop_assert_eq!(&got, &expected);

        let mut cuts: Vec<usize> = cut_fractions
            .iter()
            .map(|f| (f * bytes.len() as f64) as usize)
            .collect();
        cuts.sort_unstable();
        let pieces = decode_in_pieces(&bytes, &cuts);
        prop_assert_eq!(pieces, whole);
    }
}

/// A frame with random header fields and payload, lengths consistent.
fn raw_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..=10,
        any::<u8>(),
        prop_oneof![Just(0u32), 1u32..4, any::<u32>()],
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(kind, flags, stream, payload)| {
            let mut v = (payload.len() as u32).to_be_bytes()[1..].to_vec();
            v.push(kind);
            v.push(flags);
            v.extend_from_slice(&stream.to_be_bytes());
            v.extend_from_slice(&payload);
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: None,
        cases: 1024,
        ..ProptestConfig::default()
    })]

    /// Hostile input never panics; a connection error is sticky, a stream
    /// error consumes exactly its frame.
    #[test]
    fn random_wire_frames_never_panic(
        frames in prop::collection::vec(raw_frame(), 1..20),
        noise in prop::collection::vec(any::<u8>(), 0..30),
    ) {
        let mut bytes: Vec<u8> = frames.concat();
        bytes.extend_from_slice(&noise);
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut buf = BytesMut::from(&bytes[..]);
        loop {
            let before = buf.len();
            match dec.decode(&mut buf) {
                Ok(Some(d)) => {
                    prop_assert_eq!(before - buf.len(), 9 + d.head.length as usize);
                }
                Ok(None) => break,
                Err(e) if e.is_connection() => {
                    prop_assert_eq!(dec.decode(&mut buf), Err(e));
                    break;
                }
                Err(_) => prop_assert!(buf.len() < before),
            }
        }
    }
}
