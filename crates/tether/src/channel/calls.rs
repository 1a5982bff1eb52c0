//! The four call types.

use super::Channel;
use crate::client::call::{pump_requests, ActiveCall, CallOptions};
use crate::client::{IntoStreamingRequest, Request, Response, Streaming};
use crate::codec::Codec;
use crate::grpc::{encode_message, Cardinality, RecvEvent};
use crate::metadata::Metadata;
use crate::status::Status;
use bytes::{Bytes, BytesMut};
use std::sync::{Arc, Mutex};

impl Channel {
    /// A unary call: one request, one response.
    pub async fn unary<C: Codec>(
        &self,
        path: &str,
        request: Request<C::Encode>,
        mut codec: C,
    ) -> Result<Response<C::Decode>, Status> {
        let call = self.start(path, request, &mut codec, true).await?;
        let (headers, message, trailers) = receive_one(call).await?;
        Ok(Response::new(
            headers,
            codec.decode(message)?,
            Some(trailers),
        ))
    }

    /// A server-streaming call: one request, a stream of responses.
    pub async fn server_streaming<C: Codec>(
        &self,
        path: &str,
        request: Request<C::Encode>,
        mut codec: C,
    ) -> Result<Response<Streaming<C::Decode>>, Status> {
        let call = self.start(path, request, &mut codec, false).await?;
        receive_stream(call, Box::new(move |b| codec.decode(b))).await
    }

    /// A client-streaming call: a stream of requests, one response.
    ///
    /// `request` is a bare stream of messages or a [`Request`] around one
    /// (see [`IntoStreamingRequest`]).
    pub async fn client_streaming<C, R>(
        &self,
        path: &str,
        request: R,
        codec: C,
    ) -> Result<Response<C::Decode>, Status>
    where
        C: Codec,
        R: IntoStreamingRequest<Message = C::Encode>,
    {
        let request = request.into_streaming_request();
        let codec = Arc::new(Mutex::new(codec));
        let call = self
            .start_streaming(path, request, codec.clone(), Cardinality::Unary)
            .await?;
        let (headers, message, trailers) = receive_one(call).await?;
        let decoded = codec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .decode(message)?;
        Ok(Response::new(headers, decoded, Some(trailers)))
    }

    /// A bidirectional-streaming call: streams both ways.
    ///
    /// `request` is a bare stream of messages or a [`Request`] around one
    /// (see [`IntoStreamingRequest`]).
    pub async fn streaming<C, R>(
        &self,
        path: &str,
        request: R,
        codec: C,
    ) -> Result<Response<Streaming<C::Decode>>, Status>
    where
        C: Codec,
        R: IntoStreamingRequest<Message = C::Encode>,
    {
        let request = request.into_streaming_request();
        let codec = Arc::new(Mutex::new(codec));
        let call = self
            .start_streaming(path, request, codec.clone(), Cardinality::Streaming)
            .await?;
        let decode = move |b: Bytes| codec.lock().unwrap_or_else(|e| e.into_inner()).decode(b);
        receive_stream(call, Box::new(decode)).await
    }

    /// Encodes the single request message and starts the call.
    async fn start<C: Codec>(
        &self,
        path: &str,
        request: Request<C::Encode>,
        codec: &mut C,
        unary: bool,
    ) -> Result<ActiveCall, Status> {
        let (deadline, wait_for_ready, max_send, max_recv) = self.call_settings(path, &request);
        let (message, metadata) = request.into_parts();
        let mut body = BytesMut::new();
        encode_message(codec, &message, &mut body, max_send)?;
        drop(message);
        let head = self.request_head(path, metadata, deadline);
        let opts = CallOptions {
            cardinality: if unary {
                Cardinality::Unary
            } else {
                Cardinality::Streaming
            },
            deadline,
            wait_for_ready,
            max_recv,
            retryable: true,
        };
        ActiveCall::start(self, head, Some(body.freeze()), opts).await
    }

    /// Starts a call whose requests come from a stream, pulled by a task.
    async fn start_streaming<C, S>(
        &self,
        path: &str,
        request: Request<S>,
        codec: Arc<Mutex<C>>,
        cardinality: Cardinality,
    ) -> Result<ActiveCall, Status>
    where
        C: Codec,
        S: futures_core::Stream<Item = C::Encode> + Send + 'static,
    {
        let (deadline, wait_for_ready, max_send, max_recv) = self.call_settings(path, &request);
        let (stream, metadata) = request.into_parts();
        let head = self.request_head(path, metadata, deadline);
        let opts = CallOptions {
            cardinality,
            deadline,
            wait_for_ready,
            max_recv,
            retryable: false,
        };
        let call = ActiveCall::start(self, head, None, opts).await?;
        let (slot, conn) = call.attempt();
        tokio::spawn(pump_requests(slot, conn, stream, codec, max_send));
        Ok(call)
    }
}

impl Channel {
    /// The deadline, wait-for-ready and largest request message of a call
    /// to `path`: the request's, tightened by the service config's
    /// `methodConfig` (the shorter timeout and the smaller limit win;
    /// `waitForReady: true` applies to calls that did not ask for it).
    fn call_settings<T>(
        &self,
        path: &str,
        request: &Request<T>,
    ) -> (Option<tokio::time::Instant>, bool, usize, usize) {
        let mut deadline = request.effective_deadline();
        let mut wait_for_ready = request.wait_for_ready();
        let mut max_send = self.max_send_message_size();
        let mut max_recv = self.max_recv_message_size();
        let config = self.shared().service_config.load();
        if let Some(m) = (**config).as_ref().and_then(|c| c.method_config(path)) {
            if let Some(t) = m.timeout {
                let d = tokio::time::Instant::now() + t;
                deadline = Some(deadline.map_or(d, |r| r.min(d)));
            }
            wait_for_ready |= m.wait_for_ready == Some(true);
            if let Some(n) = m.max_request_message_bytes {
                max_send = max_send.min(n);
            }
            if let Some(n) = m.max_response_message_bytes {
                max_recv = max_recv.min(n);
            }
        }
        (deadline, wait_for_ready, max_send, max_recv)
    }
}

/// Headers, the one message and the trailers of a unary response.
async fn receive_one(mut call: ActiveCall) -> Result<(Metadata, Bytes, Metadata), Status> {
    let mut headers = None;
    let mut message = None;
    loop {
        match call.event().await {
            RecvEvent::Headers(md) => headers = Some(md),
            RecvEvent::Message(m) => message = Some(m),
            RecvEvent::Status(mut status) => {
                if !status.is_ok() {
                    return Err(status);
                }
                let trailers = std::mem::take(status.metadata_mut());
                let message = message.ok_or_else(|| {
                    Status::internal("cardinality violation: no response message for a unary call")
                })?;
                return Ok((headers.unwrap_or_default(), message, trailers));
            }
        }
    }
}

/// Waits for the response headers, then hands the rest to a [`Streaming`].
async fn receive_stream<T>(
    mut call: ActiveCall,
    decode: Box<dyn FnMut(Bytes) -> Result<T, Status> + Send>,
) -> Result<Response<Streaming<T>>, Status> {
    match call.event().await {
        RecvEvent::Headers(md) => Ok(Response::new(md, Streaming::new(call, decode), None)),
        RecvEvent::Status(mut status) => {
            if !status.is_ok() {
                return Err(status);
            }
            let trailers = std::mem::take(status.metadata_mut());
            Ok(Response::new(
                Metadata::new(),
                Streaming::ended(decode, trailers),
                None,
            ))
        }
        RecvEvent::Message(_) => Err(Status::internal(
            "received a message before response headers",
        )),
    }
}
