//! HPACK header compression (RFC 7541).
//!
//! [`Decoder`] turns field blocks into [`HeaderField`]s; [`Encoder`] turns
//! fields into blocks. Both keep a dynamic table ([`table`]); strings may be
//! Huffman coded ([`huffman`]). Every malformed input is a [`DecodeError`]
//! (a COMPRESSION_ERROR on the connection, RFC 9113 §4.3), never a panic.

mod decoder;
mod encoder;
pub mod huffman;
mod huffman_table;
pub mod table;

pub use decoder::{DecodeError, DecodeOutcome, Decoder};
pub use encoder::Encoder;

use bytes::Bytes;

/// A decoded header field. Names and values from the static table or from
/// plain literals are slices of existing buffers, not copies.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HeaderField {
    /// Field name (lowercase on the wire for HTTP/2; the decoder does not check).
    pub name: Bytes,
    /// Field value.
    pub value: Bytes,
}

impl HeaderField {
    /// The size RFC 7541 §4.1 charges for this field: name + value + 32.
    pub fn size(&self) -> usize {
        self.name.len() + self.value.len() + 32
    }
}

/// A field to encode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldRef<'a> {
    /// Field name.
    pub name: &'a [u8],
    /// Field value.
    pub value: &'a [u8],
    /// Never index this field, here or at any intermediary (7541 §6.2.3).
    pub sensitive: bool,
}

impl<'a> FieldRef<'a> {
    /// A non-sensitive field.
    pub const fn new(name: &'a [u8], value: &'a [u8]) -> Self {
        FieldRef {
            name,
            value,
            sensitive: false,
        }
    }
}
