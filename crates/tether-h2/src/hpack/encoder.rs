//! The HPACK encoder (RFC 7541 §4, §6).
//!
//! Policy:
//! - a full match in the static or dynamic table is sent as an index (§6.1);
//! - `sensitive` fields, `authorization`, `proxy-authorization` and short
//!   `cookie` values (RFC 7541 §7.1.3) are never-indexed literals (§6.2.3);
//! - volatile fields, whose value changes on every request, are literals
//!   without indexing (§6.2.2) so they do not evict useful entries:
//!   `grpc-timeout`, `grpc-previous-rpc-attempts`, `grpc-trace-bin`,
//!   `traceparent`, `x-request-id`, `content-length`. `:path` *is* indexed:
//!   a gRPC client calls the same few methods over and over;
//! - everything else is inserted (§6.2.1) unless it is larger than 3/4 of the
//!   table, which would flush everything else for one entry;
//! - strings are Huffman coded when that is shorter (§5.2).

use super::huffman;
use super::table::{self, DynamicTable, StaticMatch, STATIC_LEN};
use super::{FieldRef, HeaderField};
use bytes::{BufMut, Bytes, BytesMut};

/// The table size both sides start with (RFC 9113 §6.5.2 default of
/// SETTINGS_HEADER_TABLE_SIZE).
const DEFAULT_TABLE_SIZE: usize = 4096;

/// An HPACK encoder.
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    cap: usize,
    /// Size updates owed at the start of the next block: `(smallest, last)`
    /// maximum sizes chosen since the previous block (§4.2).
    pending: Option<(usize, usize)>,
}

impl Encoder {
    /// An encoder whose own table never exceeds `cap` octets, whatever the
    /// peer allows (4,096 is the usual cap).
    pub fn new(cap: usize) -> Encoder {
        let size = cap.min(DEFAULT_TABLE_SIZE);
        // The peer's decoder starts at 4,096: tell it when we use less.
        let pending = (size < DEFAULT_TABLE_SIZE).then_some((size, size));
        Encoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            cap,
            pending,
        }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the encoder uses
    /// `min(value, cap)` and emits a size update at the start of the next block
    /// (7541 §4.2, §6.3).
    pub fn set_peer_max_table_size(&mut self, value: u32) {
        let size = (value as usize).min(self.cap);
        self.pending = Some(match self.pending {
            Some((smallest, _)) => (smallest.min(size), size),
            None => (size, size),
        });
    }

    /// The encoder's dynamic table, newest entry first (for inspection and tests).
    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Appends the field block for `fields` to `dst`.
    pub fn encode<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        if let Some((smallest, last)) = self.pending.take() {
            // RFC 7541 §4.2: if the maximum size changes several times between
            // two blocks, the smallest value MUST be signalled, then the final.
            if smallest < last && smallest < self.table.max_size() {
                self.size_update(smallest, dst);
            }
            if last != self.table.max_size() {
                self.size_update(last, dst);
            }
        }
        for field in fields {
            self.field(field, dst);
        }
    }

    /// Emits a §6.3 dynamic table size update and applies it.
    fn size_update(&mut self, size: usize, dst: &mut BytesMut) {
        write_int(dst, 0x20, 5, size as u64);
        self.table.set_max_size(size);
    }

    /// Encodes one field.
    fn field(&mut self, field: FieldRef<'_>, dst: &mut BytesMut) {
        let FieldRef {
            name,
            value,
            sensitive,
        } = field;
        let stat = table::static_lookup(name, value);
        let never = sensitive || never_index(name, value);
        if !never {
            if let Some(StaticMatch::Full(i)) = stat {
                write_int(dst, 0x80, 7, i as u64);
                return;
            }
        }
        let dynamic = self.table.find(name, value);
        if let (false, Some((pos, true))) = (never, dynamic) {
            write_int(dst, 0x80, 7, (STATIC_LEN + 1 + pos) as u64);
            return;
        }
        let name_index = match (stat, dynamic) {
            (Some(StaticMatch::Full(i) | StaticMatch::Name(i)), _) => i,
            (None, Some((pos, _))) => STATIC_LEN + 1 + pos,
            (None, None) => 0,
        };
        let size = name.len() + value.len() + table::ENTRY_OVERHEAD;
        let insert = !never && !volatile(name) && size <= self.table.max_size() / 4 * 3;
        let (flags, prefix) = if never {
            // §6.2.3 literal never indexed: 0001 + 4-bit name index.
            (0x10, 4)
        } else if insert {
            // §6.2.1 literal with incremental indexing: 01 + 6-bit name index.
            (0x40, 6)
        } else {
            // §6.2.2 literal without indexing: 0000 + 4-bit name index.
            (0x00, 4)
        };
        write_int(dst, flags, prefix, name_index as u64);
        if name_index == 0 {
            write_string(dst, name);
        }
        write_string(dst, value);
        if insert {
            self.table.insert(HeaderField {
                name: Bytes::copy_from_slice(name),
                value: Bytes::copy_from_slice(value),
            });
        }
    }
}

/// RFC 7541 §7.1.3: fields an attacker could guess one value at a time.
fn never_index(name: &[u8], value: &[u8]) -> bool {
    match name {
        b"authorization" | b"proxy-authorization" => true,
        b"cookie" => value.len() < 20,
        _ => false,
    }
}

/// Fields whose value changes on every request: indexing them only evicts.
fn volatile(name: &[u8]) -> bool {
    matches!(
        name,
        b"grpc-timeout"
            | b"grpc-previous-rpc-attempts"
            | b"grpc-trace-bin"
            | b"traceparent"
            | b"x-request-id"
            | b"content-length"
    )
}

/// Writes an integer with an N-bit prefix (RFC 7541 §5.1); `flags` fills the
/// bits of the first octet above the prefix.
pub(super) fn write_int(dst: &mut BytesMut, flags: u8, prefix_bits: u8, value: u64) {
    let max = (1u64 << prefix_bits) - 1;
    if value < max {
        dst.put_u8(flags | value as u8);
        return;
    }
    dst.put_u8(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        dst.put_u8(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    dst.put_u8(rest as u8);
}

/// Writes a string literal (RFC 7541 §5.2), Huffman coded when shorter.
pub(super) fn write_string(dst: &mut BytesMut, s: &[u8]) {
    let coded = huffman::encoded_len(s);
    if coded < s.len() {
        write_int(dst, 0x80, 7, coded as u64);
        huffman::encode(s, dst);
    } else {
        write_int(dst, 0x00, 7, s.len() as u64);
        dst.put_slice(s);
    }
}

#[cfg(test)]
#[path = "encoder_tests.rs"]
mod tests;
