//! The request header block (PROTOCOL-HTTP2.md, "Requests").
//!
//! ```text
//! :method POST, :scheme, :path, :authority,
//! te: trailers, content-type: application/grpc, user-agent,
//! [grpc-timeout], [grpc-encoding], [grpc-accept-encoding], custom metadata...
//! ```

use super::compression::Encoding;
use super::timeout::TimeoutValue;
use crate::metadata::Metadata;
use bytes::Bytes;
use std::time::Duration;
use tether_h2::hpack::FieldRef;

/// The default `user-agent`: `tether/<crate version>`.
pub const USER_AGENT: &str = concat!("tether/", env!("CARGO_PKG_VERSION"));

/// The number of fields every request has (four pseudo-headers, `te`,
/// `content-type`, `user-agent`).
const FIXED_FIELDS: usize = 7;

/// The URI scheme of the request (`:scheme`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Plaintext HTTP/2 (h2c).
    Http,
    /// HTTP/2 over TLS.
    Https,
}

impl Scheme {
    /// `"http"` or `"https"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// The `user-agent` value: `tether/<version>`, after the application's
/// `prefix` when there is one (`"my-app/1.2 tether/0.1.0"`). A channel
/// computes it once and shares it between calls.
pub fn user_agent(prefix: Option<&str>) -> Bytes {
    match prefix {
        Some(p) if !p.is_empty() => Bytes::from(format!("{p} {USER_AGENT}")),
        _ => Bytes::from_static(USER_AGENT.as_bytes()),
    }
}

/// The header block of one call, ready to hand to
/// [`tether_h2::Connection::open_stream`].
///
/// The authority, path and user agent are [`Bytes`], so a channel and
/// generated code share them between calls without copying. Binary metadata
/// is base64-encoded once, into one buffer, when the metadata is set.
/// [`RequestHead::fields`] then lists every field with a single allocation.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use std::time::Duration;
/// use tether::grpc::{encode_message, framing, RequestHead, Scheme};
/// use tether::{BytesCodec, Metadata};
///
/// let mut metadata = Metadata::new();
/// metadata.append("x-request-id", "42").unwrap();
/// let head = RequestHead::new(Scheme::Http, "localhost:50051", "/echo.Echo/Say")
///     .with_timeout(Duration::from_secs(2))
///     .with_metadata(metadata);
/// let fields = head.fields(); // hand to tether_h2::Connection::open_stream
/// assert_eq!(fields[0].name, b":method");
/// assert_eq!(fields[7].value, b"2000000u"); // grpc-timeout
///
/// let mut body = BytesMut::new();
/// let max = framing::DEFAULT_MAX_SEND_MESSAGE_SIZE;
/// encode_message(&mut BytesCodec, &Bytes::from_static(b"hi"), &mut body, max).unwrap();
/// assert_eq!(&body[..], b"\0\0\0\0\x02hi"); // then Connection::send_data
/// ```
#[derive(Clone, Debug)]
pub struct RequestHead {
    scheme: Scheme,
    authority: Bytes,
    path: Bytes,
    user_agent: Bytes,
    timeout: Option<TimeoutValue>,
    accept_encoding: Option<Bytes>,
    encoding: Option<Encoding>,
    metadata: Metadata,
    /// The wire form of the binary metadata values, in order.
    binary: Vec<u8>,
    /// `grpc-previous-rpc-attempts` (gRFC A6), on attempts after the first.
    previous_attempts: Option<Bytes>,
}

impl RequestHead {
    /// A request for `path` (`/package.Service/Method`) at `authority`
    /// (`host:port`), with the default user agent, no deadline and no metadata.
    pub fn new(scheme: Scheme, authority: impl Into<Bytes>, path: impl Into<Bytes>) -> Self {
        RequestHead {
            scheme,
            authority: authority.into(),
            path: path.into(),
            user_agent: Bytes::from_static(USER_AGENT.as_bytes()),
            timeout: None,
            accept_encoding: None,
            encoding: None,
            metadata: Metadata::new(),
            binary: Vec::new(),
            previous_attempts: None,
        }
    }

    /// Sends `grpc-previous-rpc-attempts: n` (gRFC A6): the number of
    /// attempts of this call made before this one (none for 0).
    pub fn with_previous_attempts(mut self, n: u32) -> Self {
        self.previous_attempts = (n > 0).then(|| Bytes::from(n.to_string()));
        self
    }

    /// The `:path` (`/package.Service/Method`).
    pub fn path(&self) -> &[u8] {
        &self.path
    }

    /// Uses this `user-agent` value (see [`user_agent`]).
    pub fn with_user_agent(mut self, user_agent: Bytes) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Sends `grpc-timeout` for the time left until the call's deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(TimeoutValue::from_duration(timeout));
        self
    }

    /// Sends `grpc-accept-encoding` with this list (`"gzip,identity"`); only
    /// for a client that can decompress those encodings.
    pub fn with_accept_encoding(mut self, encodings: Bytes) -> Self {
        self.accept_encoding = Some(encodings);
        self
    }

    /// Sends `grpc-encoding` naming how the request messages are
    /// compressed (nothing for [`Encoding::Identity`]).
    pub fn with_encoding(mut self, encoding: Encoding) -> Self {
        self.encoding = (encoding != Encoding::Identity).then_some(encoding);
        self
    }

    /// Sends this custom metadata after the gRPC fields.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.binary.clear();
        metadata.encode_binary_values(&mut self.binary);
        self.metadata = metadata;
        self
    }

    /// The custom metadata.
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// The `grpc-timeout` value, if a deadline was set.
    pub fn timeout(&self) -> Option<TimeoutValue> {
        self.timeout
    }

    /// The number of fields [`RequestHead::fields`] returns.
    pub fn field_count(&self) -> usize {
        FIXED_FIELDS
            + usize::from(self.timeout.is_some())
            + usize::from(self.accept_encoding.is_some())
            + usize::from(self.encoding.is_some())
            + usize::from(self.previous_attempts.is_some())
            + self.metadata.len()
    }

    /// Every field, pseudo-headers first, borrowing from `self` (one
    /// allocation: the returned vector, sized exactly).
    pub fn fields(&self) -> Vec<FieldRef<'_>> {
        let mut fields = Vec::with_capacity(self.field_count());
        self.fields_into(&mut fields);
        fields
    }

    /// Appends every field, pseudo-headers first, to `out`: a driver reuses
    /// one vector for every call (no allocation once it is large enough).
    pub fn fields_into<'a>(&'a self, out: &mut Vec<FieldRef<'a>>) {
        out.reserve(self.field_count());
        out.extend([
            FieldRef::new(b":method", b"POST"),
            FieldRef::new(b":scheme", self.scheme.as_str().as_bytes()),
            FieldRef::new(b":path", &self.path),
            FieldRef::new(b":authority", &self.authority),
            FieldRef::new(b"te", b"trailers"),
            FieldRef::new(b"content-type", b"application/grpc"),
            FieldRef::new(b"user-agent", &self.user_agent),
        ]);
        if let Some(t) = &self.timeout {
            out.push(FieldRef::new(b"grpc-timeout", t.as_bytes()));
        }
        if let Some(e) = &self.encoding {
            out.push(FieldRef::new(b"grpc-encoding", e.as_str().as_bytes()));
        }
        if let Some(e) = &self.accept_encoding {
            out.push(FieldRef::new(b"grpc-accept-encoding", e));
        }
        if let Some(n) = &self.previous_attempts {
            out.push(FieldRef::new(b"grpc-previous-rpc-attempts", n));
        }
        out.extend(
            self.metadata
                .wire_fields(&self.binary)
                .map(|(name, value)| FieldRef::new(name, value)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(head: &RequestHead) -> Vec<(String, String)> {
        head.fields()
            .iter()
            .map(|f| {
                (
                    String::from_utf8(f.name.to_vec()).unwrap(),
                    String::from_utf8(f.value.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    fn p(name: &str, value: &str) -> (String, String) {
        (name.to_owned(), value.to_owned())
    }

    #[test]
    fn minimal_request() {
        let head = RequestHead::new(
            Scheme::Http,
            "localhost:50051",
            "/grpc.health.v1.Health/Check",
        );
        assert_eq!(
            pairs(&head),
            [
                p(":method", "POST"),
                p(":scheme", "http"),
                p(":path", "/grpc.health.v1.Health/Check"),
                p(":authority", "localhost:50051"),
                p("te", "trailers"),
                p("content-type", "application/grpc"),
                p("user-agent", USER_AGENT),
            ]
        );
        assert_eq!(head.field_count(), 7);
        assert!(USER_AGENT.starts_with("tether/0."));
    }

    #[test]
    fn full_request_orders_fields() {
        let mut md = Metadata::new();
        md.append("authorization", "Bearer t").unwrap();
        md.append_bin("trace-bin", vec![0xff, 0x00]).unwrap();
        md.append("x-id", "7").unwrap();
        let head = RequestHead::new(Scheme::Https, "api.example:443", "/s.S/M")
            .with_user_agent(user_agent(Some("app/1")))
            .with_timeout(Duration::from_millis(250))
            .with_accept_encoding(Bytes::from_static(b"gzip"))
            .with_metadata(md);
        let fields = head.fields();
        assert_eq!(fields.len(), head.field_count());
        assert_eq!(fields.capacity(), head.field_count(), "sized exactly");
        assert_eq!(
            pairs(&head)[1..],
            [
                p(":scheme", "https"),
                p(":path", "/s.S/M"),
                p(":authority", "api.example:443"),
                p("te", "trailers"),
                p("content-type", "application/grpc"),
                p("user-agent", &format!("app/1 {USER_AGENT}")),
                p("grpc-timeout", "250000u"),
                p("grpc-accept-encoding", "gzip"),
                p("authorization", "Bearer t"),
                p("trace-bin", "/wA"),
                p("x-id", "7"),
            ]
        );
        assert!(fields.iter().all(|f| !f.sensitive));
    }

    #[test]
    fn fields_borrow_shared_bytes() {
        let path = Bytes::from_static(b"/a.B/C");
        let head = RequestHead::new(Scheme::Http, "h", path.clone());
        assert_eq!(head.fields()[2].value.as_ptr(), path.as_ptr());
    }

    #[test]
    fn empty_prefix_is_default_user_agent() {
        assert_eq!(user_agent(None), USER_AGENT.as_bytes());
        assert_eq!(user_agent(Some("")), USER_AGENT.as_bytes());
    }
}
