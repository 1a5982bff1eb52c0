//! A field block being assembled from HEADERS (or PUSH_PROMISE) and the
//! CONTINUATION frames that follow it (§4.3, §6.10).

use super::{Frame, Headers, PushPromise, StreamId};
use bytes::{BufMut, Bytes, BytesMut};

/// A field block started by HEADERS or PUSH_PROMISE without END_HEADERS.
#[derive(Debug)]
pub(super) struct Block {
    /// The frame that opened the block; its fragment is the first piece.
    opener: Opener,
    /// The concatenated block, filled from the first CONTINUATION on.
    assembled: BytesMut,
    /// CONTINUATION frames received so far.
    continuations: u32,
    /// Bytes of the block received so far.
    len: usize,
}

/// The frame that opened a field block.
#[derive(Debug)]
pub(super) enum Opener {
    /// Opened by HEADERS.
    Headers(Headers),
    /// Opened by PUSH_PROMISE.
    PushPromise(PushPromise),
}

impl Opener {
    pub(super) fn stream_id(&self) -> StreamId {
        match self {
            Opener::Headers(h) => h.stream_id,
            Opener::PushPromise(p) => p.stream_id,
        }
    }

    pub(super) fn first_fragment(&self) -> &Bytes {
        match self {
            Opener::Headers(h) => &h.fragment,
            Opener::PushPromise(p) => &p.fragment,
        }
    }

    /// The complete frame, with `block` as its whole field block.
    fn finish(self, block: Bytes) -> Frame {
        match self {
            Opener::Headers(mut h) => {
                h.end_headers = true;
                h.fragment = block;
                Frame::Headers(h)
            }
            Opener::PushPromise(mut p) => {
                p.end_headers = true;
                p.fragment = block;
                Frame::PushPromise(p)
            }
        }
    }
}

impl Block {
    /// A block opened by `opener`, holding its fragment as the first piece.
    pub(super) fn new(opener: Opener) -> Block {
        let len = opener.first_fragment().len();
        Block {
            opener,
            assembled: BytesMut::new(),
            continuations: 0,
            len,
        }
    }

    /// The stream the block belongs to.
    pub(super) fn stream_id(&self) -> StreamId {
        self.opener.stream_id()
    }

    /// CONTINUATION frames added so far.
    pub(super) fn continuations(&self) -> u32 {
        self.continuations
    }

    /// Bytes of the block so far.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// Appends one CONTINUATION fragment. The first call copies the opening
    /// fragment too: only multi-frame blocks are concatenated.
    pub(super) fn push(&mut self, fragment: &[u8]) {
        if self.continuations == 0 {
            self.assembled
                .reserve(self.len.saturating_add(fragment.len()));
            self.assembled.put_slice(self.opener.first_fragment());
        }
        self.continuations = self.continuations.saturating_add(1);
        self.len = self.len.saturating_add(fragment.len());
        self.assembled.put_slice(fragment);
    }

    /// The complete frame, with END_HEADERS and the whole block as fragment.
    pub(super) fn finish(self) -> Frame {
        if self.continuations == 0 {
            // Nothing was appended: the opening fragment is the block.
            let first = self.opener.first_fragment().clone();
            return self.opener.finish(first);
        }
        self.opener.finish(self.assembled.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opener(fragment: &'static [u8]) -> Opener {
        Opener::Headers(Headers {
            stream_id: StreamId::new(1),
            end_stream: true,
            end_headers: false,
            priority: None,
            fragment: Bytes::from_static(fragment),
        })
    }

    #[test]
    fn pieces_are_concatenated_in_order() {
        let mut block = Block::new(opener(b"ab"));
        assert_eq!(block.len(), 2);
        block.push(b"");
        block.push(b"cd");
        block.push(b"e");
        assert_eq!(block.continuations(), 3);
        assert_eq!(block.len(), 5);
        assert_eq!(block.stream_id(), StreamId::new(1));
        assert_eq!(
            block.finish(),
            Frame::Headers(Headers {
                stream_id: StreamId::new(1),
                end_stream: true,
                end_headers: true,
                priority: None,
                fragment: Bytes::from_static(b"abcde"),
            })
        );
    }

    #[test]
    fn empty_opening_fragment() {
        let mut block = Block::new(opener(b""));
        block.push(b"xy");
        match block.finish() {
            Frame::Headers(h) => assert_eq!(h.fragment, Bytes::from_static(b"xy")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
