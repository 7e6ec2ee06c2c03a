//! Routes of one HTTP request: the WebSocket endpoint `/app/{key}` (the upgrade), the
//! HTTP API under `/apps/`, `/up` (the process answers) and `/ready` (this node should
//! get new connections).

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderName, HeaderValue, ALLOW, CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_KEY,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use super::http_api::{self, HttpResponse};
use super::session::{self, Handshake};
use super::state::ServerState;
use crate::error::Error;

pub(super) async fn route(
    req: Request<Incoming>,
    state: Arc<ServerState>,
    done: mpsc::Sender<()>,
) -> HttpResponse {
    let full_path = req.uri().path().to_string();
    let Some(path) = full_path.strip_prefix(state.config.path.as_str()) else {
        return http_api::error_response(&Error::RouteNotFound);
    };
    if path == "/up" {
        return up_response();
    }
    if path == "/ready" {
        return ready_response(&state);
    }
    if path == "/metrics" && state.config.metrics.address.is_none() {
        if let Some(metrics) = &state.metrics {
            return metrics_response(&req, &state, metrics);
        }
    }
    if let Some(rest) = path.strip_prefix("/console") {
        if state.config.console.enabled && (rest.is_empty() || rest.starts_with('/')) {
            let rest = rest.to_string();
            return super::console::route(req, state, &rest).await;
        }
    }
    if let Some(key) = path.strip_prefix("/app/") {
        let key = key.to_string();
        return upgrade(req, key, state, done);
    }
    if path.starts_with("/apps/") {
        let path = path.to_string();
        return http_api::handle(req, &state, &path).await;
    }
    http_api::error_response(&Error::RouteNotFound)
}

/// The routes of the separate metrics address (`metrics.address`).
pub(super) async fn route_metrics(req: Request<Incoming>, state: Arc<ServerState>) -> HttpResponse {
    match (req.uri().path(), &state.metrics) {
        ("/metrics", Some(metrics)) => metrics_response(&req, &state, metrics),
        ("/up", _) => up_response(),
        ("/ready", _) => ready_response(&state),
        _ => http_api::error_response(&Error::RouteNotFound),
    }
}

/// `GET /up`: the process answers.
fn up_response() -> HttpResponse {
    http_api::json_response(StatusCode::OK, r#"{"health":"OK"}"#.into())
}

/// `GET /ready`: whether this node should get new connections, and why not.
fn ready_response(state: &ServerState) -> HttpResponse {
    match state.readiness() {
        Ok(()) => http_api::json_response(StatusCode::OK, r#"{"ready":true}"#.into()),
        Err(reason) => http_api::json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "ready": false, "reason": reason }).to_string(),
        ),
    }
}

/// `GET /metrics`: the Prometheus text format, for a scrape with the configured bearer
/// token (when one is set).
fn metrics_response(
    req: &Request<Incoming>,
    state: &ServerState,
    metrics: &crate::metrics::Metrics,
) -> HttpResponse {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return *refusal_with(
            StatusCode::METHOD_NOT_ALLOWED,
            "/metrics answers GET",
            &[(ALLOW, "GET, HEAD")],
        );
    }
    if let Some(token) = &state.config.metrics.token {
        if !bearer_is(req, token) {
            let mut resp = refusal(
                StatusCode::UNAUTHORIZED,
                "/metrics needs the metrics token: Authorization: Bearer <token>",
            );
            resp.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"pushbus metrics\""),
            );
            return resp;
        }
    }
    let body = crate::metrics::scrape::encode(metrics, state.snapshot());
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    resp
}

/// Whether the request's `Authorization: Bearer …` is `token` (in constant time).
pub(super) fn bearer_is(req: &Request<Incoming>, token: &str) -> bool {
    use subtle::ConstantTimeEq;
    let given = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

fn header_has(req: &Request<Incoming>, name: hyper::header::HeaderName, token: &str) -> bool {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn refusal(status: StatusCode, message: &str) -> HttpResponse {
    http_api::json_response(status, serde_json::json!({ "error": message }).to_string())
}

/// A refusal that names what the client should have sent (`Sec-WebSocket-Version`,
/// `Allow`, `Upgrade`).
fn refusal_with(
    status: StatusCode,
    message: &str,
    headers: &[(HeaderName, &'static str)],
) -> Box<HttpResponse> {
    let mut resp = refusal(status, message);
    for (name, value) in headers {
        resp.headers_mut()
            .insert(name.clone(), HeaderValue::from_static(value));
    }
    Box::new(resp)
}

/// Checks an upgrade request as RFC 6455 §4.2.1 asks; returns its `Sec-WebSocket-Key`
/// or the answer that refuses it.
fn check_upgrade(req: &Request<Incoming>) -> Result<HeaderValue, Box<HttpResponse>> {
    if !header_has(req, CONNECTION, "upgrade") || !header_has(req, UPGRADE, "websocket") {
        return Err(refusal_with(
            StatusCode::UPGRADE_REQUIRED,
            "This endpoint only accepts WebSocket connections",
            &[(UPGRADE, "websocket"), (SEC_WEBSOCKET_VERSION, "13")],
        ));
    }
    if req.method() != Method::GET {
        return Err(refusal_with(
            StatusCode::METHOD_NOT_ALLOWED,
            "A WebSocket upgrade must be a GET request",
            &[(ALLOW, "GET")],
        ));
    }
    if req.version() < Version::HTTP_11 {
        return Err(Box::new(refusal(
            StatusCode::BAD_REQUEST,
            "A WebSocket upgrade needs HTTP/1.1",
        )));
    }
    if req.headers().get(HOST).is_none() {
        return Err(Box::new(refusal(
            StatusCode::BAD_REQUEST,
            "A WebSocket upgrade needs a Host header",
        )));
    }
    let version_ok = req
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v.as_bytes() == b"13");
    if !version_ok {
        // §4.4: name the versions this server speaks.
        return Err(refusal_with(
            StatusCode::UPGRADE_REQUIRED,
            "Unsupported Sec-WebSocket-Version: this server speaks version 13",
            &[(SEC_WEBSOCKET_VERSION, "13")],
        ));
    }
    match req.headers().get(SEC_WEBSOCKET_KEY) {
        Some(key) if is_websocket_key(key.as_bytes()) => Ok(key.clone()),
        _ => Err(Box::new(refusal(
            StatusCode::BAD_REQUEST,
            "Sec-WebSocket-Key must be 16 bytes in base64",
        ))),
    }
}

/// A `Sec-WebSocket-Key`: the base64 encoding of 16 bytes (§4.1).
fn is_websocket_key(key: &[u8]) -> bool {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(key)
        .is_ok_and(|bytes| bytes.len() == 16)
}

/// Answers a WebSocket upgrade on `/app/{key}` and hands the socket to its own task.
/// App checks happen after the upgrade because pusher-js only understands errors sent
/// over the socket.
fn upgrade(
    mut req: Request<Incoming>,
    app_key: String,
    state: Arc<ServerState>,
    done: mpsc::Sender<()>,
) -> HttpResponse {
    let key = match check_upgrade(&req) {
        Ok(key) => key,
        Err(resp) => return *resp,
    };
    let protocol = req.uri().query().and_then(|q| {
        http_api::query_params(q)
            .into_iter()
            .find(|(k, _)| k == "protocol")
            .map(|(_, v)| v)
    });
    let origin = req
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_message = state
        .app_by_key(&app_key)
        .map_or(crate::limits::MAX_MESSAGE_SIZE, |a| a.app.max_message_size);
    // Small buffers: most frames are tiny, and buffer size × connections is the bulk of
    // idle memory. The write buffer still lets a burst of queued frames go out in one
    // syscall (see `connection::write_batch`).
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(8192)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config),
                )
                .await;
                let hs = Handshake {
                    app_key,
                    protocol,
                    origin,
                };
                // A task of its own, so that what the upgrade needed is freed now
                // rather than held for the connection's lifetime.
                tokio::spawn(session::serve(ws, state, hs, done));
            }
            Err(e) => tracing::debug!("upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert("sec-websocket-accept", v);
    }
    resp
}
