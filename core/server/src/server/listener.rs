//! The listener: accepting TCP connections, serving HTTP/1.1 on each (upgrades
//! included), and the periodic sweep of every app.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};

use std::sync::atomic::{AtomicU64, Ordering};

use tracing::Instrument;

use super::routes;
use super::state::ServerState;
use super::tls::Tls;

/// How often connections are checked for silence and stuck writes. Fine enough for
/// the 1 s granularity of the ping settings; a pass over 20,000 connections costs
/// well under a millisecond.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// A socket that takes no bytes for this long is closed (4100).
const WRITE_TIMEOUT_MS: u64 = 20_000;

/// Request ids, for the log lines of each HTTP request (a WebSocket upgrade included).
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

pub(super) async fn sweep_loop(state: Arc<ServerState>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {
                let now = crate::app::outbox::now_ms();
                for app in state.apps() {
                    app.sweep(now, WRITE_TIMEOUT_MS);
                }
            }
        }
    }
}

pub(super) async fn accept_loop(
    listener: TcpListener,
    tls: Option<Arc<Tls>>,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let (state, shutdown, done) = (state.clone(), shutdown.clone(), done.clone());
                    match &tls {
                        None => {
                            tokio::spawn(serve_http(stream, state, shutdown, done));
                        }
                        Some(tls) => {
                            let tls = tls.clone();
                            tokio::spawn(async move {
                                match tls.accept(stream).await {
                                    Ok(stream) => serve_http(stream, state, shutdown, done).await,
                                    // Scanners, plain-http clients, expired trust: the
                                    // client's problem, not an operator's alarm.
                                    Err(e) => tracing::debug!("TLS handshake failed: {e}"),
                                }
                            });
                        }
                    }
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning,
                    // and keep serving the connections we have.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn serve_http<S>(
    stream: S,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc_done = done.clone();
    let svc_state = state.clone();
    let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
        let state = svc_state.clone();
        let done = svc_done.clone();
        // Every line logged while serving the request names it.
        let id = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
        let span = tracing::info_span!("http", req = id);
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        async move {
            let started = std::time::Instant::now();
            let resp = routes::route(req, state, done).await;
            tracing::debug!(
                "{method} {path} -> {} in {} µs",
                resp.status().as_u16(),
                started.elapsed().as_micros()
            );
            Ok::<_, Infallible>(resp)
        }
        .instrument(span)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Also how long an idle keep-alive connection is kept (the client's pool lets
        // go of its connections after 25 s, before this).
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// The separate metrics address: `/metrics`, `/up` and `/ready` only, until shutdown
/// (after the main listener's connections: a scrape during the drain still answers).
pub(super) async fn metrics_loop(
    listener: TcpListener,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let state = state.clone();
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(routes::route_metrics(req, state).await) }
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::spawn(async move {
                        let _ = conn.await;
                    });
                }
                Err(e) => {
                    tracing::warn!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

/// Pending connections the kernel queues before `accept`; Linux caps it at
/// `net.core.somaxconn` (4096 on current kernels). std's and tokio's `bind` ask for 128,
/// which a deploy or a network blip overflows when thousands of clients reconnect at
/// once: the overflow is dropped SYNs, and each client retries only after a second.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds the first address `addr` resolves to, as `TcpListener::bind` does (with
/// SO_REUSEADDR, so that a restart does not wait for TIME_WAIT), with a deep backlog.
pub(super) async fn bind(addr: &str) -> std::io::Result<tokio::net::TcpListener> {
    let mut last = None;
    for resolved in tokio::net::lookup_host(addr).await? {
        let socket = match resolved {
            std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
            std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
        };
        socket.set_reuseaddr(true)?;
        match socket
            .bind(resolved)
            .and_then(|()| socket.listen(LISTEN_BACKLOG))
        {
            Ok(listener) => return Ok(listener),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolves to nothing",
        )
    }))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// Hundreds of clients connecting while nothing accepts (a node busy after a
    /// deploy) all complete their handshake: with the old 128 the rest would wait for
    /// a SYN retransmit and then time out here.
    #[tokio::test]
    async fn the_kernel_queues_hundreds_of_connections_before_accept() {
        let somaxconn: usize = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(4096);
        let listener = super::bind("127.0.0.1:0").await.expect("bound");
        let addr = listener.local_addr().unwrap();
        let wanted = 600.min(somaxconn);
        let mut pending = Vec::new();
        for _ in 0..wanted {
            pending.push(tokio::spawn(tokio::time::timeout(
                Duration::from_millis(2500),
                tokio::net::TcpStream::connect(addr),
            )));
        }
        let mut connected = Vec::new();
        for task in pending {
            if let Ok(Ok(stream)) = task.await.unwrap() {
                connected.push(stream);
            }
        }
        assert_eq!(connected.len(), wanted, "connections queued before accept");
    }
}
