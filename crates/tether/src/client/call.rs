//! One call in flight and its attempts (gRFC A6).
//!
//! An [`ActiveCall`] owns what spans the whole call: the deadline, the
//! cancellation, the commit decision, the retry or hedging state and (for
//! streaming requests) the [`Outbound`] buffer of request messages sent so
//! far. Each attempt is one stream on one connection (a driver [`Slot`]):
//! the call picks a connection for it, opens it, and reads its events.
//!
//! Before the call commits (response headers, or a trailers-only status),
//! a failed attempt may be followed by another: transparently when the
//! server never processed it (never sent: without limit; refused or above
//! a GOAWAY's last stream: once), else as the method's `retryPolicy` says
//! (backoff, `grpc-retry-pushback-ms`, throttling); under a
//! `hedgingPolicy` several attempts run at once and the first to answer
//! wins. The deadline covers every attempt; cancelling cancels them all.

use super::cancel::{cancel_attempt, CancelHandle, Registration};
use super::interceptor::EndHook;
use crate::channel::{Channel, ChannelEvent};
use crate::driver::slot::{Slot, RECV_BACKLOG};
use crate::driver::{Command, ConnHandle};
use crate::grpc::{CallRecv, Cardinality, RecvEvent, RequestHead};
use crate::retry::buffer::Outbound;
use crate::retry::policy::{CallPolicy, Decision, Pushback, RetryState, RetryStop};
use crate::status::Status;
use crate::subchannel::conn::Lease;
use bytes::Bytes;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// How many times an attempt that reached the server but was not
/// processed (REFUSED_STREAM, GOAWAY) is retried transparently (gRFC A6:
/// once).
const REFUSED_RETRIES: u8 = 1;
/// How many times an attempt that never left the client (its connection
/// closed before the stream opened) is retried transparently. gRFC A6 says
/// "until the deadline"; a bound keeps a call without deadline from
/// spinning on connections that close at once.
const UNSENT_RETRIES: u8 = 32;

/// Options fixed for the whole call.
pub(crate) struct CallOptions {
    pub(crate) cardinality: Cardinality,
    pub(crate) deadline: Option<Instant>,
    pub(crate) wait_for_ready: bool,
    /// The largest response message accepted.
    pub(crate) max_recv: usize,
    /// The method's retry or hedging policy.
    pub(crate) policy: CallPolicy,
    /// The service config the call's settings were read from
    /// ([`config_id`]).
    pub(crate) config: usize,
}

/// Tells service configs apart (the address of the one in force).
pub(crate) fn config_id(config: &Arc<Option<crate::service_config::ServiceConfig>>) -> usize {
    Arc::as_ptr(config) as usize
}

/// The request of a call: the single message of unary and
/// server-streaming calls, or the buffer a request pump feeds.
pub(crate) enum Body {
    Message(Bytes),
    Stream(Arc<Outbound>),
}

/// One attempt: a stream on a connection.
struct Attempt {
    slot: Arc<Slot>,
    /// Its place on the connection; dropped when the attempt ends before
    /// the call committed (a retry waits without holding a stream).
    lease: Option<Lease>,
    live: bool,
}

impl Attempt {
    fn conn(&self) -> Option<&ConnHandle> {
        self.lease.as_ref().map(Lease::handle)
    }

    /// Resets the stream with CANCEL (its status becomes CANCELLED).
    fn cancel(&mut self) {
        if let Some(conn) = self.conn() {
            cancel_attempt(&self.slot, conn);
        }
        self.live = false;
    }
}

/// A boxed future: the next attempt's connection, after its delay.
type NextAttempt = Pin<Box<dyn Future<Output = Result<Lease, Status>> + Send>>;

/// A call with its attempts.
pub(crate) struct ActiveCall {
    channel: Channel,
    opts: CallOptions,
    /// The request message of unary and server-streaming calls (kept for
    /// new attempts), or the streaming request's buffer.
    body: Body,
    /// The attempt the call reads (after the commit, the only one).
    primary: Attempt,
    /// Hedged attempts in flight besides `primary`.
    hedges: Vec<Attempt>,
    /// The next attempt, waiting for its delay and a connection.
    next: Option<NextAttempt>,
    /// When the next hedge is due.
    hedge_timer: Option<Pin<Box<Sleep>>>,
    retry: RetryState,
    /// Response headers (or a final status) arrived: no other attempt.
    committed: bool,
    /// Transparent retries left.
    refused_left: u8,
    unsent_left: u8,
    /// Transparent retries waiting for the pick under way.
    transparent_pending: u8,
    /// Attempts opened, transparent retries included.
    attempts: u32,
    /// The last failed attempt's status (the call's, if nothing follows).
    last_failure: Option<Status>,
    /// Bytes of `body` counted in the channel's retry buffer.
    held: usize,
    sleep: Option<Pin<Box<Sleep>>>,
    deadline_passed: bool,
    finished: bool,
    /// The call's place in its [`CancelHandle`], if it has one.
    cancel: Option<Registration>,
    /// The interceptors to tell the final status, if any.
    end: Option<EndHook>,
}

impl ActiveCall {
    /// Picks a connection and opens the first attempt; `cancel` may end
    /// the call at any point from now on.
    pub(crate) async fn start(
        channel: &Channel,
        head: RequestHead,
        body: Body,
        mut opts: CallOptions,
        cancel: Option<&CancelHandle>,
        end: Option<EndHook>,
    ) -> Result<ActiveCall, Status> {
        let shared = channel.shared();
        shared.call_started();
        let cancel = cancel.map(CancelHandle::register);
        let mut lease = match pick(channel, &opts, cancel.as_ref()).await {
            Ok(lease) => lease,
            Err(status) => {
                shared.call_ended();
                if let Some(end) = end {
                    end.report(&status);
                }
                return Err(status);
            }
        };
        if let Body::Stream(_) = &body {
            lease.unscore();
        }
        // The first resolution of an idle channel may have brought a
        // service config after the call read its settings: the policy is
        // the one in force once a connection is picked.
        if opts.policy.is_none() && config_id(&shared.service_config.load()) != opts.config {
            opts.policy = channel.policy_for(head.path());
        }
        // gRFC A6: a request that does not fit in the retry buffer is
        // sent, but not retried under the policy.
        let mut held = 0;
        if let (false, Body::Message(message)) = (opts.policy.is_none(), &body) {
            if shared.retry_budget.try_take(0, message.len()) {
                held = message.len();
            } else {
                opts.policy = CallPolicy::None;
            }
        }
        let message = match &body {
            Body::Message(m) => Some(m.clone()),
            Body::Stream(_) => None,
        };
        let slot = Arc::new(Slot::new(head, message, new_recv(channel, &opts)));
        let sleep = opts.deadline.map(|d| Box::pin(tokio::time::sleep_until(d)));
        let retry = RetryState::new(opts.policy, shared.seed() ^ u64::from(shared.call_seq()));
        let mut call = ActiveCall {
            channel: channel.clone(),
            opts,
            body,
            primary: Attempt {
                slot,
                lease: Some(lease),
                live: true,
            },
            hedges: Vec::new(),
            next: None,
            hedge_timer: None,
            retry,
            committed: false,
            refused_left: REFUSED_RETRIES,
            unsent_left: UNSENT_RETRIES,
            transparent_pending: 0,
            attempts: 1,
            last_failure: None,
            held,
            sleep,
            deadline_passed: false,
            finished: false,
            cancel,
            end,
        };
        let slot = call.primary.slot.clone();
        if let Some(conn) = call.primary.conn().cloned() {
            call.open(&slot, &conn);
        }
        if let Some(delay) = call.retry.hedging_delay() {
            call.arm_hedge_timer(delay);
        }
        Ok(call)
    }

    /// Hands a new attempt's slot to its connection (after feeding it the
    /// streaming request so far).
    fn open(&mut self, slot: &Arc<Slot>, conn: &ConnHandle) {
        if let Body::Stream(out) = &self.body {
            if !out.attach(slot, conn) {
                // Cannot replay the request: end this attempt at once.
                let mut st = slot.lock();
                st.queue.push_back(RecvEvent::Status(Status::unavailable(
                    "cannot retry: the request outgrew the retry buffer",
                )));
                st.done = true;
                return;
            }
        }
        if !conn.send(Command::Open(slot.clone())) {
            // The driver is gone: never sent.
            let mut st = slot.lock();
            st.retry = true;
            st.done = true;
            st.wake_sender();
        }
        if let Some(reg) = &self.cancel {
            reg.set_attempt(slot, conn);
        }
    }

    /// Tells the interceptors the call's final status (once; later calls
    /// do nothing).
    pub(crate) fn report_end(&mut self, status: &Status) {
        if let Some(end) = self.end.take() {
            end.report(status);
        }
    }

    /// [`ActiveCall::report_end`] with `result`'s status (OK for a success).
    pub(crate) fn report_result<T>(&mut self, result: &Result<T, Status>) {
        if let Some(end) = self.end.take() {
            end.report_result(result);
        }
    }

    /// How many attempts the call made (transparent retries included).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The call's cancel handle (made on first use when the request had
    /// none).
    pub(crate) fn cancel_handle(&mut self) -> CancelHandle {
        if let Some(reg) = &self.cancel {
            return reg.handle().clone();
        }
        let handle = CancelHandle::new();
        let reg = handle.register();
        for a in std::iter::once(&self.primary).chain(&self.hedges) {
            if let (true, Some(conn)) = (a.live, a.conn()) {
                reg.set_attempt(&a.slot, conn);
            }
        }
        self.cancel = Some(reg);
        handle
    }

    /// The next event; after a [`RecvEvent::Status`] nothing follows.
    pub(crate) async fn event(&mut self) -> RecvEvent {
        poll_fn(|cx| self.poll_event(cx)).await
    }

    /// The next event, retrying and hedging as the call's policy says.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<RecvEvent> {
        if self.finished {
            return Poll::Ready(RecvEvent::Status(Status::internal("call already ended")));
        }
        loop {
            if let Some(status) = self.check_deadline_and_cancel(cx) {
                return Poll::Ready(self.finish(status));
            }
            if let Body::Stream(out) = &self.body {
                let (overflowed, error) = out.poll_state(cx);
                if let Some(status) = error {
                    self.cancel_all();
                    return Poll::Ready(self.finish(status));
                }
                if overflowed && !self.committed && !self.retry.is_closed() {
                    self.commit_buffer_overflow();
                }
            }
            if let Some(next) = self.next.as_mut() {
                if let Poll::Ready(result) = next.as_mut().poll(cx) {
                    self.next = None;
                    match result {
                        Ok(lease) => self.install(lease),
                        Err(status) => {
                            if !self.any_live() {
                                return Poll::Ready(self.finish(status));
                            }
                        }
                    }
                }
            }
            // A hedge falls due only once the previous one has its
            // connection (one pick at a time).
            if let (None, Some(timer)) = (&self.next, self.hedge_timer.as_mut()) {
                if timer.as_mut().poll(cx).is_ready() {
                    self.hedge_timer = None;
                    self.send_hedge();
                    continue;
                }
            }
            match self.poll_attempts(cx) {
                Poll::Ready(Some(event)) => return Poll::Ready(event),
                Poll::Ready(None) => continue,
                Poll::Pending => {}
            }
            if !self.any_live() && self.next.is_none() && self.hedge_timer.is_none() {
                let status = self
                    .last_failure
                    .take()
                    .unwrap_or_else(|| Status::internal("call has no attempt left"));
                return Poll::Ready(self.finish(status));
            }
            return Poll::Pending;
        }
    }

    /// Ends the call for a deadline or a cancellation: `Some(status)` when
    /// it ends now (no attempt holds a final status to hand out first).
    fn check_deadline_and_cancel(&mut self, cx: &mut Context<'_>) -> Option<Status> {
        if !self.deadline_passed {
            let passed = self
                .sleep
                .as_mut()
                .is_some_and(|s| s.as_mut().poll(cx).is_ready());
            if passed {
                self.deadline_passed = true;
                self.sleep = None;
                self.retry.commit();
                self.next = None;
                self.hedge_timer = None;
                if !self.committed {
                    match self.answered_attempt() {
                        // A whole answer (or its headers) came in time:
                        // the call commits to it.
                        Some((i, true)) => self.commit_to(i),
                        // A failure came in time: it is the call's status
                        // (no retry past the deadline).
                        Some((_, false)) => return None,
                        None => {}
                    }
                }
                if self.committed && self.primary.live {
                    // The attempt's own DEADLINE_EXCEEDED follows what it
                    // already queued.
                    let mut st = self.primary.slot.lock();
                    if !st.recv.is_finished() {
                        st.recv.handle_deadline();
                        st.collect();
                        st.done = true;
                        drop(st);
                        if let Some(conn) = self.primary.conn() {
                            conn.send(Command::Reset(self.primary.slot.clone()));
                        }
                    }
                } else {
                    for a in std::iter::once(&mut self.primary).chain(self.hedges.iter_mut()) {
                        if let (true, Some(lease)) = (a.live, a.lease.as_mut()) {
                            lease.set_outcome(crate::Code::DeadlineExceeded);
                        }
                    }
                    self.cancel_all();
                    return Some(Status::deadline_exceeded(
                        self.with_attempts("deadline exceeded"),
                    ));
                }
            }
        }
        if !self.committed {
            if let Some(reg) = &self.cancel {
                if reg.poll_cancelled(cx).is_ready() {
                    match self.answered_attempt() {
                        // An attempt had its final answer before the
                        // cancellation: it stands.
                        Some((i, true)) => self.commit_to(i),
                        Some((_, false)) => {}
                        None => {
                            self.cancel_all();
                            return Some(cancelled());
                        }
                    }
                }
            }
        }
        None
    }

    /// The first live attempt with something queued: its index, and
    /// whether that is an answer to commit to (headers, a message, an OK
    /// status) rather than a failure.
    fn answered_attempt(&self) -> Option<(usize, bool)> {
        std::iter::once(&self.primary)
            .chain(&self.hedges)
            .enumerate()
            .filter(|(_, a)| a.live)
            .find_map(|(i, a)| match a.slot.lock().queue.front() {
                None => None,
                Some(RecvEvent::Status(s)) => Some((i, s.is_ok())),
                Some(_) => Some((i, true)),
            })
    }

    /// "deadline exceeded", with the attempts made when there were several.
    fn with_attempts(&self, what: &str) -> String {
        if self.attempts > 1 {
            format!("{what} after {} attempts", self.attempts)
        } else {
            what.to_owned()
        }
    }

    /// Reads the live attempts: `Ready(Some)` an event for the caller,
    /// `Ready(None)` something changed (look again), `Pending` nothing yet.
    fn poll_attempts(&mut self, cx: &mut Context<'_>) -> Poll<Option<RecvEvent>> {
        if self.committed {
            let a = &self.primary;
            let mut st = a.slot.lock();
            let conn = a.conn();
            if let Some(event) = pop_event(&a.slot, conn, &mut st) {
                if let RecvEvent::Status(status) = &event {
                    drop(st);
                    if let Some(lease) = self.primary.lease.as_mut() {
                        lease.set_outcome(status.code());
                    }
                    self.on_success_or_final(status.is_ok());
                    self.finished = true;
                    self.close_body();
                }
                return Poll::Ready(Some(event));
            }
            if st.retry {
                // Disowned after it answered (the driver ends such
                // streams; a backstop against a silent hang).
                drop(st);
                let status = Status::unavailable("the server did not process the call");
                return Poll::Ready(Some(self.finish(status)));
            }
            st.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        for i in 0..=self.hedges.len() {
            let a = if i == 0 {
                &self.primary
            } else {
                &self.hedges[i - 1]
            };
            if !a.live {
                continue;
            }
            let mut st = a.slot.lock();
            if st.retry && st.queue.is_empty() {
                let reached_server = st.id.is_some();
                drop(st);
                self.attempt_at(i).live = false;
                self.attempt_at(i).lease = None;
                self.transparent_retry(reached_server);
                return Poll::Ready(None);
            }
            match st.queue.front() {
                None => {
                    st.waker = Some(cx.waker().clone());
                }
                Some(RecvEvent::Status(status)) if !status.is_ok() => {
                    let Some(RecvEvent::Status(status)) = st.queue.pop_front() else {
                        unreachable!("front was a status");
                    };
                    drop(st);
                    let a = self.attempt_at(i);
                    a.live = false;
                    if let Some(lease) = a.lease.as_mut() {
                        lease.set_outcome(status.code());
                    }
                    a.lease = None;
                    return match self.on_failure(status) {
                        Some(status) => Poll::Ready(Some(self.finish(status))),
                        None => Poll::Ready(None),
                    };
                }
                Some(_) => {
                    // Response headers, or a trailers-only OK: commit.
                    drop(st);
                    self.commit_to(i);
                    return Poll::Ready(None);
                }
            }
        }
        Poll::Pending
    }

    fn attempt_at(&mut self, i: usize) -> &mut Attempt {
        if i == 0 {
            &mut self.primary
        } else {
            &mut self.hedges[i - 1]
        }
    }

    fn any_live(&self) -> bool {
        self.primary.live || self.hedges.iter().any(|a| a.live)
    }

    /// The call commits to attempt `i`: the others are cancelled, nothing
    /// more is kept for retries.
    fn commit_to(&mut self, i: usize) {
        if i > 0 {
            std::mem::swap(&mut self.primary, &mut self.hedges[i - 1]);
        }
        if let Some(lease) = self.primary.lease.as_mut() {
            lease.responded();
        }
        for mut h in self.hedges.drain(..) {
            if h.live {
                h.cancel();
            }
        }
        self.committed = true;
        self.retry.commit();
        self.next = None;
        self.hedge_timer = None;
        if let Body::Stream(out) = &self.body {
            out.commit(&self.primary.slot);
        }
        self.release_held();
    }

    /// The streaming request outgrew the retry buffer: the call keeps its
    /// current attempt (gRFC A6: under hedging, one of those in flight)
    /// and makes no other.
    fn commit_buffer_overflow(&mut self) {
        self.retry.commit();
        self.next = None;
        self.hedge_timer = None;
        if !self.primary.live {
            if let Some(pos) = self.hedges.iter().position(|h| h.live) {
                std::mem::swap(&mut self.primary, &mut self.hedges[pos]);
            }
        }
        for mut h in self.hedges.drain(..) {
            if h.live {
                h.cancel();
            }
        }
        if let Body::Stream(out) = &self.body {
            out.commit(&self.primary.slot);
        }
        if !self.retry.policy().is_none() {
            let attempts = self.attempts;
            self.report(|path| ChannelEvent::RetryStopped {
                method: path,
                attempts,
                code: None,
                reason: RetryStop::Committed,
            });
        }
    }

    /// An attempt failed before the call committed: `Some(status)` ends
    /// the call with it; `None` when another attempt follows or is in
    /// flight.
    fn on_failure(&mut self, status: Status) -> Option<Status> {
        if self.deadline_passed || self.cancel.as_ref().is_some_and(Registration::is_cancelled) {
            return Some(status);
        }
        let pushback = status.pushback();
        let throttle = self.channel.shared().throttle.load();
        let decision = self
            .retry
            .on_failure(status.code(), pushback, throttle.as_deref());
        let decision = match decision {
            Decision::Retry(_) | Decision::Hedge(_) if !self.can_replay() => {
                self.retry.commit();
                Decision::Stop(RetryStop::Committed)
            }
            Decision::Retry(delay) if self.past_deadline_after(delay) => {
                Decision::Stop(RetryStop::Deadline)
            }
            d => d,
        };
        match decision {
            Decision::Retry(delay) => {
                let attempt = self.retry.started();
                let code = status.code();
                self.report(|path| ChannelEvent::Retry {
                    method: path,
                    attempt,
                    code,
                    delay,
                    pushback: matches!(pushback, Pushback::After(_)),
                });
                self.last_failure = Some(status);
                self.schedule(delay);
                None
            }
            Decision::Hedge(delay) => {
                self.last_failure = Some(status);
                // Zero: the next hedge goes at once (as soon as no other
                // is being picked).
                self.arm_hedge_timer(delay);
                self.end_if_nothing_left()
            }
            Decision::Wait => {
                self.last_failure = Some(status);
                self.hedge_timer = None;
                self.end_if_nothing_left()
            }
            Decision::Stop(reason) => {
                if reason != RetryStop::NotRetryable || self.retry.policy().is_hedging() {
                    let (attempts, code) = (self.attempts, status.code());
                    self.report(|path| ChannelEvent::RetryStopped {
                        method: path,
                        attempts,
                        code: Some(code),
                        reason,
                    });
                }
                // A fatal status under hedging cancels the other attempts
                // and any coming.
                self.next = None;
                self.hedge_timer = None;
                self.cancel_all();
                Some(status)
            }
        }
    }

    /// The last failure, if no attempt is in flight or coming.
    fn end_if_nothing_left(&mut self) -> Option<Status> {
        if self.any_live() || self.next.is_some() || self.hedge_timer.is_some() {
            return None;
        }
        self.last_failure.take()
    }

    fn can_replay(&self) -> bool {
        match &self.body {
            Body::Message(_) => true,
            Body::Stream(out) => out.can_replay(),
        }
    }

    fn past_deadline_after(&self, delay: Duration) -> bool {
        self.opts
            .deadline
            .is_some_and(|d| Instant::now().checked_add(delay).map_or(true, |t| t >= d))
    }

    /// The hedging timer fired, or a non-fatal failure asked for the next
    /// hedge: send one if the policy and the throttle allow.
    fn send_hedge(&mut self) {
        if self.committed {
            return;
        }
        let throttle = self.channel.shared().throttle.load();
        match self.retry.take_hedge(throttle.as_deref()) {
            Ok(()) => {
                let attempt = self.retry.started();
                self.report(|path| ChannelEvent::Hedge {
                    method: path,
                    attempt,
                });
                self.schedule(Duration::ZERO);
                if let Some(delay) = self.retry.hedging_delay() {
                    self.arm_hedge_timer(delay);
                }
            }
            Err(reason) => {
                if reason == RetryStop::Throttled {
                    let attempts = self.attempts;
                    self.report(|path| ChannelEvent::RetryStopped {
                        method: path,
                        attempts,
                        code: None,
                        reason,
                    });
                }
            }
        }
    }

    fn arm_hedge_timer(&mut self, delay: Duration) {
        // A delay past any deadline (the config allows 10,000 years) is a
        // year: the same in practice, without an overflow.
        let at = Instant::now() + delay.min(Duration::from_secs(365 * 86_400));
        match self.hedge_timer.as_mut() {
            Some(t) => t.as_mut().reset(at),
            None => self.hedge_timer = Some(Box::pin(tokio::time::sleep_until(at))),
        }
    }

    /// The attempt the server never processed is sent again, at once,
    /// when gRFC A6 allows; else it fails UNAVAILABLE into the policy.
    fn transparent_retry(&mut self, reached_server: bool) {
        let can = self.can_replay();
        let left = if reached_server {
            &mut self.refused_left
        } else {
            &mut self.unsent_left
        };
        if *left > 0 && can {
            *left -= 1;
            self.report(|path| ChannelEvent::TransparentRetry {
                method: path,
                reached_server,
            });
            if self.next.is_some() {
                // A hedge is being picked: this one follows it.
                self.transparent_pending += 1;
            } else {
                self.schedule(Duration::ZERO);
            }
            return;
        }
        let status = Status::unavailable(if reached_server {
            "the server did not process the call (GOAWAY or REFUSED_STREAM)"
        } else {
            "the call could not be sent: its connection closed"
        });
        if let Some(status) = self.on_failure(status) {
            self.last_failure = Some(status);
        }
    }

    /// Starts picking a connection for the next attempt after `delay`.
    fn schedule(&mut self, delay: Duration) {
        let channel = self.channel.clone();
        let (wait_for_ready, deadline) = (self.opts.wait_for_ready, self.opts.deadline);
        self.next = Some(Box::pin(async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay.min(Duration::from_secs(365 * 86_400))).await;
            }
            channel.pick(wait_for_ready, deadline).await
        }));
    }

    /// Opens the next attempt on `lease`'s connection.
    fn install(&mut self, mut lease: Lease) {
        if let Body::Stream(_) = &self.body {
            lease.unscore();
        }
        let previous = self.retry.started().saturating_sub(1);
        let mut head = self
            .primary
            .slot
            .head
            .clone()
            .with_previous_attempts(previous);
        if let Some(d) = self.opts.deadline {
            head = head.with_timeout(d.saturating_duration_since(Instant::now()));
        }
        let message = match &self.body {
            Body::Message(m) => Some(m.clone()),
            Body::Stream(_) => None,
        };
        let slot = Arc::new(Slot::new(
            head,
            message,
            new_recv(&self.channel, &self.opts),
        ));
        let conn = lease.handle().clone();
        self.attempts += 1;
        let attempt = Attempt {
            slot: slot.clone(),
            lease: Some(lease),
            live: true,
        };
        if self.primary.live {
            self.hedges.retain(|h| h.live);
            self.hedges.push(attempt);
        } else {
            self.primary = attempt;
        }
        self.open(&slot, &conn);
        if self.transparent_pending > 0 && !self.committed {
            self.transparent_pending -= 1;
            self.schedule(Duration::ZERO);
        }
    }

    /// Records the end of the call in the throttle (a success gives
    /// tokens back).
    fn on_success_or_final(&mut self, ok: bool) {
        if ok {
            if let Some(t) = self.channel.shared().throttle.load().as_deref() {
                t.record_success();
            }
        }
    }

    /// The call ends with `status` (from no attempt's queue).
    fn finish(&mut self, status: Status) -> RecvEvent {
        self.finished = true;
        self.next = None;
        self.hedge_timer = None;
        self.close_body();
        self.release_held();
        RecvEvent::Status(status)
    }

    fn close_body(&mut self) {
        if let Body::Stream(out) = &self.body {
            out.close();
        }
    }

    fn release_held(&mut self) {
        self.channel
            .shared()
            .retry_budget
            .give_back(std::mem::take(&mut self.held));
    }

    /// Cancels every live attempt.
    fn cancel_all(&mut self) {
        if self.primary.live {
            self.primary.cancel();
        }
        for h in &mut self.hedges {
            if h.live {
                h.cancel();
            }
        }
    }

    /// Reports a retry decision, when the channel has event callbacks.
    fn report(&self, make: impl FnOnce(String) -> ChannelEvent) {
        let events = &self.channel.shared().events;
        if events.enabled() {
            let path = String::from_utf8_lossy(self.primary.slot.head.path()).into_owned();
            events.push(make(path));
            events.flush();
        }
    }

    /// Ends the call on our side (a message that failed to decode): the
    /// stream is reset with CANCEL.
    pub(crate) fn fail(&mut self) {
        self.cancel_committed();
        self.cancel_all();
        self.finished = true;
        self.close_body();
    }

    fn cancel_committed(&mut self) {
        let a = &self.primary;
        let Some(conn) = a.conn() else { return };
        let mut st = a.slot.lock();
        if st.done && st.recv.is_finished() {
            return;
        }
        st.recv.cancel();
        st.done = true;
        st.wake_sender();
        drop(st);
        conn.send(Command::Reset(a.slot.clone()));
    }
}

impl Drop for ActiveCall {
    fn drop(&mut self) {
        if !self.finished {
            // Dropped before its end: RST_STREAM CANCEL.
            self.cancel_committed();
            self.cancel_all();
        }
        self.close_body();
        self.release_held();
        if let Some(end) = self.end.take() {
            end.report(&Status::cancelled("the call was dropped before its end"));
        }
        self.channel.shared().call_ended();
    }
}

/// Pops an attempt's next event; once the queued messages are back under
/// the backlog, asks the driver to credit the flow-control windows again.
pub(crate) fn pop_event(
    slot: &Arc<Slot>,
    conn: Option<&ConnHandle>,
    st: &mut crate::driver::slot::SlotState,
) -> Option<RecvEvent> {
    let event = st.queue.pop_front()?;
    if let RecvEvent::Message(m) = &event {
        st.queued_bytes -= m.len() + crate::grpc::framing::PREFIX_LEN;
        if st.queued_bytes <= RECV_BACKLOG && st.unreleased > 0 && !st.release_asked && !st.done {
            if let Some(conn) = conn {
                st.release_asked = true;
                conn.send(Command::Release(slot.clone()));
            }
        }
    }
    Some(event)
}

/// The status of a call cancelled through its [`CancelHandle`].
pub(crate) fn cancelled() -> Status {
    Status::cancelled(crate::grpc::CANCELLED_BY_CLIENT)
}

/// A connection for the call, unless its cancel handle fires first.
async fn pick(
    channel: &Channel,
    opts: &CallOptions,
    cancel: Option<&Registration>,
) -> Result<Lease, Status> {
    let picking = channel.pick(opts.wait_for_ready, opts.deadline);
    let Some(reg) = cancel else {
        return picking.await;
    };
    let mut picking = pin!(picking);
    poll_fn(|cx| {
        if reg.poll_cancelled(cx).is_ready() {
            return Poll::Ready(Err(cancelled()));
        }
        picking.as_mut().poll(cx)
    })
    .await
}

/// The receive state machine of one attempt. Its header-list limit is the
/// connection's (`tether_h2::Config::max_header_list_size`, advertised in
/// SETTINGS and enforced by the core): one configured limit, not a second,
/// smaller default in the gRPC layer.
fn new_recv(channel: &Channel, opts: &CallOptions) -> CallRecv {
    let max_headers = channel.shared().http2.max_header_list_size as usize;
    let mut recv = CallRecv::new(opts.cardinality)
        .with_max_message_size(opts.max_recv)
        .with_max_header_list_size(max_headers);
    if let Some(d) = opts.deadline {
        recv = recv.with_deadline(d.into_std());
    }
    recv
}
