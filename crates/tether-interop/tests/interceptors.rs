//! An interceptor against grpc-go's interop server: metadata it adds
//! asynchronously reaches the server (which echoes
//! `x-grpc-test-echo-initial` in its response headers), through the
//! generated client unchanged; `on_end` sees each call's OK.

mod common;

use common::{free_port, runtime, Server};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tether::{Channel, Code, InterceptFuture, Interceptor, Metadata, Status};
use tether_interop::pb::{SimpleRequest, StreamingOutputCallRequest, TestServiceClient};
use tether_interop::request_stream::stream_of;

const ECHO: &str = "x-grpc-test-echo-initial";

#[derive(Clone, Default)]
struct Echo {
    ends: Arc<Mutex<Vec<(String, Code)>>>,
}

impl Interceptor for Echo {
    fn on_start<'a>(&'a self, _method: &'a str, md: &'a mut Metadata) -> InterceptFuture<'a> {
        Box::pin(async move {
            // As a token fetch would.
            tokio::time::sleep(Duration::from_millis(5)).await;
            md.insert(ECHO, "from-the-interceptor")
                .map_err(|e| Status::internal(e.to_string()))
        })
    }

    fn on_end(&self, method: &str, status: &Status) {
        self.ends
            .lock()
            .unwrap()
            .push((method.to_owned(), status.code()));
    }
}

#[test]
fn interceptor_metadata_reaches_grpc_go() {
    if !Server::Go.available() {
        return;
    }
    let port = free_port();
    let _peer = Server::Go.start(port, false, &[]);
    let echo = Echo::default();
    runtime().block_on(async {
        let channel = Channel::builder(&format!("http://127.0.0.1:{port}"))
            .expect("target")
            .interceptor(echo.clone())
            .build()
            .unwrap();
        let client = TestServiceClient::new(channel);
        let response = client
            .unary_call(SimpleRequest::default())
            .await
            .expect("UnaryCall");
        assert_eq!(response.metadata().get(ECHO), Some("from-the-interceptor"));

        let mut stream = client
            .full_duplex_call(stream_of(vec![StreamingOutputCallRequest::default()]))
            .await
            .expect("FullDuplexCall");
        let headers = stream.headers().await.expect("FullDuplexCall headers");
        assert_eq!(headers.get(ECHO), Some("from-the-interceptor"));
        while stream.message().await.expect("FullDuplexCall").is_some() {}
    });
    assert_eq!(
        *echo.ends.lock().unwrap(),
        vec![
            ("/grpc.testing.TestService/UnaryCall".to_owned(), Code::Ok),
            (
                "/grpc.testing.TestService/FullDuplexCall".to_owned(),
                Code::Ok
            ),
        ]
    );
}
