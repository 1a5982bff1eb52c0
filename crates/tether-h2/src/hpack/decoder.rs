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
#[non_exhaustive]
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

/// Where a decoded name or value lives, so that one decoding loop serves both
/// the owned ([`Decoder::decode`]) and the borrowed ([`Decoder::decode_with`])
/// API: only the sink decides whether a refcount or a copy is needed.
#[derive(Clone, Copy)]
enum Src<'a> {
    /// The static table: free as `Bytes::from_static`.
    Static(&'static [u8]),
    /// A dynamic-table entry: a refcounted clone when owned.
    Shared(&'a Bytes),
    /// A raw literal, `block[start..end]`: a slice of the block when owned.
    Block(usize, usize),
    /// A Huffman literal decoded into scratch space: copied when owned.
    Scratch(&'a [u8]),
}

impl Src<'_> {
    #[inline]
    fn bytes<'b>(self, block: &'b [u8]) -> &'b [u8]
    where
        Self: 'b,
    {
        match self {
            Src::Static(s) => s,
            Src::Shared(b) => b,
            Src::Block(start, end) => block.get(start..end).unwrap_or_default(),
            Src::Scratch(s) => s,
        }
    }

    #[inline]
    fn to_bytes(self, block: &Bytes) -> Bytes {
        match self {
            Src::Static(s) => Bytes::from_static(s),
            Src::Shared(b) => b.clone(),
            Src::Block(start, end) => block.slice(start..end),
            Src::Scratch(s) => Bytes::copy_from_slice(s),
        }
    }
}

/// Receives the fields the decoding loop hands out.
trait Sink {
    fn emit(&mut self, block: &Bytes, name: Src<'_>, value: Src<'_>);
}

/// [`Decoder::decode`]'s sink: owned [`HeaderField`]s.
struct Owned<F>(F);

impl<F: FnMut(HeaderField)> Sink for Owned<F> {
    #[inline]
    fn emit(&mut self, block: &Bytes, name: Src<'_>, value: Src<'_>) {
        (self.0)(HeaderField {
            name: name.to_bytes(block),
            value: value.to_bytes(block),
        });
    }
}

/// [`Decoder::decode_with`]'s sink: borrowed slices, no refcount traffic.
struct Borrowed<F>(F);

impl<F: FnMut(&[u8], &[u8])> Sink for Borrowed<F> {
    #[inline]
    fn emit(&mut self, block: &Bytes, name: Src<'_>, value: Src<'_>) {
        (self.0)(name.bytes(block), value.bytes(block));
    }
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
    /// Reused buffers for Huffman names and values, so dropped and borrowed
    /// fields cost no allocation.
    scratch_name: BytesMut,
    scratch_value: BytesMut,
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
            scratch_name: BytesMut::new(),
            scratch_value: BytesMut::new(),
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
    ///
    /// Fields are owned: static-table strings are `Bytes::from_static`, raw
    /// literals slices of `block`, dynamic-table strings refcounted clones,
    /// Huffman strings fresh copies. When the caller only looks at the fields,
    /// [`Decoder::decode_with`] avoids the refcounting.
    pub fn decode<F: FnMut(HeaderField)>(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        f: F,
    ) -> Result<DecodeOutcome, DecodeError> {
        self.run(block, max_list_size, &mut Owned(f))
    }

    /// Like [`Decoder::decode`], but hands each field out as borrowed
    /// `(name, value)` slices, valid only during the call: no refcount, no
    /// copy, no allocation for any field (Huffman strings are decoded into
    /// buffers the decoder reuses).
    pub fn decode_with<F: FnMut(&[u8], &[u8])>(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        f: F,
    ) -> Result<DecodeOutcome, DecodeError> {
        self.run(block, max_list_size, &mut Borrowed(f))
    }

    /// The decoding loop shared by both APIs.
    #[inline(always)]
    fn run<S: Sink>(
        &mut self,
        block: &Bytes,
        max_list_size: usize,
        sink: &mut S,
    ) -> Result<DecodeOutcome, DecodeError> {
        let buf: &[u8] = block;
        let mut pos = 0usize;
        if self.update_required || buf.first().is_some_and(|&b| b & 0xe0 == 0x20) {
            pos = self.size_updates(buf)?;
        }
        // The running §4.1 list size, in a register rather than in a
        // `DecodeOutcome` behind a pointer. It only grows: once past
        // `max_list_size` every later field is measured, not handed out.
        let mut list_size = 0usize;
        while let Some(&first) = buf.get(pos) {
            if first & 0x80 != 0 {
                // §6.1 Indexed Header Field Representation; 1-byte fast path.
                let index = if first != 0xff {
                    pos += 1;
                    u64::from(first & 0x7f)
                } else {
                    read_int(buf, &mut pos, 7)?
                };
                let i = index.wrapping_sub(1) as usize;
                if let Some(&(name, value)) = table::STATIC_TABLE.get(i) {
                    let size = name.len() + value.len() + table::ENTRY_OVERHEAD;
                    list_size = list_size.saturating_add(size);
                    if list_size <= max_list_size {
                        sink.emit(block, Src::Static(name), Src::Static(value));
                    }
                } else {
                    // RFC 7541 §6.1: the index value of 0 is not used. It MUST
                    // be treated as a decoding error if found in an indexed
                    // header field representation.
                    if index == 0 {
                        return Err(DecodeError::ZeroIndex);
                    }
                    // RFC 7541 §2.3.3: indices strictly greater than the sum of
                    // the lengths of both tables MUST be treated as a decoding
                    // error.
                    let e = self
                        .table
                        .get(i.wrapping_sub(STATIC_LEN))
                        .ok_or(DecodeError::IndexOutOfRange(index))?;
                    list_size = list_size.saturating_add(e.size());
                    if list_size <= max_list_size {
                        sink.emit(block, Src::Shared(&e.name), Src::Shared(&e.value));
                    }
                }
            } else if first & 0xe0 == 0x20 {
                // RFC 7541 §4.2: a size update MUST occur at the beginning of
                // the block.
                return Err(DecodeError::SizeUpdateNotAtStart);
            } else {
                // The room left for a field to be handed out.
                let room = (list_size <= max_list_size).then(|| max_list_size - list_size);
                let (next, size) = self.literal(block, pos, first, room, sink)?;
                pos = next;
                list_size = list_size.saturating_add(size);
            }
        }
        Ok(DecodeOutcome {
            list_size,
            over_limit: list_size > max_list_size,
        })
    }

    /// Applies the size updates (§6.3) that open a block; returns where the
    /// first field representation starts.
    #[inline(never)]
    fn size_updates(&mut self, buf: &[u8]) -> Result<usize, DecodeError> {
        let mut pos = 0;
        // RFC 7541 §4.2: a size update MUST occur at the beginning of the
        // first header block following the change; several may.
        while let Some(&first) = buf.get(pos) {
            if first & 0xe0 != 0x20 {
                break;
            }
            let size = read_int(buf, &mut pos, 5)?;
            // RFC 7541 §6.3: the new maximum size MUST be lower than or
            // equal to the limit; a larger value MUST be a decoding error.
            if size > self.max_table_size as u64 {
                return Err(DecodeError::SizeUpdateTooLarge(size));
            }
            self.table.set_max_size(size as usize);
            self.update_required = false;
        }
        if self.update_required {
            return Err(DecodeError::SizeUpdateMissing);
        }
        Ok(pos)
    }

    /// Decodes one literal representation (§6.2) starting at `*pos`. Kept
    /// out of line: warm blocks are mostly indexed fields, and the indexed
    /// loop stays small without it.
    #[inline(never)]
    fn literal<S: Sink>(
        &mut self,
        block: &Bytes,
        mut pos: usize,
        first: u8,
        room: Option<usize>,
        sink: &mut S,
    ) -> Result<(usize, usize), DecodeError> {
        let pos = &mut pos;
        let buf: &[u8] = block;
        // §6.2.1 incremental indexing (01, 6-bit index); §6.2.2 without
        // indexing (0000) and §6.2.3 never indexed (0001), 4-bit index.
        let (prefix, insert) = if first & 0x40 != 0 {
            (6, true)
        } else {
            (4, false)
        };
        let name_index = read_int(buf, pos, prefix)?;
        let name_ref = if name_index == 0 {
            Some(read_string_ref(buf, pos)?)
        } else {
            None
        };
        let value_ref = read_string_ref(buf, pos)?;
        // The name: a literal (decoded into scratch if Huffman), or an index.
        // `name_entry` is the position of an indexed name: `Ok` static,
        // `Err` dynamic.
        let mut name_entry = Ok(0usize);
        match name_ref {
            Some(r) if r.huffman => {
                self.scratch_name.clear();
                let raw = buf.get(r.start..r.end).ok_or(DecodeError::Truncated)?;
                huffman::decode(raw, &mut self.scratch_name)?;
            }
            Some(_) => {}
            None => {
                let i = (name_index - 1) as usize;
                name_entry = if i < STATIC_LEN {
                    Ok(i)
                } else if i - STATIC_LEN < self.table.len() {
                    Err(i - STATIC_LEN)
                } else {
                    // RFC 7541 §2.3.3: indices strictly greater than the sum of
                    // the lengths of both tables MUST be treated as an error.
                    return Err(DecodeError::IndexOutOfRange(name_index));
                };
            }
        }
        if value_ref.huffman {
            self.scratch_value.clear();
            let raw = buf
                .get(value_ref.start..value_ref.end)
                .ok_or(DecodeError::Truncated)?;
            huffman::decode(raw, &mut self.scratch_value)?;
        }
        let name = match name_ref {
            Some(r) if r.huffman => Src::Scratch(&self.scratch_name),
            Some(r) => Src::Block(r.start, r.end),
            None => match name_entry {
                Ok(i) => match table::STATIC_TABLE.get(i) {
                    Some(e) => Src::Static(e.0),
                    None => return Err(DecodeError::IndexOutOfRange(name_index)),
                },
                Err(d) => match self.table.get(d) {
                    Some(e) => Src::Shared(&e.name),
                    None => return Err(DecodeError::IndexOutOfRange(name_index)),
                },
            },
        };
        let value = if value_ref.huffman {
            Src::Scratch(&self.scratch_value)
        } else {
            Src::Block(value_ref.start, value_ref.end)
        };
        let size = name.bytes(buf).len() + value.bytes(buf).len() + table::ENTRY_OVERHEAD;
        // Past the limit the field is only measured, never handed out.
        let emit = room.is_some_and(|room| size <= room);
        if insert {
            // Table entries get buffers of their exact size: they must not
            // pin whole blocks.
            let own = |s: Src<'_>| match s {
                Src::Static(s) => Bytes::from_static(s),
                Src::Shared(b) => b.clone(),
                other => Bytes::copy_from_slice(other.bytes(buf)),
            };
            let field = HeaderField {
                name: own(name),
                value: own(value),
            };
            if emit {
                sink.emit(block, Src::Shared(&field.name), Src::Shared(&field.value));
            }
            self.table.insert(field);
        } else if emit {
            sink.emit(block, name, value);
        }
        Ok((*pos, size))
    }
}

/// Reads an integer with an N-bit prefix (RFC 7541 §5.1) at `*pos`. The
/// one-octet case is inlined; longer integers take [`read_int_rest`].
#[inline]
fn read_int(block: &[u8], pos: &mut usize, prefix_bits: u8) -> Result<u64, DecodeError> {
    let mask = ((1u16 << prefix_bits) - 1) as u8;
    let first = *block.get(*pos).ok_or(DecodeError::Truncated)?;
    *pos += 1;
    let value = first & mask;
    if value < mask {
        return Ok(u64::from(value));
    }
    read_int_rest(block, pos, u64::from(mask))
}

/// The continuation octets of an integer whose prefix was all ones (`value`).
#[inline(never)]
fn read_int_rest(block: &[u8], pos: &mut usize, mut value: u64) -> Result<u64, DecodeError> {
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
#[inline]
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
