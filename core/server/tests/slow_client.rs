//! A client that stops reading is closed with 4100 once its bounded queue overflows,
//! and everyone else keeps receiving.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pushbus::AppConfig;

mod common;
use serde_json::{json, Value};
use tokio::time::timeout;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn subscribed(addr: std::net::SocketAddr) -> Ws {
    let (mut ws, _) = connect_async(format!("ws://{addr}/app/key")).await.unwrap();
    ws.send(Message::Text(
        json!({"event":"pusher:subscribe","data":{"channel":"feed","auth":""}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    loop {
        let m = timeout(Duration::from_secs(5), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if m.to_text().unwrap().contains("subscription_succeeded") {
            return ws;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_is_closed_with_4100() {
    let server = pushbus::Server::new(pushbus::Config {
        port: 0,
        apps: vec![AppConfig {
            outbound_queue: 16,
            ..common::app()
        }],
        metrics: pushbus::config::MetricsConfig {
            enabled: true,
            token: Some("t".into()),
            address: None,
        },
        ..pushbus::Config::default()
    })
    .unwrap();
    let addr = server.start().await.unwrap();
    let mut slow = subscribed(addr).await;
    let mut fast = subscribed(addr).await;
    let data = "x".repeat(10_000);

    // Publish far more than socket buffers plus 16 queued frames can hold, while
    // `slow` reads nothing and `fast` keeps up.
    let mut fast_got = 0;
    for i in 0..3000 {
        server
            .publish("app", &["feed".into()], "big", &data, None)
            .unwrap();
        while fast_got < i + 1 {
            let m = timeout(Duration::from_secs(5), fast.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            if m.to_text().unwrap().contains("\"big\"") {
                fast_got += 1;
            }
        }
    }
    assert_eq!(fast_got, 3000);

    // Now `slow` reads: some events, then pusher:error 4100 and close 4100.
    let (mut events, mut error_code, mut close_code) = (0, None, None);
    timeout(Duration::from_secs(20), async {
        while let Some(Ok(m)) = slow.next().await {
            match m {
                Message::Text(t) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if v["event"] == "big" {
                        events += 1;
                    } else if v["event"] == "pusher:error" {
                        error_code = v["data"]["code"].as_u64();
                    }
                }
                Message::Close(f) => close_code = f.map(|f| u16::from(f.code)),
                _ => {}
            }
        }
    })
    .await
    .expect("slow client is closed in time");
    assert!(
        events < 3000,
        "the slow client cannot have received everything"
    );
    assert_eq!(error_code, Some(4100));
    assert_eq!(close_code, Some(4100));
    // The metrics count the frames it never got and the close.
    let sample = |text: &str, name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let closed = r#"pushbus_connections_closed_total{app="app",by="server",code="4100"}"#;
    let text = timeout(Duration::from_secs(5), async {
        loop {
            let text = server.metrics_text().unwrap();
            if sample(&text, closed) == 1.0 {
                return text;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the 4100 close is counted");
    let dropped = sample(&text, r#"pushbus_frames_dropped_total{app="app"}"#);
    assert!(
        dropped >= 1.0 && dropped + events as f64 <= 3000.0,
        "dropped {dropped}, received {events}"
    );
    server.shutdown().await.unwrap();
}
