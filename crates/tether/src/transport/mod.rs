//! Transports: TCP (with TCP_NODELAY), TLS over TCP (tokio-rustls, ALPN
//! `h2` required) and Unix domain sockets, behind one enum.

mod target;
mod tls;

pub use target::Target;
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
}

impl Io {
    /// The peer's address (`ip:port`), for events and logs; `None` for a
    /// Unix socket (its path is the target's).
    pub(crate) fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        match self {
            Io::Tcp(s) => s.peer_addr().ok(),
            Io::Tls(s) => s.get_ref().0.peer_addr().ok(),
            #[cfg(unix)]
            Io::Unix(_) => None,
        }
    }
}

/// Opens a transport to `target`: resolves the host (every address is tried
/// in order), connects, and runs the TLS handshake when `tls` is set.
pub(crate) async fn connect(
    target: &Target,
    tls: Option<&Arc<rustls::ClientConfig>>,
    server_name: Option<&str>,
) -> Result<Io, Status> {
    match target {
        #[cfg(unix)]
        Target::Unix { path } => {
            let stream = UnixStream::connect(path).await.map_err(|e| {
                Status::unavailable(format!("failed to connect to unix:{}: {e}", path.display()))
            })?;
            Ok(Io::Unix(stream))
        }
        #[cfg(not(unix))]
        Target::Unix { .. } => Err(Status::unavailable("unix sockets are not supported here")),
        Target::Tcp { host, port, .. } => {
            let tcp = connect_tcp(host, *port).await?;
            match tls {
                None => Ok(Io::Tcp(tcp)),
                Some(config) => {
                    let name = server_name.unwrap_or(host);
                    tls::handshake(config, name, tcp)
                        .await
                        .map(|s| Io::Tls(Box::new(s)))
                }
            }
        }
    }
}

async fn connect_tcp(host: &str, port: u16) -> Result<TcpStream, Status> {
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Status::unavailable(format!("failed to resolve {host}:{port}: {e}")))?;
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => {
                // Small frames (PING ACKs, WINDOW_UPDATEs, unary requests)
                // must not wait for Nagle's algorithm.
                stream
                    .set_nodelay(true)
                    .map_err(|e| Status::unavailable(format!("failed to set TCP_NODELAY: {e}")))?;
                return Ok(stream);
            }
            Err(e) => last = Some(format!("failed to connect to {addr}: {e}")),
        }
    }
    Err(Status::unavailable(last.unwrap_or_else(|| {
        format!("{host}:{port} resolved to no address")
    })))
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
