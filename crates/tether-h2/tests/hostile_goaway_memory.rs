//! HOSTILE K96, memory side: `Limits::max_goaway_debug` must bound the memory
//! a GOAWAY's debug data keeps alive, not only the length the application
//! sees. A live-bytes counting global allocator checks it.
#![allow(unsafe_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Instant;
use support::test_config;
use support::wire;
use tether_h2::conn::Event;
use tether_h2::hpack::FieldRef;
use tether_h2::Connection;

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not see each other.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn add(n: isize) {
    // `try_with`: the thread-local may be gone while a thread exits.
    let _ = LIVE.try_with(|c| c.set(c.get() + n));
}

// SAFETY: forwards every call to the system allocator unchanged; the only
// extra work is updating a thread-local counter, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A 3 MiB GOAWAY (our MAX_FRAME_SIZE allows it) on a connection with a
/// stream still open, so the connection lives on and keeps the GOAWAY: once
/// the events are dropped, the connection holds about `max_goaway_debug`
/// (1 KiB) of it, not the read buffer the frame arrived in.
#[test]
fn goaway_debug_data_does_not_pin_the_read_buffer() {
    let mut cfg = test_config();
    cfg.max_frame_size = 4 << 20;
    let now = Instant::now();
    let mut c = Connection::new(cfg, now);
    let mut out = bytes::BytesMut::new();
    c.poll_transmit(&mut out);
    c.handle_read(&wire::settings(&[]), now);
    c.handle_read(&wire::settings_ack(), now);
    let req = [
        FieldRef::new(b":method", b"POST"),
        FieldRef::new(b":path", b"/a.S/M"),
    ];
    c.open_stream(&req, true, now).unwrap();
    out.clear();
    c.poll_transmit(&mut out);
    while c.poll_event().is_some() {}
    drop(out);

    let before = LIVE.with(Cell::get);
    let frame = wire::goaway(1, 0, &vec![b'm'; 3 << 20]);
    c.handle_read(&frame, now);
    drop(frame);
    let mut seen = 0;
    while let Some(ev) = c.poll_event() {
        if let Event::GoAway(info) = ev {
            seen = info.debug_data.len();
        }
    }
    let mut out = bytes::BytesMut::new();
    c.poll_transmit(&mut out);
    drop(out);
    let held = LIVE.with(Cell::get) - before;
    assert_eq!(seen, 1024);
    assert!(!c.is_closed(), "stream 1 may still finish");
    assert!(
        held < 64 * 1024,
        "{held} bytes still held after a 3 MiB GOAWAY"
    );
}
