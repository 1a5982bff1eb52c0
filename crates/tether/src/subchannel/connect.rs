//! Connecting a subchannel: the connect loop with its backoff, extra
//! connections (gRFC A105), and the driver's callbacks.

use super::conn::Conn;
use super::{SubState, Subchannel};
use crate::channel::shared::ControlMsg;
use crate::channel::ChannelEvent;
use crate::connectivity::ConnectivityState;
use crate::driver::{self, Owner};
use crate::status::Status;
use crate::transport;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tether_h2::{CloseReason, ErrorCode, GoAwayInfo};
use tokio::sync::oneshot;

impl Subchannel {
    /// The policy asks for a connection: an IDLE subchannel starts
    /// connecting (a no-op otherwise, and outside a tokio runtime).
    pub(crate) fn connect(self: &Arc<Self>) {
        let mut st = self.lock();
        if st.removed || st.connecting || !st.conns.is_empty() {
            return;
        }
        self.start_loop(&mut st, false);
        drop(st);
        self.shared.events.flush();
    }

    fn start_loop(self: &Arc<Self>, st: &mut SubState, replacing: bool) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        st.connecting = true;
        st.replacing = replacing;
        if replacing {
            // connect-before-drain: the first attempt is immediate.
            st.backoff.reset();
        }
        rt.spawn(connect_loop(Arc::downgrade(self)));
    }

    /// One connection attempt: transport, TLS, then the server's first
    /// SETTINGS.
    async fn attempt(self: &Arc<Self>) -> Result<Arc<Conn>, Status> {
        let io = transport::connect_address(&self.address, &self.shared.security).await?;
        let (tx, rx) = oneshot::channel();
        let id = {
            let mut st = self.lock();
            st.next_conn += 1;
            let id = st.next_conn;
            st.pending.insert(id, tx);
            id
        };
        let mut config = self.shared.http2.clone();
        config.keepalive = self.shared.keepalive();
        let owner: Weak<dyn Owner> = self.me.clone() as Weak<dyn Owner>;
        let handle = driver::spawn(io, config, owner, id);
        let settled = rx.await;
        let limit = self.lock().early_limits.remove(&id).flatten();
        settled.map_err(|_| {
            Status::unavailable("connection closed before the HTTP/2 handshake completed")
        })?;
        Ok(Arc::new(Conn::new(handle, limit)))
    }

    /// An attempt bounded by the connect deadline.
    async fn attempt_until(
        self: &Arc<Self>,
        deadline: std::time::Instant,
    ) -> Result<Arc<Conn>, Status> {
        let start = driver::now();
        match tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), self.attempt())
            .await
        {
            Ok(r) => r,
            Err(_) => Err(Status::unavailable(format!(
                "connect deadline exceeded after {:?} (TCP, TLS and HTTP/2 handshake)",
                deadline.saturating_duration_since(start)
            ))),
        }
    }

    /// Opens one more connection (A105); `growing` was counted by the caller.
    pub(super) fn spawn_extra(self: &Arc<Self>) {
        let sub = self.clone();
        tokio::spawn(async move {
            let deadline = driver::now() + sub.shared.backoff.min_connect_timeout;
            let result = sub.attempt_until(deadline).await;
            let mut st = sub.lock();
            st.growing -= 1;
            match result {
                Ok(conn) if !st.removed && st.state == ConnectivityState::Ready => {
                    sub.shared.events.push(ChannelEvent::Connected {
                        addr: sub.address.to_string(),
                    });
                    let conn = Arc::try_unwrap(conn)
                        .map(|c| Arc::new(c.into_extra(sub.shared.now_ms())))
                        .unwrap_or_else(|c| c);
                    st.conns.push(conn);
                    sub.publish(&st);
                    if !st.reaping {
                        st.reaping = true;
                        tokio::spawn(reap_extra(Arc::downgrade(&sub)));
                    }
                }
                // Calls waiting for it pick again (and take a full one).
                _ => sub.room.notify_waiters(),
            }
            drop(st);
            sub.shared.events.flush();
        });
    }
}

/// Closes extra connections (A105) that carried no call for the channel's
/// idle period; ends when none is left.
async fn reap_extra(weak: Weak<Subchannel>) {
    loop {
        let Some(sub) = weak.upgrade() else { return };
        let idle = sub.shared.extra_idle;
        drop(sub);
        tokio::time::sleep((idle / 4).max(Duration::from_millis(10))).await;
        let Some(sub) = weak.upgrade() else { return };
        let now = sub.shared.now_ms();
        let idle_ms = idle.as_millis() as u64;
        let mut st = sub.lock();
        let before = st.conns.len();
        st.conns.retain(|c| {
            !c.is_extra()
                || c.idle_since_ms()
                    .map_or(true, |t| now.saturating_sub(t) < idle_ms)
        });
        if st.conns.len() != before {
            sub.publish(&st);
        }
        if st.removed || !st.conns.iter().any(|c| c.is_extra()) {
            st.reaping = false;
            return;
        }
    }
}

/// Connects, backing off between failed attempts, until a connection is
/// READY or the subchannel is removed.
async fn connect_loop(weak: Weak<Subchannel>) {
    loop {
        let Some(sub) = weak.upgrade() else { return };
        let deadline = {
            let mut st = sub.lock();
            if st.removed {
                st.connecting = false;
                return;
            }
            if !st.replacing {
                sub.set_state(&mut st, ConnectivityState::Connecting);
            }
            st.backoff.connect_deadline(driver::now())
        };
        sub.shared.events.flush();
        let result = sub.attempt_until(deadline).await;
        let delay = {
            let mut st = sub.lock();
            st.replacing = false;
            if st.removed {
                st.connecting = false;
                return;
            }
            match result {
                Ok(conn) => {
                    // The server's first SETTINGS arrived: reset the backoff.
                    st.backoff.reset();
                    st.connecting = false;
                    st.last_error = None;
                    st.conns.push(conn);
                    sub.shared.events.push(ChannelEvent::Connected {
                        addr: sub.address.to_string(),
                    });
                    sub.publish(&st);
                    sub.set_state(&mut st, ConnectivityState::Ready);
                    drop(st);
                    sub.shared.events.flush();
                    return;
                }
                Err(status) => {
                    st.last_error = Some(status);
                    sub.set_state(&mut st, ConnectivityState::TransientFailure);
                    st.backoff.next_delay()
                }
            }
        };
        sub.shared.events.flush();
        // A failed connection asks for fresh addresses (rate-limited there).
        let _ = sub.shared.ctl.send(ControlMsg::ResolveNow);
        let kicked = sub.kick.notified();
        let _ = tokio::time::timeout(delay, kicked).await;
    }
}

impl Owner for Subchannel {
    fn connected(&self, conn: u64) {
        if let Some(tx) = self.lock().pending.remove(&conn) {
            let _ = tx.send(());
        }
    }

    fn max_concurrent_streams(&self, conn: u64, max: Option<u32>) {
        let mut st = self.lock();
        match st.conns.iter().find(|c| c.id() == conn) {
            Some(c) => {
                c.set_max_streams(max);
                drop(st);
                self.room.notify_waiters();
            }
            None => {
                st.early_limits.insert(conn, max);
            }
        }
    }

    fn going_away(&self, conn: u64, info: &GoAwayInfo) {
        let events = &self.shared.events;
        if events.enabled() {
            events.push(ChannelEvent::GoAway {
                code: info.code,
                debug: String::from_utf8_lossy(&info.debug_data).into_owned(),
            });
        }
        if info.too_many_pings {
            self.shared.double_keepalive();
        }
        let _ = self.shared.ctl.send(ControlMsg::ResolveNow);
        let mut st = self.lock();
        if let Some(c) = st.conns.iter().find(|c| c.id() == conn) {
            c.set_draining();
            self.publish(&st);
            let live = st.conns.iter().any(|c| !c.is_draining());
            if info.code == ErrorCode::NO_ERROR && !live && !st.removed && !st.connecting {
                if let Some(me) = self.me.upgrade() {
                    me.start_loop(&mut st, true);
                }
            }
        }
        drop(st);
        events.flush();
    }

    fn closed(&self, conn: u64, reason: &CloseReason) {
        let events = &self.shared.events;
        if events.enabled() {
            let status = Status::from_close(reason);
            events.push(ChannelEvent::ConnectionClosed {
                reason: status.message().to_owned(),
            });
        }
        let mut st = self.lock();
        st.pending.remove(&conn);
        st.early_limits.remove(&conn);
        if let Some(pos) = st.conns.iter().position(|c| c.id() == conn) {
            st.conns.remove(pos);
            self.publish(&st);
            let live = st.conns.iter().any(|c| !c.is_draining());
            if !live && !st.connecting {
                // Graceful or not, the subchannel goes IDLE; its policy
                // decides whether to reconnect. In-flight calls on it
                // already failed (or finished, if it was draining).
                self.set_state(&mut st, ConnectivityState::Idle);
                let _ = self.shared.ctl.send(ControlMsg::ResolveNow);
            }
        }
        drop(st);
        events.flush();
    }

    fn ping_rtt(&self, _conn: u64, rtt: Duration) {
        self.lock().rtt = Some(rtt);
        self.shared.set_rtt(rtt);
        self.shared.events.push(ChannelEvent::PingRtt(rtt));
        self.shared.events.flush();
    }
}
