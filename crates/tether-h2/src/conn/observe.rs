//! The observer hook: a cheap way to watch every frame, setting, window
//! change and ping RTT. When no observer is installed it costs one branch.

use crate::frame::{Frame, Head, StreamId};
use std::time::Duration;

/// Which way a frame went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From the server to us.
    Received,
    /// From us to the server.
    Sent,
}

/// Watches a connection. Every method has an empty default.
pub trait Observer: Send {
    /// A frame went by. `frame` is `None` for a CONTINUATION, or a HEADERS
    /// whose block is still incomplete (the assembled block comes with the last one).
    fn frame(&mut self, dir: Direction, head: &Head, frame: Option<&Frame>) {
        let _ = (dir, head, frame);
    }
    /// A flow-control window changed: `stream` zero is the connection window.
    fn window(&mut self, dir: Direction, stream: StreamId, window: i64) {
        let _ = (dir, stream, window);
    }
    /// A PING was acknowledged.
    fn ping_rtt(&mut self, rtt: Duration) {
        let _ = rtt;
    }
}
