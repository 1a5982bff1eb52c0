//! Retries and hedging (gRFC A6): the policies' decisions
//! ([`policy::RetryState`]), retry throttling ([`throttle::Throttle`]) and
//! the buffer that lets streaming requests be replayed
//! ([`buffer::Outbound`]). The call that uses them is
//! `client::call::ActiveCall`.

pub(crate) mod buffer;
pub(crate) mod policy;
pub(crate) mod throttle;

pub use policy::RetryStop;
