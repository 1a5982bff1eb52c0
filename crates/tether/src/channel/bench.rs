//! Hooks for the criterion benchmarks (`benches/`): not part of the API.

use super::events::Events;
use super::picker::{Picked, Picker};
use super::shared::ChannelShared;
use crate::backoff::BackoffConfig;
use crate::driver::{Command, ConnHandle};
use crate::lb::SubchannelId;
use crate::resolver::Address;
use crate::subchannel::conn::Conn;
use crate::subchannel::Subchannel;
use crate::transport::Security;
use std::sync::Arc;
use tokio::sync::mpsc;

/// A round-robin picker over `n` READY subchannels with one connection
/// each (no driver, no socket), to measure the pick itself.
#[doc(hidden)]
#[allow(missing_debug_implementations)]
pub struct PickBench {
    picker: Picker,
    _commands: Vec<mpsc::UnboundedReceiver<Command>>,
    shared: Arc<ChannelShared>,
}

impl PickBench {
    /// `n` READY subchannels on 127.0.0.1, ports 1.. .
    pub fn new(n: usize) -> PickBench {
        PickBench::build(n, false)
    }

    /// The same with the peak_ewma picker (power of two choices; each
    /// pick scored, its latency recorded when the lease is given back).
    pub fn new_peak_ewma(n: usize) -> PickBench {
        PickBench::build(n, true)
    }

    fn build(n: usize, p2c: bool) -> PickBench {
        let (ctl, _) = mpsc::unbounded_channel();
        let shared = Arc::new(ChannelShared::new(
            Security::Plaintext,
            tether_h2::Config::default(),
            BackoffConfig::default(),
            1,
            Events::new(Vec::new()),
            ctl,
            None,
            1,
        ));
        let mut subs = Vec::with_capacity(n);
        let mut commands = Vec::with_capacity(n);
        for i in 0..n {
            let port = 1 + i as u16;
            let address = Address::Tcp(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
            let sub = Subchannel::new(SubchannelId(i as u64), address, shared.clone());
            let (handle, rx) = ConnHandle::detached(1);
            sub.install_ready(Arc::new(Conn::new(handle, Some(100))));
            subs.push(sub);
            commands.push(rx);
        }
        let picker = if p2c {
            Picker::p2c(subs, 1, crate::lb::DEFAULT_DECAY)
        } else {
            Picker::ready(subs, 0)
        };
        PickBench {
            picker,
            _commands: commands,
            shared,
        }
    }

    /// One pick, its lease given back at once (under peak_ewma: the clock
    /// read and the choice, without scoring the lease); false if nothing
    /// was picked.
    pub fn pick(&self) -> bool {
        match &self.picker {
            Picker::Ready { subchannels, next } => {
                matches!(Picker::pick_ready(subchannels, next), Picked::Lease(_))
            }
            Picker::P2c {
                subchannels,
                rng,
                decay,
            } => {
                let now = self.shared.now_ns();
                matches!(
                    Picker::choose_p2c(subchannels, rng, *decay, now),
                    Picked::Lease(_)
                )
            }
            _ => false,
        }
    }

    /// A peak_ewma pick whose lease is given back with a latency sample
    /// (the pick plus what recording the call's latency costs); the same
    /// as [`PickBench::pick`] for round_robin.
    pub fn pick_and_record(&self) -> bool {
        match &self.picker {
            Picker::P2c {
                subchannels,
                rng,
                decay,
            } => {
                let now = self.shared.now_ns();
                matches!(
                    Picker::pick_p2c(subchannels, rng, *decay, now),
                    Picked::Lease(_)
                )
            }
            _ => self.pick(),
        }
    }
}
