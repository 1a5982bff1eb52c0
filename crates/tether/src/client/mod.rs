//! Calls: requests, responses and response streams, and the machinery that
//! runs one call attempt on a connection.

pub(crate) mod call;
mod into_streaming;
mod request;
mod response;
mod streaming;

pub use into_streaming::IntoStreamingRequest;
pub use request::{IntoRequest, Request};
pub use response::Response;
pub use streaming::Streaming;
