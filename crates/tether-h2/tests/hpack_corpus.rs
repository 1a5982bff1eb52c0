//! The public hpack-test-case corpus: every story of every implementation is
//! decoded and compared, and the `raw-data` stories are re-encoded by our
//! encoder and decoded back at several table sizes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::{Bytes, BytesMut};
use serde_json::Value;
use std::path::{Path, PathBuf};
use tether_h2::hpack::{Decoder, Encoder, FieldRef};

fn corpus_dir() -> Option<PathBuf> {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/hpack-test-case");
    if dir.is_dir() {
        return Some(dir);
    }
    // CI always has ../shared: there a missing corpus is a failure, not a skip.
    assert!(
        std::env::var("TETHER_REQUIRE_PEERS").as_deref() != Ok("1"),
        "hpack-test-case corpus not found at {} (TETHER_REQUIRE_PEERS=1)",
        dir.display()
    );
    println!(
        "skipped: hpack-test-case corpus not found at {}",
        dir.display()
    );
    None
}

fn hex(s: &str) -> Bytes {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

/// The stories (sorted) of one implementation directory.
fn stories(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let v = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, v)
        })
        .collect()
}

/// A case's header list as (name, value) pairs.
fn headers(case: &Value) -> Vec<(Bytes, Bytes)> {
    case["headers"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| {
            h.as_object().unwrap().iter().map(|(k, v)| {
                (
                    Bytes::copy_from_slice(k.as_bytes()),
                    Bytes::copy_from_slice(v.as_str().unwrap().as_bytes()),
                )
            })
        })
        .collect()
}

fn decode(d: &mut Decoder, block: &Bytes) -> Vec<(Bytes, Bytes)> {
    let mut got = Vec::new();
    let out = d
        .decode(block, usize::MAX, |f| got.push((f.name, f.value)))
        .unwrap();
    assert!(!out.over_limit);
    got
}

#[test]
fn decode_every_implementation_story() {
    let Some(root) = corpus_dir() else { return };
    let mut impls: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir() && !p.ends_with("raw-data"))
        .collect();
    impls.sort();
    let (mut n_stories, mut n_cases) = (0usize, 0usize);
    for dir in &impls {
        for (path, story) in stories(dir) {
            let mut d = Decoder::new(4096);
            for case in story["cases"].as_array().unwrap() {
                if let Some(size) = case.get("header_table_size").and_then(Value::as_u64) {
                    d.set_max_table_size(size as usize);
                }
                let wire = hex(case["wire"].as_str().unwrap());
                let mut got = Vec::new();
                let res = d.decode(&wire, usize::MAX, |f| got.push((f.name, f.value)));
                assert!(
                    res.is_ok(),
                    "{} seqno {}: {:?}",
                    path.display(),
                    case["seqno"],
                    res
                );
                assert_eq!(
                    got,
                    headers(case),
                    "{} seqno {}",
                    path.display(),
                    case["seqno"]
                );
                n_cases += 1;
            }
            n_stories += 1;
        }
    }
    println!(
        "decoded {n_cases} cases of {n_stories} stories from {} implementations",
        impls.len()
    );
    assert!(
        impls.len() >= 7,
        "expected the corpus implementations, found {}",
        impls.len()
    );
    assert!(
        n_stories > 200 && n_cases > 10_000,
        "{n_stories} stories, {n_cases} cases"
    );
}

/// `decode_with` (borrowed fields) hands out exactly what `decode` (owned
/// fields) does, with the same outcome and table, on every corpus story; and
/// with a small list limit, both stop handing out fields at the same place.
#[test]
fn decode_with_matches_decode_on_every_story() {
    let Some(root) = corpus_dir() else { return };
    let mut n_cases = 0usize;
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() || dir.ends_with("raw-data") {
            continue;
        }
        for (path, story) in stories(&dir) {
            for limit in [usize::MAX, 200] {
                let mut owned = Decoder::new(4096);
                let mut borrowed = Decoder::new(4096);
                for case in story["cases"].as_array().unwrap() {
                    if let Some(size) = case.get("header_table_size").and_then(Value::as_u64) {
                        owned.set_max_table_size(size as usize);
                        borrowed.set_max_table_size(size as usize);
                    }
                    let wire = hex(case["wire"].as_str().unwrap());
                    let (mut a, mut b) = (Vec::new(), Vec::new());
                    let ra = owned.decode(&wire, limit, |f| a.push((f.name, f.value)));
                    let rb = borrowed.decode_with(&wire, limit, |n, v| {
                        b.push((Bytes::copy_from_slice(n), Bytes::copy_from_slice(v)))
                    });
                    let at = format!("{} seqno {} limit {limit}", path.display(), case["seqno"]);
                    assert_eq!(ra, rb, "{at}");
                    assert_eq!(a, b, "{at}");
                    assert!(owned.table().iter().eq(borrowed.table().iter()), "{at}");
                    n_cases += 1;
                }
            }
        }
    }
    assert!(n_cases > 20_000, "{n_cases} cases");
}

#[test]
fn reencode_raw_data_at_several_table_sizes() {
    let Some(root) = corpus_dir() else { return };
    let raw = stories(&root.join("raw-data"));
    assert!(!raw.is_empty());
    let mut n_cases = 0usize;
    for size in [0usize, 256, 4096, 65536] {
        let (mut plain, mut coded) = (0usize, 0usize);
        for (path, story) in &raw {
            let mut e = Encoder::new(size);
            e.set_peer_max_table_size(size as u32);
            let mut d = Decoder::new(size);
            for (i, case) in story["cases"].as_array().unwrap().iter().enumerate() {
                let list = headers(case);
                let mut block = BytesMut::new();
                e.encode(list.iter().map(|(n, v)| FieldRef::new(n, v)), &mut block);
                let block = block.freeze();
                assert_eq!(
                    decode(&mut d, &block),
                    list,
                    "{} case {i} size {size}",
                    path.display()
                );
                assert_eq!(d.table_size(), e.table().size());
                plain += list.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>();
                coded += block.len();
                n_cases += 1;
            }
        }
        println!("table {size}: {plain} octets of fields -> {coded} octets of blocks");
        assert!(coded < plain);
    }
    assert!(n_cases > 1000, "{n_cases} cases");
}
