//! Client-side health checking of one subchannel (gRFC A17): a
//! `grpc.health.v1.Health/Watch` stream on the subchannel's own connection
//! (not through the picker, and not counted as a call of the channel),
//! whose answers decide whether the policy sees the subchannel READY.
//!
//! The stream's life (retry with backoff, reset by an answer; UNIMPLEMENTED
//! turns checking off) is [`crate::health::HealthMachine`]'s; this module
//! runs it: opens the stream when the subchannel is READY, feeds the
//! machine, and hands its verdict to the subchannel.

use super::{Pick, Subchannel};
use crate::client::call::pop_event;
use crate::codec::{Codec, ProstCodec};
use crate::connectivity::ConnectivityState;
use crate::driver::slot::Slot;
use crate::driver::Command;
use crate::grpc::{encode_message, CallRecv, Cardinality, RecvEvent};
use crate::health::machine::{HealthMachine, HealthState, Next, Update};
use crate::health::pb::{HealthCheckRequest, HealthCheckResponse};
use crate::health::ServingStatus;
use crate::status::Status;
use crate::subchannel::conn::Lease;
use bytes::BytesMut;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

/// The method every health stream calls.
pub(crate) const WATCH_PATH: &str = "/grpc.health.v1.Health/Watch";

/// The largest health response accepted (a status enum: a few bytes).
const MAX_RESPONSE: usize = 16 * 1024;

/// The health of a subchannel as the channel shows it (snapshots, events).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubchannelHealth {
    /// Its connection is up and the first answer has not come yet: not
    /// used for calls (the policy sees CONNECTING).
    Checking,
    /// SERVING: used for calls.
    Serving,
    /// Not serving (NOT_SERVING, SERVICE_UNKNOWN, UNKNOWN...), or the
    /// health stream failed and is being retried: no new calls (the policy
    /// sees TRANSIENT_FAILURE) while its connection stays up.
    NotServing(ServingStatus),
    /// The server has no health service (UNIMPLEMENTED): treated as
    /// healthy, not checked again on this connection.
    Disabled,
}

impl std::fmt::Display for SubchannelHealth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SubchannelHealth::Checking => write!(f, "checking"),
            SubchannelHealth::Serving => write!(f, "SERVING"),
            SubchannelHealth::NotServing(s) => write!(f, "{s:?}"),
            SubchannelHealth::Disabled => write!(f, "not checked (no health service)"),
        }
    }
}

impl SubchannelHealth {
    pub(crate) fn from_state(state: HealthState) -> SubchannelHealth {
        match state {
            HealthState::Pending => SubchannelHealth::Checking,
            HealthState::Serving => SubchannelHealth::Serving,
            HealthState::NotServing(s) => SubchannelHealth::NotServing(s),
            HealthState::Disabled => SubchannelHealth::Disabled,
        }
    }

    /// What the policy sees of a subchannel whose connection is READY.
    pub(crate) fn connectivity(self) -> ConnectivityState {
        match self {
            SubchannelHealth::Checking => ConnectivityState::Connecting,
            SubchannelHealth::Serving | SubchannelHealth::Disabled => ConnectivityState::Ready,
            SubchannelHealth::NotServing(_) => ConnectivityState::TransientFailure,
        }
    }
}

/// One Watch stream on one of the subchannel's connections.
struct WatchStream {
    slot: Arc<Slot>,
    lease: Lease,
    finished: bool,
}

impl WatchStream {
    /// Opens the stream on a READY connection of `sub`, if it has one.
    fn open(sub: &Arc<Subchannel>, service: &str) -> Option<WatchStream> {
        let Pick::Lease(lease) = sub.pick() else {
            return None;
        };
        let shared = &sub.shared;
        let mut body = BytesMut::new();
        let request = HealthCheckRequest {
            service: service.to_owned(),
        };
        encode_message(
            &mut ProstCodec::<HealthCheckRequest, HealthCheckResponse>::new(),
            &request,
            &mut body,
            usize::MAX,
        )
        .ok()?;
        let recv = CallRecv::new(Cardinality::Streaming)
            .with_max_message_size(MAX_RESPONSE)
            .with_max_header_list_size(shared.http2.max_header_list_size as usize);
        let slot = Arc::new(Slot::new(
            shared.health_watch_head.clone(),
            Some(body.freeze()),
            recv,
        ));
        if !lease.handle().send(Command::Open(slot.clone())) {
            return None;
        }
        Some(WatchStream {
            slot,
            lease,
            finished: false,
        })
    }

    /// The stream's next event; a stream the connection never opened ends
    /// UNAVAILABLE.
    async fn next(&mut self) -> RecvEvent {
        let event = poll_fn(|cx| {
            let mut st = self.slot.lock();
            if let Some(event) = pop_event(&self.slot, Some(self.lease.handle()), &mut st) {
                return Poll::Ready(event);
            }
            if st.retry {
                return Poll::Ready(RecvEvent::Status(Status::unavailable(
                    "the health stream was not opened (GOAWAY or REFUSED_STREAM)",
                )));
            }
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if let RecvEvent::Status(_) = event {
            self.finished = true;
        }
        event
    }
}

impl Drop for WatchStream {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Stopped before its end (the subchannel went away): RST_STREAM CANCEL.
        let mut st = self.slot.lock();
        if st.done && st.recv.is_finished() {
            return;
        }
        st.recv.cancel();
        st.done = true;
        drop(st);
        self.lease.handle().send(Command::Reset(self.slot.clone()));
    }
}

/// Runs health checking of `service` on `sub` until the subchannel is
/// removed: a `Watch` stream per READY connection, retried as the machine
/// says.
pub(crate) async fn run(sub: Arc<Subchannel>, service: String) {
    let seed = sub.shared.seed() ^ sub.id.0.rotate_left(17);
    let mut machine = HealthMachine::new(sub.shared.backoff, seed);
    let mut codec = ProstCodec::<HealthCheckRequest, HealthCheckResponse>::new();
    loop {
        // Wait for a READY connection (or the end of the subchannel).
        if !sub.wait_ready_for_health().await {
            return;
        }
        apply(&sub, machine.connected(crate::driver::now()));
        // While that connection lasts.
        loop {
            match machine.next() {
                Next::OpenAt(at) => {
                    let wait = tokio::time::sleep_until(tokio::time::Instant::from_std(at));
                    match or_removed(&sub, or_lost(&sub, wait)).await {
                        None => return,
                        Some(false) => break,
                        Some(true) => {}
                    }
                }
                // Disabled (UNIMPLEMENTED) until the next connection.
                Next::Stop | Next::Wait => {
                    if or_removed(&sub, sub.wait_not_ready()).await.is_none() {
                        return;
                    }
                    break;
                }
            }
            let Some(mut stream) = WatchStream::open(&sub, &service) else {
                break; // no READY connection after all
            };
            apply(&sub, machine.stream_opened(crate::driver::now()));
            let ended = loop {
                let Some(event) = or_removed(&sub, stream.next()).await else {
                    return;
                };
                match event {
                    RecvEvent::Message(bytes) => match codec.decode(bytes) {
                        Ok(response) => {
                            let status = ServingStatus::from(response.status);
                            apply(&sub, machine.message(crate::driver::now(), status));
                        }
                        Err(status) => break status,
                    },
                    RecvEvent::Status(status) => break status,
                    _ => {}
                }
            };
            drop(stream);
            apply(&sub, machine.stream_ended(crate::driver::now(), &ended));
            if !sub.is_ready() {
                break;
            }
        }
        apply(&sub, machine.disconnected(crate::driver::now()));
    }
}

/// Hands the machine's verdict to the subchannel. "Disabled" is announced
/// (a `ChannelEvent`) only the first time, as gRFC A17 records it once.
fn apply(sub: &Subchannel, update: Update) {
    let health = SubchannelHealth::from_state(update.health);
    let quiet = health == SubchannelHealth::Disabled && !update.just_disabled;
    sub.set_health(health, !quiet);
}

/// `f`, unless the subchannel's connection is lost first (`false`).
async fn or_lost<F: Future>(sub: &Subchannel, f: F) -> bool {
    let lost = sub.wait_not_ready();
    let mut f = pin!(f);
    let mut lost = pin!(lost);
    poll_fn(|cx| {
        if f.as_mut().poll(cx).is_ready() {
            return Poll::Ready(true);
        }
        if lost.as_mut().poll(cx).is_ready() {
            return Poll::Ready(false);
        }
        Poll::Pending
    })
    .await
}

/// `f`, unless the subchannel is removed first (`None`).
async fn or_removed<F: Future>(sub: &Subchannel, f: F) -> Option<F::Output> {
    let removed = sub.removed_notified();
    let mut f = pin!(f);
    let mut removed = pin!(removed);
    poll_fn(|cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if removed.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
