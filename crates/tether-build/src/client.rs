//! The client stub generator: one typed client per protobuf service.

use prost_build::{Comments, Method, Service, ServiceGenerator};
use std::fmt::Write as _;

/// Generates a typed tether client for every service prost-build meets.
///
/// For a service `Foo` in package `pkg` it writes, next to the package's
/// messages, a `FooClient` holding a `tether::Channel`, with one `async`
/// method per RPC: the method name in snake_case, the path
/// `/pkg.Foo/Method`, and the call shape the proto declares:
///
/// | proto | method takes | method returns |
/// |---|---|---|
/// | `rpc M(A) returns (B)` | `impl IntoRequest<A>` | `Response<B>` |
/// | `rpc M(A) returns (stream B)` | `impl IntoRequest<A>` | `Response<Streaming<B>>` |
/// | `rpc M(stream A) returns (B)` | `impl IntoStreamingRequest<Message = A>` | `Response<B>` |
/// | `rpc M(stream A) returns (stream B)` | `impl IntoStreamingRequest<Message = A>` | `Response<Streaming<B>>` |
///
/// `tether::IntoStreamingRequest` is implemented for any
/// `Stream<Item = A> + Send + 'static` and for a `Request` around one, so
/// callers pass a bare stream, or a `Request` when they want metadata or a
/// deadline. Generated code names only the `tether` crate (the `Stream`
/// trait is `tether::futures_core::Stream`): the crate that includes it
/// needs no other dependency than `tether` and `prost`.
///
/// The proto comments of the service and of each method become their docs.
/// Use it directly with your own [`prost_build::Config`] through
/// [`prost_build::Config::service_generator`], or through
/// [`crate::Builder`], which sets everything up.
#[derive(Clone, Debug)]
pub struct ClientGenerator {
    crate_path: String,
}

impl Default for ClientGenerator {
    fn default() -> Self {
        ClientGenerator {
            crate_path: "::tether".to_owned(),
        }
    }
}

/// Names generated methods must not take: the client's own methods.
const RESERVED_METHODS: &[&str] = &["new", "channel", "into_channel"];

impl ClientGenerator {
    /// A generator with the default crate path, `::tether`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The path of the tether crate in generated code (default `::tether`),
    /// for crates that rename or re-export it.
    pub fn crate_path(mut self, path: &str) -> Self {
        self.crate_path = path.to_owned();
        self
    }

    /// The `Stream` trait named in the docs of client-streaming methods: the
    /// bound itself is `tether::IntoStreamingRequest`, whose streams implement
    /// `futures_core::Stream`, which tether re-exports.
    fn stream_trait_path(&self) -> String {
        format!("{}::futures_core::Stream", self.crate_path)
    }

    /// The Rust source of the client for `service` (what
    /// [`ServiceGenerator::generate`] appends), unformatted.
    pub fn client_source(&self, service: &Service) -> String {
        let mut buf = String::new();
        self.write_client(service, &mut buf);
        buf
    }

    fn write_client(&self, service: &Service, buf: &mut String) {
        let t = &self.crate_path;
        let full_name = full_service_name(service);
        let client = format!("{}Client", service.name);

        write_docs(&service.comments, buf);
        if has_docs(&service.comments) {
            buf.push_str("///\n");
        }
        let _ = writeln!(
            buf,
            "/// Client of the `{full_name}` service: one method per RPC, \
             each sent on the client's channel."
        );
        let _ = write!(
            buf,
            "#[derive(Clone, Debug)]\n\
             pub struct {client} {{\n    channel: {t}::Channel,\n}}\n\n"
        );
        let _ = write!(
            buf,
            "impl {client} {{\n\
             /// A client that sends its calls on `channel`.\n\
             pub fn new(channel: {t}::Channel) -> Self {{\n    Self {{ channel }}\n}}\n\n\
             /// The channel this client sends its calls on.\n\
             pub fn channel(&self) -> &{t}::Channel {{\n    &self.channel\n}}\n\n\
             /// Gives the channel back.\n\
             pub fn into_channel(self) -> {t}::Channel {{\n    self.channel\n}}\n"
        );
        for method in &service.methods {
            buf.push('\n');
            self.write_method(&full_name, method, buf);
        }
        buf.push_str("}\n");
    }

    fn write_method(&self, full_service: &str, method: &Method, buf: &mut String) {
        let t = &self.crate_path;
        let path = format!("/{full_service}/{}", method.proto_name);
        let name = if RESERVED_METHODS.contains(&method.name.as_str()) {
            format!("{}_rpc", method.name)
        } else {
            method.name.clone()
        };
        let (input, output) = (&method.input_type, &method.output_type);
        let (shape, call) = match (method.client_streaming, method.server_streaming) {
            (false, false) => ("a unary call", "unary"),
            (false, true) => ("a server-streaming call", "server_streaming"),
            (true, false) => ("a client-streaming call", "client_streaming"),
            (true, true) => ("a bidirectional streaming call", "streaming"),
        };

        write_docs(&method.comments, buf);
        if has_docs(&method.comments) {
            buf.push_str("///\n");
        }
        let _ = writeln!(buf, "/// `{path}`: {shape}.");
        if method.client_streaming {
            let _ = writeln!(
                buf,
                "///\n/// `request`: any `{stream}<Item = {input}> + Send + 'static`, \
                 or a `{t}::Request` around one (for metadata and a deadline). \
                 Its messages are sent as it yields them; its end half-closes the call.",
                stream = self.stream_trait_path(),
            );
        }
        if method.server_streaming {
            buf.push_str(
                "///\n/// Dropping the response stream before its end cancels the call.\n",
            );
        }

        if method.client_streaming && method.server_streaming {
            buf.push_str(
                "///\n/// Returns once the call is open, before the response headers \
                 (a server may send them only after the first request): \
                 `Streaming::headers` waits for them.\n",
            );
        }

        let ret = if method.client_streaming && method.server_streaming {
            format!("{t}::Streaming<{output}>")
        } else if method.server_streaming {
            format!("{t}::Response<{t}::Streaming<{output}>>")
        } else {
            format!("{t}::Response<{output}>")
        };
        if method.client_streaming {
            let _ = write!(
                buf,
                "pub async fn {name}(\n\
                 &self,\n\
                 request: impl {t}::IntoStreamingRequest<Message = {input}>,\n\
                 ) -> ::core::result::Result<{ret}, {t}::Status> {{\n"
            );
        } else {
            let _ = write!(
                buf,
                "pub async fn {name}(\n\
                 &self,\n\
                 request: impl {t}::IntoRequest<{input}>,\n\
                 ) -> ::core::result::Result<{ret}, {t}::Status> {{\n"
            );
        }
        let request = if method.client_streaming {
            "request.into_streaming_request()"
        } else {
            "request.into_request()"
        };
        let _ = write!(
            buf,
            "self.channel\n\
             .{call}(\n\
             \"{path}\",\n\
             {request},\n\
             {t}::ProstCodec::<{input}, {output}>::default(),\n\
             )\n\
             .await\n\
             }}\n"
        );
    }
}

impl ServiceGenerator for ClientGenerator {
    fn generate(&mut self, service: Service, buf: &mut String) {
        self.write_client(&service, buf);
    }
}

/// `package.Service`, or `Service` in a file without a package.
fn full_service_name(service: &Service) -> String {
    if service.package.is_empty() {
        service.proto_name.clone()
    } else {
        format!("{}.{}", service.package, service.proto_name)
    }
}

fn has_docs(comments: &Comments) -> bool {
    !comments.leading.is_empty() || !comments.trailing.is_empty()
}

/// The leading and trailing comments as `///` lines (detached comments,
/// which belong to no item, are left out).
fn write_docs(comments: &Comments, buf: &mut String) {
    let docs = Comments {
        leading_detached: Vec::new(),
        leading: comments.leading.clone(),
        trailing: comments.trailing.clone(),
    };
    docs.append_with_indent(0, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(name: &str, proto: &str, client: bool, server: bool) -> Method {
        Method {
            name: name.to_owned(),
            proto_name: proto.to_owned(),
            comments: Comments::default(),
            input_type: "In".to_owned(),
            output_type: "super::Out".to_owned(),
            input_proto_type: ".p.In".to_owned(),
            output_proto_type: ".Out".to_owned(),
            options: Default::default(),
            client_streaming: client,
            server_streaming: server,
        }
    }

    fn service(package: &str, methods: Vec<Method>) -> Service {
        Service {
            name: "Svc".to_owned(),
            proto_name: "Svc".to_owned(),
            package: package.to_owned(),
            comments: Comments::default(),
            methods,
            options: Default::default(),
        }
    }

    #[test]
    fn unary_method_text() {
        let mut m = method("get_thing", "GetThing", false, false);
        m.comments.leading = vec![" Gets a thing.".to_owned()];
        let src = ClientGenerator::new().client_source(&service("p", vec![m]));
        let expected = "/// Gets a thing.\n\
            ///\n\
            /// `/p.Svc/GetThing`: a unary call.\n\
            pub async fn get_thing(\n\
            &self,\n\
            request: impl ::tether::IntoRequest<In>,\n\
            ) -> ::core::result::Result<::tether::Response<super::Out>, ::tether::Status> {\n\
            self.channel\n\
            .unary(\n\
            \"/p.Svc/GetThing\",\n\
            request.into_request(),\n\
            ::tether::ProstCodec::<In, super::Out>::default(),\n\
            )\n\
            .await\n\
            }\n";
        assert!(src.contains(expected), "{src}");
    }

    #[test]
    fn no_package_path_and_shapes() {
        let src = ClientGenerator::new()
            .crate_path("crate::t")
            .client_source(&service(
                "",
                vec![
                    method("a", "A", false, true),
                    method("b", "B", true, false),
                    method("c", "C", true, true),
                ],
            ));
        assert!(src.contains("\"/Svc/A\""), "{src}");
        assert!(src.contains(".server_streaming(\n\"/Svc/A\""), "{src}");
        assert!(src.contains(".client_streaming(\n\"/Svc/B\""), "{src}");
        assert!(src.contains(".streaming(\n\"/Svc/C\""), "{src}");
        assert!(src.contains("crate::t::Response<crate::t::Streaming<super::Out>>"));
        // Bidirectional: the stream itself, open before the response headers.
        assert!(
            src.contains(
                "::core::result::Result<crate::t::Streaming<super::Out>, crate::t::Status>"
            ),
            "{src}"
        );
        assert!(
            src.contains("any `crate::t::futures_core::Stream<Item = In> + Send + 'static`"),
            "{src}"
        );
        assert!(
            src.contains("request: impl crate::t::IntoStreamingRequest<Message = In>,"),
            "{src}"
        );
        assert!(src.contains("request.into_streaming_request(),"), "{src}");
        assert!(src.contains("Client of the `Svc` service"));
    }

    #[test]
    fn stream_trait_is_named_under_the_crate_path() {
        let src = ClientGenerator::new()
            .crate_path("::t")
            .client_source(&service("p", vec![method("up", "Up", true, false)]));
        assert!(
            src.contains("any `::t::futures_core::Stream<Item = In>"),
            "{src}"
        );
        assert!(
            !src.contains("::futures_core::Stream<Item = In> +\n"),
            "{src}"
        );
    }

    #[test]
    fn reserved_names_are_suffixed() {
        let src = ClientGenerator::new()
            .client_source(&service("p", vec![method("new", "New", false, false)]));
        assert!(src.contains("pub async fn new_rpc("), "{src}");
        assert!(src.contains("\"/p.Svc/New\""), "{src}");
    }
}
