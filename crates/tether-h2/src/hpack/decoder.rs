//! The HPACK decoder (RFC 7541 §3, §6).
//!
//! Zero copy where possible: static-table fields are `Bytes::from_static`,
//! plain literals are slices of the block, dynamic-table fields refcounted
//! clones. Huffman strings and literals entering the dynamic table are copied
//! into buffers of their exact size (table entries must not pin whole blocks).

use super::huffman::{self, HuffmanError};
use super::table::{self, DynamicTable, STATIC_LEN};
use super::HeaderField;
use bytes::{Bytes, BytesMut};
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
    /// We lowered the table size limit below the table's current maximum and
    /// the first block after that did not start with a size update (§4.2).
    SizeUpdateMissing,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::ZeroIndex => f.write_str("hpack: indexed field with index 0"),
            DecodeError::IndexOutOfRange(i) => {
                write!(f, "hpack: index {i} is past the static and dynamic tables")
            }
            DecodeError::SizeUpdateNotAtStart => {
                f.write_str("hpack: dynamic table size update after a field representation")
            }
            DecodeError::SizeUpdateTooLarge(n) => write!(
                f,
                "hpack: dynamic table size update to {n} exceeds our SETTINGS_HEADER_TABLE_SIZE"
            ),
            DecodeError::IntegerOverflow => f.write_str("hpack: integer too large"),
            DecodeError::Truncated => {
                f.write_str("hpack: field block ends inside a representation")
            }
            DecodeError::StringTooLong(n) => {
                write!(
                    f,
                    "hpack: string of {n} octets is longer than the rest of the block"
                )
            }
            DecodeError::Huffman(e) => write!(f, "hpack: {e}"),
            DecodeError::SizeUpdateMissing => f.write_str(
                "hpack: the first block after our table size was lowered lacks a size update",
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

impl From<HuffmanError> for DecodeError {
    fn from(e: HuffmanError) -> Self {
        DecodeError::Huffman(e)
    }
}

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

/// SETTINGS_HEADER_TABLE_SIZE's initial value (RFC 9113 §6.5.2).
const INITIAL_TABLE_SIZE: usize = 4096;

/// The largest integer we accept (§5.1 lets them be unbounded; every HPACK
/// quantity of ours fits in 32 bits).
const MAX_INT: u64 = u32::MAX as u64;

/// At most this many continuation octets after an integer prefix (5 * 7 = 35
/// bits, enough for any value up to `MAX_INT`).
const MAX_INT_CONTINUATIONS: u32 = 5;

/// A string literal located in the block, not yet decoded.
#[derive(Clone, Copy)]
struct StrRef {
    huffman: bool,
    start: usize,
    end: usize,
}

/// What to do with a literal's strings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Hand the field out: raw strings are sliced from the block.
    Emit,
    /// Insert into the dynamic table: strings get their own exact buffers.
    Insert,
    /// The field is dropped (list over its limit): only its size matters.
    Measure,
}

/// An HPACK decoder.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// The largest size a size update may choose (our SETTINGS_HEADER_TABLE_SIZE).
    max_table_size: usize,
    /// Set when the limit went below the table's maximum: the next block must
    /// open with a size update (§4.2).
    update_required: bool,
    /// Reused buffer for Huffman strings, so dropped fields cost no allocation.
    scratch: BytesMut,
}

impl Decoder {
    /// A decoder whose dynamic table may grow to `max_table_size` octets
    /// (the SETTINGS_HEADER_TABLE_SIZE we advertise; 4,096 by default).
    ///
    /// The table itself starts at the protocol's initial 4,096 octets (or
    /// `max_table_size` if smaller): a larger limit only lets the peer's
    /// encoder grow it with a size update (RFC 7541 §4.2).
    pub fn new(max_table_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(max_table_size.min(INITIAL_TABLE_SIZE)),
            max_table_size,
            update_required: false,
            scratch: BytesMut::new(),
        }
    }

    /// Changes the largest table size the peer's encoder may choose (after
    /// our SETTINGS carrying it has been acknowledged).
    pub fn set_max_table_size(&mut self, max: usize) {
        self.max_table_size = max;
        if max < self.table.max_size() {
            // RFC 7541 §4.2: the size update MUST occur at the beginning of
            // the first header block following the change.
            self.update_required = true;
        }
    }

    /// The dynamic table's current size in octets.
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// The dynamic table, newest entry first (for inspection and tests).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes one whole field block, calling `f` for each field while the
    /// header list size stays within `max_list_size`.
    pub fn decode<F: FnMut(HeaderField)>(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        mut f: F,
    ) -> Result<DecodeOutcome, DecodeError> {
        let mut pos = 0usize;
        let mut at_start = true;
        let mut out = DecodeOutcome::default();
        while let Some(&first) = block.get(pos) {
            if first & 0xe0 == 0x20 {
                // RFC 7541 §4.2: a size update MUST occur at the beginning of
                // the first header block following the change.
                if !at_start {
                    return Err(DecodeError::SizeUpdateNotAtStart);
                }
                let size = read_int(block, &mut pos, 5)?;
                // RFC 7541 §6.3: the new maximum size MUST be lower than or
                // equal to the limit; a larger value MUST be a decoding error.
                if size > self.max_table_size as u64 {
                    return Err(DecodeError::SizeUpdateTooLarge(size));
                }
                self.table.set_max_size(size as usize);
                self.update_required = false;
                continue;
            }
            if at_start && self.update_required {
                return Err(DecodeError::SizeUpdateMissing);
            }
            at_start = false;
            let over = out.over_limit;
            if first & 0x80 != 0 {
                // §6.1 Indexed Header Field Representation.
                let index = read_int(block, &mut pos, 7)?;
                if over {
                    // HPACK bomb guard: no clone, just the size.
                    let size = self.entry_size(index)?;
                    out.list_size = out.list_size.saturating_add(size);
                    continue;
                }
                let field = self.entry(index)?;
                account(&mut out, field.size(), max_list_size);
                if !out.over_limit {
                    f(field);
                }
                continue;
            }
            // §6.2.1 incremental indexing (01, 6-bit index); §6.2.2 without
            // indexing (0000) and §6.2.3 never indexed (0001), 4-bit index.
            let (prefix, insert) = if first & 0x40 != 0 {
                (6, true)
            } else {
                (4, false)
            };
            let name_index = read_int(block, &mut pos, prefix)?;
            let name_ref = if name_index == 0 {
                Some(read_string_ref(block, &mut pos)?)
            } else {
                None
            };
            let value_ref = read_string_ref(block, &mut pos)?;
            let need = match (insert, over) {
                (true, _) => Need::Insert,
                (false, false) => Need::Emit,
                (false, true) => Need::Measure,
            };
            let (name, name_len) = match name_ref {
                Some(r) => self.string(block, r, need)?,
                None => {
                    let field = self.entry(name_index)?;
                    let len = field.name.len();
                    (field.name, len)
                }
            };
            let (value, value_len) = self.string(block, value_ref, need)?;
            let size = name_len
                .saturating_add(value_len)
                .saturating_add(table::ENTRY_OVERHEAD);
            let field = HeaderField { name, value };
            if insert {
                self.table.insert(field.clone());
            }
            if over {
                out.list_size = out.list_size.saturating_add(size);
                continue;
            }
            account(&mut out, size, max_list_size);
            if !out.over_limit {
                f(field);
            }
        }
        if at_start && self.update_required {
            return Err(DecodeError::SizeUpdateMissing);
        }
        Ok(out)
    }

    /// The field at HPACK `index` (§2.3.3), as zero-copy `Bytes`.
    fn entry(&self, index: u64) -> Result<HeaderField, DecodeError> {
        let i = self.position(index)?;
        if i < STATIC_LEN {
            table::static_field(i + 1).ok_or(DecodeError::IndexOutOfRange(index))
        } else {
            self.table
                .get(i - STATIC_LEN)
                .cloned()
                .ok_or(DecodeError::IndexOutOfRange(index))
        }
    }

    /// The §4.1 size of the field at `index`, without cloning it.
    fn entry_size(&self, index: u64) -> Result<usize, DecodeError> {
        let i = self.position(index)?;
        match table::STATIC_TABLE.get(i) {
            Some((n, v)) => Ok(n.len() + v.len() + table::ENTRY_OVERHEAD),
            None => self
                .table
                .get(i - STATIC_LEN)
                .map(HeaderField::size)
                .ok_or(DecodeError::IndexOutOfRange(index)),
        }
    }

    /// `index - 1` after the §6.1 and §2.3.3 checks.
    fn position(&self, index: u64) -> Result<usize, DecodeError> {
        // RFC 7541 §6.1: the index value of 0 is not used. It MUST be treated
        // as a decoding error if found in an indexed header field representation.
        if index == 0 {
            return Err(DecodeError::ZeroIndex);
        }
        // RFC 7541 §2.3.3: indices strictly greater than the sum of the lengths
        // of both tables MUST be treated as a decoding error.
        let total = (STATIC_LEN + self.table.len()) as u64;
        if index > total {
            return Err(DecodeError::IndexOutOfRange(index));
        }
        Ok(index as usize - 1)
    }

    /// Materializes a string as `need` says; returns it and its decoded length.
    fn string(
        &mut self,
        block: &Bytes,
        r: StrRef,
        need: Need,
    ) -> Result<(Bytes, usize), DecodeError> {
        let raw = block.get(r.start..r.end).ok_or(DecodeError::Truncated)?;
        if !r.huffman {
            return Ok(match need {
                Need::Emit => (block.slice(r.start..r.end), raw.len()),
                Need::Insert => (Bytes::copy_from_slice(raw), raw.len()),
                Need::Measure => (Bytes::new(), raw.len()),
            });
        }
        self.scratch.clear();
        huffman::decode(raw, &mut self.scratch)?;
        let len = self.scratch.len();
        Ok(match need {
            Need::Measure => (Bytes::new(), len),
            Need::Emit | Need::Insert => (Bytes::copy_from_slice(&self.scratch), len),
        })
    }
}

/// Adds `size` to the running list size and flags passing `max`.
fn account(out: &mut DecodeOutcome, size: usize, max: usize) {
    out.list_size = out.list_size.saturating_add(size);
    if out.list_size > max {
        out.over_limit = true;
    }
}

/// Reads an integer with an N-bit prefix (RFC 7541 §5.1) at `*pos`.
fn read_int(block: &[u8], pos: &mut usize, prefix_bits: u8) -> Result<u64, DecodeError> {
    let mask = ((1u16 << prefix_bits) - 1) as u8;
    let first = *block.get(*pos).ok_or(DecodeError::Truncated)?;
    *pos += 1;
    let mut value = u64::from(first & mask);
    if value < u64::from(mask) {
        return Ok(value);
    }
    let mut shift = 0u32;
    for _ in 0..MAX_INT_CONTINUATIONS {
        let b = *block.get(*pos).ok_or(DecodeError::Truncated)?;
        *pos += 1;
        // shift <= 28 and the payload is 7 bits: at most 2^35, no overflow.
        value += u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            // §5.1 puts no bound on integers, but we reject what no HPACK
            // quantity of ours can be (RFC 7541 §5.1: "Integer encodings that
            // exceed implementation limits ... MUST be treated as decoding errors").
            return if value > MAX_INT {
                Err(DecodeError::IntegerOverflow)
            } else {
                Ok(value)
            };
        }
        shift += 7;
    }
    Err(DecodeError::IntegerOverflow)
}

/// Reads a string literal's header (§5.2) and checks its length against the
/// rest of the block before anything is allocated.
fn read_string_ref(block: &[u8], pos: &mut usize) -> Result<StrRef, DecodeError> {
    let first = *block.get(*pos).ok_or(DecodeError::Truncated)?;
    let huffman = first & 0x80 != 0;
    let len = read_int(block, pos, 7)?;
    let remaining = (block.len() - *pos) as u64;
    if len > remaining {
        return Err(DecodeError::StringTooLong(len));
    }
    let start = *pos;
    let end = start + len as usize;
    *pos = end;
    Ok(StrRef {
        huffman,
        start,
        end,
    })
}

#[cfg(test)]
#[path = "decoder_tests.rs"]
mod tests;
