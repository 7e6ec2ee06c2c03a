//! A WebSocket client of the Pusher protocol for integration tests: connects, reads
//! `connection_established`, subscribes (signing private and presence channels with
//! the test app's credentials) and waits for events, each wait bounded.
#![allow(dead_code)] // each test crate uses its own part

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pushbus::auth;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

pub const KEY: &str = "app-key";
pub const SECRET: &str = "app-secret";
pub const WAIT: Duration = Duration::from_secs(5);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct Client {
    pub ws: Ws,
    pub socket_id: String,
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        let (ws, _) = connect_async(format!("ws://{addr}/app/{KEY}?protocol=7"))
            .await
            .expect("connect");
        let mut c = Client {
            ws,
            socket_id: String::new(),
        };
        let hello = c.next_event("pusher:connection_established").await;
        let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
        c.socket_id = data["socket_id"].as_str().unwrap().to_string();
        c
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    /// The next frame whose event is `event`, skipping others; panics after `WAIT`.
    pub async fn next_event(&mut self, event: &str) -> Value {
        timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        if v["event"] == event {
                            return v;
                        }
                    }
                    Some(Ok(_)) => {}
                    other => panic!("socket ended waiting for {event}: {other:?}"),
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {event}"))
    }

    /// The next text frame, whatever its event; panics after `WAIT`.
    pub async fn next_any(&mut self) -> Value {
        timeout(WAIT, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => return serde_json::from_str(&t).unwrap(),
                    Some(Ok(_)) => {}
                    other => panic!("socket ended waiting for a frame: {other:?}"),
                }
            }
        })
        .await
        .expect("timed out waiting for a frame")
    }

    /// All events up to the close frame, and the close code.
    pub async fn until_close(&mut self) -> (Vec<String>, u16) {
        timeout(WAIT, async {
            let mut events = Vec::new();
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        let v: Value = serde_json::from_str(&t).unwrap();
                        events.push(v["event"].as_str().unwrap_or("").to_string());
                    }
                    Some(Ok(Message::Close(Some(f)))) => {
                        // Keep reading so the client answers the close handshake.
                        while let Some(Ok(_)) = self.ws.next().await {}
                        return (events, u16::from(f.code));
                    }
                    Some(Ok(_)) => {}
                    other => panic!("no close frame: {other:?}"),
                }
            }
        })
        .await
        .expect("timed out waiting for close")
    }

    pub async fn subscribe(&mut self, channel: &str, channel_data: Option<&str>) -> Value {
        let auth = if channel.starts_with("private-") || channel.starts_with("presence-") {
            auth::authorize_channel(KEY, SECRET, &self.socket_id, channel, channel_data)
        } else {
            String::new()
        };
        let mut data = json!({"channel": channel, "auth": auth});
        if let Some(cd) = channel_data {
            data["channel_data"] = cd.into();
        }
        self.send(json!({"event": "pusher:subscribe", "data": data}))
            .await;
        self.next_event("pusher_internal:subscription_succeeded")
            .await
    }
}
