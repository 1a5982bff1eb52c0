//! SETTINGS (§6.5).

use super::Head;
use crate::error::ProtoError;
use bytes::{Bytes, BytesMut};

/// A setting identifier (§6.5.2): an open newtype; unknown ids are ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SettingId(pub u16);

impl SettingId {
    /// SETTINGS_HEADER_TABLE_SIZE.
    pub const HEADER_TABLE_SIZE: SettingId = SettingId(0x1);
    /// SETTINGS_ENABLE_PUSH.
    pub const ENABLE_PUSH: SettingId = SettingId(0x2);
    /// SETTINGS_MAX_CONCURRENT_STREAMS.
    pub const MAX_CONCURRENT_STREAMS: SettingId = SettingId(0x3);
    /// SETTINGS_INITIAL_WINDOW_SIZE.
    pub const INITIAL_WINDOW_SIZE: SettingId = SettingId(0x4);
    /// SETTINGS_MAX_FRAME_SIZE.
    pub const MAX_FRAME_SIZE: SettingId = SettingId(0x5);
    /// SETTINGS_MAX_HEADER_LIST_SIZE.
    pub const MAX_HEADER_LIST_SIZE: SettingId = SettingId(0x6);
}

/// One setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Identifier.
    pub id: SettingId,
    /// Value.
    pub value: u32,
}

/// A SETTINGS frame, with its parameters in wire order (§6.5.3: apply in order).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Settings {
    /// ACK flag.
    pub ack: bool,
    /// Parameters, in order.
    pub params: Vec<Setting>,
}

impl Settings {
    /// Decodes a SETTINGS payload, enforcing §6.5 and §6.5.2 value ranges and
    /// capping the number of entries at `max_entries` (CE ENHANCE_YOUR_CALM past it).
    pub fn decode(head: &Head, payload: Bytes, max_entries: usize) -> Result<Settings, ProtoError> {
        let _ = (head, payload, max_entries);
        todo!("frames helper")
    }

    /// A SETTINGS ACK.
    pub fn ack() -> Settings {
        Settings {
            ack: true,
            params: Vec::new(),
        }
    }

    /// Appends this frame to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) {
        let _ = dst;
        todo!("frames helper")
    }
}
