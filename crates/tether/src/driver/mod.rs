//! The connection driver: one tokio task per connection owns the socket and
//! the sans-I/O [`Connection`]. It only moves bytes, fires timers and routes
//! stream events to calls (through their [`Slot`]s).
//!
//! Each wake-up: take the clock and fire due timers (before waiting on the
//! timer future), drain `poll_transmit` into one write buffer and
//! `poll_event` into the calls, then wait for the socket, a command or the
//! next deadline. All frames produced in one wake-up go out in one write.

mod route;
pub(crate) mod slot;

use crate::transport::Io;
use bytes::{Buf, BytesMut};
use slot::Slot;
use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};
use tether_h2::hpack::FieldRef;
use tether_h2::{Connection, StreamId};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::mpsc;

/// The size of the driver's read buffer, on the stack of each poll: the
/// core copies what it does not consume at once into its own buffer, so an
/// idle connection holds no read buffer here.
const READ_BUF: usize = 16 * 1024;
/// A write buffer larger than this is freed once empty (after a burst).
const WRITE_BUF_KEEP: usize = 64 * 1024;

/// The current time on tokio's clock (which tests may pause).
pub(crate) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What calls ask of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// Open a stream for this attempt.
    Open(Arc<Slot>),
    /// The attempt's send queue has new messages.
    Pump(Arc<Slot>),
    /// The call consumed messages: credit the windows.
    Release(Arc<Slot>),
    /// The call ended on our side (deadline, drop): RST_STREAM CANCEL.
    Reset(Arc<Slot>),
    /// `tether::raw`: open a stream with these fields, then send the body
    /// (boxed: calls' commands stay two words in the queue).
    RawOpen(Box<RawRequest>),
    /// `tether::raw`: send a PING.
    RawPing,
    /// `tether::raw`: close gracefully.
    RawClose,
}

/// A `tether::raw` request: its fields, then its body.
pub(crate) type RawRequest = (Vec<(bytes::Bytes, bytes::Bytes)>, Option<bytes::Bytes>);

/// What a driver tells the channel that owns it.
pub(crate) trait Owner: Send + Sync {
    /// The server's first SETTINGS arrived.
    fn connected(&self, conn: u64);
    /// The server's SETTINGS_MAX_CONCURRENT_STREAMS (`None`: unlimited), at
    /// its first SETTINGS and whenever it changes.
    fn max_concurrent_streams(&self, conn: u64, max: Option<u32>);
    /// The server sent GOAWAY: open no new streams here.
    fn going_away(&self, conn: u64, info: &tether_h2::GoAwayInfo);
    /// The connection ended.
    fn closed(&self, conn: u64, reason: &tether_h2::CloseReason);
    /// A PING was acknowledged after `rtt`.
    fn ping_rtt(&self, conn: u64, rtt: Duration);
}

/// A cheap handle on a running connection.
#[derive(Clone, Debug)]
pub(crate) struct ConnHandle {
    id: u64,
    tx: mpsc::UnboundedSender<Command>,
}

impl ConnHandle {
    /// The connection's number within its channel.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// A handle with no driver behind it (benchmarks and tests): commands
    /// land in the returned receiver.
    pub(crate) fn detached(id: u64) -> (ConnHandle, mpsc::UnboundedReceiver<Command>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ConnHandle { id, tx }, rx)
    }

    /// Sends a command; false when the driver has exited.
    pub(crate) fn send(&self, cmd: Command) -> bool {
        self.tx.send(cmd).is_ok()
    }
}

/// Starts the driver task for a connected transport.
pub(crate) fn spawn(
    io: Io,
    config: tether_h2::Config,
    owner: Weak<dyn Owner>,
    id: u64,
) -> ConnHandle {
    let (tx, rx) = mpsc::unbounded_channel();
    let driver = Driver::new(Connection::new(config, now()), io, rx, owner, id);
    tokio::spawn(driver.run());
    ConnHandle { id, tx }
}

/// Starts a driver for `tether::raw`: no calls, no owner; every core
/// event (and, through `observer`, every frame) goes to `events`.
pub(crate) fn spawn_raw(
    io: Io,
    config: tether_h2::Config,
    observer: Box<dyn tether_h2::conn::Observer>,
    events: mpsc::UnboundedSender<crate::raw::RawEvent>,
) -> mpsc::UnboundedSender<Command> {
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = Connection::with_observer(config, observer, now());
    let mut driver = Driver::new(conn, io, rx, Weak::<Unowned>::new(), 0);
    driver.raw = Some(events);
    tokio::spawn(driver.run());
    tx
}

/// The owner of a raw connection: nobody.
struct Unowned;

impl Owner for Unowned {
    fn connected(&self, _: u64) {}
    fn max_concurrent_streams(&self, _: u64, _: Option<u32>) {}
    fn going_away(&self, _: u64, _: &tether_h2::GoAwayInfo) {}
    fn closed(&self, _: u64, _: &tether_h2::CloseReason) {}
    fn ping_rtt(&self, _: u64, _: Duration) {}
}

enum Wake {
    /// Bytes were read and handed to the core.
    Read,
    Eof,
    ReadFailed,
    Wrote(usize),
    WriteFailed,
    Command(Option<Command>),
    Timer,
}

pub(crate) struct Driver {
    conn: Connection,
    io: Io,
    rx: mpsc::UnboundedReceiver<Command>,
    rx_closed: bool,
    calls: HashMap<StreamId, Arc<Slot>>,
    owner: Weak<dyn Owner>,
    id: u64,
    wbuf: BytesMut,
    /// Bytes were written since the last successful flush. A TLS stream
    /// accepts bytes into rustls and reports them written even when the
    /// socket would block; only `poll_flush` pushes the rest out.
    unflushed: bool,
    /// The request header fields of the stream being opened (emptied after
    /// each use; see `route::recycle`).
    fields: Vec<FieldRef<'static>>,
    /// `Event::Closed` was seen: flush and exit.
    finished: bool,
    /// `tether::raw`: where every core event goes (no calls then).
    raw: Option<mpsc::UnboundedSender<crate::raw::RawEvent>>,
}

impl Driver {
    fn new(
        conn: Connection,
        io: Io,
        rx: mpsc::UnboundedReceiver<Command>,
        owner: Weak<dyn Owner>,
        id: u64,
    ) -> Driver {
        Driver {
            conn,
            io,
            rx,
            rx_closed: false,
            calls: HashMap::new(),
            owner,
            id,
            wbuf: BytesMut::new(),
            unflushed: false,
            fields: Vec::new(),
            finished: false,
            raw: None,
        }
    }

    async fn run(mut self) {
        let mut sleep = Box::pin(tokio::time::sleep(Duration::from_secs(3600)));
        let mut armed: Option<Instant> = None;
        loop {
            let now = now();
            // Compare against the clock before polling the timer future.
            if self.conn.poll_timeout().is_some_and(|t| t <= now) {
                self.conn.handle_timeout(now);
            }
            self.progress(now);
            if self.finished {
                break;
            }
            if self.rx_closed && self.calls.is_empty() {
                // Nobody can use this connection any more.
                self.conn.close(tether_h2::ErrorCode::NO_ERROR, now);
                self.progress(now);
                break;
            }
            if self.wbuf.is_empty() && self.wbuf.capacity() > WRITE_BUF_KEEP {
                self.wbuf = BytesMut::new();
            }
            let deadline = self.conn.poll_timeout();
            if let Some(d) = deadline.filter(|d| armed != Some(*d)) {
                // Re-registering with the timer wheel costs; only on change.
                sleep.as_mut().reset(tokio::time::Instant::from_std(d));
                armed = Some(d);
            }
            let wake = {
                let Driver {
                    conn,
                    io,
                    rx,
                    rx_closed,
                    wbuf,
                    unflushed,
                    ..
                } = &mut self;
                poll_fn(|cx| {
                    if !wbuf.is_empty() {
                        match Pin::new(&mut *io).poll_write(cx, wbuf) {
                            Poll::Ready(Ok(n)) if n > 0 => return Poll::Ready(Wake::Wrote(n)),
                            Poll::Ready(_) => return Poll::Ready(Wake::WriteFailed),
                            Poll::Pending => {}
                        }
                    } else if *unflushed {
                        // Everything is handed over: push it to the socket.
                        // Pending registers the socket's write readiness,
                        // so this task wakes to flush the rest.
                        match Pin::new(&mut *io).poll_flush(cx) {
                            Poll::Ready(Ok(())) => *unflushed = false,
                            Poll::Ready(Err(_)) => return Poll::Ready(Wake::WriteFailed),
                            Poll::Pending => {}
                        }
                    }
                    let mut stack = [MaybeUninit::<u8>::uninit(); READ_BUF];
                    let mut buf = ReadBuf::uninit(&mut stack);
                    match Pin::new(&mut *io).poll_read(cx, &mut buf) {
                        Poll::Ready(Ok(())) if buf.filled().is_empty() => {
                            return Poll::Ready(Wake::Eof)
                        }
                        Poll::Ready(Ok(())) => {
                            conn.handle_read(buf.filled(), self::now());
                            return Poll::Ready(Wake::Read);
                        }
                        Poll::Ready(Err(_)) => return Poll::Ready(Wake::ReadFailed),
                        Poll::Pending => {}
                    }
                    // Commands after the socket: a stream is not opened on
                    // a connection whose end of file is already here (the
                    // call is then retried elsewhere, never having left).
                    if !*rx_closed {
                        if let Poll::Ready(cmd) = rx.poll_recv(cx) {
                            return Poll::Ready(Wake::Command(cmd));
                        }
                    }
                    if deadline.is_some() && sleep.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Wake::Timer);
                    }
                    Poll::Pending
                })
                .await
            };
            let now = self::now();
            match wake {
                Wake::Eof | Wake::ReadFailed => self.conn.handle_eof(now),
                Wake::Read => {}
                Wake::Wrote(n) => {
                    self.wbuf.advance(n);
                    self.unflushed = true;
                }
                Wake::WriteFailed => {
                    self.wbuf.clear();
                    self.conn.handle_eof(now);
                }
                Wake::Command(None) => self.rx_closed = true,
                Wake::Command(Some(cmd)) => {
                    self.command(cmd, now);
                    // Take every queued command in this wake-up.
                    while let Ok(cmd) = self.rx.try_recv() {
                        self.command(cmd, now);
                    }
                }
                // Fired: re-arm next turn even if the deadline is unchanged.
                Wake::Timer => armed = None,
            }
        }
        // No command may wait in a queue nobody will read: close it, then
        // hand back what is in it (an attempt never opened is retried on
        // another connection), before the last writes, which may take a
        // while. Commands sent after this fail at once.
        self.rx.close();
        while let Ok(cmd) = self.rx.try_recv() {
            self.refuse(cmd);
        }
        // Best effort: send what is left (a GOAWAY) before closing.
        if !self.wbuf.is_empty() || self.unflushed {
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                self.io.write_all(&self.wbuf).await?;
                self.io.flush().await
            })
            .await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), self.io.shutdown()).await;
    }

    /// Drains the core's output: frames into the write buffer, events to
    /// the calls, until both are empty.
    fn progress(&mut self, now: Instant) {
        loop {
            while self.conn.poll_transmit(&mut self.wbuf) > 0 {}
            let mut any = false;
            while let Some(event) = self.conn.poll_event() {
                any = true;
                self.event(event, now);
            }
            if !any {
                break;
            }
        }
    }

    fn owner(&self) -> Option<Arc<dyn Owner>> {
        self.owner.upgrade()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::testing::HoldUntilFlush;
    use tokio::io::AsyncReadExt;

    struct NoOwner;

    impl Owner for NoOwner {
        fn connected(&self, _: u64) {}
        fn max_concurrent_streams(&self, _: u64, _: Option<u32>) {}
        fn going_away(&self, _: u64, _: &tether_h2::GoAwayInfo) {}
        fn closed(&self, _: u64, _: &tether_h2::CloseReason) {}
        fn ping_rtt(&self, _: u64, _: Duration) {}
    }

    /// An attempt queued while the driver is finishing (its connection
    /// ended; its last write is still being pushed out) is handed back
    /// unsent, or refused: never left in a queue nobody reads. Before, the
    /// call waited for its deadline (the CI failure of channel_lb_peers'
    /// max_connection_age test: an attempt picked just as the server's
    /// GOAWAY closed its connection).
    #[tokio::test]
    async fn an_attempt_queued_as_the_driver_finishes_is_handed_back() {
        use crate::grpc::{CallRecv, Cardinality, RequestHead, Scheme};
        use tokio::io::AsyncWriteExt;
        // A 16-byte pipe the peer never reads: the driver's last flush
        // blocks (up to its 1 s bound) after the connection has ended.
        let (ours, mut peer) = tokio::io::duplex(16);
        let io = Io::HoldUntilFlush(Box::new(HoldUntilFlush::new(ours)));
        let owner: Arc<dyn Owner> = Arc::new(NoOwner);
        let handle = spawn(io, tether_h2::Config::default(), Arc::downgrade(&owner), 1);
        // Not HTTP/2: a connection error, and the driver finishes.
        peer.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let head = RequestHead::new(Scheme::Http, "a", "/p.S/M");
        let slot = Arc::new(Slot::new(head, None, CallRecv::new(Cardinality::Unary)));
        let sent = handle.send(Command::Open(slot.clone()));
        if sent {
            let t0 = std::time::Instant::now();
            while !slot.lock().done {
                assert!(
                    t0.elapsed() < Duration::from_millis(500),
                    "the attempt sat in the finished driver's queue"
                );
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            let st = slot.lock();
            assert!(st.retry && st.id.is_none(), "handed back unsent");
        }
        drop(peer);
    }

    /// A call's command is two words: the raw variant is boxed.
    #[test]
    fn commands_stay_small() {
        assert_eq!(std::mem::size_of::<Command>(), 16);
    }

    /// What the driver writes reaches the peer even when the stream, like
    /// tokio-rustls, holds written bytes until flushed. Before the driver
    /// flushed, the connection preface stayed in the stream's buffer.
    #[tokio::test]
    async fn written_bytes_are_flushed_to_the_peer() {
        let (ours, mut peer) = tokio::io::duplex(64 * 1024);
        let io = Io::HoldUntilFlush(Box::new(HoldUntilFlush::new(ours)));
        let owner: Arc<dyn Owner> = Arc::new(NoOwner);
        let handle = spawn(io, tether_h2::Config::default(), Arc::downgrade(&owner), 1);
        let mut preface = [0u8; 24];
        tokio::time::timeout(Duration::from_secs(2), peer.read_exact(&mut preface))
            .await
            .expect("the preface reached the peer within 2 s")
            .unwrap();
        assert_eq!(&preface, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        drop(handle);
    }
}
