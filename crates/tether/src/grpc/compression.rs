//! Message compression (grpc/grpc `doc/compression.md`).
//!
//! A message whose prefix has the Compressed-Flag set is compressed with the
//! stream's `grpc-encoding`. tether offers `grpc-accept-encoding: gzip` on
//! every request, so a server may compress its responses with gzip; a
//! request is compressed only when the call or the channel asks for it
//! ([`crate::Request::with_compression`],
//! [`crate::ChannelBuilder::send_compressed`]).
//!
//! Decompression is bounded: a message that inflates past the receive limit
//! is RESOURCE_EXHAUSTED as soon as the limit is crossed, without inflating
//! the rest (a compression bomb costs at most the limit in memory).

use crate::status::Status;
use bytes::{BufMut, Bytes, BytesMut};
use std::io::{Read, Write};

/// The encodings tether can decompress, as sent in `grpc-accept-encoding`.
pub const ACCEPT_ENCODING: &str = "gzip";

/// A message encoding (`grpc-encoding`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Encoding {
    /// No compression (the default).
    #[default]
    Identity,
    /// gzip (RFC 1952).
    Gzip,
}

impl Encoding {
    /// The `grpc-encoding` value: `"identity"` or `"gzip"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Identity => "identity",
            Encoding::Gzip => "gzip",
        }
    }

    /// The encoding a `grpc-encoding` value names, if tether supports it.
    pub fn from_name(name: &[u8]) -> Option<Encoding> {
        match name {
            b"identity" => Some(Encoding::Identity),
            b"gzip" => Some(Encoding::Gzip),
            _ => None,
        }
    }
}

/// Appends `data` compressed with `encoding` to `dst`.
pub(crate) fn compress(encoding: Encoding, data: &[u8], dst: &mut BytesMut) -> Result<(), Status> {
    match encoding {
        Encoding::Identity => {
            dst.extend_from_slice(data);
            Ok(())
        }
        Encoding::Gzip => {
            let mut gz =
                flate2::write::GzEncoder::new(dst.writer(), flate2::Compression::default());
            gz.write_all(data)
                .and_then(|()| gz.finish().map(drop))
                .map_err(|e| Status::internal(format!("gzip compression failed: {e}")))
        }
    }
}

/// Decompresses one message received with `encoding`, refusing to produce
/// more than `max_len` bytes (RESOURCE_EXHAUSTED); corrupt input is INTERNAL.
pub fn decompress(encoding: Encoding, data: &[u8], max_len: usize) -> Result<Bytes, Status> {
    match encoding {
        Encoding::Identity => Ok(Bytes::copy_from_slice(data)),
        Encoding::Gzip => {
            let mut out = Vec::new();
            // One byte more than allowed tells "over the limit" from "at it".
            let limit = u64::try_from(max_len).unwrap_or(u64::MAX).saturating_add(1);
            flate2::read::GzDecoder::new(data)
                .take(limit)
                .read_to_end(&mut out)
                .map_err(|e| Status::internal(format!("corrupt gzip message: {e}")))?;
            if out.len() > max_len {
                return Err(Status::resource_exhausted(format!(
                    "decompressed message larger than the limit (> {max_len} bytes)"
                )));
            }
            Ok(Bytes::from(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Code;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        compress(Encoding::Gzip, data, &mut out).unwrap();
        out.to_vec()
    }

    #[test]
    fn gzip_round_trips() {
        let data = b"hello hello hello hello".repeat(100);
        let packed = gzip(&data);
        assert!(packed.len() < data.len() / 4, "{} bytes", packed.len());
        assert_eq!(packed[..2], [0x1f, 0x8b], "gzip magic");
        let back = decompress(Encoding::Gzip, &packed, data.len()).unwrap();
        assert_eq!(&back[..], &data[..]);
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        // 64 MiB of zeros packs into about 64 KiB.
        let packed = gzip(&vec![0u8; 64 << 20]);
        assert!(packed.len() < 128 << 10);
        let err = decompress(Encoding::Gzip, &packed, 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted, "{err}");
        // Exactly at the limit is fine.
        let packed = gzip(&[1u8; 1000]);
        assert_eq!(
            decompress(Encoding::Gzip, &packed, 1000).unwrap().len(),
            1000
        );
        let err = decompress(Encoding::Gzip, &packed, 999).unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
    }

    #[test]
    fn corrupt_gzip_is_internal() {
        let mut packed = gzip(b"some message");
        let n = packed.len();
        packed[n - 6] ^= 0xff; // the CRC32
        let err = decompress(Encoding::Gzip, &packed, 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
        let err = decompress(Encoding::Gzip, b"not gzip at all", 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
        let err = decompress(Encoding::Gzip, b"", 1 << 20).unwrap_err();
        assert_eq!(err.code(), Code::Internal, "{err}");
    }

    #[test]
    fn names() {
        assert_eq!(Encoding::from_name(b"gzip"), Some(Encoding::Gzip));
        assert_eq!(Encoding::from_name(b"identity"), Some(Encoding::Identity));
        assert_eq!(Encoding::from_name(b"br"), None);
        assert_eq!(Encoding::Gzip.as_str(), "gzip");
    }
}
