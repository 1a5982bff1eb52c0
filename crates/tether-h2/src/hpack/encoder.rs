//! The HPACK encoder (RFC 7541 §4, §6).

use super::FieldRef;
use bytes::BytesMut;

/// An HPACK encoder.
#[derive(Debug)]
pub struct Encoder {
    _priv: (),
}

impl Encoder {
    /// An encoder whose own table never exceeds `cap` octets, whatever the
    /// peer allows (4,096 is the usual cap).
    pub fn new(cap: usize) -> Encoder {
        let _ = cap;
        todo!("hpack helper")
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed: the encoder uses
    /// `min(value, cap)` and emits a size update at the start of the next block
    /// (7541 §4.2, §6.3).
    pub fn set_peer_max_table_size(&mut self, value: u32) {
        let _ = value;
        todo!("hpack helper")
    }

    /// Appends the field block for `fields` to `dst`.
    pub fn encode<'a, I>(&mut self, fields: I, dst: &mut BytesMut)
    where
        I: IntoIterator<Item = FieldRef<'a>>,
    {
        let _ = (fields, dst);
        todo!("hpack helper")
    }
}
