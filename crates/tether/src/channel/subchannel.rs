//! The channel's shared state and its one subchannel: one connection at a
//! time, its backoff, and the connectivity state machine. (Resolvers and
//! load balancing over several subchannels will come under this seam.)

use super::events::{ChannelEvent, Events};
use crate::backoff::{Backoff, BackoffConfig};
use crate::connectivity::ConnectivityState;
use crate::driver::{self, ConnHandle, Owner};
use crate::grpc::Scheme;
use crate::status::Status;
use crate::transport::{self, Target};
use bytes::Bytes;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tether_h2::{CloseReason, GoAwayInfo, Keepalive};
use tokio::sync::{oneshot, watch};

/// Everything a channel's clones share.
pub(crate) struct Inner {
    pub(crate) target: Target,
    tls: Option<Result<Arc<rustls::ClientConfig>, Status>>,
    server_name: Option<String>,
    pub(crate) scheme: Scheme,
    pub(crate) authority: Bytes,
    pub(crate) user_agent: Bytes,
    pub(crate) max_recv: usize,
    pub(crate) max_send: usize,
    http2: tether_h2::Config,
    state: watch::Sender<ConnectivityState>,
    sub: Mutex<Sub>,
    events: Events,
}

/// The subchannel.
struct Sub {
    /// The READY connection.
    conn: Option<ConnHandle>,
    /// A connect loop is running.
    connecting: bool,
    /// The attempt waiting for the server's first SETTINGS.
    pending: Option<(u64, oneshot::Sender<()>)>,
    /// Keepalive for new connections (doubled on too_many_pings).
    keepalive: Option<Keepalive>,
    backoff: Backoff,
    next_id: u64,
    last_error: Option<Status>,
    /// The latest PING round-trip time.
    rtt: Option<Duration>,
}

impl Inner {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        target: Target,
        tls: Option<Result<Arc<rustls::ClientConfig>, Status>>,
        server_name: Option<String>,
        scheme: Scheme,
        authority: Bytes,
        user_agent: Bytes,
        max_recv: usize,
        max_send: usize,
        http2: tether_h2::Config,
        backoff: BackoffConfig,
        events: Events,
    ) -> Inner {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Inner {
            target,
            tls,
            server_name,
            scheme,
            authority,
            user_agent,
            max_recv,
            max_send,
            state: watch::Sender::new(ConnectivityState::Idle),
            sub: Mutex::new(Sub {
                conn: None,
                connecting: false,
                pending: None,
                keepalive: http2.keepalive,
                backoff: Backoff::new(backoff, seed),
                next_id: 0,
                last_error: None,
                rtt: None,
            }),
            http2,
            events,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Sub> {
        self.sub.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<ConnectivityState> {
        self.state.subscribe()
    }

    pub(crate) fn current_state(&self) -> ConnectivityState {
        *self.state.borrow()
    }

    pub(crate) fn last_error(&self) -> Status {
        self.lock()
            .last_error
            .clone()
            .unwrap_or_else(|| Status::unavailable("connection failed"))
    }

    /// The keepalive time of new connections (doubled by each GOAWAY
    /// too_many_pings), `None` without keepalive.
    pub(crate) fn keepalive_time(&self) -> Option<Duration> {
        self.lock().keepalive.map(|k| k.time)
    }

    /// The latest PING round-trip time, if a PING was acknowledged yet.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.lock().rtt
    }

    /// Sets the state; a change is queued as an event (call
    /// `events.flush()` once no lock is held).
    fn set_state(&self, s: ConnectivityState) {
        self.state.send_if_modified(|cur| {
            let from = *cur;
            *cur = s;
            if from == s {
                return false;
            }
            // Queued under the watch's lock: in the order of the changes.
            self.events.push(ChannelEvent::StateChanged { from, to: s });
            true
        });
    }

    /// Starts connecting if IDLE.
    pub(crate) fn request_connection(self: &Arc<Self>) {
        let mut sub = self.lock();
        self.start_connecting(&mut sub);
        drop(sub);
        self.events.flush();
    }

    fn start_connecting(self: &Arc<Self>, sub: &mut Sub) {
        if sub.connecting || sub.conn.is_some() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        sub.connecting = true;
        self.set_state(ConnectivityState::Connecting);
        rt.spawn(connect_loop(Arc::downgrade(self)));
    }

    pub(crate) async fn pick(
        self: &Arc<Self>,
        wait_for_ready: bool,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<ConnHandle, Status> {
        let mut rx = self.subscribe();
        loop {
            let state = *rx.borrow_and_update();
            {
                let mut sub = self.lock();
                if let Some(conn) = &sub.conn {
                    return Ok(conn.clone());
                }
                match state {
                    ConnectivityState::TransientFailure if !wait_for_ready => {
                        let err = sub.last_error.clone();
                        return Err(err.unwrap_or_else(|| Status::unavailable("connection failed")));
                    }
                    ConnectivityState::Shutdown => {
                        return Err(Status::unavailable("channel shut down"));
                    }
                    _ => self.start_connecting(&mut sub),
                }
            }
            self.events.flush();
            let changed = match deadline {
                Some(d) => match tokio::time::timeout_at(d, rx.changed()).await {
                    Ok(r) => r,
                    Err(_) => {
                        return Err(Status::deadline_exceeded(
                            "deadline exceeded while waiting for a connection",
                        ))
                    }
                },
                None => rx.changed().await,
            };
            if changed.is_err() {
                return Err(Status::unavailable("channel shut down"));
            }
        }
    }

    /// One connection attempt: transport, TLS, then the server's SETTINGS.
    /// Returns the connection and the peer's address.
    async fn attempt(self: &Arc<Self>) -> Result<(ConnHandle, String), Status> {
        let tls = match &self.tls {
            None => None,
            Some(Ok(config)) => Some(config),
            Some(Err(status)) => return Err(status.clone()),
        };
        let io = transport::connect(&self.target, tls, self.server_name.as_deref()).await?;
        let addr = match (io.peer_addr(), &self.target) {
            (Some(addr), _) => addr.to_string(),
            (None, Target::Unix { path }) => format!("unix:{}", path.display()),
            (None, target) => target.authority().to_owned(),
        };
        let (tx, rx) = oneshot::channel();
        let (id, keepalive) = {
            let mut sub = self.lock();
            sub.next_id += 1;
            sub.pending = Some((sub.next_id, tx));
            (sub.next_id, sub.keepalive)
        };
        let mut config = self.http2.clone();
        config.keepalive = keepalive;
        let owner: Weak<dyn Owner> = Arc::downgrade(self) as Weak<dyn Owner>;
        let handle = driver::spawn(io, config, owner, id);
        rx.await.map_err(|_| {
            Status::unavailable("connection closed before the HTTP/2 handshake completed")
        })?;
        Ok((handle, addr))
    }
}

/// Connects, backing off between failed attempts, until a connection is
/// READY or the channel is dropped.
async fn connect_loop(weak: Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        inner.set_state(ConnectivityState::Connecting);
        inner.events.flush();
        let start = crate::driver::now();
        let deadline = inner.lock().backoff.connect_deadline(start);
        let result = match tokio::time::timeout_at(
            tokio::time::Instant::from_std(deadline),
            inner.attempt(),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(Status::unavailable(format!(
                "connect deadline exceeded after {:?} (TCP, TLS and HTTP/2 handshake)",
                deadline.saturating_duration_since(start)
            ))),
        };
        let delay = {
            let mut sub = inner.lock();
            sub.pending = None;
            match result {
                Ok((conn, addr)) => {
                    // The server's first SETTINGS arrived: reset the backoff.
                    sub.backoff.reset();
                    sub.conn = Some(conn);
                    sub.connecting = false;
                    sub.last_error = None;
                    inner.events.push(ChannelEvent::Connected { addr });
                    inner.set_state(ConnectivityState::Ready);
                    drop(sub);
                    inner.events.flush();
                    return;
                }
                Err(status) => {
                    sub.last_error = Some(status);
                    inner.set_state(ConnectivityState::TransientFailure);
                    sub.backoff.next_delay()
                }
            }
        };
        inner.events.flush();
        drop(inner);
        tokio::time::sleep(delay).await;
    }
}

impl Owner for Inner {
    fn connected(&self, conn: u64) {
        let mut sub = self.lock();
        if sub.pending.as_ref().is_some_and(|(id, _)| *id == conn) {
            if let Some((_, tx)) = sub.pending.take() {
                let _ = tx.send(());
            }
        }
    }

    fn going_away(&self, conn: u64, info: &GoAwayInfo) {
        let mut sub = self.lock();
        if self.events.enabled() {
            self.events.push(ChannelEvent::GoAway {
                code: info.code.0,
                debug: String::from_utf8_lossy(&info.debug_data).into_owned(),
            });
        }
        if info.too_many_pings {
            if let Some(ka) = &mut sub.keepalive {
                // gRFC A8: double the keepalive time for new connections.
                ka.time = ka
                    .time
                    .saturating_mul(2)
                    .min(Duration::from_secs(u32::MAX.into()));
                eprintln!(
                    "tether: server sent GOAWAY too_many_pings; keepalive time doubled to {:?}",
                    ka.time
                );
                self.events
                    .push(ChannelEvent::KeepaliveDoubled { time: ka.time });
            }
        }
        if sub.conn.as_ref().is_some_and(|c| c.id() == conn) {
            sub.conn = None;
            if !sub.connecting {
                self.set_state(ConnectivityState::Idle);
            }
        }
        drop(sub);
        self.events.flush();
    }

    fn closed(&self, conn: u64, reason: &CloseReason) {
        if self.events.enabled() {
            let status = Status::from_close(reason);
            self.events.push(ChannelEvent::ConnectionClosed {
                reason: status.message().to_owned(),
            });
        }
        let mut sub = self.lock();
        if sub.pending.as_ref().is_some_and(|(id, _)| *id == conn) {
            sub.pending = None;
        }
        if sub.conn.as_ref().is_some_and(|c| c.id() == conn) {
            sub.conn = None;
            if !sub.connecting {
                // Graceful (GOAWAY) or not (EOF, keepalive, protocol
                // error), the subchannel goes IDLE and the next call (or
                // `state(true)`) reconnects; in-flight calls already failed.
                self.set_state(ConnectivityState::Idle);
            }
        }
        drop(sub);
        self.events.flush();
    }

    fn ping_rtt(&self, _conn: u64, rtt: Duration) {
        self.lock().rtt = Some(rtt);
        self.events.push(ChannelEvent::PingRtt(rtt));
        self.events.flush();
    }
}
