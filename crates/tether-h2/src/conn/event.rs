//! Events for the application, from [`super::Connection::poll_event`].

use crate::error::{ErrorCode, ProtoError};
use crate::frame::StreamId;
use crate::hpack::HeaderField;
use bytes::Bytes;
use std::time::Duration;

/// The server's settings as they stand after a SETTINGS frame.
///
/// `#[non_exhaustive]`: read the fields; settings may be added.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerSettings {
    /// SETTINGS_HEADER_TABLE_SIZE.
    pub header_table_size: u32,
    /// SETTINGS_MAX_CONCURRENT_STREAMS (`None`: unlimited).
    pub max_concurrent_streams: Option<u32>,
    /// SETTINGS_INITIAL_WINDOW_SIZE.
    pub initial_window_size: u32,
    /// SETTINGS_MAX_FRAME_SIZE.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE (`None`: unlimited).
    pub max_header_list_size: Option<u32>,
}

/// A response header block (the final, non-1xx one).
///
/// `#[non_exhaustive]`: read the fields; build one with [`ResponseHead::new`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseHead {
    /// `:status`.
    pub status: u16,
    /// The regular fields, pseudo-headers removed.
    pub fields: Vec<HeaderField>,
}

impl ResponseHead {
    /// A response head with `status` and the regular `fields`.
    pub fn new(status: u16, fields: Vec<HeaderField>) -> ResponseHead {
        ResponseHead { status, fields }
    }
}

/// A GOAWAY from the server.
///
/// `#[non_exhaustive]`: read the fields; build one with [`GoAwayInfo::new`]
/// and assign `unprocessed` if needed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GoAwayInfo {
    /// The last stream the server may have processed.
    pub last_stream_id: StreamId,
    /// The error code.
    pub code: ErrorCode,
    /// Debug data, capped at `Limits::max_goaway_debug`.
    pub debug_data: Bytes,
    /// Our streams above `last_stream_id`: never processed, safe to retry
    /// on another connection (§6.8). They are listed here only (no
    /// [`Event::StreamReset`] follows for them) and then forgotten.
    pub unprocessed: Vec<StreamId>,
    /// ENHANCE_YOUR_CALM with debug data "too_many_pings" (gRFC A8): the
    /// channel should double its keepalive time for new connections.
    pub too_many_pings: bool,
}

impl GoAwayInfo {
    /// The GOAWAY as received (`debug_data` already capped), with no
    /// unprocessed streams; `too_many_pings` is derived from the code and
    /// the debug data (gRFC A8).
    pub fn new(last_stream_id: StreamId, code: ErrorCode, debug_data: Bytes) -> GoAwayInfo {
        GoAwayInfo {
            last_stream_id,
            code,
            too_many_pings: code == ErrorCode::ENHANCE_YOUR_CALM
                && &debug_data[..] == b"too_many_pings",
            debug_data,
            unprocessed: Vec::new(),
        }
    }
}

/// Why the connection ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We detected a connection error and sent GOAWAY with its code.
    Protocol(ProtoError),
    /// The server sent GOAWAY and every remaining stream has finished (or it
    /// sent an error code, ending them).
    GoAway(GoAwayInfo),
    /// The keepalive PING was not acknowledged in time (gRFC A8).
    KeepaliveTimeout,
    /// Our SETTINGS were not acknowledged in time (§6.5.3).
    SettingsTimeout,
    /// The transport closed (end of file or error) without GOAWAY.
    TransportClosed,
    /// We closed it ([`super::Connection::close`]) and everything finished.
    Local,
}

/// Something the application should know.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The server's first SETTINGS arrived: the connection is established.
    Connected(PeerSettings),
    /// A later SETTINGS frame changed the server's settings.
    SettingsChanged(PeerSettings),
    /// The server acknowledged our SETTINGS.
    SettingsAcked,
    /// A stream that waited for MAX_CONCURRENT_STREAMS has sent its HEADERS.
    StreamStarted(StreamId),
    /// The response head of a stream. `end_stream` marks a Trailers-Only response.
    Headers {
        /// The stream.
        stream_id: StreamId,
        /// Status and fields.
        head: ResponseHead,
        /// END_STREAM was set (no DATA or trailers follow).
        end_stream: bool,
    },
    /// Response body bytes. Call `release_capacity` once consumed.
    Data {
        /// The stream.
        stream_id: StreamId,
        /// The bytes (a slice of the read buffer).
        data: Bytes,
        /// END_STREAM was set (no trailers will come).
        end_stream: bool,
    },
    /// Trailers; the stream has ended.
    Trailers {
        /// The stream.
        stream_id: StreamId,
        /// The trailer fields.
        fields: Vec<HeaderField>,
    },
    /// The stream ended abnormally. The fields tell the three cases apart:
    /// - the server reset it: `remote: true`, `error: None`;
    /// - we reset it because the server broke a rule: `remote: false`,
    ///   `error: Some(..)` (stream scope; connection scope when a connection
    ///   error ends every stream, and `Closed(Protocol)` follows);
    /// - the connection died under it (end of file, keepalive timeout):
    ///   `remote: false`, `error: None`, code CANCEL, and [`Event::Closed`]
    ///   follows with the reason (the tests pin this: conn_basics a7).
    StreamReset {
        /// The stream.
        stream_id: StreamId,
        /// The RST_STREAM code (received or sent).
        code: ErrorCode,
        /// Whether the server sent it.
        remote: bool,
        /// The stream error we detected, when we reset it.
        error: Option<ProtoError>,
    },
    /// The stream's send buffer has room again.
    SendReady(StreamId),
    /// A PING we sent was acknowledged.
    PingAck {
        /// The user ping, or `None` for keepalive and BDP pings.
        id: Option<super::PingId>,
        /// Round-trip time.
        rtt: Duration,
    },
    /// The server sent GOAWAY. No new streams may be opened.
    GoAway(GoAwayInfo),
    /// The connection has ended; no more events follow. Streams still open
    /// got [`Event::StreamReset`] (or are listed as unprocessed) before this.
    Closed(CloseReason),
}
