//! The HTTP/1.1 POST a webhook target gets, over one kept-alive connection per target.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::sync::Arc;
use tokio::net::TcpStream;

/// Bytes of a receiver's answer read at most (it is only read to keep the connection).
const MAX_ANSWER: usize = 64 * 1024;

/// Where one target's requests go, and its connection while it lasts.
pub(crate) struct Poster {
    host: String,
    port: u16,
    /// `Host` header value.
    authority: String,
    path: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// For `https://` targets.
    tls: Option<(tokio_rustls::TlsConnector, ServerName<'static>)>,
    connection: Option<SendRequest<Full<Bytes>>>,
}

/// The certificates an `https://` target's may chain to: Mozilla's roots (webpki-roots),
/// and the CA certificates of the PEM file `ca_file`, if one is named.
pub(crate) fn tls_config(ca_file: &str) -> Result<Arc<ClientConfig>, String> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if !ca_file.is_empty() {
        let pem = std::fs::read(ca_file).map_err(|e| format!("ca_file {ca_file:?}: {e}"))?;
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("ca_file {ca_file:?}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {ca_file:?}: {e}"))?;
            added += 1;
        }
        if added == 0 {
            return Err(format!("ca_file {ca_file:?} holds no PEM certificate"));
        }
    }
    // Its own provider, whatever else in the process installed a default one.
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Poster {
    /// `url` was checked by the config (http or https, with a host); `ca_file` as in
    /// [`tls_config`].
    pub fn new(
        url: &url::Url,
        headers: Vec<(HeaderName, HeaderValue)>,
        ca_file: &str,
    ) -> Result<Poster, String> {
        // An IPv6 literal without its brackets, as a TLS name and to connect to.
        let host = url
            .host_str()
            .unwrap_or("localhost")
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let tls = if url.scheme() == "https" {
            let name = ServerName::try_from(host.clone()).map_err(|e| format!("{host:?}: {e}"))?;
            Some((tokio_rustls::TlsConnector::from(tls_config(ca_file)?), name))
        } else {
            None
        };
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => host.clone(),
        };
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Ok(Poster {
            host,
            port,
            authority,
            path,
            headers,
            tls,
            connection: None,
        })
    }

    /// POSTs `body` with the Pusher headers; the status, or why there is none. The
    /// whole exchange, connecting included, is bounded by `timeout`.
    pub async fn post(
        &mut self,
        body: String,
        key: &str,
        signature: &str,
        timeout: Duration,
    ) -> Result<u16, String> {
        match tokio::time::timeout(timeout, self.exchange(body, key, signature)).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => {
                self.connection = None;
                Err(e)
            }
            Err(_) => {
                self.connection = None;
                Err(format!("no answer within {} ms", timeout.as_millis()))
            }
        }
    }

    async fn exchange(&mut self, body: String, key: &str, signature: &str) -> Result<u16, String> {
        let mut sender = match self.connection.take() {
            Some(s) if !s.is_closed() => s,
            _ => self.connect().await?,
        };
        sender
            .ready()
            .await
            .map_err(|e| format!("connection: {e}"))?;
        let mut request = Request::post(self.path.as_str())
            .header(HOST, self.authority.as_str())
            // Exactly this: the Node SDK's validator refuses a charset parameter.
            .header(CONTENT_TYPE, "application/json")
            .header("X-Pusher-Key", key)
            .header("X-Pusher-Signature", signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("request: {e}"))?;
        for (name, value) in &self.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let answer = sender
            .send_request(request)
            .await
            .map_err(|e| format!("request: {e}"))?;
        let status = answer.status().as_u16();
        // Read (a bounded part of) the answer so that the connection can be reused.
        let complete = Limited::new(answer.into_body(), MAX_ANSWER)
            .collect()
            .await
            .is_ok();
        if complete {
            self.connection = Some(sender);
        }
        Ok(status)
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connect {}:{}: {e}", self.host, self.port))?;
        let _ = stream.set_nodelay(true);
        let Some((connector, name)) = &self.tls else {
            return handshake(stream).await;
        };
        let stream = connector
            .connect(name.clone(), stream)
            .await
            .map_err(|e| format!("TLS with {}: {e}", self.host))?;
        handshake(stream).await
    }
}

/// HTTP/1.1 over `io` (plain or TLS); the connection runs on a task of its own.
async fn handshake<I>(io: I) -> Result<SendRequest<Full<Bytes>>, String>
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(connection);
    Ok(sender)
}
