//! SETTINGS (§6.5).

use super::{flags, FrameType, Head, StreamId, MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};
use crate::error::{ErrorCode, ProtoError};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Length of one setting on the wire (§6.5.1).
const ENTRY_LEN: usize = 6;

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

impl Setting {
    /// Checks the value ranges of §6.5.2; unknown identifiers pass.
    pub fn validate(&self) -> Result<(), ProtoError> {
        match self.id {
            // RFC 9113 §6.5.2: "Any value other than 0 or 1 MUST be treated as
            // a connection error (Section 5.4.1) of type PROTOCOL_ERROR."
            SettingId::ENABLE_PUSH if self.value > 1 => Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_ENABLE_PUSH is not 0 or 1",
            )),
            // RFC 9113 §6.5.2: "Values above the maximum flow-control window
            // size of 2^31-1 MUST be treated as a connection error (Section
            // 5.4.1) of type FLOW_CONTROL_ERROR."
            SettingId::INITIAL_WINDOW_SIZE if self.value > MAX_WINDOW_SIZE => {
                Err(ProtoError::conn(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
                ))
            }
            // RFC 9113 §6.5.2: "Values outside this range [2^14, 2^24-1] MUST
            // be treated as a connection error (Section 5.4.1) of type
            // PROTOCOL_ERROR."
            SettingId::MAX_FRAME_SIZE
                if !(super::DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&self.value) =>
            {
                Err(ProtoError::conn(
                    ErrorCode::PROTOCOL_ERROR,
                    "SETTINGS_MAX_FRAME_SIZE outside [16384, 16777215]",
                ))
            }
            // RFC 9113 §6.5.2: "An endpoint that receives a SETTINGS frame with
            // any unknown or unsupported identifier MUST ignore that setting."
            _ => Ok(()),
        }
    }
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
    pub fn decode(
        head: &Head,
        mut payload: Bytes,
        max_entries: usize,
    ) -> Result<Settings, ProtoError> {
        // RFC 9113 §6.5: "If an endpoint receives a SETTINGS frame whose
        // Stream Identifier field is anything other than 0x00, the endpoint
        // MUST respond with a connection error (Section 5.4.1) of type
        // PROTOCOL_ERROR."
        if !head.stream_id.is_zero() {
            return Err(ProtoError::conn(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS on a non-zero stream",
            ));
        }
        let ack = head.has(flags::ACK);
        // RFC 9113 §6.5: "Receipt of a SETTINGS frame with the ACK flag set
        // and a length field value other than 0 MUST be treated as a
        // connection error (Section 5.4.1) of type FRAME_SIZE_ERROR."
        if ack && !payload.is_empty() {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "SETTINGS ACK with a payload",
            ));
        }
        // RFC 9113 §6.5: "A SETTINGS frame with a length other than a multiple
        // of 6 octets MUST be treated as a connection error (Section 5.4.1)
        // of type FRAME_SIZE_ERROR."
        if payload.len() % ENTRY_LEN != 0 {
            return Err(ProtoError::conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "SETTINGS length is not a multiple of 6",
            ));
        }
        // Abuse limit (CVE-2019-9515 family): checked before allocating.
        let count = payload.len() / ENTRY_LEN;
        if count > max_entries {
            return Err(ProtoError::conn(
                ErrorCode::ENHANCE_YOUR_CALM,
                "SETTINGS frame carries too many entries",
            ));
        }
        let mut params = Vec::with_capacity(count);
        while payload.remaining() >= ENTRY_LEN {
            let setting = Setting {
                id: SettingId(payload.get_u16()),
                value: payload.get_u32(),
            };
            setting.validate()?;
            params.push(setting);
        }
        Ok(Settings { ack, params })
    }

    /// The last value given to `id` in this frame, if any (later entries
    /// override earlier ones, §6.5.3).
    pub fn get(&self, id: SettingId) -> Option<u32> {
        self.params
            .iter()
            .rev()
            .find(|s| s.id == id)
            .map(|s| s.value)
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
        let f = if self.ack { flags::ACK } else { 0 };
        let len = self.params.len().saturating_mul(ENTRY_LEN);
        let head = Head::new(
            u32::try_from(len).unwrap_or(u32::MAX),
            FrameType::SETTINGS,
            f,
            StreamId::ZERO,
        );
        dst.reserve(super::HEADER_LEN.saturating_add(len));
        head.encode(dst);
        for s in &self.params {
            dst.put_u16(s.id.0);
            dst.put_u32(s.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Scope;

    fn head(flags: u8, stream: u32, len: usize) -> Head {
        Head::new(
            len as u32,
            FrameType::SETTINGS,
            flags,
            StreamId::new(stream),
        )
    }

    fn entry(id: u16, value: u32) -> Vec<u8> {
        let mut v = id.to_be_bytes().to_vec();
        v.extend_from_slice(&value.to_be_bytes());
        v
    }

    fn decode(flags: u8, payload: Vec<u8>) -> Result<Settings, ProtoError> {
        Settings::decode(&head(flags, 0, payload.len()), Bytes::from(payload), 32)
    }

    fn assert_conn(r: Result<Settings, ProtoError>, code: ErrorCode) {
        let e = r.unwrap_err();
        assert_eq!(e.code, code);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn test_parse() {
        let payload = [0, 3, 0, 0, 0, 100, 0, 4, 0, 1, 0, 0];
        let s = decode(0, payload.to_vec()).unwrap();
        assert_eq!(
            s,
            Settings {
                ack: false,
                params: vec![
                    Setting {
                        id: SettingId::MAX_CONCURRENT_STREAMS,
                        value: 100
                    },
                    Setting {
                        id: SettingId::INITIAL_WINDOW_SIZE,
                        value: 65_536
                    },
                ],
            }
        );
        assert_eq!(s.get(SettingId::MAX_CONCURRENT_STREAMS), Some(100));
        assert_eq!(s.get(SettingId::HEADER_TABLE_SIZE), None);
    }

    #[test]
    fn test_parse_ack() {
        assert_eq!(decode(flags::ACK, vec![]).unwrap(), Settings::ack());
    }

    #[test]
    fn test_emit() {
        let s = Settings {
            ack: false,
            params: vec![Setting {
                id: SettingId::ENABLE_PUSH,
                value: 0,
            }],
        };
        let mut dst = BytesMut::new();
        s.encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0]);
        let mut dst = BytesMut::new();
        Settings::ack().encode(&mut dst);
        assert_eq!(&dst[..], &[0, 0, 0, 4, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn duplicates_and_unknown_ids_kept_in_order() {
        let mut p = entry(0x1, 100);
        p.extend(entry(0xabcd, 7));
        p.extend(entry(0x1, 200));
        let s = decode(0, p).unwrap();
        assert_eq!(s.params.len(), 3);
        assert_eq!(s.params[1].id, SettingId(0xabcd));
        assert_eq!(s.params[1].value, 7);
        assert_eq!(s.get(SettingId::HEADER_TABLE_SIZE), Some(200));
    }

    #[test]
    fn non_zero_stream_is_connection_protocol_error() {
        let e = Settings::decode(&head(0, 1, 0), Bytes::new(), 32).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(e.scope, Scope::Connection);
    }

    #[test]
    fn ack_with_payload_is_frame_size_error() {
        assert_conn(decode(flags::ACK, entry(1, 0)), ErrorCode::FRAME_SIZE_ERROR);
    }

    #[test]
    fn length_not_multiple_of_six_is_frame_size_error() {
        assert_conn(decode(0, vec![0; 5]), ErrorCode::FRAME_SIZE_ERROR);
        assert_conn(decode(0, vec![0; 7]), ErrorCode::FRAME_SIZE_ERROR);
    }

    #[test]
    fn enable_push_above_one_is_protocol_error() {
        assert!(decode(0, entry(2, 1)).is_ok());
        assert_conn(decode(0, entry(2, 2)), ErrorCode::PROTOCOL_ERROR);
    }

    #[test]
    fn initial_window_size_above_max_is_flow_control_error() {
        assert!(decode(0, entry(4, MAX_WINDOW_SIZE)).is_ok());
        assert_conn(
            decode(0, entry(4, MAX_WINDOW_SIZE + 1)),
            ErrorCode::FLOW_CONTROL_ERROR,
        );
    }

    #[test]
    fn max_frame_size_range() {
        assert!(decode(0, entry(5, 16_384)).is_ok());
        assert!(decode(0, entry(5, 16_777_215)).is_ok());
        assert_conn(decode(0, entry(5, 16_383)), ErrorCode::PROTOCOL_ERROR);
        assert_conn(decode(0, entry(5, 16_777_216)), ErrorCode::PROTOCOL_ERROR);
        assert_conn(decode(0, entry(5, 0)), ErrorCode::PROTOCOL_ERROR);
    }

    #[test]
    fn too_many_entries_is_enhance_your_calm() {
        let p: Vec<u8> = (0..3).flat_map(|i| entry(0x100 + i, 0)).collect();
        let h = head(0, 0, p.len());
        assert_eq!(
            Settings::decode(&h, Bytes::from(p.clone()), 3)
                .unwrap()
                .params
                .len(),
            3
        );
        let e = Settings::decode(&h, Bytes::from(p), 2).unwrap_err();
        assert_eq!(e.code, ErrorCode::ENHANCE_YOUR_CALM);
        assert_eq!(e.scope, Scope::Connection);
    }
}
