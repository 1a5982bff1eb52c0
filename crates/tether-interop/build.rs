//! Generates the grpc.testing messages and clients from the repository's proto/.

fn main() -> std::io::Result<()> {
    tether_build::configure().compile(&["../../proto/grpc/testing/test.proto"], &["../../proto"])
}
