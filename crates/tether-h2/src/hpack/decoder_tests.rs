//! Unit tests of the decoder: RFC 7541 C.1/C.2 and every malformed input of
//! §4.2, §5.1, §5.2 and §6.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

fn decode_all(d: &mut Decoder, block: &Bytes) -> Result<Vec<(String, String)>, DecodeError> {
    let mut out = Vec::new();
    d.decode(block, usize::MAX, |f| {
        out.push((
            String::from_utf8(f.name.to_vec()).unwrap(),
            String::from_utf8(f.value.to_vec()).unwrap(),
        ))
    })?;
    Ok(out)
}

fn err(block: &str) -> DecodeError {
    decode_all(&mut Decoder::new(4096), &hex(block)).unwrap_err()
}

fn int(block: &[u8], prefix: u8) -> Result<u64, DecodeError> {
    let mut pos = 0;
    read_int(block, &mut pos, prefix)
}

#[test]
fn c1_integers() {
    // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix;
    // C.1.3: 42 at an octet boundary.
    assert_eq!(int(&[0x0a], 5), Ok(10));
    assert_eq!(int(&[0x1f, 0x9a, 0x0a], 5), Ok(1337));
    assert_eq!(int(&[0x2a], 8), Ok(42));
}

#[test]
fn integer_limits() {
    // 2^32 - 1 with a 5-bit prefix is accepted; 2^32 is not.
    assert_eq!(
        int(&[0x1f, 0xe0, 0xff, 0xff, 0xff, 0x0f], 5),
        Ok(u64::from(u32::MAX))
    );
    assert_eq!(
        int(&[0x1f, 0xe1, 0xff, 0xff, 0xff, 0x0f], 5),
        Err(DecodeError::IntegerOverflow)
    );
    // Six continuation octets (HOSTILE #29): overflow, even though zero-padded.
    assert_eq!(
        int(&[0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00], 5),
        Err(DecodeError::IntegerOverflow)
    );
    assert_eq!(err("3f ff ff ff ff ff ff ff"), DecodeError::IntegerOverflow);
    // Five continuation octets ending with zero payload are fine.
    assert_eq!(int(&[0x1f, 0x81, 0x80, 0x80, 0x80, 0x00], 5), Ok(32));
}

#[test]
fn integer_truncated() {
    assert_eq!(int(&[0x1f], 5), Err(DecodeError::Truncated));
    assert_eq!(int(&[0x1f, 0x9a], 5), Err(DecodeError::Truncated));
    assert_eq!(err("ff"), DecodeError::Truncated);
}

#[test]
fn c2_1_literal_with_indexing() {
    let mut d = Decoder::new(4096);
    let block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    let fields = decode_all(&mut d, &block).unwrap();
    assert_eq!(fields, vec![("custom-key".into(), "custom-header".into())]);
    assert_eq!(d.table_size(), 55);
    assert_eq!(d.table().len(), 1);
}

#[test]
fn c2_2_literal_without_indexing() {
    let mut d = Decoder::new(4096);
    let block = hex("040c 2f73 616d 706c 652f 7061 7468");
    let fields = decode_all(&mut d, &block).unwrap();
    assert_eq!(fields, vec![(":path".into(), "/sample/path".into())]);
    assert_eq!(d.table_size(), 0);
}

#[test]
fn c2_3_literal_never_indexed() {
    let mut d = Decoder::new(4096);
    let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    let fields = decode_all(&mut d, &block).unwrap();
    assert_eq!(fields, vec![("password".into(), "secret".into())]);
    assert_eq!(d.table_size(), 0);
}

#[test]
fn c2_4_indexed() {
    let mut d = Decoder::new(4096);
    let fields = decode_all(&mut d, &hex("82")).unwrap();
    assert_eq!(fields, vec![(":method".into(), "GET".into())]);
    assert_eq!(d.table_size(), 0);
}

#[test]
fn index_zero() {
    // RFC 7541 §6.1.
    assert_eq!(err("80"), DecodeError::ZeroIndex);
}

#[test]
fn index_past_tables() {
    // RFC 7541 §2.3.3: 62 with an empty dynamic table.
    assert_eq!(err("be"), DecodeError::IndexOutOfRange(62));
    // Literal whose name index is past the tables.
    assert_eq!(err("7f 00 01 61"), DecodeError::IndexOutOfRange(63));
    // Literal with name index 0 is a new name, not an error.
    assert_eq!(
        decode_all(&mut Decoder::new(4096), &hex("00 01 61 01 62"))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn index_into_dynamic_table() {
    let mut d = Decoder::new(4096);
    decode_all(&mut d, &hex("40 01 61 01 62")).unwrap();
    assert_eq!(
        decode_all(&mut d, &hex("be")).unwrap(),
        vec![("a".into(), "b".into())]
    );
    assert_eq!(err("bf"), DecodeError::IndexOutOfRange(63));
}

#[test]
fn size_update_after_field() {
    // RFC 7541 §4.2: only at the beginning of a block.
    assert_eq!(err("82 20"), DecodeError::SizeUpdateNotAtStart);
}

#[test]
fn several_size_updates_at_start() {
    let mut d = Decoder::new(4096);
    decode_all(&mut d, &hex("40 01 61 01 62")).unwrap();
    let fields = decode_all(&mut d, &hex("20 3f e1 1f 82")).unwrap();
    assert_eq!(fields.len(), 1);
    // The update to 0 emptied the table.
    assert_eq!(
        (d.table_size(), d.table().len(), d.table().max_size()),
        (0, 0, 4096)
    );
}

#[test]
fn size_update_above_limit() {
    // RFC 7541 §6.3: 4097 > 4096.
    assert_eq!(err("3f e2 1f"), DecodeError::SizeUpdateTooLarge(4097));
    let mut d = Decoder::new(0);
    assert_eq!(
        decode_all(&mut d, &hex("21")),
        Err(DecodeError::SizeUpdateTooLarge(1))
    );
}

#[test]
fn lowered_limit_requires_update() {
    let mut d = Decoder::new(4096);
    d.set_max_table_size(100);
    assert_eq!(
        decode_all(&mut d, &hex("82")),
        Err(DecodeError::SizeUpdateMissing)
    );
    let mut d = Decoder::new(4096);
    d.set_max_table_size(100);
    assert_eq!(
        decode_all(&mut d, &Bytes::new()),
        Err(DecodeError::SizeUpdateMissing)
    );
    let mut d = Decoder::new(4096);
    d.set_max_table_size(100);
    assert_eq!(decode_all(&mut d, &hex("3f 45 82")).unwrap().len(), 1);
    assert_eq!(d.table().max_size(), 100);
    // Next block needs no update.
    assert_eq!(decode_all(&mut d, &hex("82")).unwrap().len(), 1);
    // Raising the limit needs none either.
    d.set_max_table_size(8192);
    assert_eq!(decode_all(&mut d, &hex("82")).unwrap().len(), 1);
}

#[test]
fn string_longer_than_block() {
    // RFC 7541 §5.2: a length of 3 with 1 octet left.
    assert_eq!(err("00 03 61"), DecodeError::StringTooLong(3));
    // A huge length is rejected before allocating anything.
    assert_eq!(
        err("00 7f ff ff ff ff 07"),
        DecodeError::StringTooLong(0x8000_007e)
    );
    assert_eq!(err("04 85 61"), DecodeError::StringTooLong(5));
}

#[test]
fn truncated_representations() {
    // Name without value; literal with nothing after the index octet.
    assert_eq!(err("00 01 61"), DecodeError::Truncated);
    assert_eq!(err("04"), DecodeError::Truncated);
    assert_eq!(err("40"), DecodeError::Truncated);
    assert_eq!(err("10 01"), DecodeError::StringTooLong(1));
    assert_eq!(err("10"), DecodeError::Truncated);
}

#[test]
fn huffman_errors() {
    use HuffmanError::*;
    // §5.2: 'a' + 0xff: padding of 11 bits.
    assert_eq!(err("04 82 1f ff"), DecodeError::Huffman(PaddingTooLong));
    // 'a' + "000" padding.
    assert_eq!(err("04 81 18"), DecodeError::Huffman(BadPadding));
    // EOS in the string.
    assert_eq!(err("04 84 ff ff ff ff"), DecodeError::Huffman(Eos));
    // In a name.
    assert_eq!(err("00 81 18 01 61"), DecodeError::Huffman(BadPadding));
}

#[test]
fn empty_name_is_accepted() {
    let mut d = Decoder::new(4096);
    assert_eq!(
        decode_all(&mut d, &hex("00 00 01 61")).unwrap(),
        vec![("".into(), "a".into())]
    );
}

#[test]
fn list_size_limit_keeps_table_in_sync() {
    let mut d = Decoder::new(4096);
    // :method GET (42), then a literal with indexing a=b (34), then :path / (38).
    let block = hex("82 40 01 61 01 62 84");
    let mut seen = Vec::new();
    let out = d.decode(&block, 50, |f| seen.push(f)).unwrap();
    assert_eq!(
        out,
        DecodeOutcome {
            list_size: 42 + 34 + 38,
            over_limit: true
        }
    );
    assert_eq!(seen.len(), 1);
    // The dropped literal still entered the table.
    assert_eq!(d.table().len(), 1);
    assert_eq!(d.table_size(), 34);
    let out = d.decode(&hex("be"), 50, |f| seen.push(f)).unwrap();
    assert_eq!(
        out,
        DecodeOutcome {
            list_size: 34,
            over_limit: false
        }
    );
    assert_eq!(seen[1].name, "a");
}

#[test]
fn hpack_bomb_is_counted_not_delivered() {
    // One 4000-byte entry, then referenced 1000 times.
    let mut block = BytesMut::new();
    block.extend_from_slice(&[0x40, 0x01, b'x']);
    crate::hpack::encoder::write_int(&mut block, 0, 7, 4000);
    block.extend_from_slice(&[b'v'; 4000]);
    block.extend_from_slice(&[0xbe; 1000]);
    let block = block.freeze();
    let mut d = Decoder::new(8192);
    let mut calls = 0;
    let out = d.decode(&block, 16 * 1024, |_| calls += 1).unwrap();
    assert!(out.over_limit);
    assert_eq!(out.list_size, 1001 * (1 + 4000 + 32));
    assert_eq!(d.table().len(), 1);
    assert_eq!(calls, 4);
}

#[test]
fn dropped_huffman_literal_is_still_validated() {
    let mut d = Decoder::new(4096);
    // Over the limit after the first field, then a bad Huffman literal.
    let block = hex("82 04 81 18");
    assert_eq!(
        d.decode(&block, 10, |_| {}),
        Err(DecodeError::Huffman(HuffmanError::BadPadding))
    );
}

#[test]
fn display_is_clear() {
    assert_eq!(
        DecodeError::IndexOutOfRange(70).to_string(),
        "hpack: index 70 is past the static and dynamic tables"
    );
    assert_eq!(
        DecodeError::Huffman(HuffmanError::Eos).to_string(),
        "hpack: huffman EOS symbol inside a string"
    );
}

#[test]
fn table_starts_at_protocol_initial_size() {
    // A larger limit lets the peer grow the table with an update, no more.
    let mut d = Decoder::new(65536);
    assert_eq!(d.table().max_size(), 4096);
    assert_eq!(decode_all(&mut d, &hex("3f e1 ff 03 82")).unwrap().len(), 1);
    assert_eq!(d.table().max_size(), 65536);
    assert_eq!(Decoder::new(100).table().max_size(), 100);
}
