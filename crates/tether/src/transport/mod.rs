//! Transports: connect one resolved address over TCP (with TCP_NODELAY),
//! TLS over TCP (tokio-rustls, ALPN `h2` required) or a Unix domain socket,
//! behind one enum.

mod tls;

pub use tls::TlsConfig;

use crate::status::Status;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio_rustls::client::TlsStream;

/// A connected byte stream of one of the supported kinds. One enum, so a
/// read or write is a match, not a virtual call through a box.
#[derive(Debug)]
pub(crate) enum Io {
    /// Plaintext TCP (h2c with prior knowledge).
    Tcp(TcpStream),
    /// TLS over TCP, `h2` negotiated by ALPN.
    Tls(Box<TlsStream<TcpStream>>),
    /// A Unix domain socket.
    #[cfg(unix)]
    Unix(UnixStream),
    /// Tests: an in-memory stream that, like TLS, holds written bytes until
    /// flushed.
    #[cfg(test)]
    HoldUntilFlush(Box<testing::HoldUntilFlush>),
}

/// How a channel secures its connections: TLS with a client configuration
/// and the name to verify, or plaintext.
#[derive(Clone, Debug)]
pub(crate) enum Security {
    /// h2c with prior knowledge.
    Plaintext,
    /// TLS; `server_name` is the name the certificate must carry.
    Tls {
        config: Arc<rustls::ClientConfig>,
        server_name: String,
    },
}

/// Opens a transport to one resolved address: connects (a `Name` is looked
/// up by the system first, every answer tried in order), then runs the TLS
/// handshake when `security` asks for it.
pub(crate) async fn connect_address(
    address: &crate::resolver::Address,
    security: &Security,
) -> Result<Io, Status> {
    use crate::resolver::Address;
    let tcp = match address {
        #[cfg(unix)]
        Address::Unix(path) => {
            let stream = UnixStream::connect(path).await.map_err(|e| {
                Status::unavailable(format!("failed to connect to unix:{}: {e}", path.display()))
                    .with_source(e)
            })?;
            return Ok(Io::Unix(stream));
        }
        #[cfg(not(unix))]
        Address::Unix(_) => return Err(Status::unavailable("unix sockets are not supported here")),
        Address::Tcp(addr) => {
            let stream = TcpStream::connect(addr).await.map_err(|e| {
                Status::unavailable(format!("failed to connect to {addr}: {e}")).with_source(e)
            })?;
            nodelay(stream)?
        }
        Address::Name { host, port } => connect_tcp(host, *port).await?,
    };
    match security {
        Security::Plaintext => Ok(Io::Tcp(tcp)),
        Security::Tls {
            config,
            server_name,
        } => tls::handshake(config, server_name, tcp)
            .await
            .map(|s| Io::Tls(Box::new(s))),
    }
}

/// Small frames (PING ACKs, WINDOW_UPDATEs, unary requests) must not wait
/// for Nagle's algorithm.
fn nodelay(stream: TcpStream) -> Result<TcpStream, Status> {
    stream.set_nodelay(true).map_err(|e| {
        Status::unavailable(format!("failed to set TCP_NODELAY: {e}")).with_source(e)
    })?;
    Ok(stream)
}

async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, Status> {
    let addrs = tokio::net::lookup_host((host, port)).await.map_err(|e| {
        Status::unavailable(format!("failed to resolve {host}:{port}: {e}")).with_source(e)
    })?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return nodelay(stream),
            Err(e) => {
                last = Some(
                    Status::unavailable(format!("failed to connect to {addr}: {e}")).with_source(e),
                )
            }
        }
    }
    Err(last
        .unwrap_or_else(|| Status::unavailable(format!("{host}:{port} resolved to no address"))))
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self.get_mut() {
            Io::Tcp($s) => {
                let $s = Pin::new($s);
                $e
            }
            Io::Tls($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            #[cfg(test)]
            Io::HoldUntilFlush($s) => {
                let $s = Pin::new(&mut **$s);
                $e
            }
            #[cfg(unix)]
            Io::Unix($s) => {
                let $s = Pin::new($s);
                $e
            }
        }
    };
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_shutdown(cx))
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::io;
    use std::pin::Pin;
    use std::task::{ready, Context, Poll};
    use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

    /// A stream that behaves as tokio-rustls does when the socket is full:
    /// `poll_write` takes every byte and reports it written, but nothing
    /// reaches the peer until `poll_flush`.
    #[derive(Debug)]
    pub(crate) struct HoldUntilFlush {
        inner: DuplexStream,
        held: Vec<u8>,
    }

    impl HoldUntilFlush {
        pub(crate) fn new(inner: DuplexStream) -> HoldUntilFlush {
            HoldUntilFlush {
                inner,
                held: Vec::new(),
            }
        }
    }

    impl AsyncRead for HoldUntilFlush {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.inner).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for HoldUntilFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.held.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            while !this.held.is_empty() {
                let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &this.held))?;
                this.held.drain(..n);
            }
            Pin::new(&mut this.inner).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            ready!(self.as_mut().poll_flush(cx))?;
            Pin::new(&mut self.inner).poll_shutdown(cx)
        }
    }
}
