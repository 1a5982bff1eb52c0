//! Calls to the interop `grpc.testing.TestService` of the grpc-go backends
//! ([`super::backends::Backends`]) through a [`tether::Channel`], returning
//! which backend served each (its `x-backend` response header).

use super::backends::BACKEND_HEADER;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::time::Duration;
use tether::{BytesCodec, Channel, Request, Status};

/// The unary method (an empty `SimpleRequest` gets an empty `SimpleResponse`).
pub const UNARY_CALL: &str = "/grpc.testing.TestService/UnaryCall";
/// The server-streaming method: one response per `response_parameters`,
/// each after its `interval_us`.
pub const STREAMING_OUTPUT_CALL: &str = "/grpc.testing.TestService/StreamingOutputCall";

/// A `StreamingOutputCallRequest` asking for `responses` empty responses,
/// each `interval` after the previous one: the call lasts about
/// `responses * interval`.
pub fn streaming_output_request(responses: usize, interval: Duration) -> Bytes {
    let interval_us = u64::try_from(interval.as_micros()).unwrap();
    assert!(interval_us <= i32::MAX as u64, "interval_us is an int32");
    // ResponseParameters { interval_us (field 2, varint) }.
    let mut params = vec![0x10];
    put_varint(&mut params, interval_us);
    let mut out = Vec::new();
    for _ in 0..responses {
        // StreamingOutputCallRequest.response_parameters: field 2, bytes.
        out.push(0x12);
        put_varint(&mut out, params.len() as u64);
        out.extend_from_slice(&params);
    }
    Bytes::from(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The backend named by a response's `x-backend` header.
fn backend_of(md: &tether::Metadata) -> Result<String, Status> {
    md.get(BACKEND_HEADER)
        .map(str::to_string)
        .ok_or_else(|| Status::internal("response without x-backend"))
}

/// One `UnaryCall` with an empty request, bounded by `timeout`; the backend
/// that served it.
pub async fn unary(
    ch: &Channel,
    wait_for_ready: bool,
    timeout: Duration,
) -> Result<String, Status> {
    let req = Request::new(Bytes::new())
        .with_wait_for_ready(wait_for_ready)
        .with_timeout(timeout);
    let resp = ch.unary(UNARY_CALL, req, BytesCodec).await?;
    backend_of(resp.metadata())
}

/// One `StreamingOutputCall` held open about `responses * interval`, read
/// to its end; the backend that served it and how many responses came.
pub async fn held(
    ch: &Channel,
    responses: usize,
    interval: Duration,
    timeout: Duration,
) -> Result<(String, usize), Status> {
    let req = Request::new(streaming_output_request(responses, interval))
        .with_wait_for_ready(true)
        .with_timeout(timeout);
    let resp = ch
        .server_streaming(STREAMING_OUTPUT_CALL, req, BytesCodec)
        .await?;
    let backend = backend_of(resp.metadata())?;
    let mut stream = resp.into_message();
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok((backend, n))
}

/// `n` sequential unary calls (each bounded by `timeout`, wait-for-ready);
/// how many each backend served. Panics on a failed call.
pub async fn spread(ch: &Channel, n: usize, timeout: Duration) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for i in 0..n {
        let backend = unary(ch, true, timeout)
            .await
            .unwrap_or_else(|e| panic!("call {i} of {n} failed: {e}"));
        *counts.entry(backend).or_insert(0) += 1;
    }
    counts
}
