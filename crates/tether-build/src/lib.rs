//! `tether-build`: generate prost messages and typed tether clients from
//! `.proto` files, from a `build.rs`, without `protoc`.
//!
//! `.proto` files are parsed by [`protox`] (pure Rust) into a
//! `FileDescriptorSet`; `prost-build` turns its messages and enums into Rust,
//! and [`ClientGenerator`] adds one client per service (see its docs for the
//! shape of the generated methods).
//!
//! ```no_run
//! // build.rs
//! fn main() -> std::io::Result<()> {
//!     tether_build::configure().compile(&["proto/grpc/testing/test.proto"], &["proto"])
//! }
//! ```
//!
//! The code for protobuf package `grpc.testing` lands in
//! `$OUT_DIR/grpc.testing.rs`; include it in a module:
//!
//! ```ignore
//! pub mod testing {
//!     include!(concat!(env!("OUT_DIR"), "/grpc.testing.rs"));
//! }
//! ```
//!
//! The generated code needs the `tether` and `prost` crates, nothing else:
//! client-streaming and bidirectional methods take any
//! `tether::futures_core::Stream` of request messages (or a
//! `tether::Request` around one), through `tether::IntoStreamingRequest`.
#![forbid(unsafe_code)]

mod client;

pub use client::ClientGenerator;

use std::io;
use std::path::{Path, PathBuf};

/// A [`Builder`] with the defaults: output in `$OUT_DIR`, clients for every
/// service, `cargo:rerun-if-changed` lines for every `.proto` file read.
pub fn configure() -> Builder {
    Builder::default()
}

/// Shorthand for `configure().compile(protos, includes)`.
pub fn compile_protos(
    protos: &[impl AsRef<Path>],
    includes: &[impl AsRef<Path>],
) -> io::Result<()> {
    configure().compile(protos, includes)
}

/// What to generate and where: built by [`configure`], consumed by
/// [`Builder::compile`].
#[derive(Clone, Debug)]
pub struct Builder {
    out_dir: Option<PathBuf>,
    generator: ClientGenerator,
    build_client: bool,
    emit_rerun_if_changed: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            out_dir: None,
            generator: ClientGenerator::new(),
            build_client: true,
            emit_rerun_if_changed: true,
        }
    }
}

impl Builder {
    /// Where the generated files go (default: the `OUT_DIR` cargo gives
    /// build scripts). One file per protobuf package, named after it
    /// (`grpc.testing.rs`; `_.rs` for files without a package).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.out_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Whether to generate clients (default `true`); `false` leaves only
    /// the messages.
    pub fn build_client(mut self, on: bool) -> Self {
        self.build_client = on;
        self
    }

    /// The path of the tether crate in generated code (default `::tether`).
    pub fn crate_path(mut self, path: &str) -> Self {
        self.generator = self.generator.crate_path(path);
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every `.proto` file
    /// read, imports included (default `true`; these lines only matter in a
    /// build script).
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.emit_rerun_if_changed = on;
        self
    }

    /// Parses `protos` (paths as given, each under one of `includes`, where
    /// imports are looked up too) and writes the generated code.
    ///
    /// Errors: a `.proto` file that is missing or does not parse (the
    /// message names the file, line and column), or a file that cannot be
    /// written.
    pub fn compile(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        self.compile_with_config(prost_build::Config::new(), protos, includes)
    }

    /// Like [`Builder::compile`], with a `prost_build::Config` of your own
    /// for the messages (attributes, extern paths, bytes fields...). Its
    /// service generator and output directory are replaced by this
    /// builder's.
    pub fn compile_with_config(
        self,
        mut config: prost_build::Config,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> io::Result<()> {
        let fds = protox::compile(protos, includes).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("tether-build: {e}"))
        })?;

        if self.emit_rerun_if_changed {
            for file in &fds.file {
                let name = file.name();
                if let Some(path) = includes
                    .iter()
                    .map(|dir| dir.as_ref().join(name))
                    .find(|p| p.is_file())
                {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }

        if let Some(dir) = &self.out_dir {
            config.out_dir(dir);
        }
        if self.build_client {
            config.service_generator(Box::new(self.generator));
        }
        config.compile_fds(fds)
    }
}
