//! TLS configuration and the handshake (tokio-rustls with the `ring`
//! provider; ALPN `h2` is required).

use crate::status::Status;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::RootCertStore;
use std::fmt;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How a channel verifies the server and, for mTLS, identifies itself.
///
/// ```no_run
/// # fn f() -> Result<(), tether::Status> {
/// let ca = std::fs::read("ca.pem").unwrap();
/// let tls = tether::TlsConfig::new()
///     .ca_pem(&ca)?
///     .server_name("foo.test.google.fr");
/// let channel = tether::Channel::builder("https://127.0.0.1:8443")?.tls(tls).build()?;
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone)]
pub struct TlsConfig {
    roots: Roots,
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    server_name: Option<String>,
}

#[derive(Clone)]
enum Roots {
    Webpki,
    Custom(Vec<CertificateDer<'static>>),
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let roots = match &self.roots {
            Roots::Webpki => "webpki-roots".to_owned(),
            Roots::Custom(c) => format!("{} custom", c.len()),
        };
        f.debug_struct("TlsConfig")
            .field("roots", &roots)
            .field("client_identity", &self.identity.is_some())
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig::new()
    }
}

impl TlsConfig {
    /// Verifies servers against the Mozilla roots of `webpki-roots`.
    pub fn new() -> Self {
        TlsConfig {
            roots: Roots::Webpki,
            identity: None,
            server_name: None,
        }
    }

    /// Trusts exactly the certificates in this PEM (replacing the defaults).
    /// No certificate, or a malformed one, is INVALID_ARGUMENT.
    pub fn ca_pem(mut self, pem: &[u8]) -> Result<Self, Status> {
        let certs = parse_certs(pem, "CA")?;
        self.roots = Roots::Custom(certs);
        Ok(self)
    }

    /// Trusts the operating system's root certificates (on Linux, the
    /// distribution's CA bundle, e.g. `/etc/ssl/certs`; `SSL_CERT_FILE` and
    /// `SSL_CERT_DIR` are honoured), replacing the defaults. Certificates
    /// the system store holds but rustls cannot parse are skipped; a store
    /// that yields none at all is FAILED_PRECONDITION, naming what went wrong.
    pub fn native_roots(mut self) -> Result<Self, Status> {
        let found = rustls_native_certs::load_native_certs();
        if found.certs.is_empty() {
            let why = found
                .errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ");
            return Err(Status::failed_precondition(format!(
                "no system root certificates found{}{why}",
                if why.is_empty() { "" } else { ": " }
            )));
        }
        self.roots = Roots::Custom(found.certs);
        Ok(self)
    }

    /// How many root certificates this configuration trusts.
    pub fn root_count(&self) -> usize {
        match &self.roots {
            Roots::Webpki => webpki_roots::TLS_SERVER_ROOTS.len(),
            Roots::Custom(c) => c.len(),
        }
    }

    /// Presents this certificate chain and private key (PKCS#8, PKCS#1 or
    /// SEC1, in PEM) to servers that ask for a client certificate (mTLS).
    pub fn identity_pem(mut self, cert_chain: &[u8], key: &[u8]) -> Result<Self, Status> {
        let certs = parse_certs(cert_chain, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key)
            .map_err(|e| Status::invalid_argument(format!("bad client private key PEM: {e}")))?;
        self.identity = Some((certs, Arc::new(key)));
        Ok(self)
    }

    /// Verifies the server's certificate for this name (and sends it as
    /// SNI) instead of the target's host.
    pub fn server_name(mut self, name: &str) -> Self {
        self.server_name = Some(name.to_owned());
        self
    }

    pub(crate) fn server_name_override(&self) -> Option<&str> {
        self.server_name.as_deref()
    }

    /// The rustls configuration, with ALPN `h2`.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Status> {
        let mut roots = RootCertStore::empty();
        match &self.roots {
            Roots::Webpki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Roots::Custom(certs) => {
                for cert in certs {
                    roots.add(cert.clone()).map_err(|e| {
                        Status::invalid_argument(format!("bad CA certificate: {e}"))
                    })?;
                }
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Status::internal(format!("TLS setup failed: {e}")))?
            .with_root_certificates(roots);
        let mut config = match &self.identity {
            None => builder.with_no_client_auth(),
            Some((certs, key)) => builder
                .with_client_auth_cert(certs.clone(), key.clone_key())
                .map_err(|e| Status::invalid_argument(format!("bad client identity: {e}")))?,
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        Ok(Arc::new(config))
    }
}

fn parse_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, Status> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Status::invalid_argument(format!("bad {what} PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Status::invalid_argument(format!(
            "no certificate in the {what} PEM"
        )));
    }
    Ok(certs)
}

/// Runs the TLS handshake and checks that the server selected `h2`.
pub(super) async fn handshake(
    config: &Arc<rustls::ClientConfig>,
    name: &str,
    tcp: TcpStream,
) -> Result<TlsStream<TcpStream>, Status> {
    let server_name = ServerName::try_from(name.to_owned())
        .map_err(|e| Status::invalid_argument(format!("bad TLS server name {name:?}: {e}")))?;
    let stream = TlsConnector::from(config.clone())
        .connect(server_name, tcp)
        .await
        .map_err(|e| Status::unavailable(format!("TLS handshake failed: {e}")).with_source(e))?;
    // HOSTILE A4: a server that does not speak h2 must fail before the preface.
    if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
        return Err(Status::unavailable(
            "TLS server did not negotiate HTTP/2 with ALPN (h2 is required)",
        ));
    }
    Ok(stream)
}
