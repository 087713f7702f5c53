//! TLS for the kit's servers: a certificate authority made for one test run, and a server
//! certificate it signs for `localhost` (the host of every `https://` endpoint the kit
//! gives out, e.g. [`OtlpReceiver::endpoint`](crate::otlp::OtlpReceiver::endpoint)).
//!
//! A function process trusts the authority through `SSL_CERT_FILE` (which the SDK's HTTPS
//! client reads with the system's other roots), so an `https://localhost:PORT` collector is
//! reached through a real TLS handshake and certificate check.

use std::{io, path::PathBuf, sync::Arc};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A test certificate authority, the server certificate it signed, and the PEM file a
/// client is told to trust.
pub struct TestCa {
    acceptor: TlsAcceptor,
    ca_file: PathBuf,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("ca_file", &self.ca_file)
            .finish_non_exhaustive()
    }
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl TestCa {
    /// Makes a new authority and a server certificate for `localhost`, and
    /// writes the authority's certificate to a PEM file under the system's temporary
    /// directory.
    ///
    /// # Errors
    ///
    /// If a key cannot be made or the file cannot be written.
    pub fn new() -> io::Result<TestCa> {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(other)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "serverless_sdk test authority");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().map_err(other)?)
            .map_err(other)?;
        let server_key = KeyPair::generate().map_err(other)?;
        let server_cert = CertificateParams::new(vec!["localhost".to_owned()])
            .map_err(other)?
            .signed_by(&server_key, &ca)
            .map_err(other)?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(other)?
        .with_no_client_auth()
        .with_single_cert(vec![server_cert.der().clone()], key)
        .map_err(other)?;
        let ca_file = std::env::temp_dir().join(format!(
            "serverless-sdk-test-ca-{}-{:016x}.pem",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::write(&ca_file, ca.pem())?;
        Ok(TestCa {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_file,
        })
    }

    /// The authority's certificate, PEM: the value for a client's `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> &std::path::Path {
        &self.ca_file
    }

    /// The server side of the handshake.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.ca_file);
    }
}
