//! A scripted raw-bytes HTTP/2 server for the channel tests, written with
//! tether-h2's frame and HPACK encoders; real peers in the submodules
//! (`peers`: processes and `.peers/`; `dns`: dnsmasq; `backends`: grpc-go
//! servers on 127.0.0.2..; `test_service`: calls that tell which backend
//! served them).
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod backends;
pub mod dns;
pub mod peers;
pub mod test_service;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::time::Duration;
use tether_h2::frame::{
    Data, DecoderLimits, Frame, FrameDecoder, GoAway, Headers, Ping, RstStream, Setting, SettingId,
    Settings, WindowUpdate,
};
use tether_h2::hpack::{Decoder, Encoder, FieldRef, HeaderField};
use tether_h2::{ErrorCode, StreamId};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A listener on 127.0.0.1 and its `http://` target.
pub async fn listen() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = format!("http://{}", l.local_addr().unwrap());
    (l, target)
}

/// Accepts one connection and runs the HTTP/2 server handshake.
pub async fn accept(l: &TcpListener) -> Server<TcpStream> {
    let (s, _) = l.accept().await.unwrap();
    Server::handshake(s).await
}

/// Accepts one connection with TCP_NODELAY (as gRPC servers do); the
/// server's first SETTINGS carry `params`.
///
/// Without TCP_NODELAY, a small write after another one waits for the
/// client's delayed ACK (Nagle, ~40 ms): under tokio's paused clock the
/// runtime looks idle meanwhile and virtual time runs ahead.
pub async fn accept_with(l: &TcpListener, params: Vec<Setting>) -> Server<TcpStream> {
    let (s, _) = l.accept().await.unwrap();
    s.set_nodelay(true).unwrap();
    Server::handshake_with(s, params).await
}

/// SETTINGS_MAX_CONCURRENT_STREAMS = `n`, for [`Server::handshake_with`].
pub fn max_concurrent_streams(n: u32) -> Vec<Setting> {
    vec![Setting {
        id: SettingId::MAX_CONCURRENT_STREAMS,
        value: n,
    }]
}

/// What the server read.
#[derive(Debug)]
pub enum Got {
    Headers(StreamId, Vec<HeaderField>, bool),
    Data(StreamId, Bytes, bool),
    Rst(StreamId, ErrorCode),
    Ping([u8; 8]),
    GoAway(ErrorCode),
    Eof,
}

pub struct Server<S> {
    pub io: S,
    buf: BytesMut,
    frames: FrameDecoder,
    dec: Decoder,
    enc: Encoder,
    /// Answer PINGs automatically.
    pub answer_pings: bool,
    /// PINGs seen (with their arrival time).
    pub pings: Vec<tokio::time::Instant>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Server<S> {
    pub async fn handshake(io: S) -> Server<S> {
        Server::handshake_with(io, Vec::new()).await
    }

    /// The server handshake, its first SETTINGS carrying `params` (e.g.
    /// [`max_concurrent_streams`]).
    pub async fn handshake_with(io: S, params: Vec<Setting>) -> Server<S> {
        let mut s = Server {
            io,
            buf: BytesMut::new(),
            frames: FrameDecoder::new(DecoderLimits::default()),
            dec: Decoder::new(4096),
            enc: Encoder::new(4096),
            answer_pings: true,
            pings: Vec::new(),
        };
        let mut preface = [0u8; 24];
        s.io.read_exact(&mut preface).await.unwrap();
        assert_eq!(&preface[..], PREFACE);
        let mut out = BytesMut::new();
        Settings { ack: false, params }.encode(&mut out);
        s.write(out).await;
        s
    }

    pub async fn write(&mut self, b: BytesMut) {
        self.io.write_all(&b).await.unwrap();
    }

    /// The next interesting frame, PINGs skipped (see [`Server::next_any`]).
    pub async fn next(&mut self) -> Got {
        loop {
            match self.next_any().await {
                Got::Ping(_) => {}
                other => return other,
            }
        }
    }

    /// The next interesting frame (SETTINGS are acknowledged, WINDOW_UPDATEs
    /// skipped, PINGs answered when `answer_pings`).
    pub async fn next_any(&mut self) -> Got {
        loop {
            match self.frames.decode(&mut self.buf) {
                Ok(Some(d)) => {
                    let Some(frame) = d.frame else { continue };
                    match frame {
                        Frame::Settings(s) => {
                            if !s.ack {
                                let mut out = BytesMut::new();
                                Settings::ack().encode(&mut out);
                                self.write(out).await;
                            }
                        }
                        Frame::WindowUpdate(_) | Frame::Priority(_) => {}
                        Frame::Ping(p) if !p.ack => {
                            self.pings.push(tokio::time::Instant::now());
                            if self.answer_pings {
                                let mut out = BytesMut::new();
                                Ping {
                                    ack: true,
                                    payload: p.payload,
                                }
                                .encode(&mut out);
                                self.write(out).await;
                            }
                            return Got::Ping(p.payload);
                        }
                        Frame::Ping(_) => {}
                        Frame::Headers(h) => {
                            let mut fields = Vec::new();
                            self.dec
                                .decode(&h.fragment, 1 << 20, |f| fields.push(f))
                                .unwrap();
                            return Got::Headers(h.stream_id, fields, h.end_stream);
                        }
                        Frame::Data(d) => return Got::Data(d.stream_id, d.data, d.end_stream),
                        Frame::RstStream(r) => return Got::Rst(r.stream_id, r.code),
                        Frame::GoAway(g) => return Got::GoAway(g.code),
                        other => panic!("unexpected frame {other:?}"),
                    }
                }
                Ok(None) => {
                    let n = self.io.read_buf(&mut self.buf).await.unwrap_or(0);
                    if n == 0 {
                        return Got::Eof;
                    }
                }
                Err(e) => panic!("bad frame from client: {e:?}"),
            }
        }
    }

    /// Reads frames until the next request's headers; returns its stream
    /// id and fields.
    pub async fn request_headers(&mut self) -> (StreamId, Vec<HeaderField>) {
        loop {
            match self.next().await {
                Got::Headers(id, fields, _) => return (id, fields),
                Got::Ping(_) => {}
                other => panic!("expected request headers, got {other:?}"),
            }
        }
    }

    /// Reads one whole request (headers, then DATA until END_STREAM); returns
    /// its stream id, headers and gRPC messages.
    pub async fn request(&mut self) -> (StreamId, Vec<HeaderField>, Vec<Bytes>) {
        let (id, fields) = self.request_headers().await;
        let mut body = BytesMut::new();
        loop {
            match self.next().await {
                Got::Data(sid, d, end) => {
                    assert_eq!(sid, id);
                    body.extend_from_slice(&d);
                    if end {
                        break;
                    }
                }
                Got::Ping(_) => {}
                other => panic!("expected request DATA, got {other:?}"),
            }
        }
        (id, fields, split_messages(body.freeze()))
    }

    /// Reads DATA of stream `id` until one whole message is in.
    pub async fn message(&mut self, id: StreamId) -> Option<Bytes> {
        let mut body = BytesMut::new();
        loop {
            if body.len() >= 5 {
                let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
                if body.len() >= 5 + len {
                    return Some(body.freeze().slice(5..5 + len));
                }
            }
            match self.next().await {
                Got::Data(sid, d, end) => {
                    assert_eq!(sid, id);
                    body.extend_from_slice(&d);
                    if end && body.is_empty() {
                        return None;
                    }
                }
                Got::Ping(_) => {}
                other => panic!("expected DATA, got {other:?}"),
            }
        }
    }

    pub async fn headers(&mut self, id: StreamId, fields: &[(&str, &str)], end_stream: bool) {
        let mut block = BytesMut::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
            &mut block,
        );
        let mut out = BytesMut::new();
        Headers::encode_block(id, &block, end_stream, 16_384, &mut out);
        self.write(out).await;
    }

    pub async fn response_headers(&mut self, id: StreamId) {
        self.headers(
            id,
            &[(":status", "200"), ("content-type", "application/grpc")],
            false,
        )
        .await;
    }

    /// Sends `raw` as one DATA frame, as is (a framed, maybe compressed message).
    pub async fn data_out(&mut self, id: StreamId, raw: &[u8]) {
        let mut out = BytesMut::new();
        Data::encode(id, raw, false, &mut out);
        self.write(out).await;
    }

    /// Reads DATA of stream `id` until END_STREAM: the request body as
    /// framed on the wire (prefixes and all).
    pub async fn framed_body(&mut self, id: StreamId) -> Bytes {
        let mut body = BytesMut::new();
        loop {
            match self.next().await {
                Got::Data(sid, d, end) => {
                    assert_eq!(sid, id);
                    body.extend_from_slice(&d);
                    if end {
                        return body.freeze();
                    }
                }
                Got::Ping(_) => {}
                other => panic!("expected request DATA, got {other:?}"),
            }
        }
    }

    pub async fn message_out(&mut self, id: StreamId, msg: &[u8]) {
        let mut out = BytesMut::new();
        Data::encode(id, &grpc_frame(msg), false, &mut out);
        self.write(out).await;
    }

    pub async fn trailers(&mut self, id: StreamId, status: u32, message: &str) {
        let code = status.to_string();
        let mut fields = vec![("grpc-status", code.as_str())];
        if !message.is_empty() {
            fields.push(("grpc-message", message));
        }
        self.headers(id, &fields, true).await;
    }

    /// A whole OK unary response.
    pub async fn unary_ok(&mut self, id: StreamId, msg: &[u8]) {
        self.response_headers(id).await;
        self.message_out(id, msg).await;
        self.trailers(id, 0, "").await;
    }

    pub async fn goaway(&mut self, last: u32, code: ErrorCode, debug: &'static [u8]) {
        let mut out = BytesMut::new();
        GoAway {
            last_stream_id: StreamId::new(last),
            code,
            debug_data: Bytes::from_static(debug),
        }
        .encode(&mut out);
        self.write(out).await;
    }

    pub async fn rst(&mut self, id: StreamId, code: ErrorCode) {
        let mut out = BytesMut::new();
        RstStream {
            stream_id: id,
            code,
        }
        .encode(&mut out);
        self.write(out).await;
    }

    pub async fn window_update(&mut self, id: StreamId, increment: u32) {
        let mut out = BytesMut::new();
        WindowUpdate {
            stream_id: id,
            increment,
        }
        .encode(&mut out);
        self.write(out).await;
    }
}

/// A length-prefixed gRPC message.
pub fn grpc_frame(msg: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(5 + msg.len());
    b.put_u8(0);
    b.put_u32(msg.len() as u32);
    b.extend_from_slice(msg);
    b.freeze()
}

pub fn split_messages(mut body: Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        body.advance(5);
        out.push(body.split_to(len));
    }
    assert!(body.is_empty(), "trailing partial message");
    out
}

pub fn field<'a>(fields: &'a [HeaderField], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|f| f.name == name.as_bytes())
        .map(|f| std::str::from_utf8(&f.value).unwrap())
}

/// Bounds a test step in time.
pub async fn within<F: std::future::Future>(secs: u64, f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(secs), f)
        .await
        .expect("test step timed out")
}
