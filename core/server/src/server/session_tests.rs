//! Sessions against a real server: cleanup on every exit path (a panic, a cancelled
//! task) and reading while a subscriber receives without a pause.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use super::session::{self, Handshake};
use super::state::ServerState;
use super::Server;
use crate::config::{AppConfig, Config};

const WAIT: Duration = Duration::from_secs(10);

fn config(app: AppConfig) -> Config {
    Config {
        port: 0,
        host: "127.0.0.1".into(),
        apps: vec![AppConfig {
            id: "app".into(),
            key: "key".into(),
            secret: "secret".into(),
            ..app
        }],
        ..Config::default()
    }
}

fn text(v: Value) -> Message {
    Message::Text(v.to_string().into())
}

/// Reads frames until one has `event`; returns it. Panics after `WAIT`.
async fn next_event<S>(ws: &mut WebSocketStream<S>, event: &str) -> Value
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["event"] == event {
                        return v;
                    }
                }
                Some(Ok(_)) => {}
                other => panic!("connection ended waiting for {event}: {other:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {event} within {WAIT:?}"))
}

/// A session of app `key` on a socket that bypassed the listener's HTTP upgrade.
async fn serve_raw<S>(ws: WebSocketStream<S>, state: Arc<ServerState>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (guard, _done) = tokio::sync::mpsc::channel(1);
    let hs = Handshake {
        app_key: "key".into(),
        protocol: Some("7".into()),
        origin: None,
    };
    session::serve(ws, state, hs, guard).await;
}

fn socket_id(established: &Value) -> String {
    let data: Value = serde_json::from_str(established["data"].as_str().unwrap()).unwrap();
    data["socket_id"].as_str().unwrap().to_string()
}

/// Subscribes to a presence channel as user 7 and to a public one.
async fn join_presence<S>(ws: &mut WebSocketStream<S>, socket_id: &str)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let cd = r#"{"user_id":"7","user_info":{"name":"Ann"}}"#;
    let auth =
        crate::auth::authorize_channel("key", "secret", socket_id, "presence-room", Some(cd));
    ws.send(text(json!({"event":"pusher:subscribe","data":{"channel":"presence-room","auth":auth,"channel_data":cd}})))
        .await
        .unwrap();
    next_event(ws, "pusher_internal:subscription_succeeded").await;
    ws.send(text(
        json!({"event":"pusher:subscribe","data":{"channel":"portal"}}),
    ))
    .await
    .unwrap();
    next_event(ws, "pusher_internal:subscription_succeeded").await;
}

/// Waits until the app has no connection and no channel left on this node, and the
/// lifecycle stream said so.
async fn assert_cleaned_up(server: &Server, events: &mut crate::EventReceiver) {
    let mut seen = Vec::new();
    let deadline = Instant::now() + WAIT;
    while !(seen.contains(&"member_removed")
        && seen.iter().filter(|n| **n == "channel_vacated").count() == 2
        && seen.contains(&"connection_closed"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match timeout(left, events.recv()).await {
            Ok(Ok(e)) => seen.push(e.kind.name()),
            other => panic!("cleanup events missing: saw {seen:?}, then {other:?}"),
        }
    }
    assert_eq!(server.local_counts("app"), (0, 0), "registry emptied");
    assert!(server
        .members("app", "presence-room")
        .await
        .unwrap()
        .is_empty());
    assert!(!server.channel("app", "portal").await.unwrap().occupied);
    assert_eq!(server.connection_count("app").await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_session_leaves_nothing_behind() {
    let server = Server::new(config(AppConfig {
        max_connections: Some(1),
        ..AppConfig::default()
    }))
    .unwrap();
    let addr = server.start().await.unwrap();
    let mut events = server.events();
    let url = format!("ws://{addr}/app/key?protocol=7");
    let (mut ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let id = socket_id(&next_event(&mut ws, "pusher:connection_established").await);
    join_presence(&mut ws, &id).await;

    ws.send(text(json!({"event":"pushbus:test-panic"})))
        .await
        .unwrap();
    // The task is gone: the socket ends without a goodbye.
    let ended = timeout(WAIT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
    assert!(ended.is_ok(), "connection still open after the panic");
    assert_cleaned_up(&server, &mut events).await;

    // The connection quota (1) was given back.
    let (mut again, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    next_event(&mut again, "pusher:connection_established").await;
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_session_leaves_nothing_behind() {
    let server = Server::new(config(AppConfig::default())).unwrap();
    let state: Arc<ServerState> = server.state.clone();
    let mut events = server.events();
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let server_ws = WebSocketStream::from_raw_socket(server_io, Role::Server, None).await;
    let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    let task = tokio::spawn(serve_raw(server_ws, state));
    let id = socket_id(&next_event(&mut ws, "pusher:connection_established").await);
    join_presence(&mut ws, &id).await;
    assert_eq!(server.local_counts("app"), (1, 2));

    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    assert_cleaned_up(&server, &mut events).await;
}

/// The server side of a connection whose every successful write publishes one more
/// event to the connection's channel: after each write the outbox holds something
/// again, so a connection loop that prefers its outbox over reading never reads.
struct Firehose<S> {
    inner: S,
    server: Arc<Server>,
    armed: Arc<AtomicBool>,
    channels: Vec<String>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Firehose<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Firehose<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) && self.armed.load(Ordering::Relaxed) {
            let data = "x".repeat(100);
            self.server
                .publish("app", &self.channels, "tick", &data, None)
                .unwrap();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_receiving_without_a_pause_still_has_its_pongs_read() {
    // Pinged after 0.5 s of silence, closed 0.5 s after an unanswered ping: the
    // firehose below lasts 3 s, six times that.
    let server = Arc::new(
        Server::new(config(AppConfig {
            ping_interval: 0.5,
            pong_timeout: 0.5,
            ..AppConfig::default()
        }))
        .unwrap(),
    );
    // Started for its sweep (pings, 4201); the connection below bypasses the listener.
    server.start().await.unwrap();
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let armed = Arc::new(AtomicBool::new(false));
    let firehose = Firehose {
        inner: server_io,
        server: server.clone(),
        armed: armed.clone(),
        channels: vec!["firehose".to_string()],
    };
    let server_ws = WebSocketStream::from_raw_socket(firehose, Role::Server, None).await;
    let mut ws = WebSocketStream::from_raw_socket(client_io, Role::Client, None).await;
    tokio::spawn(serve_raw(server_ws, server.state.clone()));
    next_event(&mut ws, "pusher:connection_established").await;
    ws.send(text(
        json!({"event":"pusher:subscribe","data":{"channel":"firehose"}}),
    ))
    .await
    .unwrap();
    next_event(&mut ws, "pusher_internal:subscription_succeeded").await;
    armed.store(true, Ordering::Relaxed);
    server
        .publish("app", &["firehose".to_string()], "tick", "{}", None)
        .unwrap();

    let (mut events, mut pings) = (0u64, 0u64);
    let end = Instant::now() + Duration::from_secs(3);
    let outcome = loop {
        if Instant::now() >= end {
            break Ok(());
        }
        match timeout(WAIT, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["event"].as_str() {
                    Some("tick") => events += 1,
                    Some("pusher:ping") => {
                        pings += 1;
                        ws.send(text(json!({"event":"pusher:pong","data":{}})))
                            .await
                            .unwrap();
                    }
                    _ => break Err(format!("unexpected frame {v}")),
                }
            }
            Ok(Some(Ok(_))) => {}
            other => break Err(format!("connection ended: {other:?}")),
        }
    };
    armed.store(false, Ordering::Relaxed);
    assert_eq!(outcome, Ok(()), "after {events} events and {pings} pings");
    assert!(
        pings >= 2,
        "the server pinged a silent client ({pings} pings)"
    );
    assert!(events > 1000, "the firehose ran ({events} events)");
    server.shutdown().await.unwrap();
}
