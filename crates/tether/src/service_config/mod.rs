//! gRPC service config (grpc/grpc `doc/service_config.md`), parsed from
//! JSON: the load-balancing policy and per-method settings.
