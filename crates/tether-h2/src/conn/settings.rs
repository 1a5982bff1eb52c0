//! SETTINGS: what we advertise, and applying the server's (RFC 9113 §6.5).

use super::{Config, PeerSettings};
use crate::error::{ErrorCode, ProtoError};
use crate::frame::{Setting, SettingId, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW_SIZE};
use crate::frame::{MAX_MAX_FRAME_SIZE, MAX_WINDOW_SIZE};

/// The HPACK table size every endpoint starts with (RFC 7541 §4.2, §6.5.2).
pub(crate) const DEFAULT_HEADER_TABLE_SIZE: u32 = 4096;

/// The settings a server has before its first SETTINGS frame (§6.5.2 initial values).
pub(crate) fn peer_defaults() -> PeerSettings {
    PeerSettings {
        header_table_size: DEFAULT_HEADER_TABLE_SIZE,
        max_concurrent_streams: None,
        initial_window_size: DEFAULT_WINDOW_SIZE,
        max_frame_size: DEFAULT_MAX_FRAME_SIZE,
        max_header_list_size: None,
    }
}

/// `config.max_frame_size` within the §6.5.2 range.
pub(crate) fn our_max_frame_size(config: &Config) -> u32 {
    config
        .max_frame_size
        .clamp(DEFAULT_MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE)
}

/// `config.initial_stream_window` within the §6.5.2 range.
pub(crate) fn our_stream_window(config: &Config) -> u32 {
    config.initial_stream_window.min(MAX_WINDOW_SIZE)
}

/// Our first SETTINGS frame, in identifier order.
pub(crate) fn initial_settings(config: &Config) -> Vec<Setting> {
    let mut params = Vec::with_capacity(5);
    let mut push = |id, value| params.push(Setting { id, value });
    if config.header_table_size != DEFAULT_HEADER_TABLE_SIZE {
        push(SettingId::HEADER_TABLE_SIZE, config.header_table_size);
    }
    // gRPC clients never accept pushes (§8.4: a client disables them with 0).
    push(SettingId::ENABLE_PUSH, 0);
    push(SettingId::INITIAL_WINDOW_SIZE, our_stream_window(config));
    let mfs = our_max_frame_size(config);
    if mfs != DEFAULT_MAX_FRAME_SIZE {
        push(SettingId::MAX_FRAME_SIZE, mfs);
    }
    push(SettingId::MAX_HEADER_LIST_SIZE, config.max_header_list_size);
    params
}

/// What one server setting requires of the connection besides updating [`PeerSettings`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing more.
    None,
    /// Tell the HPACK encoder the new table size.
    HeaderTableSize(u32),
    /// Move every stream send window by this signed delta (§6.9.2).
    WindowDelta(i64),
    /// MAX_CONCURRENT_STREAMS changed: waiting streams may start.
    Concurrency,
}

/// Applies one server setting to `peer`, in order (§6.5.3).
pub(crate) fn apply(peer: &mut PeerSettings, s: Setting) -> Result<Effect, ProtoError> {
    Ok(match s.id {
        SettingId::HEADER_TABLE_SIZE => {
            peer.header_table_size = s.value;
            Effect::HeaderTableSize(s.value)
        }
        SettingId::ENABLE_PUSH => {
            // RFC 9113 §6.5.2: "A server MUST NOT explicitly set this value to
            // 1. A server MAY choose to omit this setting when it sends a
            // SETTINGS frame, but if a server does include a value, it MUST be
            // 0. A client MUST treat receipt of a SETTINGS frame with
            // SETTINGS_ENABLE_PUSH set to 1 as a connection error of type PROTOCOL_ERROR."
            if s.value != 0 {
                return Err(ProtoError::conn(
                    ErrorCode::PROTOCOL_ERROR,
                    "server sent SETTINGS_ENABLE_PUSH other than 0 (§6.5.2)",
                ));
            }
            Effect::None
        }
        SettingId::MAX_CONCURRENT_STREAMS => {
            // §5.1.2: a value of 0 (or below the active count) is not an
            // error; new streams wait.
            peer.max_concurrent_streams = Some(s.value);
            Effect::Concurrency
        }
        SettingId::INITIAL_WINDOW_SIZE => {
            // RFC 9113 §6.5.2: "Values above the maximum flow-control window
            // size of 2^31-1 MUST be treated as a connection error of type FLOW_CONTROL_ERROR."
            if s.value > MAX_WINDOW_SIZE {
                return Err(ProtoError::conn(
                    ErrorCode::FLOW_CONTROL_ERROR,
                    "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1 (§6.5.2)",
                ));
            }
            let delta = i64::from(s.value) - i64::from(peer.initial_window_size);
            peer.initial_window_size = s.value;
            Effect::WindowDelta(delta)
        }
        SettingId::MAX_FRAME_SIZE => {
            // RFC 9113 §6.5.2: values outside 2^14..2^24-1 "MUST be treated as
            // a connection error of type PROTOCOL_ERROR".
            if !(DEFAULT_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&s.value) {
                return Err(ProtoError::conn(
                    ErrorCode::PROTOCOL_ERROR,
                    "SETTINGS_MAX_FRAME_SIZE out of range (§6.5.2)",
                ));
            }
            peer.max_frame_size = s.value;
            Effect::None
        }
        SettingId::MAX_HEADER_LIST_SIZE => {
            peer.max_header_list_size = Some(s.value);
            Effect::None
        }
        // RFC 9113 §6.5.2: "An endpoint that receives a SETTINGS frame with
        // any unknown or unsupported identifier MUST ignore that setting."
        _ => Effect::None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn set(id: SettingId, value: u32) -> Setting {
        Setting { id, value }
    }

    #[test]
    fn initial_settings_default_and_custom() {
        let c = Config::default();
        assert_eq!(
            initial_settings(&c),
            vec![
                set(SettingId::ENABLE_PUSH, 0),
                set(SettingId::INITIAL_WINDOW_SIZE, 65_535),
                set(SettingId::MAX_HEADER_LIST_SIZE, 16 * 1024),
            ]
        );
        let c = Config {
            header_table_size: 0,
            max_frame_size: 1 << 20,
            initial_stream_window: u32::MAX,
            ..Config::default()
        };
        assert_eq!(
            initial_settings(&c),
            vec![
                set(SettingId::HEADER_TABLE_SIZE, 0),
                set(SettingId::ENABLE_PUSH, 0),
                set(SettingId::INITIAL_WINDOW_SIZE, MAX_WINDOW_SIZE),
                set(SettingId::MAX_FRAME_SIZE, 1 << 20),
                set(SettingId::MAX_HEADER_LIST_SIZE, 16 * 1024),
            ]
        );
    }

    #[test]
    fn apply_in_order_with_window_deltas() {
        let mut p = peer_defaults();
        assert_eq!(
            apply(&mut p, set(SettingId::INITIAL_WINDOW_SIZE, 100)),
            Ok(Effect::WindowDelta(100 - 65_535))
        );
        assert_eq!(
            apply(&mut p, set(SettingId::INITIAL_WINDOW_SIZE, 1000)),
            Ok(Effect::WindowDelta(900))
        );
        assert_eq!(p.initial_window_size, 1000);
        assert_eq!(
            apply(&mut p, set(SettingId::HEADER_TABLE_SIZE, 0)),
            Ok(Effect::HeaderTableSize(0))
        );
        assert_eq!(
            apply(&mut p, set(SettingId::MAX_CONCURRENT_STREAMS, 0)),
            Ok(Effect::Concurrency)
        );
        assert_eq!(p.max_concurrent_streams, Some(0));
        assert_eq!(
            apply(&mut p, set(SettingId::MAX_HEADER_LIST_SIZE, 10)),
            Ok(Effect::None)
        );
        assert_eq!(p.max_header_list_size, Some(10));
        assert_eq!(apply(&mut p, set(SettingId(0xff), 7)), Ok(Effect::None));
        assert_eq!(
            apply(&mut p, set(SettingId::ENABLE_PUSH, 0)),
            Ok(Effect::None)
        );
        assert_eq!(
            apply(&mut p, set(SettingId::MAX_FRAME_SIZE, 1 << 16)),
            Ok(Effect::None)
        );
        assert_eq!(p.max_frame_size, 1 << 16);
    }

    #[test]
    fn invalid_values_are_connection_errors() {
        let mut p = peer_defaults();
        let e = apply(&mut p, set(SettingId::ENABLE_PUSH, 1)).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (crate::Scope::Connection, ErrorCode::PROTOCOL_ERROR)
        );
        let e = apply(&mut p, set(SettingId::INITIAL_WINDOW_SIZE, 1 << 31)).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (crate::Scope::Connection, ErrorCode::FLOW_CONTROL_ERROR)
        );
        let e = apply(&mut p, set(SettingId::MAX_FRAME_SIZE, 16_383)).unwrap_err();
        assert_eq!(
            (e.scope, e.code),
            (crate::Scope::Connection, ErrorCode::PROTOCOL_ERROR)
        );
        let e = apply(&mut p, set(SettingId::MAX_FRAME_SIZE, 1 << 24)).unwrap_err();
        assert_eq!(e.code, ErrorCode::PROTOCOL_ERROR);
        assert_eq!(p, peer_defaults());
    }
}
