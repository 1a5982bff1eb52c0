//! tether unary round trips against grpc-go's benchmark server (started here,
//! killed at the end): 1 and 16 calls in flight on one channel, on a
//! current-thread and a multi-thread tokio runtime; and one call in flight
//! with and without a retry policy configured (`grpc_unary/retry_policy`). The time reported is per
//! call (the wall time of `iters` calls over `in_flight` tasks, / `iters`).
//! grpc-go's own client cannot run under criterion: `benches/grpc-vs-go.sh`
//! runs it side by side with `grpc_client`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};
use tether::Channel;
use tether_benches::grpc::{
    pb::BenchmarkServiceClient, simple_request, unary_calls, GoServer, RETRY_CONFIG,
};

fn grpc_unary(c: &mut Criterion) {
    let server = match GoServer::start() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("grpc_unary: skipped, no go-benchmark-server in .peers/bin ({e})");
            return;
        }
    };
    let request = simple_request(1, 1);
    for multi in [false, true] {
        let rt = if multi {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
        };
        let rt = rt.expect("tokio runtime");
        let client = rt.block_on(async {
            let channel = Channel::builder(&server.target())
                .expect("target")
                .connect()
                .await
                .expect("connect to go-benchmark-server");
            BenchmarkServiceClient::new(channel)
        });
        let name = if multi { "multi" } else { "current" };
        let mut g = c.benchmark_group(format!("grpc_unary/{name}"));
        g.measurement_time(Duration::from_secs(4));
        for in_flight in [1usize, 16] {
            g.bench_function(format!("in_flight_{in_flight}"), |b| {
                b.iter_custom(|iters| {
                    rt.block_on(async {
                        let start = Instant::now();
                        unary_calls(&client, &request, iters as usize, in_flight, false).await;
                        start.elapsed()
                    })
                })
            });
        }
        g.finish();
    }
    // Side by side in one group: a channel without a service config and
    // one with a retry policy and throttling that never come into play.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut g = c.benchmark_group("grpc_unary/retry_policy");
    g.measurement_time(Duration::from_secs(4));
    for (name, config) in [("none", None), ("configured_unused", Some(RETRY_CONFIG))] {
        let client = rt.block_on(async {
            let mut builder = Channel::builder(&server.target()).expect("target");
            if let Some(config) = config {
                builder = builder.default_service_config(config).expect("config");
            }
            let channel = builder.connect().await.expect("connect");
            BenchmarkServiceClient::new(channel)
        });
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                rt.block_on(async {
                    let start = Instant::now();
                    unary_calls(&client, &request, iters as usize, 1, false).await;
                    start.elapsed()
                })
            })
        });
    }
    g.finish();
    drop(server);
}

criterion_group!(benches, grpc_unary);
criterion_main!(benches);
