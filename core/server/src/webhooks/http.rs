//! The HTTP/1.1 POST a webhook target gets, over one kept-alive connection per target.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;
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
    connection: Option<SendRequest<Full<Bytes>>>,
}

impl Poster {
    /// `url` was checked by the config (http, with a host).
    pub fn new(url: &url::Url, headers: Vec<(HeaderName, HeaderValue)>) -> Poster {
        let host = url.host_str().unwrap_or("localhost").to_string();
        let port = url.port_or_known_default().unwrap_or(80);
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        };
        let mut path = url.path().to_string();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        Poster {
            host,
            port,
            authority,
            path,
            headers,
            connection: None,
        }
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
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}
