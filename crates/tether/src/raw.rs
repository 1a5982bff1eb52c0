//! One HTTP/2 connection on tether's own connection driver, with every
//! frame, window change and core event handed to the caller in order: for
//! tools that show the protocol (`tether trace`) and for studying a server.
//!
//! Channels run each connection in the same driver task (socket, timers,
//! TLS flushing, keepalive); here no gRPC call sits on top. The caller opens
//! streams with any request fields, sends PINGs, and reads [`RawEvent`]s:
//! the frames the core wrote and read (as its [`Observer`] saw them), flow
//! control windows, and the core's [`Event`]s (settings, response headers,
//! data, trailers, resets, PING round trips, GOAWAY, close). Received DATA
//! is credited back to the windows at once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tether::Status> {
//! use bytes::Bytes;
//! use tether::raw::{RawConnection, RawEvent};
//! use tether::resolver::Address;
//!
//! let addr = Address::Tcp("127.0.0.1:8080".parse().unwrap());
//! let mut conn = RawConnection::connect(&addr, None, tether_h2::Config::default()).await?;
//! conn.open(
//!     vec![
//!         (Bytes::from_static(b":method"), Bytes::from_static(b"GET")),
//!         (Bytes::from_static(b":scheme"), Bytes::from_static(b"http")),
//!         (Bytes::from_static(b":path"), Bytes::from_static(b"/")),
//!         (Bytes::from_static(b":authority"), Bytes::from_static(b"127.0.0.1:8080")),
//!     ],
//!     None,
//! );
//! while let Some(event) = conn.next_event().await {
//!     if let RawEvent::Frame { direction, head, .. } = &event {
//!         println!("{direction:?} {head:?}");
//!     }
//!     if let RawEvent::Core(tether_h2::Event::Trailers { .. }) = &event {
//!         conn.close();
//!     }
//! }
//! # Ok(()) }
//! ```

use crate::driver::{self, Command};
use crate::resolver::Address;
use crate::status::Status;
use crate::transport::{self, Security, TlsConfig};
use bytes::Bytes;
use tether_h2::conn::{CallError, Direction, Observer};
use tether_h2::frame::{Frame, Head};
use tether_h2::{Event, PingId, StreamId};
use tokio::sync::mpsc;

/// What a [`RawConnection`] reports, in the order it happened.
#[derive(Debug)]
#[non_exhaustive]
pub enum RawEvent {
    /// A frame went by (`frame` is `None` for a CONTINUATION, or a HEADERS
    /// whose block is still incomplete).
    Frame {
        /// Sent or received.
        direction: Direction,
        /// Its 9-byte header.
        head: Head,
        /// The parsed frame.
        frame: Option<Frame>,
    },
    /// A flow-control window changed (`stream` zero: the connection's).
    Window {
        /// Our send window ([`Direction::Sent`]) or our receive window.
        direction: Direction,
        /// The stream.
        stream: StreamId,
        /// The window now.
        window: i64,
    },
    /// Something the core reports: `Connected` with the server's settings,
    /// response `Headers`, `Data`, `Trailers`, `StreamReset`, `PingAck`,
    /// `GoAway`, and last `Closed`.
    Core(Event),
    /// The stream asked for by [`RawConnection::open`], or why not.
    Opened(Result<StreamId, CallError>),
    /// The PING asked for by [`RawConnection::ping`], or why not.
    PingSent(Result<PingId, CallError>),
}

/// One HTTP/2 connection driven by tether's driver task (see the module
/// documentation). Dropping it closes the connection (GOAWAY NO_ERROR).
#[derive(Debug)]
pub struct RawConnection {
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<RawEvent>,
}

impl RawConnection {
    /// Connects to `address` (TCP, or TLS with ALPN `h2` when `tls` is
    /// given: the certificate must name `tls`'s server name, else the
    /// address's host), then starts the driver. The server's SETTINGS come
    /// later, as `RawEvent::Core(Event::Connected(..))`.
    pub async fn connect(
        address: &Address,
        tls: Option<&TlsConfig>,
        config: tether_h2::Config,
    ) -> Result<RawConnection, Status> {
        let security = match tls {
            None => Security::Plaintext,
            Some(t) => Security::Tls {
                config: t.client_config()?,
                server_name: match (t.server_name_override(), address) {
                    (Some(name), _) => name.to_owned(),
                    (None, Address::Name { host, .. }) => host.clone(),
                    (None, Address::Tcp(addr)) => addr.ip().to_string(),
                    (None, Address::Unix(_)) => "localhost".to_owned(),
                },
            },
        };
        let io = transport::connect_address(address, &security).await?;
        let (tx, events) = mpsc::unbounded_channel();
        let observer = Box::new(Forward(tx.clone()));
        let commands = driver::spawn_raw(io, config, observer, tx);
        Ok(RawConnection { commands, events })
    }

    /// Opens a stream with these request fields (pseudo-header fields
    /// first), then sends `body` with END_STREAM; without a body, END_STREAM
    /// goes on the HEADERS. The outcome comes as [`RawEvent::Opened`].
    /// False when the driver has exited.
    pub fn open(&self, fields: Vec<(Bytes, Bytes)>, body: Option<Bytes>) -> bool {
        self.commands
            .send(Command::RawOpen(Box::new((fields, body))))
            .is_ok()
    }

    /// Sends a PING; its round trip comes as `Event::PingAck`.
    pub fn ping(&self) -> bool {
        self.commands.send(Command::RawPing).is_ok()
    }

    /// Closes gracefully: GOAWAY NO_ERROR, then `Event::Closed` once the
    /// open streams have finished.
    pub fn close(&self) -> bool {
        self.commands.send(Command::RawClose).is_ok()
    }

    /// The next event; `None` once the driver has exited (after
    /// `Event::Closed`).
    pub async fn next_event(&mut self) -> Option<RawEvent> {
        self.events.recv().await
    }
}

/// The core's observer, forwarding into the event queue.
struct Forward(mpsc::UnboundedSender<RawEvent>);

impl Observer for Forward {
    fn frame(&mut self, direction: Direction, head: &Head, frame: Option<&Frame>) {
        let _ = self.0.send(RawEvent::Frame {
            direction,
            head: *head,
            frame: frame.cloned(),
        });
    }

    fn window(&mut self, direction: Direction, stream: StreamId, window: i64) {
        let _ = self.0.send(RawEvent::Window {
            direction,
            stream,
            window,
        });
    }
}
