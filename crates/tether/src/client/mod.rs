//! Calls: requests, responses and response streams, and the machinery that
//! runs one call attempt on a connection.

pub(crate) mod call;
mod cancel;
pub(crate) mod interceptor;
mod into_streaming;
mod request;
mod response;
mod sender;
mod streaming;

pub use cancel::CancelHandle;
pub use interceptor::{InterceptFuture, Interceptor};
pub use into_streaming::IntoStreamingRequest;
pub use request::{IntoRequest, Request};
pub use response::Response;
pub(crate) use sender::sender;
pub use sender::{ResponseFuture, Sender};
pub use streaming::Streaming;
