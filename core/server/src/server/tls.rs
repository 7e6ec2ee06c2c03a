//! TLS on the server's own port (wss:// and https://), with rustls: the certificate
//! chain and key are read from PEM files at start and again on [`Tls::reload`]
//! (SIGHUP in `pushbus serve`). A reload swaps the acceptor new handshakes use;
//! connections already open keep the session they negotiated.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::config::{ConfigError, TlsConfig};
use crate::error::Error;

/// A client that opens a TCP connection and sends no complete handshake in this long
/// is dropped, so that silent sockets cannot pile up before HTTP's own timeouts apply.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) struct Tls {
    config: TlsConfig,
    acceptor: RwLock<TlsAcceptor>,
}

impl Tls {
    pub(super) fn load(config: &TlsConfig) -> Result<Tls, Error> {
        Ok(Tls {
            config: config.clone(),
            acceptor: RwLock::new(acceptor(config)?),
        })
    }

    /// Reads the files again; on any error the certificate in use stays.
    pub(super) fn reload(&self) -> Result<(), Error> {
        let fresh = acceptor(&self.config)?;
        *self.acceptor.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }

    pub(super) async fn accept(&self, stream: TcpStream) -> std::io::Result<TlsStream<TcpStream>> {
        // A clone (an Arc) so that no lock is held across the handshake.
        let acceptor = self
            .acceptor
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(result) => result,
            Err(_) => Err(std::io::ErrorKind::TimedOut.into()),
        }
    }
}

fn acceptor(config: &TlsConfig) -> Result<TlsAcceptor, Error> {
    let fail = |what: String| Error::Config(ConfigError(format!("tls: {what}")));
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&config.cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| {
            fail(format!(
                "cannot read certificates from {:?}: {e}",
                config.cert
            ))
        })?;
    if certs.is_empty() {
        return Err(fail(format!("no certificate in {:?}", config.cert)));
    }
    let key = PrivateKeyDer::from_pem_file(&config.key).map_err(|e| {
        fail(format!(
            "cannot read a private key from {:?}: {e}",
            config.key
        ))
    })?;
    let mut server_config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| {
        fail(format!(
            "{:?} and {:?} do not fit: {e}",
            config.cert, config.key
        ))
    })?;
    // WebSocket upgrades are HTTP/1.1 (RFC 6455); so is everything else here.
    server_config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(server_config)))
}
