//! RFC 7541 Appendix C examples: C.3-C.6 decoded from the given hex, with the
//! dynamic table checked after each block, and C.4/C.6 re-encoded byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use tether_h2::hpack::{Decoder, Encoder, FieldRef};

fn hex(s: &str) -> Bytes {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

type List = Vec<(&'static str, &'static str)>;

/// Decodes `wire`, checks the list, then the table (newest first) and its size.
fn check_decode(d: &mut Decoder, wire: &str, list: &List, table: &List, size: usize) {
    let mut got = Vec::new();
    d.decode(&hex(wire), usize::MAX, |f| got.push((f.name, f.value)))
        .unwrap();
    let want: Vec<(Bytes, Bytes)> = list
        .iter()
        .map(|(n, v)| (Bytes::from(*n), Bytes::from(*v)))
        .collect();
    assert_eq!(got, want);
    let entries: Vec<(Bytes, Bytes)> = d
        .table()
        .iter()
        .map(|f| (f.name.clone(), f.value.clone()))
        .collect();
    let want_table: Vec<(Bytes, Bytes)> = table
        .iter()
        .map(|(n, v)| (Bytes::from(*n), Bytes::from(*v)))
        .collect();
    assert_eq!(entries, want_table);
    assert_eq!(d.table_size(), size);
}

fn encode(e: &mut Encoder, list: &List) -> Bytes {
    let mut out = BytesMut::new();
    e.encode(
        list.iter()
            .map(|(n, v)| FieldRef::new(n.as_bytes(), v.as_bytes())),
        &mut out,
    );
    out.freeze()
}

const AUTH: (&str, &str) = (":authority", "www.example.com");
const NO_CACHE: (&str, &str) = ("cache-control", "no-cache");
const CUSTOM: (&str, &str) = ("custom-key", "custom-value");

fn requests() -> [List; 3] {
    [
        vec![
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            AUTH,
        ],
        vec![
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            AUTH,
            NO_CACHE,
        ],
        vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            AUTH,
            CUSTOM,
        ],
    ]
}

fn request_tables() -> [(List, usize); 3] {
    [
        (vec![AUTH], 57),
        (vec![NO_CACHE, AUTH], 110),
        (vec![CUSTOM, NO_CACHE, AUTH], 164),
    ]
}

const C3: [&str; 3] = [
    "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
    "8286 84be 5808 6e6f 2d63 6163 6865",
    "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
];

const C4: [&str; 3] = [
    "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
    "8286 84be 5886 a8eb 1064 9cbf",
    "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
];

#[test]
fn c3_requests_without_huffman() {
    let mut d = Decoder::new(4096);
    for ((wire, list), (table, size)) in C3.iter().zip(requests()).zip(request_tables()) {
        check_decode(&mut d, wire, &list, &table, size);
    }
}

#[test]
fn c4_requests_with_huffman() {
    let mut d = Decoder::new(4096);
    let mut e = Encoder::new(4096);
    for ((wire, list), (table, size)) in C4.iter().zip(requests()).zip(request_tables()) {
        check_decode(&mut d, wire, &list, &table, size);
        assert_eq!(encode(&mut e, &list), hex(wire));
        assert_eq!(e.table().size(), size);
    }
}

const DATE1: (&str, &str) = ("date", "Mon, 21 Oct 2013 20:13:21 GMT");
const DATE2: (&str, &str) = ("date", "Mon, 21 Oct 2013 20:13:22 GMT");
const LOC: (&str, &str) = ("location", "https://www.example.com");
const PRIVATE: (&str, &str) = ("cache-control", "private");
const GZIP: (&str, &str) = ("content-encoding", "gzip");
const COOKIE: (&str, &str) = (
    "set-cookie",
    "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
);

fn responses() -> [List; 3] {
    [
        vec![(":status", "302"), PRIVATE, DATE1, LOC],
        vec![(":status", "307"), PRIVATE, DATE1, LOC],
        vec![(":status", "200"), PRIVATE, DATE2, LOC, GZIP, COOKIE],
    ]
}

fn response_tables() -> [(List, usize); 3] {
    [
        (vec![LOC, DATE1, PRIVATE, (":status", "302")], 222),
        (vec![(":status", "307"), LOC, DATE1, PRIVATE], 222),
        (vec![COOKIE, GZIP, DATE2], 215),
    ]
}

const C5: [&str; 3] = [
    "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
     2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
     6c65 2e63 6f6d",
    "4803 3330 37c1 c0bf",
    "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
     54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
     5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
     3d31",
];

const C6: [&str; 3] = [
    "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
     2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
    "4883 640e ffc1 c0bf",
    "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
     77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
     9587 3160 65c0 03ed 4ee5 b106 3d50 07",
];

#[test]
fn c5_responses_without_huffman() {
    let mut d = Decoder::new(256);
    for ((wire, list), (table, size)) in C5.iter().zip(responses()).zip(response_tables()) {
        check_decode(&mut d, wire, &list, &table, size);
    }
}

#[test]
fn c6_responses_with_huffman() {
    let mut d = Decoder::new(256);
    for ((wire, list), (table, size)) in C6.iter().zip(responses()).zip(response_tables()) {
        check_decode(&mut d, wire, &list, &table, size);
    }
}

#[test]
fn c6_encoding_with_a_256_octet_table() {
    // Our encoder announces its 256-octet table first (3f e1 01: a size
    // update to 256, §6.3), then produces the RFC's bytes exactly, except that
    // "307" stays raw: its Huffman form is not shorter (3 octets either way),
    // so our second block is C.5.2's.
    let mut e = Encoder::new(256);
    let mut d = Decoder::new(4096);
    for (i, (wire, list)) in C6.iter().zip(responses()).enumerate() {
        let block = encode(&mut e, &list);
        let mut want = BytesMut::new();
        if i == 0 {
            want.extend_from_slice(&[0x3f, 0xe1, 0x01]);
        }
        want.extend_from_slice(&hex(if i == 1 { C5[1] } else { wire }));
        assert_eq!(block, want.freeze(), "response {i}");
        // And our decoder agrees with our encoder's table.
        d.decode(&block, usize::MAX, |_| {}).unwrap();
        assert_eq!(d.table_size(), e.table().size());
    }
}
