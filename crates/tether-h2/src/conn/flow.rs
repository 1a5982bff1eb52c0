//! Flow-control window arithmetic (RFC 9113 §5.2, §6.9).
//!
//! Windows are signed `i64`: a SETTINGS_INITIAL_WINDOW_SIZE change can make a
//! send window negative (§6.9.2), and no peer value can overflow an `i64`.

use crate::frame::MAX_WINDOW_SIZE;

/// The largest window: 2^31 - 1 (§6.9.1).
const MAX: i64 = MAX_WINDOW_SIZE as i64;

/// The window grew past 2^31 - 1 (a FLOW_CONTROL_ERROR, §6.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Overflow;

/// How much we may send: credit granted by the peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SendWindow(i64);

impl SendWindow {
    /// A window of `size` octets.
    pub(crate) fn new(size: u32) -> SendWindow {
        SendWindow(i64::from(size))
    }

    /// The current window (may be negative).
    pub(crate) fn get(self) -> i64 {
        self.0
    }

    /// The octets that may be sent now (0 when the window is not positive).
    pub(crate) fn available(self) -> usize {
        usize::try_from(self.0).unwrap_or(0)
    }

    /// A WINDOW_UPDATE (increment 1 to 2^31 - 1) or a SETTINGS delta (signed).
    pub(crate) fn adjust(&mut self, delta: i64) -> Result<(), Overflow> {
        let next = self.0.saturating_add(delta);
        // RFC 9113 §6.9.1: "A sender MUST NOT allow a flow-control window to
        // exceed 2^31-1 octets." ... the receiver of such a change MUST treat it
        // as a FLOW_CONTROL_ERROR.
        if next > MAX {
            return Err(Overflow);
        }
        self.0 = next;
        Ok(())
    }

    /// `n` octets of DATA were sent (`n` never exceeds [`SendWindow::available`]).
    pub(crate) fn consume(&mut self, n: usize) {
        self.0 = self.0.saturating_sub(i64::try_from(n).unwrap_or(MAX));
    }
}

/// How much the peer may send us, and what we still owe it in WINDOW_UPDATEs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecvWindow {
    /// Credit the peer still has.
    window: i64,
    /// The window size we aim to keep open.
    target: i64,
    /// Released octets not yet announced with a WINDOW_UPDATE.
    unannounced: i64,
    /// Octets delivered to the application and not yet released by it.
    held: i64,
}

impl RecvWindow {
    /// A window whose current credit is `window` and whose target is `target`.
    pub(crate) fn new(window: u32, target: u32) -> RecvWindow {
        RecvWindow {
            window: i64::from(window),
            target: i64::from(target),
            unannounced: 0,
            held: 0,
        }
    }

    /// The peer's remaining credit.
    pub(crate) fn get(&self) -> i64 {
        self.window
    }

    /// The window size we aim for.
    #[cfg(test)]
    pub(crate) fn target(&self) -> i64 {
        self.target
    }

    /// The peer sent `n` flow-controlled octets. Fails when `n` exceeds the
    /// credit (then nothing changes).
    pub(crate) fn receive(&mut self, n: u32) -> Result<(), Overflow> {
        let n = i64::from(n);
        // RFC 9113 §6.9.1: "A receiver MAY respond with a stream error or
        // connection error of type FLOW_CONTROL_ERROR if it is unable to accept
        // a frame" ... the sender "MUST NOT send a flow-controlled frame with a
        // length that exceeds the space available".
        if n > self.window {
            return Err(Overflow);
        }
        self.window -= n;
        Ok(())
    }

    /// `n` received octets were handed to the application.
    pub(crate) fn hold(&mut self, n: usize) {
        self.held = self.held.saturating_add(i64::try_from(n).unwrap_or(MAX));
    }

    /// The application released `n` held octets; only what is held counts.
    /// Returns the WINDOW_UPDATE increment to send, if one is due.
    pub(crate) fn release_held(&mut self, n: usize) -> Option<u32> {
        let n = i64::try_from(n).unwrap_or(MAX).min(self.held);
        self.held -= n;
        self.release(n)
    }

    /// `n` received octets are free again (consumed, padding, discarded).
    /// Returns the WINDOW_UPDATE increment to send, if one is due: updates go
    /// out once half the target is owed, so there are no 1-byte updates.
    pub(crate) fn release(&mut self, n: i64) -> Option<u32> {
        if n <= 0 {
            return None;
        }
        self.unannounced = self.unannounced.saturating_add(n);
        if self.unannounced < (self.target / 2).max(1) {
            return None;
        }
        self.announce()
    }

    /// Announces everything owed at once.
    fn announce(&mut self) -> Option<u32> {
        // Never let the peer's view pass 2^31 - 1 (§6.9.1).
        let room = MAX - self.window;
        let inc = self.unannounced.min(room);
        if inc <= 0 {
            return None;
        }
        self.unannounced -= inc;
        self.window += inc;
        u32::try_from(inc).ok()
    }

    /// Raises the target to `new`; the difference is announced at once.
    /// Returns the WINDOW_UPDATE increment (for the connection window).
    pub(crate) fn grow(&mut self, new: u32) -> Option<u32> {
        let new = i64::from(new);
        if new <= self.target {
            return None;
        }
        self.unannounced += new - self.target;
        self.target = new;
        self.announce()
    }

    /// Our SETTINGS_INITIAL_WINDOW_SIZE changed to `new`: the peer adjusts its
    /// view of every stream window by the difference itself (§6.9.2).
    pub(crate) fn set_initial(&mut self, new: u32) {
        let new = i64::from(new);
        self.window += new - self.target;
        self.target = new;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn send_window_rejects_overflow_and_goes_negative() {
        let mut w = SendWindow::new(65_535);
        assert_eq!(w.adjust(MAX - 65_535), Ok(()));
        assert_eq!(w.get(), MAX);
        assert_eq!(w.adjust(1), Err(Overflow));
        assert_eq!(w.get(), MAX);
        let mut w = SendWindow::new(100);
        w.consume(60);
        assert_eq!(w.adjust(-65_535 + 16), Ok(()));
        assert_eq!(w.get(), 40 - 65_535 + 16);
        assert_eq!(w.available(), 0);
        assert_eq!(w.adjust(65_535), Ok(()));
        assert_eq!(w.available(), 56);
    }

    #[test]
    fn recv_window_rejects_data_past_credit() {
        let mut w = RecvWindow::new(100, 100);
        assert_eq!(w.receive(60), Ok(()));
        assert_eq!(w.receive(41), Err(Overflow));
        assert_eq!(w.get(), 40);
        assert_eq!(w.receive(40), Ok(()));
        assert_eq!(w.get(), 0);
    }

    #[test]
    fn updates_wait_for_half_the_target() {
        let mut w = RecvWindow::new(1000, 1000);
        w.receive(700).unwrap();
        w.hold(700);
        assert_eq!(w.release_held(1), None);
        assert_eq!(w.release_held(498), None);
        assert_eq!(w.release_held(1), Some(500));
        assert_eq!(w.get(), 800);
        // Only what was held can be released: 200 left, not 10_000.
        assert_eq!(w.release_held(10_000), None);
        assert_eq!(w.release(300), Some(500));
        assert_eq!(w.get(), 1300);
    }

    #[test]
    fn grow_announces_the_difference() {
        let mut w = RecvWindow::new(65_535, 65_535);
        assert_eq!(w.grow(1 << 20), Some((1 << 20) - 65_535));
        assert_eq!(w.get(), 1 << 20);
        assert_eq!(w.target(), 1 << 20);
        assert_eq!(w.grow(100), None);
    }

    #[test]
    fn set_initial_moves_window_by_the_delta() {
        let mut w = RecvWindow::new(65_535, 65_535);
        w.receive(35_535).unwrap();
        w.set_initial(100_000);
        assert_eq!(w.get(), 30_000 + 100_000 - 65_535);
        assert_eq!(w.target(), 100_000);
    }

    #[test]
    fn announce_never_passes_the_maximum() {
        let mut w = RecvWindow::new(MAX_WINDOW_SIZE, MAX_WINDOW_SIZE);
        assert_eq!(w.release(MAX), None);
        w.receive(10).unwrap();
        assert_eq!(w.release(0), None);
        assert_eq!(w.announce(), Some(10));
        assert_eq!(w.get(), MAX);
    }
}
