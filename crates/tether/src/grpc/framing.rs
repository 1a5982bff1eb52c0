//! Length-prefixed messages (PROTOCOL-HTTP2.md, "Length-Prefixed-Message").
//!
//! Every message on a gRPC stream is a 1-byte Compressed-Flag, a 4-byte
//! big-endian Message-Length and the message bytes. DATA frame boundaries
//! are unrelated to message boundaries: one frame can hold several messages
//! and one message can span many frames.

use super::compression::{self, Encoding};
use crate::codec::Codec;
use crate::status::Status;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::collections::VecDeque;

/// The size of the message prefix: flag (1) + length (4).
pub const PREFIX_LEN: usize = 5;

/// The default limit on a received message: 4 MiB, as every gRPC
/// implementation uses.
pub const DEFAULT_MAX_RECV_MESSAGE_SIZE: usize = 4 * 1024 * 1024;

/// The default limit on a sent message: `i32::MAX` bytes, as grpc-go uses.
pub const DEFAULT_MAX_SEND_MESSAGE_SIZE: usize = i32::MAX as usize;

/// Appends `item`, encoded by `codec` and length-prefixed, to `dst`.
///
/// The prefix is reserved first and patched once the message is encoded, so
/// the message is written once, in place. When the codec knows the encoded
/// length ([`Codec::encoded_len`]) the room for prefix and message is
/// reserved up front: an empty `dst` then allocates once, at the exact size,
/// and freezes into `Bytes` without another allocation. A message longer
/// than `max_len` fails with RESOURCE_EXHAUSTED; on any error `dst` is left
/// as it was.
pub fn encode_message<C: Codec + ?Sized>(
    codec: &mut C,
    item: &C::Encode,
    dst: &mut BytesMut,
    max_len: usize,
) -> Result<(), Status> {
    let start = dst.len();
    if let Some(n) = codec.encoded_len(item) {
        dst.reserve(PREFIX_LEN.saturating_add(n));
    }
    dst.put_bytes(0, PREFIX_LEN);
    if let Err(status) = codec.encode(item, dst) {
        dst.truncate(start);
        return Err(status);
    }
    let len = dst.len() - start - PREFIX_LEN;
    let wire_len = match u32::try_from(len) {
        Ok(n) if len <= max_len => n,
        _ => {
            dst.truncate(start);
            return Err(Status::resource_exhausted(format!(
                "message to send is larger than the limit ({len} > {max_len} bytes)"
            )));
        }
    };
    dst[start + 1..start + PREFIX_LEN].copy_from_slice(&wire_len.to_be_bytes());
    Ok(())
}

/// [`encode_message`], then compressed with `encoding` (the Compressed-Flag
/// set) unless it is [`Encoding::Identity`]. `max_len` applies to the
/// message as sent, after compression (as grpc-go counts it).
pub fn encode_message_with<C: Codec + ?Sized>(
    codec: &mut C,
    item: &C::Encode,
    dst: &mut BytesMut,
    max_len: usize,
    encoding: Encoding,
) -> Result<(), Status> {
    if encoding == Encoding::Identity {
        return encode_message(codec, item, dst, max_len);
    }
    let mut plain = BytesMut::new();
    codec.encode(item, &mut plain)?;
    let start = dst.len();
    dst.put_u8(1);
    dst.put_u32(0);
    if let Err(status) = compression::compress(encoding, &plain, dst) {
        dst.truncate(start);
        return Err(status);
    }
    let len = dst.len() - start - PREFIX_LEN;
    let wire_len = match u32::try_from(len) {
        Ok(n) if len <= max_len => n,
        _ => {
            dst.truncate(start);
            return Err(Status::resource_exhausted(format!(
                "compressed message to send is larger than the limit ({len} > {max_len} bytes)"
            )));
        }
    };
    dst[start + 1..start + PREFIX_LEN].copy_from_slice(&wire_len.to_be_bytes());
    Ok(())
}

/// An incremental decoder of length-prefixed messages.
///
/// Feed it DATA frame payloads with [`MessageDecoder::push`] and take whole
/// messages with [`MessageDecoder::poll_message`]. A message that lies inside
/// one pushed chunk is returned as a slice of it, without a copy; only a
/// message split across chunks is gathered into a new buffer, allocated once
/// its length has been checked against the limit.
///
/// A message with the Compressed-Flag set is decompressed with the encoding
/// given to [`MessageDecoder::set_encoding`] (the response's
/// `grpc-encoding`), bounded by the same limit.
/// Errors are sticky: once one is returned, every later call returns it.
#[derive(Debug)]
pub struct MessageDecoder {
    max_len: usize,
    chunks: Chunks,
    state: State,
    /// The stream's `grpc-encoding`, as received (`None`: not sent).
    encoding: Option<Bytes>,
    /// The message being read has the Compressed-Flag set.
    compressed: bool,
}

#[derive(Debug)]
enum State {
    /// Reading a prefix; `have` bytes of it are in `head`.
    Prefix { head: [u8; PREFIX_LEN], have: usize },
    /// Reading a body of `len` bytes; `buf` holds what was gathered so far.
    Body { len: usize, buf: BytesMut },
    /// A framing error ended the stream.
    Failed(Status),
}

const EMPTY_PREFIX: State = State::Prefix {
    head: [0; PREFIX_LEN],
    have: 0,
};

impl MessageDecoder {
    /// A decoder refusing messages longer than `max_len` bytes
    /// (see [`DEFAULT_MAX_RECV_MESSAGE_SIZE`]).
    pub fn new(max_len: usize) -> MessageDecoder {
        MessageDecoder {
            max_len,
            chunks: Chunks::default(),
            state: EMPTY_PREFIX,
            encoding: None,
            compressed: false,
        }
    }

    /// The stream's `grpc-encoding` header value (`None` when absent):
    /// how messages with the Compressed-Flag set are to be decompressed.
    pub fn set_encoding(&mut self, encoding: Option<Bytes>) {
        self.encoding = encoding;
    }

    /// Adds received bytes (a DATA frame payload).
    pub fn push(&mut self, data: Bytes) {
        if !data.is_empty() && !matches!(self.state, State::Failed(_)) {
            self.chunks.push_back(data);
        }
    }

    /// The next whole message, decompressed, `Ok(None)` when more bytes
    /// are needed.
    ///
    /// Fails with RESOURCE_EXHAUSTED when a prefix declares a message over
    /// the limit (before anything is allocated for it, HOSTILE 79) or a
    /// compressed one inflates past it; with INTERNAL when the compressed
    /// flag is neither 0 nor 1 (HOSTILE 78), is set on a stream without a
    /// `grpc-encoding`, or the compressed bytes are corrupt; with
    /// UNIMPLEMENTED when the stream's `grpc-encoding` is not one tether
    /// supports (grpc doc/compression.md).
    pub fn poll_message(&mut self) -> Result<Option<Bytes>, Status> {
        let Some(msg) = self.poll_framed()? else {
            return Ok(None);
        };
        if !self.compressed {
            return Ok(Some(msg));
        }
        let name = self.encoding.as_deref().unwrap_or_default();
        let result = match Encoding::from_name(name) {
            Some(encoding) => compression::decompress(encoding, &msg, self.max_len),
            None => Err(Status::internal("unreachable: checked in check_prefix")),
        };
        match result {
            Ok(plain) => Ok(Some(plain)),
            Err(status) => {
                self.state = State::Failed(status.clone());
                self.chunks.clear();
                Err(status)
            }
        }
    }

    /// The next whole message as framed (still compressed if its flag says so).
    fn poll_framed(&mut self) -> Result<Option<Bytes>, Status> {
        loop {
            match &mut self.state {
                State::Failed(status) => return Err(status.clone()),
                State::Prefix { head, have } => {
                    let Some(front) = self.chunks.front_mut() else {
                        return Ok(None);
                    };
                    if *have == 0 && front.len() >= PREFIX_LEN {
                        let mut prefix = [0u8; PREFIX_LEN];
                        prefix.copy_from_slice(&front[..PREFIX_LEN]);
                        let len = self.check_prefix(prefix)?;
                        let Some(front) = self.chunks.front_mut() else {
                            return Ok(None);
                        };
                        if front.len() - PREFIX_LEN >= len {
                            // Zero copy: the whole message is in this chunk.
                            let msg = front.slice(PREFIX_LEN..PREFIX_LEN + len);
                            front.advance(PREFIX_LEN + len);
                            self.pop_empty_front();
                            return Ok(Some(msg));
                        }
                        front.advance(PREFIX_LEN);
                        self.state = State::Body {
                            len,
                            buf: BytesMut::new(),
                        };
                        continue;
                    }
                    let n = (PREFIX_LEN - *have).min(front.len());
                    head[*have..*have + n].copy_from_slice(&front[..n]);
                    *have += n;
                    front.advance(n);
                    if *have == PREFIX_LEN {
                        let prefix = *head;
                        let len = self.check_prefix(prefix)?;
                        self.state = State::Body {
                            len,
                            buf: BytesMut::new(),
                        };
                    }
                    self.pop_empty_front();
                }
                State::Body { len, buf } => {
                    let len = *len;
                    if len == 0 {
                        self.state = EMPTY_PREFIX;
                        return Ok(Some(Bytes::new()));
                    }
                    let Some(front) = self.chunks.front_mut() else {
                        return Ok(None);
                    };
                    if buf.is_empty() && front.len() >= len {
                        // The prefix was split but the body is whole: no copy.
                        let msg = front.split_to(len);
                        self.state = EMPTY_PREFIX;
                        self.pop_empty_front();
                        return Ok(Some(msg));
                    }
                    if buf.is_empty() {
                        buf.reserve(len);
                    }
                    let n = (len - buf.len()).min(front.len());
                    buf.extend_from_slice(&front[..n]);
                    front.advance(n);
                    if buf.len() == len {
                        let msg = std::mem::take(buf).freeze();
                        self.state = EMPTY_PREFIX;
                        self.pop_empty_front();
                        return Ok(Some(msg));
                    }
                    self.pop_empty_front();
                }
            }
        }
    }

    /// Whether part of a message (prefix or body) has been received but not
    /// all of it. Call after [`MessageDecoder::poll_message`] returned `None`.
    pub fn is_mid_message(&self) -> bool {
        match &self.state {
            State::Prefix { have, .. } => *have > 0 || !self.chunks.is_empty(),
            State::Body { .. } => true,
            State::Failed(_) => false,
        }
    }

    /// Checks that the stream may end here: INTERNAL when it would end in
    /// the middle of a prefix or a message (HOSTILE 81). Call after
    /// [`MessageDecoder::poll_message`] returned `None`.
    pub fn finish(&self) -> Result<(), Status> {
        match &self.state {
            State::Failed(status) => Err(status.clone()),
            State::Body { len, buf } => Err(Status::internal(format!(
                "stream ended in the middle of a message ({} of {len} bytes received)",
                buf.len()
            ))),
            _ if self.is_mid_message() => Err(Status::internal(
                "stream ended in the middle of a message prefix",
            )),
            _ => Ok(()),
        }
    }

    /// Validates a prefix; on error the decoder fails for good.
    fn check_prefix(&mut self, prefix: [u8; PREFIX_LEN]) -> Result<usize, Status> {
        let [flag, l0, l1, l2, l3] = prefix;
        let declared = u32::from_be_bytes([l0, l1, l2, l3]);
        let result = match flag {
            0 => match usize::try_from(declared) {
                Ok(len) if len <= self.max_len => Ok(len),
                _ => Err(Status::resource_exhausted(format!(
                    "received message larger than the limit ({declared} > {} bytes)",
                    self.max_len
                ))),
            },
            1 => match self.encoding.as_deref() {
                None | Some(b"identity") => Err(Status::internal(
                    "received a compressed message on a stream without grpc-encoding",
                )),
                Some(name) if Encoding::from_name(name).is_none() => {
                    Err(Status::unimplemented(format!(
                        "response compressed with an unsupported grpc-encoding {:?} (supported: {})",
                        String::from_utf8_lossy(name),
                        compression::ACCEPT_ENCODING
                    )))
                }
                Some(_) => match usize::try_from(declared) {
                    Ok(len) if len <= self.max_len => Ok(len),
                    _ => Err(Status::resource_exhausted(format!(
                        "received compressed message larger than the limit ({declared} > {} bytes)",
                        self.max_len
                    ))),
                },
            },
            other => Err(Status::internal(format!(
                "invalid compressed flag {other:#04x} in message prefix"
            ))),
        };
        if let Err(status) = &result {
            self.state = State::Failed(status.clone());
            self.chunks.clear();
        }
        self.compressed = flag == 1;
        result
    }

    fn pop_empty_front(&mut self) {
        if self.chunks.front_mut().is_some_and(|b| b.is_empty()) {
            self.chunks.pop_front();
        }
    }
}

/// The received chunks not yet consumed, the first one inline: a response
/// whose messages each arrive in one DATA frame queues nothing on the heap.
/// `rest` is empty while `first` is `None`.
#[derive(Debug, Default)]
struct Chunks {
    first: Option<Bytes>,
    rest: VecDeque<Bytes>,
}

impl Chunks {
    fn push_back(&mut self, data: Bytes) {
        if self.first.is_none() {
            self.first = Some(data);
        } else {
            self.rest.push_back(data);
        }
    }

    fn front_mut(&mut self) -> Option<&mut Bytes> {
        self.first.as_mut()
    }

    fn pop_front(&mut self) {
        self.first = self.rest.pop_front();
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    fn clear(&mut self) {
        self.first = None;
        self.rest.clear();
    }
}

#[cfg(test)]
#[path = "framing_tests.rs"]
mod tests;
