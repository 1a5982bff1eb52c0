//! The four call types.

use super::Channel;
use crate::client::call::{cancelled, config_id, ActiveCall, Body, CallOptions};
use crate::client::interceptor::EndHook;
use crate::client::{
    sender, CancelHandle, IntoRequest, IntoStreamingRequest, Request, Response, ResponseFuture,
    Sender, Streaming,
};
use crate::codec::Codec;
use crate::grpc::{encode_message_with, Cardinality, Encoding, RecvEvent};
use crate::metadata::Metadata;
use crate::retry::buffer::{pump_requests, Outbound};
use crate::retry::policy::CallPolicy;
use crate::status::Status;
use bytes::{Bytes, BytesMut};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;

impl Channel {
    /// A unary call: one request, one response.
    pub async fn unary<C: Codec>(
        &self,
        path: &str,
        request: Request<C::Encode>,
        mut codec: C,
    ) -> Result<Response<C::Decode>, Status> {
        let mut call = self.start(path, request, &mut codec, true).await?;
        let result = receive_one(&mut call)
            .await
            .and_then(|(headers, message, trailers)| {
                Ok(
                    Response::new(headers, codec.decode(message)?, Some(trailers))
                        .with_attempts(call.attempts()),
                )
            });
        call.report_result(&result);
        result
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
        let mut call = self
            .start_streaming(path, request, codec.clone(), Cardinality::Unary)
            .await?;
        let result = receive_one(&mut call).await.and_then(|(h, m, t)| {
            let decoded = codec.lock().unwrap_or_else(|e| e.into_inner()).decode(m)?;
            Ok(Response::new(h, decoded, Some(t)).with_attempts(call.attempts()))
        });
        call.report_result(&result);
        result
    }

    /// A bidirectional-streaming call: streams both ways.
    ///
    /// `request` is a bare stream of messages or a [`Request`] around one
    /// (see [`IntoStreamingRequest`]).
    ///
    /// Returns as soon as the call is open (a connection picked, the
    /// request headers handed to it), without waiting for the response
    /// headers: a server may send those only with its first response,
    /// after the client's first request. [`Streaming::headers`] waits for
    /// them. See [`Channel::bidi`] for a call fed through a [`Sender`].
    pub async fn streaming<C, R>(
        &self,
        path: &str,
        request: R,
        codec: C,
    ) -> Result<Streaming<C::Decode>, Status>
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
        Ok(Streaming::new(call, Box::new(decode), None))
    }

    /// A bidirectional-streaming call fed through a [`Sender`]: returns as
    /// soon as the call is open, so the client may send first, read first,
    /// or both from different tasks.
    ///
    /// `request` carries the metadata and options (`()` for none).
    ///
    /// ```no_run
    /// # async fn f(channel: tether::Channel) -> Result<(), tether::Status> {
    /// use bytes::Bytes;
    /// let (tx, mut rx) = channel.bidi("/pkg.Svc/Chat", (), tether::BytesCodec).await?;
    /// tx.send(Bytes::from_static(b"hello")).await?;
    /// let first = rx.message().await?;
    /// tx.finish();
    /// while let Some(m) = rx.message().await? { /* ... */ }
    /// # let _ = first; Ok(()) }
    /// ```
    pub async fn bidi<C: Codec>(
        &self,
        path: &str,
        request: impl IntoRequest<()>,
        codec: C,
    ) -> Result<(Sender<C::Encode>, Streaming<C::Decode>), Status> {
        let (tx, stream) = sender();
        let request = request.into_request().map(|()| stream);
        let responses = self.streaming(path, request, codec).await?;
        Ok((tx, responses))
    }

    /// A client-streaming call fed through a [`Sender`]: returns as soon as
    /// the call is open, with the [`ResponseFuture`] of its one response.
    ///
    /// `request` carries the metadata and options (`()` for none).
    ///
    /// ```no_run
    /// # async fn f(channel: tether::Channel) -> Result<(), tether::Status> {
    /// use bytes::Bytes;
    /// let (tx, response) = channel.client_stream("/pkg.Svc/Upload", (), tether::BytesCodec).await?;
    /// tx.send(Bytes::from_static(b"part 1")).await?;
    /// tx.send(Bytes::from_static(b"part 2")).await?;
    /// tx.finish();
    /// let response = response.await?;
    /// # let _ = response; Ok(()) }
    /// ```
    pub async fn client_stream<C: Codec>(
        &self,
        path: &str,
        request: impl IntoRequest<()>,
        codec: C,
    ) -> Result<(Sender<C::Encode>, ResponseFuture<C::Decode>), Status> {
        let (tx, stream) = sender();
        let request = request.into_request().map(|()| stream);
        let codec = Arc::new(Mutex::new(codec));
        let mut call = self
            .start_streaming(path, request, codec.clone(), Cardinality::Unary)
            .await?;
        let cancel = call.cancel_handle();
        let response = async move {
            let result = receive_one(&mut call).await.and_then(|(h, m, t)| {
                let decoded = codec.lock().unwrap_or_else(|e| e.into_inner()).decode(m)?;
                Ok(Response::new(h, decoded, Some(t)).with_attempts(call.attempts()))
            });
            call.report_result(&result);
            result
        };
        Ok((tx, ResponseFuture::new(Box::pin(response), cancel)))
    }

    /// Encodes the single request message and starts the call.
    async fn start<C: Codec>(
        &self,
        path: &str,
        request: Request<C::Encode>,
        codec: &mut C,
        unary: bool,
    ) -> Result<ActiveCall, Status> {
        let asked = (request.effective_deadline(), request.wait_for_ready());
        let encoding = self.encoding_of(&request);
        let cancel = request.cancel_handle().cloned();
        let (message, mut metadata) = request.into_parts();
        let (settings, end) = self
            .settle(path, asked, &mut metadata, cancel.as_ref())
            .await?;
        let CallSettings {
            deadline,
            wait_for_ready,
            max_send,
            max_recv,
            policy,
            config,
        } = settings;
        let mut body = BytesMut::new();
        if let Err(status) = encode_message_with(codec, &message, &mut body, max_send, encoding) {
            if let Some(end) = end {
                end.report(&status);
            }
            return Err(status);
        }
        drop(message);
        let head = self.request_head(path, metadata, deadline, encoding);
        let opts = CallOptions {
            cardinality: if unary {
                Cardinality::Unary
            } else {
                Cardinality::Streaming
            },
            deadline,
            wait_for_ready,
            max_recv,
            policy,
            config,
        };
        let body = Body::Message(body.freeze());
        ActiveCall::start(self, head, body, opts, cancel.as_ref(), end).await
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
        let asked = (request.effective_deadline(), request.wait_for_ready());
        let encoding = self.encoding_of(&request);
        let cancel = request.cancel_handle().cloned();
        let (stream, mut metadata) = request.into_parts();
        let (settings, end) = self
            .settle(path, asked, &mut metadata, cancel.as_ref())
            .await?;
        let CallSettings {
            deadline,
            wait_for_ready,
            max_send,
            max_recv,
            policy,
            config,
        } = settings;
        let head = self.request_head(path, metadata, deadline, encoding);
        let opts = CallOptions {
            cardinality,
            deadline,
            wait_for_ready,
            max_recv,
            policy,
            config,
        };
        let budget = self.shared().retry_budget.clone();
        // Kept for transparent retries too (gRFC A6: with any policy or
        // none), until the call commits.
        let out = Arc::new(Outbound::new(budget, self.inner.retries, !policy.is_none()));
        let body = Body::Stream(out.clone());
        let call = ActiveCall::start(self, head, body, opts, cancel.as_ref(), end).await?;
        tokio::spawn(pump_requests(out, stream, codec, max_send, encoding));
        Ok(call)
    }
}

impl Channel {
    /// How a call's request messages are compressed: the request's choice,
    /// else the channel's.
    fn encoding_of<T>(&self, request: &Request<T>) -> Encoding {
        request.compression().unwrap_or(self.inner.compression)
    }

    /// Runs the interceptors' `on_start` hooks on the request metadata,
    /// bounded by the call's deadline and cancel handle; on failure, tells
    /// their `on_end` hooks. `None` without interceptors.
    async fn intercept(
        &self,
        path: &str,
        metadata: &mut Metadata,
        deadline: Option<tokio::time::Instant>,
        cancel: Option<&CancelHandle>,
    ) -> Result<Option<EndHook>, Status> {
        let interceptors = &self.inner.interceptors;
        if interceptors.is_empty() {
            return Ok(None);
        }
        let end = EndHook::new(interceptors.clone(), path);
        let run = async {
            for i in interceptors.iter() {
                i.on_start(path, metadata).await?;
            }
            Ok(())
        };
        let mut run = pin!(run);
        let mut sleep = deadline.map(|d| Box::pin(tokio::time::sleep_until(d)));
        let reg = cancel.map(CancelHandle::register);
        let result = poll_fn(|cx| {
            if let Some(reg) = &reg {
                if reg.poll_cancelled(cx).is_ready() {
                    return Poll::Ready(Err(cancelled()));
                }
            }
            if let Some(sleep) = sleep.as_mut() {
                if sleep.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(Status::deadline_exceeded(
                        "deadline exceeded in an interceptor",
                    )));
                }
            }
            run.as_mut().poll(cx)
        })
        .await;
        match result {
            Ok(()) => Ok(Some(end)),
            Err(status) => {
                end.report(&status);
                Err(status)
            }
        }
    }

    /// The deadline, wait-for-ready, largest request and response messages
    /// and retry policy of a call to `path`: the request's, tightened by
    /// the service config's `methodConfig` (the shorter timeout and the
    /// smaller limit win; `waitForReady: true` applies to calls that did
    /// not ask for it), with its `retryPolicy` or `hedgingPolicy`.
    /// `asked`: the request's own deadline and wait-for-ready.
    fn call_settings(
        &self,
        path: &str,
        asked: (Option<tokio::time::Instant>, bool),
    ) -> CallSettings {
        let (mut deadline, mut wait_for_ready) = asked;
        let mut max_send = self.max_send_message_size();
        let mut max_recv = self.max_recv_message_size();
        let mut policy = CallPolicy::None;
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
            policy = self.policy_of(m);
        }
        CallSettings {
            deadline,
            wait_for_ready,
            max_send,
            max_recv,
            policy,
            config: config_id(&config),
        }
    }

    /// A call's settings once its interceptors ran (they see the deadline
    /// known then) and, for a call made before the resolver's first
    /// report, once that report came (its service config may change them).
    async fn settle(
        &self,
        path: &str,
        asked: (Option<tokio::time::Instant>, bool),
        metadata: &mut Metadata,
        cancel: Option<&CancelHandle>,
    ) -> Result<(CallSettings, Option<EndHook>), Status> {
        let settings = self.call_settings(path, asked);
        let end = self
            .intercept(path, metadata, settings.deadline, cancel)
            .await?;
        if self.shared().is_resolved() {
            return Ok((settings, end));
        }
        if let Err(status) = self.first_resolution(settings.deadline).await {
            if let Some(end) = end {
                end.report(&status);
            }
            return Err(status);
        }
        Ok((self.call_settings(path, asked), end))
    }
}

/// What a call to one method gets from its request and the service config.
struct CallSettings {
    deadline: Option<tokio::time::Instant>,
    wait_for_ready: bool,
    max_send: usize,
    max_recv: usize,
    policy: CallPolicy,
    /// Which service config they came from (`config_id`).
    config: usize,
}

impl Channel {
    /// Until the resolver's first report a call waits for it (its service
    /// config may set the call's timeout, waitForReady and retry policy),
    /// leaving IDLE if needed; bounded by the call's own deadline.
    /// Interceptors run before (as in grpc-go, where they wrap the call):
    /// a call they end never leaves IDLE.
    async fn first_resolution(&self, deadline: Option<tokio::time::Instant>) -> Result<(), Status> {
        self.inner.request_connection();
        if self.shared().wait_resolved(deadline).await {
            Ok(())
        } else {
            Err(Status::deadline_exceeded(
                "deadline exceeded while waiting for name resolution",
            ))
        }
    }

    /// The retry or hedging policy of a method config (none when retries
    /// are off on the builder).
    pub(crate) fn policy_of(&self, m: &crate::service_config::MethodConfig) -> CallPolicy {
        if !self.inner.retries {
            return CallPolicy::None;
        }
        if let Some(p) = &m.retry_policy {
            CallPolicy::retry(p)
        } else if let Some(p) = &m.hedging_policy {
            CallPolicy::hedge(p)
        } else {
            CallPolicy::None
        }
    }

    /// The policy of a call to `path` under the service config in force
    /// now.
    pub(crate) fn policy_for(&self, path: &[u8]) -> CallPolicy {
        let config = self.shared().service_config.load();
        let path = std::str::from_utf8(path).unwrap_or("");
        (**config)
            .as_ref()
            .and_then(|c| c.method_config(path))
            .map_or(CallPolicy::None, |m| self.policy_of(m))
    }
}

/// Headers, the one message and the trailers of a unary response.
async fn receive_one(call: &mut ActiveCall) -> Result<(Metadata, Bytes, Metadata), Status> {
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
        RecvEvent::Headers(md) => {
            let headers = md.clone();
            let attempts = call.attempts();
            Ok(
                Response::new(md, Streaming::new(call, decode, Some(headers)), None)
                    .with_attempts(attempts),
            )
        }
        RecvEvent::Status(mut status) => {
            call.report_end(&status);
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
        RecvEvent::Message(_) => {
            let status = Status::internal("received a message before response headers");
            call.fail();
            call.report_end(&status);
            Err(status)
        }
    }
}
