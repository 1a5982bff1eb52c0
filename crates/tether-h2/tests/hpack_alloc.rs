//! Decoding static-table indexed fields, raw literals and dynamic-table hits
//! allocates nothing: a counting global allocator checks it.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bytes::Bytes;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tether_h2::hpack::{Decoder, HeaderField};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not see each other.
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards every call to the system allocator unchanged; the only
// extra work is bumping a thread-local counter, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Decodes `block` and returns (allocations during decode, fields seen).
fn count_decode(d: &mut Decoder, block: &Bytes) -> (usize, Vec<HeaderField>) {
    let mut seen = Vec::with_capacity(16);
    let before = ALLOCS.with(Cell::get);
    let out = d.decode(block, 16 * 1024, |f| seen.push(f)).unwrap();
    let after = ALLOCS.with(Cell::get);
    assert!(!out.over_limit);
    (after - before, seen)
}

#[test]
fn static_indexed_fields_allocate_nothing() {
    let mut d = Decoder::new(4096);
    // :status 200, :method POST, :scheme https... any static full matches.
    let block = Bytes::from_static(&[0x88, 0x83, 0x87]);
    let (allocs, seen) = count_decode(&mut d, &block);
    assert_eq!(allocs, 0);
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0].value, "200");
}

#[test]
fn raw_literal_allocates_nothing() {
    let mut d = Decoder::new(4096);
    // content-type (static name 31) literal without indexing, raw value.
    let block = Bytes::from_static(b"\x0f\x10\x10application/grpc");
    let (allocs, seen) = count_decode(&mut d, &block);
    assert_eq!(allocs, 0);
    assert_eq!(
        (&seen[0].name[..], &seen[0].value[..]),
        (&b"content-type"[..], &b"application/grpc"[..])
    );
    // The value is a slice of the block, not a copy.
    assert_eq!(seen[0].value.as_ptr(), block[3..].as_ptr());
}

#[test]
fn dynamic_table_hits_allocate_nothing() {
    let mut d = Decoder::new(4096);
    // Warm up: content-type: application/grpc with incremental indexing.
    let warm = Bytes::from_static(b"\x5f\x10application/grpc");
    d.decode(&warm, 16 * 1024, |_| {}).unwrap();
    // Then :status 200 (static) and content-type (dynamic index 62), from a
    // shared (already cloned) heap buffer.
    let block = Bytes::from(vec![0x88, 0xbe]);
    let _shared = block.clone();
    let (allocs, seen) = count_decode(&mut d, &block);
    assert_eq!(allocs, 0);
    assert_eq!(seen[1].value, "application/grpc");
}

#[test]
fn borrowed_decode_allocates_nothing_even_for_huffman() {
    let mut d = Decoder::new(4096);
    // :path "a" Huffman, literal without indexing; and a static field.
    let block = Bytes::from_static(&[0x04, 0x81, 0x1f, 0x88]);
    let mut seen = Vec::with_capacity(2);
    // The first block sizes the decoder's reusable Huffman buffers.
    d.decode_with(&block, 16 * 1024, |_, _| {}).unwrap();
    let before = ALLOCS.with(Cell::get);
    for _ in 0..100 {
        d.decode_with(&block, 16 * 1024, |n, v| {
            if seen.len() < 2 {
                seen.push((n.len(), v.len()));
            }
        })
        .unwrap();
    }
    let after = ALLOCS.with(Cell::get);
    assert_eq!(after - before, 0);
    assert_eq!(seen, [(5, 1), (7, 3)]);
}

#[test]
fn counter_sees_allocations() {
    // The counter works: a Huffman literal does allocate its decoded string.
    let mut d = Decoder::new(4096);
    let block = Bytes::from_static(&[0x04, 0x81, 0x1f]); // :path "a" Huffman
    let (allocs, seen) = count_decode(&mut d, &block);
    assert!(allocs >= 1);
    assert_eq!(seen[0].value, "a");
}
