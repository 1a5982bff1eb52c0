//! Connection configuration: what we advertise, keepalive, and abuse limits.

use std::time::Duration;

/// Keepalive per gRFC A8.
///
/// Built with [`Keepalive::new`] and the builder methods (the struct is
/// `#[non_exhaustive]`: knobs may be added); the fields stay public to read.
///
/// ```
/// use std::time::Duration;
/// use tether_h2::Keepalive;
///
/// let ka = Keepalive::new(Duration::from_secs(60), Duration::from_secs(20))
///     .permit_without_calls(true)
///     .min_ping_interval(Duration::from_secs(300))
///     .max_pings_without_data(2);
/// assert_eq!(ka.max_pings_without_data, Some(2));
/// ```
///
/// Servers police PINGs: gRPC servers answer a client that pings more often
/// than they permit (grpc-go's default: once per 5 minutes while no call is
/// open) with GOAWAY ENHANCE_YOUR_CALM "too_many_pings" (gRFC A8), and the
/// connection is lost. `min_ping_interval` and `max_pings_without_data` are
/// the two knobs C-core and grpc-js offer to stay under such a policy; both
/// are off by default here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Keepalive {
    /// Send a PING when nothing has been read for this long.
    pub time: Duration,
    /// Close the connection when the PING is not acknowledged within this.
    pub timeout: Duration,
    /// Also ping while no stream is open (default `false`).
    pub permit_without_calls: bool,
    /// No two keepalive PINGs closer together than this (like C-core's
    /// `GRPC_ARG_HTTP2_MIN_SENT_PING_INTERVAL_WITHOUT_DATA_MS`). `None`
    /// (default): only `time` spaces them. Set above the server's permitted
    /// interval it is harmless but delays the detection of a dead peer.
    pub min_ping_interval: Option<Duration>,
    /// After this many keepalive PINGs without a DATA or HEADERS frame sent
    /// by us in between, send no more until we send one (like C-core's
    /// `GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA`, which defaults to 2 there).
    /// `None` (default): no limit. Trap: while the limit holds, nothing
    /// probes the connection, so a dead peer under a long-idle stream (a
    /// server stream waiting for rare messages) goes undetected until the
    /// next request is sent.
    pub max_pings_without_data: Option<u32>,
}

impl Keepalive {
    /// A PING after `time` without reads; the connection is closed if
    /// nothing is read within `timeout` after it. Only while a stream is
    /// open, with no minimum interval and no limit without data.
    pub fn new(time: Duration, timeout: Duration) -> Keepalive {
        Keepalive {
            time,
            timeout,
            permit_without_calls: false,
            min_ping_interval: None,
            max_pings_without_data: None,
        }
    }

    /// Also ping while no stream is open.
    #[must_use]
    pub fn permit_without_calls(mut self, permit: bool) -> Keepalive {
        self.permit_without_calls = permit;
        self
    }

    /// Sets the `min_ping_interval` field (off by default).
    #[must_use]
    pub fn min_ping_interval(mut self, interval: Duration) -> Keepalive {
        self.min_ping_interval = Some(interval);
        self
    }

    /// Sets the `max_pings_without_data` field (off by default).
    #[must_use]
    pub fn max_pings_without_data(mut self, max: u32) -> Keepalive {
        self.max_pings_without_data = Some(max);
        self
    }
}

/// Abuse limits (`docs/hostile-peers.md` section K). Passing one ends the
/// connection with GOAWAY ENHANCE_YOUR_CALM unless said otherwise.
///
/// `#[non_exhaustive]` (limits may be added): start from
/// [`Limits::default`] and assign the fields to change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// CONTINUATION frames after one HEADERS.
    pub max_continuation_frames: u32,
    /// Encoded bytes of one field block.
    pub max_header_block_bytes: u32,
    /// Entries in one SETTINGS frame.
    pub max_settings_entries: usize,
    /// PING and SETTINGS ACKs queued but not yet taken by `poll_transmit`.
    pub max_queued_acks: usize,
    /// Streams we reset because of the peer's errors, per connection.
    pub max_local_resets: u32,
    /// DATA frames with no payload and no END_STREAM, per connection.
    pub max_empty_data_frames: u32,
    /// 1xx header blocks per stream.
    pub max_informational: u32,
    /// Bytes of GOAWAY debug data kept (the rest is dropped).
    pub max_goaway_debug: usize,
    /// PRIORITY and unknown-type frames per connection.
    pub max_ignored_frames: u32,
    /// How long frames for a stream we reset are silently absorbed.
    pub reset_grace: Duration,
    /// Bytes queued on one stream's send buffer before `send_data` refuses.
    pub max_send_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_continuation_frames: 64,
            max_header_block_bytes: 256 * 1024,
            max_settings_entries: 32,
            max_queued_acks: 64,
            max_local_resets: 1024,
            max_empty_data_frames: 100,
            max_informational: 16,
            max_goaway_debug: 1024,
            max_ignored_frames: 10_000,
            reset_grace: Duration::from_secs(1),
            max_send_buffer: 1024 * 1024,
        }
    }
}

/// Configuration of a [`super::Connection`].
///
/// The struct is `#[non_exhaustive]` (settings may be added), so it cannot
/// be built with a struct literal outside this crate: start from
/// [`Config::default`] and assign the public fields to change.
///
/// ```
/// use std::time::Duration;
/// use tether_h2::{Config, Keepalive};
///
/// let mut config = Config::default();
/// config.max_frame_size = 64 * 1024;
/// config.keepalive = Some(Keepalive::new(Duration::from_secs(60), Duration::from_secs(20)));
/// config.limits.reset_grace = Duration::from_secs(2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Our initial stream receive window (SETTINGS_INITIAL_WINDOW_SIZE).
    pub initial_stream_window: u32,
    /// Our connection receive window (raised from 65,535 by a WINDOW_UPDATE at start).
    pub initial_connection_window: u32,
    /// Grow receive windows from measured bandwidth-delay product (as grpc-go does).
    pub bdp_window: bool,
    /// SETTINGS_MAX_FRAME_SIZE we advertise.
    pub max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise and enforce on responses.
    pub max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise (our HPACK decoder's table).
    pub header_table_size: u32,
    /// The most our HPACK encoder's table uses, whatever the peer allows.
    pub encoder_table_cap: u32,
    /// Streams allowed before the server's first SETTINGS arrives.
    pub initial_max_concurrent_streams: u32,
    /// How long the server may take to acknowledge our SETTINGS (§6.5.3).
    pub settings_timeout: Duration,
    /// Keepalive, off by default (as in gRPC).
    pub keepalive: Option<Keepalive>,
    /// Abuse limits.
    pub limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            initial_stream_window: 65_535,
            initial_connection_window: 1024 * 1024,
            bdp_window: true,
            max_frame_size: crate::frame::DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: 16 * 1024,
            header_table_size: 4096,
            encoder_table_cap: 4096,
            initial_max_concurrent_streams: 100,
            settings_timeout: Duration::from_secs(10),
            keepalive: None,
            limits: Limits::default(),
        }
    }
}
