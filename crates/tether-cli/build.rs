//! Generates the grpc.reflection.v1 messages for `tether list` and `tether call`.
//!
//! Only v1 is compiled: v1alpha (proto/grpc/reflection/v1alpha) has the same
//! messages with the same field numbers, so the v1 types encode and decode
//! its bytes unchanged; only the method path differs.

fn main() -> std::io::Result<()> {
    tether_build::configure().build_client(false).compile(
        &["../../proto/grpc/reflection/v1/reflection.proto"],
        &["../../proto"],
    )
}
