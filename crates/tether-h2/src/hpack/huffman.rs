//! Huffman coding of string literals (RFC 7541 §5.2, Appendix B).

use bytes::BytesMut;
use std::fmt;

/// Malformed Huffman data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// Padding longer than 7 bits.
    PaddingTooLong,
    /// Padding not made of the most significant bits of EOS (all ones).
    BadPadding,
    /// The EOS symbol inside the string.
    Eos,
}

impl fmt::Display for HuffmanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HuffmanError::PaddingTooLong => "huffman padding longer than 7 bits",
            HuffmanError::BadPadding => "huffman padding is not a prefix of EOS",
            HuffmanError::Eos => "huffman EOS symbol inside a string",
        })
    }
}

impl std::error::Error for HuffmanError {}

/// The length of `src` once Huffman coded.
pub fn encoded_len(src: &[u8]) -> usize {
    let _ = src;
    todo!("hpack helper")
}

/// Appends the Huffman coding of `src` to `dst`.
pub fn encode(src: &[u8], dst: &mut BytesMut) {
    let _ = (src, dst);
    todo!("hpack helper")
}

/// Appends the decoding of `src` to `dst`.
pub fn decode(src: &[u8], dst: &mut BytesMut) -> Result<(), HuffmanError> {
    let _ = (src, dst);
    todo!("hpack helper")
}
