//! Arbitrary server input through the pure gRPC receive path never panics
//! and always ends in exactly one status.
//!
//! The HTTP/2 core is fuzzed (fuzz/); this covers what sits above it on the
//! way to the application: `CallRecv` (docs/hostile-peers.md section J), its `MessageDecoder`
//! (length prefixes, compressed flags, split messages) and
//! `Metadata::from_fields` (`-bin` base64, reserved names), fed with random
//! `:status` values, field names and values, DATA chunks and trailers.

use bytes::Bytes;
use proptest::prelude::*;
use tether::grpc::{CallRecv, Cardinality, RecvEvent};
use tether_h2::conn::ResponseHead;
use tether_h2::hpack::HeaderField;

/// Field names biased towards the ones the gRPC layer interprets.
fn name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"content-type".to_vec()),
        Just(b"grpc-status".to_vec()),
        Just(b"grpc-message".to_vec()),
        Just(b"grpc-status-details-bin".to_vec()),
        Just(b"x-meta-bin".to_vec()),
        Just(b"x-meta".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"application/grpc".to_vec()),
        Just(b"0".to_vec()),
        Just(b"%E2%9C%93 %zz %".to_vec()),
        Just(b"AAECAw==".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

fn fields() -> impl Strategy<Value = Vec<HeaderField>> {
    proptest::collection::vec((name(), value()), 0..6).prop_map(|v| {
        v.into_iter()
            .map(|(n, v)| HeaderField {
                name: Bytes::from(n),
                value: Bytes::from(v),
            })
            .collect()
    })
}

/// DATA chunks: often well-formed length-prefixed messages, sometimes noise.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(|m| {
            let mut v = vec![0, 0, 0, 0, m.len() as u8];
            v.extend(m);
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..16),
    ]
}

#[derive(Debug, Clone)]
enum Input {
    Headers(u16, Vec<HeaderField>, bool),
    Data(Vec<u8>, bool),
    Trailers(Vec<HeaderField>),
    Deadline,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (
            prop_oneof![Just(200u16), 100u16..600],
            fields(),
            any::<bool>()
        )
            .prop_map(|(s, f, e)| Input::Headers(s, f, e)),
        (chunk(), prop::bool::weighted(0.1)).prop_map(|(c, e)| Input::Data(c, e)),
        fields().prop_map(Input::Trailers),
        Just(Input::Deadline),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn arbitrary_responses_end_in_exactly_one_status(
        unary in any::<bool>(),
        max in prop_oneof![Just(4usize), Just(4 << 20)],
        inputs in proptest::collection::vec(input(), 0..8),
    ) {
        let cardinality = if unary { Cardinality::Unary } else { Cardinality::Streaming };
        let mut call = CallRecv::new(cardinality).with_max_message_size(max);
        for i in inputs {
            match i {
                Input::Headers(status, fields, end) => {
                    call.handle_headers(ResponseHead::new(status, fields), end)
                }
                Input::Data(d, end) => call.handle_data(Bytes::from(d), end),
                Input::Trailers(f) => call.handle_trailers(&f),
                Input::Deadline => call.handle_deadline(),
            }
        }
        // However the input went, closing the connection settles the call.
        call.handle_connection_closed(&tether_h2::conn::CloseReason::TransportClosed);
        let mut statuses = 0;
        let mut after_status = 0;
        while let Some(ev) = call.poll_event() {
            if statuses > 0 {
                after_status += 1;
            }
            if let RecvEvent::Status(_) = &ev {
                statuses += 1;
            } else if let RecvEvent::Message(m) = &ev {
                // The receive limit is never exceeded, even with a limit of 4.
                prop_assert!(m.len() <= max, "message of {} over the limit {max}", m.len());
            }
        }
        prop_assert_eq!(statuses, 1, "exactly one final status");
        prop_assert_eq!(after_status, 0, "nothing after the status");
        prop_assert!(call.is_finished());
    }
}
