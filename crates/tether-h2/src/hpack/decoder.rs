//! The HPACK decoder (RFC 7541 §3, §6).

use super::HeaderField;
use bytes::Bytes;
use std::fmt;

/// Why a field block could not be decoded. Each one is a COMPRESSION_ERROR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// An indexed representation used index 0 (§6.1).
    ZeroIndex,
    /// An index past the static and dynamic tables (§2.3.3).
    IndexOutOfRange(u64),
    /// A dynamic table size update after a field representation (§4.2).
    SizeUpdateNotAtStart,
    /// A dynamic table size update above the limit we set (§6.3).
    SizeUpdateTooLarge(u64),
    /// An integer longer than this decoder accepts (§5.1).
    IntegerOverflow,
    /// The block ended inside a representation.
    Truncated,
    /// A string longer than the remaining block or the accepted maximum (§5.2).
    StringTooLong(u64),
    /// Bad Huffman data (§5.2): padding over 7 bits, not all ones, or EOS.
    Huffman(super::huffman::HuffmanError),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!("hpack helper")
    }
}

impl std::error::Error for DecodeError {}

/// What a successful decode saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DecodeOutcome {
    /// The header list size (§4.1 sizes summed) of the whole block.
    pub list_size: usize,
    /// Whether `list_size` passed the limit: fields past the limit were not
    /// handed out, but the block was decoded to its end so the dynamic table
    /// stays in sync (RFC 9113 §4.3, §10.5.1).
    pub over_limit: bool,
}

/// An HPACK decoder.
#[derive(Debug)]
pub struct Decoder {
    _priv: (),
}

impl Decoder {
    /// A decoder whose dynamic table may grow to `max_table_size` octets
    /// (the SETTINGS_HEADER_TABLE_SIZE we advertise; 4,096 by default).
    pub fn new(max_table_size: usize) -> Decoder {
        let _ = max_table_size;
        todo!("hpack helper")
    }

    /// Changes the largest table size the peer's encoder may choose (after
    /// our SETTINGS carrying it has been acknowledged).
    pub fn set_max_table_size(&mut self, max: usize) {
        let _ = max;
        todo!("hpack helper")
    }

    /// The dynamic table's current size in octets.
    pub fn table_size(&self) -> usize {
        todo!("hpack helper")
    }

    /// Decodes one whole field block, calling `f` for each field while the
    /// header list size stays within `max_list_size`.
    pub fn decode<F: FnMut(HeaderField)>(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        f: F,
    ) -> Result<DecodeOutcome, DecodeError> {
        let _ = (block, max_list_size, f);
        todo!("hpack helper")
    }
}
