//! The channel: a cheap-to-clone handle on a target, lazy (IDLE until the
//! first call or `state(true)`), with connectivity states per gRPC's
//! connectivity-semantics-and-api.md.
//!
//! Data flows one way:
//!
//! ```text
//! call --pick--> picker snapshot --> subchannel --> connection (driver task) --> tether-h2 core
//! resolver --addresses, service config--> policy --subchannels, picker--> channel
//! ```
//!
//! The control task (`control`) owns the resolver, the policy and the
//! subchannels; calls read the picker it publishes without a lock.

#[doc(hidden)]
pub mod bench;
mod builder;
mod calls;
mod control;
pub(crate) mod events;
pub(crate) mod picker;
pub(crate) mod shared;

pub use crate::subchannel::{SubchannelHealth, SubchannelSnapshot};
pub use builder::{ChannelBuilder, DEFAULT_IDLE_TIMEOUT};
pub use events::ChannelEvent;

use crate::connectivity::ConnectivityState;
use crate::grpc::RequestHead;
use crate::metadata::Metadata;
use crate::resolver::Resolver;
use crate::status::Status;
use crate::subchannel::conn::Lease;
use bytes::Bytes;
use control::Control;
use picker::{Picked, Picker};
use shared::{lock, ChannelShared, ControlMsg};
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};

/// A virtual connection to a target: cheap to clone (an `Arc`), safe to
/// share between tasks; every call picks its connection through it.
///
/// ```no_run
/// # async fn f() -> Result<(), tether::Status> {
/// use bytes::Bytes;
/// let channel = tether::Channel::builder("http://127.0.0.1:50051")?.build()?;
/// let request = tether::Request::new(Bytes::from_static(b""));
/// let response = channel
///     .unary("/grpc.health.v1.Health/Check", request, tether::BytesCodec)
///     .await?;
/// println!("{:?}", response.message());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Channel {
    inner: Arc<Handle>,
}

/// What a channel's clones share.
pub(crate) struct Handle {
    pub(crate) shared: Arc<ChannelShared>,
    /// The control task, until the channel first leaves IDLE (it needs a
    /// runtime to run on).
    control: Mutex<Option<Control>>,
    target: String,
    pub(crate) scheme: crate::grpc::Scheme,
    pub(crate) authority: Bytes,
    pub(crate) user_agent: Bytes,
    pub(crate) max_recv: usize,
    pub(crate) max_send: usize,
    /// How request messages are compressed unless the call says otherwise.
    pub(crate) compression: crate::grpc::Encoding,
    /// The interceptors, in the order added.
    pub(crate) interceptors: crate::client::interceptor::Interceptors,
    /// Retry and hedging policies apply (`ChannelBuilder::retries`).
    pub(crate) retries: bool,
}

impl Drop for Handle {
    fn drop(&mut self) {
        // The last handle is gone: the control task closes everything
        // (calls in flight hold their connections until they end).
        let _ = self.shared.ctl.send(ControlMsg::Close);
    }
}

impl Handle {
    /// Asks the control task to leave IDLE, starting it on first use.
    fn request_connection(&self) {
        let mut control = lock(&self.control);
        if control.is_some() {
            let Ok(rt) = tokio::runtime::Handle::try_current() else {
                return;
            };
            if let Some(c) = control.take() {
                // The first exit from IDLE: nobody else publishes yet, so
                // the state moves to CONNECTING before this returns.
                self.shared
                    .publish(ConnectivityState::Connecting, Picker::Queue);
                rt.spawn(c.run());
            }
        }
        drop(control);
        let _ = self.shared.ctl.send(ControlMsg::ExitIdle);
    }
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("target", &self.inner.target)
            .field("state", &self.state(false))
            .finish()
    }
}

impl Channel {
    /// A builder for a channel to `target` (grpc/grpc `doc/naming.md`):
    /// `dns:[//dns-server-ip:port/]host[:port]`, `ipv4:addr[:port][,...]`,
    /// `ipv6:[addr][:port][,...]`, `unix:path`, `unix:///abs/path`,
    /// `passthrough:///host:port`, and `http://host:port` or
    /// `https://host:port` (DNS; `https` turns TLS on). Anything else is
    /// INVALID_ARGUMENT.
    pub fn builder(target: &str) -> Result<ChannelBuilder, Status> {
        ChannelBuilder::new(target)
    }

    /// A builder for a channel whose addresses come from `resolver` (a
    /// service registry, a Kubernetes Endpoints watcher...); `authority`
    /// is the `:authority` of its calls (and the TLS server name).
    pub fn builder_with_resolver(authority: &str, resolver: impl Resolver) -> ChannelBuilder {
        ChannelBuilder::with_resolver(authority, Box::new(resolver))
    }

    /// The connectivity state; with `try_to_connect`, an IDLE channel
    /// starts connecting (needs a tokio runtime).
    pub fn state(&self, try_to_connect: bool) -> ConnectivityState {
        let shared = &self.inner.shared;
        if try_to_connect && *shared.state.borrow() == ConnectivityState::Idle {
            self.inner.request_connection();
            shared.events.flush();
        }
        let state = *shared.state.borrow();
        state
    }

    /// Waits until the state differs from `from`; false if `deadline`
    /// passed first.
    pub async fn wait_for_state_change(&self, from: ConnectivityState, deadline: Instant) -> bool {
        let mut rx = self.inner.shared.state.subscribe();
        let deadline = tokio::time::Instant::from_std(deadline);
        loop {
            if *rx.borrow_and_update() != from {
                return true;
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => return false,
            }
        }
    }

    /// Closes the channel: SHUTDOWN (final); new calls fail UNAVAILABLE
    /// "channel closed"; calls in flight may finish, then the connections
    /// close.
    pub fn close(&self) {
        // SHUTDOWN at once (final: the control task publishes nothing
        // after it), then the control task closes the subchannels.
        self.inner
            .shared
            .publish(ConnectivityState::Shutdown, Picker::Shutdown);
        // Calls waiting for the first resolution go on (and fail).
        self.inner.shared.mark_resolved();
        self.inner.shared.events.flush();
        let _ = self.inner.shared.ctl.send(ControlMsg::Close);
    }

    /// Subchannels waiting out their reconnection backoff retry now.
    pub fn reset_connect_backoff(&self) {
        let _ = self.inner.shared.ctl.send(ControlMsg::ResetBackoff);
    }

    /// A read-only view of the subchannels: address, state, connections,
    /// calls in flight, last error, last PING round-trip time.
    pub fn subchannels(&self) -> Vec<SubchannelSnapshot> {
        let subs = lock(&self.inner.shared.subchannels).clone();
        subs.iter().map(|s| s.snapshot()).collect()
    }

    /// The keepalive time new connections use: the configured one, doubled
    /// after each GOAWAY `too_many_pings` (gRFC A8); `None` without
    /// keepalive.
    pub fn keepalive_time(&self) -> Option<Duration> {
        self.inner.shared.keepalive().map(|k| k.time)
    }

    /// The round-trip time of the latest acknowledged PING (keepalive or
    /// bandwidth probe), on any of the channel's connections; `None` before
    /// the first.
    pub fn rtt(&self) -> Option<Duration> {
        self.inner.shared.rtt()
    }

    /// A place on a READY connection for a call: leaves IDLE if needed; a
    /// failing channel fails the call at once unless `wait_for_ready`;
    /// bounded by `deadline` (DEADLINE_EXCEEDED).
    pub(crate) async fn pick(
        &self,
        wait_for_ready: bool,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<Lease, Status> {
        let shared = &self.inner.shared;
        let mut rx = None;
        loop {
            let wait_sub = {
                let picker = shared.picker.load();
                match &**picker {
                    Picker::Ready { subchannels, next } => {
                        match Picker::pick_ready(subchannels, next) {
                            Picked::Lease(lease) => return Ok(lease),
                            Picked::Wait(sub) => Some(sub),
                            Picked::None => None,
                        }
                    }
                    Picker::P2c {
                        subchannels,
                        rng,
                        decay,
                    } => match Picker::pick_p2c(subchannels, rng, *decay, shared.now_ns()) {
                        Picked::Lease(lease) => return Ok(lease),
                        Picked::Wait(sub) => Some(sub),
                        Picked::None => None,
                    },
                    Picker::Idle => {
                        self.inner.request_connection();
                        None
                    }
                    Picker::Queue => None,
                    Picker::Fail(status) if !wait_for_ready => return Err(status.clone()),
                    Picker::Fail(_) => None,
                    Picker::Shutdown => return Err(Status::unavailable("channel closed")),
                }
            };
            // Slow path: subscribe to new pickers, then look once more
            // before waiting, so that no publication is missed.
            let Some(rx) = rx.as_mut() else {
                let mut r = shared.picker_gen.subscribe();
                r.borrow_and_update();
                rx = Some(r);
                continue;
            };
            let until = deadline.unwrap_or_else(|| {
                tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600)
            });
            let mut changed = pin!(rx.changed());
            let outcome = match wait_sub {
                Some(sub) => {
                    let mut room = pin!(sub.wait_for_room(until));
                    poll_fn(|cx| {
                        if let Poll::Ready(r) = changed.as_mut().poll(cx) {
                            return Poll::Ready(r.is_ok());
                        }
                        room.as_mut().poll(cx).map(|()| true)
                    })
                    .await
                }
                None => match tokio::time::timeout_at(until, changed).await {
                    Ok(r) => r.is_ok(),
                    Err(_) => true,
                },
            };
            if !outcome {
                return Err(Status::unavailable("channel closed"));
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Err(Status::deadline_exceeded(
                    "deadline exceeded while waiting for a connection",
                ));
            }
        }
    }

    pub(crate) fn shared(&self) -> &Arc<ChannelShared> {
        &self.inner.shared
    }

    pub(crate) fn max_recv_message_size(&self) -> usize {
        self.inner.max_recv
    }

    pub(crate) fn max_send_message_size(&self) -> usize {
        self.inner.max_send
    }

    /// The request header block of a call to `path`.
    pub(crate) fn request_head(
        &self,
        path: &str,
        metadata: Metadata,
        deadline: Option<tokio::time::Instant>,
        encoding: crate::grpc::Encoding,
    ) -> RequestHead {
        let inner = &self.inner;
        let mut head = RequestHead::new(
            inner.scheme,
            inner.authority.clone(),
            Bytes::copy_from_slice(path.as_bytes()),
        )
        .with_user_agent(inner.user_agent.clone())
        .with_encoding(encoding)
        .with_accept_encoding(Bytes::from_static(
            crate::grpc::compression::ACCEPT_ENCODING.as_bytes(),
        ));
        if let Some(d) = deadline {
            head = head.with_timeout(d.saturating_duration_since(tokio::time::Instant::now()));
        }
        if !metadata.is_empty() {
            head = head.with_metadata(metadata);
        }
        head
    }
}
