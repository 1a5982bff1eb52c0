//! The scripted-peer harness, shared with the crate's unit tests: it lives
//! in `tether_h2::testing` (hidden, not a stable API).
#![allow(unused_imports)]

pub(crate) use tether_h2::testing::*;
