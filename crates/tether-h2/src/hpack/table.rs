//! The static table (RFC 7541 Appendix A) and the dynamic table (§2.3.2, §4).
//!
//! Index space (§2.3.3): 1..=61 are the static table, 62.. the dynamic table,
//! newest entry first. Dynamic entries hold [`Bytes`], so looking one up hands
//! out refcounted clones, never copies.

use super::HeaderField;
use bytes::Bytes;
use std::collections::VecDeque;

/// Number of entries of the static table.
pub const STATIC_LEN: usize = 61;

/// RFC 7541 §4.1: the size of an entry is the sum of its name's length in
/// octets, its value's length in octets, and 32.
pub const ENTRY_OVERHEAD: usize = 32;

/// RFC 7541 Appendix A, in index order (index 1 is element 0).
pub static STATIC_TABLE: [(&[u8], &[u8]); STATIC_LEN] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The static entry at HPACK `index` (1..=61) as zero-copy `Bytes`.
pub fn static_field(index: usize) -> Option<HeaderField> {
    let (name, value) = STATIC_TABLE.get(index.checked_sub(1)?)?;
    Some(HeaderField {
        name: Bytes::from_static(name),
        value: Bytes::from_static(value),
    })
}

/// A match found in the static table by [`static_lookup`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaticMatch {
    /// Name and value both match the entry at this index.
    Full(usize),
    /// Only the name matches the entry at this index.
    Name(usize),
}

/// Finds `name` (and if possible `value`) in the static table. A `match` on
/// the name picks the range of entries sharing it, so no hashing and no scan
/// of all 61 entries.
pub fn static_lookup(name: &[u8], value: &[u8]) -> Option<StaticMatch> {
    let (first, last) = static_name_range(name)?;
    for index in first..=last {
        if STATIC_TABLE.get(index - 1).is_some_and(|e| e.1 == value) {
            return Some(StaticMatch::Full(index));
        }
    }
    Some(StaticMatch::Name(first))
}

/// The first and last static indices whose name is `name`.
fn static_name_range(name: &[u8]) -> Option<(usize, usize)> {
    let range = match name {
        b":authority" => (1, 1),
        b":method" => (2, 3),
        b":path" => (4, 5),
        b":scheme" => (6, 7),
        b":status" => (8, 14),
        b"accept-charset" => (15, 15),
        b"accept-encoding" => (16, 16),
        b"accept-language" => (17, 17),
        b"accept-ranges" => (18, 18),
        b"accept" => (19, 19),
        b"access-control-allow-origin" => (20, 20),
        b"age" => (21, 21),
        b"allow" => (22, 22),
        b"authorization" => (23, 23),
        b"cache-control" => (24, 24),
        b"content-disposition" => (25, 25),
        b"content-encoding" => (26, 26),
        b"content-language" => (27, 27),
        b"content-length" => (28, 28),
        b"content-location" => (29, 29),
        b"content-range" => (30, 30),
        b"content-type" => (31, 31),
        b"cookie" => (32, 32),
        b"date" => (33, 33),
        b"etag" => (34, 34),
        b"expect" => (35, 35),
        b"expires" => (36, 36),
        b"from" => (37, 37),
        b"host" => (38, 38),
        b"if-match" => (39, 39),
        b"if-modified-since" => (40, 40),
        b"if-none-match" => (41, 41),
        b"if-range" => (42, 42),
        b"if-unmodified-since" => (43, 43),
        b"last-modified" => (44, 44),
        b"link" => (45, 45),
        b"location" => (46, 46),
        b"max-forwards" => (47, 47),
        b"proxy-authenticate" => (48, 48),
        b"proxy-authorization" => (49, 49),
        b"range" => (50, 50),
        b"referer" => (51, 51),
        b"refresh" => (52, 52),
        b"retry-after" => (53, 53),
        b"server" => (54, 54),
        b"set-cookie" => (55, 55),
        b"strict-transport-security" => (56, 56),
        b"transfer-encoding" => (57, 57),
        b"user-agent" => (58, 58),
        b"vary" => (59, 59),
        b"via" => (60, 60),
        b"www-authenticate" => (61, 61),
        _ => return None,
    };
    Some(range)
}

/// The dynamic table (RFC 7541 §2.3.2): a FIFO of entries, newest first,
/// whose total size never exceeds its maximum size.
#[derive(Debug, Clone, Default)]
pub struct DynamicTable {
    entries: VecDeque<HeaderField>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    /// An empty table whose maximum size is `max_size` octets.
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            entries: VecDeque::new(),
            size: 0,
            max_size,
        }
    }

    /// The current size: the sum of the entries' sizes (§4.1).
    pub fn size(&self) -> usize {
        self.size
    }

    /// The current maximum size (§4.2).
    pub fn max_size(&self) -> usize {
        self.max_size
    }

    /// How many entries the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry at dynamic position `i` (0 is the newest, HPACK index 62).
    pub fn get(&self, i: usize) -> Option<&HeaderField> {
        self.entries.get(i)
    }

    /// Iterates over the entries, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &HeaderField> + '_ {
        self.entries.iter()
    }

    /// Changes the maximum size, evicting the oldest entries until the table
    /// fits (RFC 7541 §4.3).
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Adds `field` as the newest entry (RFC 7541 §4.4): evicts old entries to
    /// make room first; a field larger than the maximum size empties the table
    /// and is not added (this is not an error).
    pub fn insert(&mut self, field: HeaderField) {
        let size = field.size();
        if size > self.max_size {
            // RFC 7541 §4.4: an attempt to add an entry larger than the maximum
            // size causes the table to be emptied of all existing entries and
            // results in an empty table.
            self.entries.clear();
            self.size = 0;
            return;
        }
        self.evict_to(self.max_size - size);
        self.size += size;
        self.entries.push_front(field);
    }

    /// Evicts from the end until the size is at most `target`.
    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(old) => self.size -= old.size(),
                None => {
                    self.size = 0;
                    break;
                }
            }
        }
    }

    /// Finds `name`/`value` among the entries: `(position, value matched)`,
    /// preferring a full match, else the newest entry with the name. A linear
    /// scan: a 4 KiB table holds at most 128 entries and gRPC blocks ~10.
    pub fn find(&self, name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        let mut name_only = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.name.as_ref() == name {
                if e.value.as_ref() == value {
                    return Some((i, true));
                }
                if name_only.is_none() {
                    name_only = Some((i, false));
                }
            }
        }
        name_only
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn field(name: &'static str, value: &'static str) -> HeaderField {
        HeaderField {
            name: Bytes::from_static(name.as_bytes()),
            value: Bytes::from_static(value.as_bytes()),
        }
    }

    #[test]
    fn static_table_edges() {
        assert_eq!(static_field(0), None);
        assert_eq!(static_field(1), Some(field(":authority", "")));
        assert_eq!(static_field(8), Some(field(":status", "200")));
        assert_eq!(static_field(61), Some(field("www-authenticate", "")));
        assert_eq!(static_field(62), None);
    }

    #[test]
    fn static_lookup_matches_table() {
        // Every entry is found at its own index (first one for duplicates).
        for (i, (name, value)) in STATIC_TABLE.iter().enumerate() {
            match static_lookup(name, value) {
                Some(StaticMatch::Full(idx)) => assert_eq!(STATIC_TABLE[idx - 1], (*name, *value)),
                other => panic!("{i}: {other:?}"),
            }
        }
        assert_eq!(
            static_lookup(b":status", b"200"),
            Some(StaticMatch::Full(8))
        );
        assert_eq!(
            static_lookup(b":status", b"201"),
            Some(StaticMatch::Name(8))
        );
        assert_eq!(
            static_lookup(b":method", b"POST"),
            Some(StaticMatch::Full(3))
        );
        assert_eq!(
            static_lookup(b"content-type", b"application/grpc"),
            Some(StaticMatch::Name(31))
        );
        assert_eq!(static_lookup(b"te", b"trailers"), None);
    }

    #[test]
    fn insert_counts_and_evicts() {
        let mut t = DynamicTable::new(100);
        t.insert(field("aaaa", "bbbb")); // 40
        t.insert(field("cccc", "dddd")); // 40
        assert_eq!((t.size(), t.len()), (80, 2));
        assert_eq!(t.get(0), Some(&field("cccc", "dddd")));
        t.insert(field("eeee", "ffff")); // evicts the oldest
        assert_eq!((t.size(), t.len()), (80, 2));
        assert_eq!(t.get(1), Some(&field("cccc", "dddd")));
        assert_eq!(t.find(b"eeee", b"ffff"), Some((0, true)));
        assert_eq!(t.find(b"cccc", b"x"), Some((1, false)));
        assert_eq!(t.find(b"aaaa", b"bbbb"), None);
    }

    #[test]
    fn too_large_entry_empties_table() {
        let mut t = DynamicTable::new(60);
        t.insert(field("a", "b"));
        t.insert(field("name", "a value that is far too long for 60"));
        assert_eq!((t.size(), t.len()), (0, 0));
    }

    #[test]
    fn entry_of_exactly_max_size_fits() {
        let mut t = DynamicTable::new(40);
        t.insert(field("ab", "cd"));
        t.insert(field("abcd", "efgh"));
        assert_eq!((t.size(), t.len()), (40, 1));
    }

    #[test]
    fn shrinking_evicts_then_zero_empties() {
        let mut t = DynamicTable::new(200);
        for _ in 0..4 {
            t.insert(field("aaaa", "bbbb"));
        }
        t.set_max_size(90);
        assert_eq!((t.size(), t.len()), (80, 2));
        t.set_max_size(0);
        assert_eq!((t.size(), t.len(), t.max_size()), (0, 0, 0));
    }
}
