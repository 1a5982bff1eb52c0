//! Channel connectivity states (grpc/grpc
//! `doc/connectivity-semantics-and-api.md`).

use std::fmt;

/// The connectivity state of a channel or subchannel.
///
/// The five states are fixed by the specification, so the enum is exhaustive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConnectivityState {
    /// No connection and no attempt in progress; a new call (or an explicit
    /// request to connect) moves the channel to CONNECTING.
    Idle,
    /// Trying to establish a connection: resolving, connecting, or the
    /// TLS and HTTP/2 handshakes.
    Connecting,
    /// A connection is established and calls can be sent.
    Ready,
    /// The last attempt failed; the channel waits out its backoff before
    /// trying again. Calls fail fast unless they are wait-for-ready.
    TransientFailure,
    /// The application closed the channel; this state is final.
    Shutdown,
}

impl ConnectivityState {
    /// The specification's name (`"TRANSIENT_FAILURE"`).
    pub fn name(self) -> &'static str {
        match self {
            ConnectivityState::Idle => "IDLE",
            ConnectivityState::Connecting => "CONNECTING",
            ConnectivityState::Ready => "READY",
            ConnectivityState::TransientFailure => "TRANSIENT_FAILURE",
            ConnectivityState::Shutdown => "SHUTDOWN",
        }
    }
}

impl fmt::Display for ConnectivityState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_spec_names() {
        let all = [
            (ConnectivityState::Idle, "IDLE"),
            (ConnectivityState::Connecting, "CONNECTING"),
            (ConnectivityState::Ready, "READY"),
            (ConnectivityState::TransientFailure, "TRANSIENT_FAILURE"),
            (ConnectivityState::Shutdown, "SHUTDOWN"),
        ];
        for (state, name) in all {
            assert_eq!(state.to_string(), name);
            assert_eq!(state.name(), name);
        }
    }
}
