//! The REST client against a real server on 127.0.0.1:0, received by a real WebSocket.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use pushbus_client::{BatchEvent, Client, ClientError, ClientOptions};
use serde_json::{json, Value};
use tokio::time::timeout;
use tokio_tungstenite::connect_async;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

mod common;
use common::server;

fn client(port: u16, secret: &str) -> Client {
    common::client(port, secret, ClientOptions::default().timeout)
}

async fn next_frame<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return serde_json::from_str::<Value>(&t).unwrap(),
                Some(Ok(_)) => {}
                other => panic!("socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("frame in time")
}

#[tokio::test]
async fn trigger_batch_and_queries() {
    let server = server();
    let addr = server.start().await.unwrap();
    let (mut ws, _) = connect_async(format!("ws://{addr}/app/key")).await.unwrap();
    assert_eq!(
        next_frame(&mut ws).await["event"],
        "pusher:connection_established"
    );
    ws.send(Message::Text(
        json!({"event":"pusher:subscribe","data":{"channel":"portal","auth":""}})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();

    let c = client(addr.port(), "secret");
    assert_eq!(
        next_frame(&mut ws).await["event"],
        "pusher_internal:subscription_succeeded"
    );

    c.trigger(
        &["portal".into(), "other".into()],
        "Hello",
        r#"{"n":1}"#,
        None,
    )
    .await
    .unwrap();
    c.trigger_batch(&[
        BatchEvent {
            channel: "portal".into(),
            name: "B1".into(),
            data: "1".into(),
            socket_id: None,
        },
        BatchEvent {
            channel: "portal".into(),
            name: "B2".into(),
            data: "2".into(),
            socket_id: None,
        },
    ])
    .await
    .unwrap();
    let mut names = Vec::new();
    while names.len() < 3 {
        let f = next_frame(&mut ws).await;
        names.push(f["event"].as_str().unwrap().to_string());
    }
    assert_eq!(names, ["Hello", "B1", "B2"]);

    let channels = c.channels(None, None).await.unwrap();
    assert_eq!(channels, json!({"channels": {"portal": {}}}));
    let portal = c
        .channel("portal", Some("subscription_count"))
        .await
        .unwrap();
    assert_eq!(portal, json!({"occupied": true, "subscription_count": 1}));
    assert_eq!(c.users("presence-x").await.unwrap(), json!({"users": []}));
    // `#` would end the path: it is percent-encoded, and signed as sent.
    assert_eq!(
        c.channel("#server-to-user-5", None).await.unwrap(),
        json!({"occupied": false})
    );
    c.terminate_user_connections("5").await.unwrap();
    c.send_to_user("5", "Note", "{}").await.unwrap();

    // Wrong secret: the server's 401 with its reason.
    let err = client(addr.port(), "wrong")
        .trigger(&["portal".into()], "X", "1", None)
        .await
        .unwrap_err();
    match err {
        ClientError::Status { status, body } => {
            assert_eq!(status, 401);
            assert!(body.contains("Invalid signature"), "{body}");
        }
        other => panic!("expected 401, got {other:?}"),
    }
    // A server-side limit comes back as its status.
    let err = c
        .trigger(&["portal".into()], "X", &"x".repeat(20_000), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::Status { status: 413, .. }),
        "{err:?}"
    );
    drop(ws);
    server.shutdown().await.unwrap();

    // Nothing listens any more.
    let err = c
        .trigger(&["portal".into()], "X", "1", None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect(_)), "{err:?}");
}
