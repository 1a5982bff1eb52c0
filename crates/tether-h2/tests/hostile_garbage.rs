//! Arbitrary server bytes never panic the client: every outcome is either
//! "still fine" or a connection error announced with exactly one GOAWAY
//! (docs/hostile-peers.md, ground rule "never a panic, a hang or a leak").

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use proptest::prelude::*;
use support::wire;
use support::{response_head, Peer};
use tether_h2::conn::{CloseReason, Event};

fn check_outcome(p: &Peer) {
    match p.close_reason() {
        None => assert_eq!(p.goaways(), vec![], "GOAWAY without Closed"),
        Some(CloseReason::Protocol(e)) => {
            assert!(e.is_connection());
            assert_eq!(p.goaways(), vec![(0, e.code)]);
            assert!(matches!(p.events.last(), Some(Event::Closed(_))));
        }
        // A garbage GOAWAY can end the connection gracefully.
        Some(CloseReason::GoAway(_)) => {}
        Some(other) => panic!("unexpected close {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Raw garbage after the handshake, in arbitrary segments.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600),
                            seg in 1usize..64) {
        let mut p = Peer::established();
        p.open(false);
        p.segment = Some(seg);
        p.recv(&bytes);
        check_outcome(&p);
    }

    /// Well-framed frames of random type, flags, stream and payload: the
    /// frame layer passes them on, so the connection logic sees them.
    #[test]
    fn random_frames_never_panic(frames in proptest::collection::vec(
        (0u8..12, any::<u8>(), 0u32..8, proptest::collection::vec(any::<u8>(), 0..40)), 1..20)) {
        let mut p = Peer::established();
        p.open(false);
        p.open(true);
        p.send_headers(1, &response_head(), false);
        for (kind, flags, stream, payload) in frames {
            p.recv(&wire::frame(kind, flags, stream, &payload));
            if p.close_reason().is_some() {
                break;
            }
        }
        check_outcome(&p);
        // Time passing after the storm never panics either.
        p.run_until_idle(std::time::Duration::from_secs(60), 50);
    }
}
