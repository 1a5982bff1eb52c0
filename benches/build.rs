//! Generates the grpc.testing messages and the BenchmarkService client.

fn main() -> std::io::Result<()> {
    tether_build::configure().compile(
        &["../proto/grpc/testing/benchmark_service.proto"],
        &["../proto"],
    )
}
