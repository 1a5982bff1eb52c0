//! Custom metadata: an ordered multimap of ASCII and binary (`-bin`) entries.
//!
//! Keys are lowercase (`0-9 a-z _ . -`, PROTOCOL-HTTP2.md "Custom-Metadata").
//! A key ending in `-bin` holds bytes, which travel base64-encoded; every
//! other key holds printable ASCII (0x20-0x7E).

use crate::base64;
use crate::status::Status;
use bytes::Bytes;
use std::fmt;
use tether_h2::hpack::HeaderField;

/// Header names the gRPC layer or HTTP/2 owns: never user metadata.
const RESERVED: &[&str] = &[
    "content-type",
    "te",
    "user-agent",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "host",
];

/// Ordered custom metadata (request headers, response headers or trailers).
///
/// Entries keep their insertion order and a key may repeat. Values set by the
/// application are validated; metadata received from a server is parsed with
/// [`Metadata::from_fields`], which drops reserved fields and decodes binary
/// values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: Vec<Entry>,
}

#[derive(Clone, PartialEq, Eq)]
struct Entry {
    /// Valid ASCII (checked on the way in).
    key: Bytes,
    /// Printable ASCII for ASCII keys; decoded bytes for `-bin` keys.
    value: Bytes,
}

impl Entry {
    fn key(&self) -> &str {
        std::str::from_utf8(&self.key).unwrap_or_default()
    }

    fn is_binary(&self) -> bool {
        self.key.ends_with(b"-bin")
    }
}

/// One metadata value, as [`Metadata::iter`] yields it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetadataValue<'a> {
    /// The value of an ASCII key.
    Ascii(&'a str),
    /// The (decoded) value of a `-bin` key.
    Binary(&'a [u8]),
}

/// Why a metadata key or value was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// The key is empty or has a character outside `0-9 a-z _ . -`.
    InvalidKey,
    /// The key is reserved (`grpc-*`, `content-type`, `te`, `user-agent`,
    /// connection-specific headers).
    ReservedKey,
    /// An ASCII value has a character outside 0x20-0x7E.
    InvalidValue,
    /// A `-bin` key was given an ASCII value (use the `_bin` methods).
    BinaryKey,
    /// An ASCII key was given a binary value (binary keys end in `-bin`).
    NotBinaryKey,
}

impl fmt::Display for MetadataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetadataError::InvalidKey => "metadata key must be non-empty 0-9 a-z _ . -",
            MetadataError::ReservedKey => "metadata key is reserved",
            MetadataError::InvalidValue => "metadata value must be printable ASCII",
            MetadataError::BinaryKey => "a -bin metadata key needs a binary value",
            MetadataError::NotBinaryKey => "a binary metadata value needs a -bin key",
        })
    }
}

impl std::error::Error for MetadataError {}

/// Checks a key the application sets; `binary` says which kind of value it gets.
fn check_key(key: &str, binary: bool) -> Result<(), MetadataError> {
    let valid = |b: u8| matches!(b, b'0'..=b'9' | b'a'..=b'z' | b'_' | b'.' | b'-');
    if key.is_empty() || !key.bytes().all(valid) {
        return Err(MetadataError::InvalidKey);
    }
    if is_reserved(key.as_bytes()) {
        return Err(MetadataError::ReservedKey);
    }
    match (key.ends_with("-bin"), binary) {
        (true, false) => Err(MetadataError::BinaryKey),
        (false, true) => Err(MetadataError::NotBinaryKey),
        _ => Ok(()),
    }
}

/// Whether a field name belongs to gRPC or HTTP/2 rather than the application.
fn is_reserved(name: &[u8]) -> bool {
    name.starts_with(b":")
        || name.starts_with(b"grpc-")
        || RESERVED.iter().any(|r| r.as_bytes() == name)
}

fn is_printable(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

impl Metadata {
    /// Empty metadata (does not allocate).
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// The number of entries (a key with two values counts twice).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets `key` to the single ASCII `value`, replacing all its values (the
    /// new value takes the place of the first old one).
    pub fn insert(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        check_key(key, false)?;
        if !is_printable(value) {
            return Err(MetadataError::InvalidValue);
        }
        self.replace(key, Bytes::copy_from_slice(value.as_bytes()));
        Ok(())
    }

    /// Adds an ASCII `value` for `key` after the existing entries.
    pub fn append(&mut self, key: &str, value: &str) -> Result<(), MetadataError> {
        check_key(key, false)?;
        if !is_printable(value) {
            return Err(MetadataError::InvalidValue);
        }
        self.push(key, Bytes::copy_from_slice(value.as_bytes()));
        Ok(())
    }

    /// Sets the `-bin` key to the single binary `value`, replacing all its values.
    pub fn insert_bin(&mut self, key: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        check_key(key, true)?;
        self.replace(key, value.into());
        Ok(())
    }

    /// Adds a binary `value` for the `-bin` key after the existing entries.
    pub fn append_bin(&mut self, key: &str, value: impl Into<Bytes>) -> Result<(), MetadataError> {
        check_key(key, true)?;
        self.push(key, value.into());
        Ok(())
    }

    /// The first value of an ASCII key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .filter(|e| e.key == key.as_bytes() && !e.is_binary())
            .find_map(|e| std::str::from_utf8(&e.value).ok())
    }

    /// Every value of an ASCII key, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(key)
            .filter(|e| !e.is_binary())
            .filter_map(|e| std::str::from_utf8(&e.value).ok())
    }

    /// The first value of a `-bin` key.
    pub fn get_bin(&self, key: &str) -> Option<&[u8]> {
        self.entries
            .iter()
            .find(|e| e.key == key.as_bytes() && e.is_binary())
            .map(|e| &e.value[..])
    }

    /// Every value of a `-bin` key, in order.
    pub fn get_all_bin<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.values(key)
            .filter(|e| e.is_binary())
            .map(|e| &e.value[..])
    }

    /// Whether `key` has at least one value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.values(key).next().is_some()
    }

    /// Removes every value of `key`; returns how many there were.
    pub fn remove(&mut self, key: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|e| e.key != key.as_bytes());
        before - self.entries.len()
    }

    /// Every entry, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue<'_>)> + '_ {
        self.entries.iter().map(|e| {
            let value = if e.is_binary() {
                MetadataValue::Binary(&e.value)
            } else {
                MetadataValue::Ascii(std::str::from_utf8(&e.value).unwrap_or_default())
            };
            (e.key(), value)
        })
    }

    /// Parses response headers or trailers from the HTTP/2 core into user
    /// metadata: reserved fields (pseudo-headers, `grpc-*`, `content-type`,
    /// `te`, `user-agent`, connection-specific fields) are skipped, `-bin`
    /// values are base64-decoded (padded or unpadded) and ASCII values are
    /// kept without copying.
    ///
    /// A `-bin` value that is not base64 fails with INTERNAL (HOSTILE 77). An
    /// ASCII value that is not valid UTF-8 is kept with its bad bytes replaced;
    /// a name that is not ASCII is skipped (the core already rejects both).
    pub fn from_fields(fields: &[HeaderField]) -> Result<Metadata, Status> {
        let kept = |f: &&HeaderField| !is_reserved(&f.name) && f.name.is_ascii();
        let mut md = Metadata::new();
        // Sized exactly: no allocation when every field is gRPC's own.
        md.entries.reserve_exact(fields.iter().filter(kept).count());
        for f in fields.iter().filter(kept) {
            let value = if f.name.ends_with(b"-bin") {
                let decoded = base64::decode(&f.value).map_err(|_| {
                    Status::internal(format!(
                        "invalid base64 in binary metadata {:?}",
                        String::from_utf8_lossy(&f.name)
                    ))
                })?;
                Bytes::from(decoded)
            } else if std::str::from_utf8(&f.value).is_ok() {
                f.value.clone()
            } else {
                Bytes::from(String::from_utf8_lossy(&f.value).into_owned())
            };
            md.entries.push(Entry {
                key: f.name.clone(),
                value,
            });
        }
        Ok(md)
    }

    /// Each entry's name and wire value: ASCII values as they are, binary
    /// values unpadded-base64-encoded into one shared buffer `scratch`
    /// (filled first; pass the same buffer to [`Metadata::wire_fields`]).
    pub(crate) fn encode_binary_values(&self, scratch: &mut Vec<u8>) {
        for e in self.entries.iter().filter(|e| e.is_binary()) {
            base64::encode_into(&e.value, scratch);
        }
    }

    /// The entries as wire `(name, value)` pairs, taking binary values from
    /// the `scratch` filled by [`Metadata::encode_binary_values`].
    pub(crate) fn wire_fields<'a>(
        &'a self,
        scratch: &'a [u8],
    ) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let mut offset = 0;
        self.entries.iter().map(move |e| {
            if e.is_binary() {
                let end = offset + base64::encoded_len(e.value.len());
                let value = scratch.get(offset..end).unwrap_or_default();
                offset = end;
                (&e.key[..], value)
            } else {
                (&e.key[..], &e.value[..])
            }
        })
    }

    fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.iter().filter(move |e| e.key == key.as_bytes())
    }

    fn push(&mut self, key: &str, value: Bytes) {
        self.entries.push(Entry {
            key: Bytes::copy_from_slice(key.as_bytes()),
            value,
        });
    }

    fn replace(&mut self, key: &str, value: Bytes) {
        match self.entries.iter().position(|e| e.key == key.as_bytes()) {
            Some(first) => {
                self.entries[first].value = value;
                let mut i = 0;
                self.entries.retain(|e| {
                    i += 1;
                    i - 1 == first || e.key != key.as_bytes()
                });
            }
            None => self.push(key, value),
        }
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
#[path = "metadata_tests.rs"]
mod tests;
