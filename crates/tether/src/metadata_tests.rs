use super::*;

fn field(name: &'static str, value: &'static str) -> HeaderField {
    HeaderField {
        name: Bytes::from_static(name.as_bytes()),
        value: Bytes::from_static(value.as_bytes()),
    }
}

#[test]
fn insert_append_get() {
    let mut md = Metadata::new();
    assert!(md.is_empty());
    md.append("x-trace", "a").unwrap();
    md.append("x-other", "o").unwrap();
    md.append("x-trace", "b").unwrap();
    assert_eq!(md.len(), 3);
    assert_eq!(md.get("x-trace"), Some("a"));
    assert_eq!(md.get_all("x-trace").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(md.get("missing"), None);
    md.insert("x-trace", "c").unwrap();
    assert_eq!(md.get_all("x-trace").collect::<Vec<_>>(), ["c"]);
    let keys: Vec<_> = md.iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        ["x-trace", "x-other"],
        "insert keeps the first position"
    );
    assert_eq!(md.remove("x-trace"), 1);
    assert_eq!(md.remove("x-trace"), 0);
    assert_eq!(md.len(), 1);
    assert!(md.contains_key("x-other"));
}

#[test]
fn binary_entries() {
    let mut md = Metadata::new();
    md.insert_bin("trace-bin", Bytes::from_static(&[0, 1, 0xff]))
        .unwrap();
    md.append_bin("trace-bin", vec![2u8]).unwrap();
    assert_eq!(md.get_bin("trace-bin"), Some(&[0u8, 1, 0xff][..]));
    assert_eq!(md.get_all_bin("trace-bin").count(), 2);
    assert_eq!(md.get("trace-bin"), None, "binary values are not ASCII");
    assert_eq!(
        md.iter().next(),
        Some(("trace-bin", MetadataValue::Binary(&[0, 1, 0xff])))
    );
}

#[test]
fn key_validation() {
    let mut md = Metadata::new();
    assert_eq!(md.append("", "v"), Err(MetadataError::InvalidKey));
    assert_eq!(md.append("X-Upper", "v"), Err(MetadataError::InvalidKey));
    assert_eq!(md.append(":path", "v"), Err(MetadataError::InvalidKey));
    assert_eq!(md.append("a b", "v"), Err(MetadataError::InvalidKey));
    assert_eq!(
        md.append("grpc-timeout", "1S"),
        Err(MetadataError::ReservedKey)
    );
    assert_eq!(
        md.append("content-type", "x"),
        Err(MetadataError::ReservedKey)
    );
    assert_eq!(md.append("te", "x"), Err(MetadataError::ReservedKey));
    assert_eq!(
        md.append("connection", "x"),
        Err(MetadataError::ReservedKey)
    );
    assert_eq!(md.append("x-bin", "x"), Err(MetadataError::BinaryKey));
    assert_eq!(
        md.append_bin("x", vec![1]),
        Err(MetadataError::NotBinaryKey)
    );
    assert_eq!(
        md.insert_bin("grpc-x-bin", vec![1]),
        Err(MetadataError::ReservedKey)
    );
    md.append("a0_.-z", "ok").unwrap();
    assert_eq!(md.len(), 1);
}

#[test]
fn value_validation() {
    let mut md = Metadata::new();
    assert_eq!(
        md.append("k", "line\nbreak"),
        Err(MetadataError::InvalidValue)
    );
    assert_eq!(md.append("k", "tab\t"), Err(MetadataError::InvalidValue));
    assert_eq!(
        md.append("k", "caf\u{e9}"),
        Err(MetadataError::InvalidValue)
    );
    assert_eq!(md.insert("k", "\x7f"), Err(MetadataError::InvalidValue));
    md.append("k", " ~printable~ ").unwrap();
    assert!(md.len() == 1);
    assert_eq!(
        MetadataError::InvalidValue.to_string(),
        "metadata value must be printable ASCII"
    );
}

#[test]
fn from_fields_skips_reserved_and_decodes_binary() {
    let fields = [
        field("content-type", "application/grpc"),
        field("grpc-status", "0"),
        field("grpc-message", "x"),
        field("grpc-encoding", "identity"),
        field("te", "trailers"),
        field("user-agent", "x"),
        field("x-a", "1"),
        field("x-b-bin", "AAH/"),
        field("x-c-bin", "AA=="),
        field("x-c-bin", "AA"),
    ];
    let md = Metadata::from_fields(&fields).unwrap();
    assert_eq!(md.len(), 4);
    assert_eq!(md.get("x-a"), Some("1"));
    assert_eq!(md.get_bin("x-b-bin"), Some(&[0u8, 1, 0xff][..]));
    assert_eq!(
        md.get_all_bin("x-c-bin").collect::<Vec<_>>(),
        [&[0u8][..], &[0u8][..]]
    );
}

#[test]
fn from_fields_rejects_bad_base64_with_internal() {
    let err = Metadata::from_fields(&[field("x-bin", "!!!")]).unwrap_err();
    assert_eq!(err.code(), crate::Code::Internal);
    assert_eq!(err.message(), "invalid base64 in binary metadata \"x-bin\"");
}

#[test]
fn from_fields_keeps_ascii_values_without_copying() {
    let fields = [field("x-a", "shared")];
    let md = Metadata::from_fields(&fields).unwrap();
    let (_, v) = md.iter().next().unwrap();
    match v {
        MetadataValue::Ascii(s) => assert_eq!(s.as_ptr(), fields[0].value.as_ptr()),
        MetadataValue::Binary(_) => panic!("ascii expected"),
    }
}

#[test]
fn wire_fields_encode_binary_unpadded() {
    let mut md = Metadata::new();
    md.append("x-a", "1").unwrap();
    md.append_bin("x-b-bin", vec![0u8]).unwrap();
    md.append("x-c", "3").unwrap();
    md.append_bin("x-d-bin", b"foobar".to_vec()).unwrap();
    let mut scratch = Vec::new();
    md.encode_binary_values(&mut scratch);
    let wire: Vec<_> = md.wire_fields(&scratch).collect();
    assert_eq!(
        wire,
        [
            (&b"x-a"[..], &b"1"[..]),
            (b"x-b-bin", b"AA"),
            (b"x-c", b"3"),
            (b"x-d-bin", b"Zm9vYmFy"),
        ]
    );
}

#[test]
fn debug_lists_entries() {
    let mut md = Metadata::new();
    md.append("k", "v").unwrap();
    assert_eq!(format!("{md:?}"), "[(\"k\", Ascii(\"v\"))]");
}
