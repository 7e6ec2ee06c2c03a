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

/// A WebSocket signed in as `user_data` (`pusher:signin`, signed as an auth endpoint
/// would), after its `pusher:signin_success`.
async fn signed_in(
    port: u16,
    user_data: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = connect_async(format!("ws://127.0.0.1:{port}/app/key"))
        .await
        .unwrap();
    let hello = next_frame(&mut ws).await;
    let data: Value = serde_json::from_str(hello["data"].as_str().unwrap()).unwrap();
    let socket_id = data["socket_id"].as_str().unwrap();
    let auth = pushbus::auth::authenticate_user("key", "secret", socket_id, user_data);
    let signin = json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}});
    ws.send(Message::Text(signin.to_string().into()))
        .await
        .unwrap();
    assert_eq!(next_frame(&mut ws).await["event"], "pusher:signin_success");
    ws
}

#[tokio::test]
async fn user_status_online_users_and_location() {
    let server = server();
    let port = server.start().await.unwrap().port();
    let c = client(port, "secret");
    // An id with a space, a slash and a non-ASCII letter: percent-encoded in the path,
    // signed as sent.
    let ann = "ann b/é";
    let ann_ws = signed_in(
        port,
        &json!({"id": ann, "user_info": {"name": "Ann"}}).to_string(),
    )
    .await;
    let _bob_ws = signed_in(port, r#"{"id":"bob"}"#).await;

    assert_eq!(
        c.user_status(ann).await.unwrap(),
        json!({"id": ann, "online": true, "connections": 1, "channels": [], "info": {"name": "Ann"}})
    );
    assert_eq!(
        c.set_user_location(ann, Some("Projects")).await.unwrap(),
        json!({"online": true})
    );
    assert_eq!(c.user_status(ann).await.unwrap()["location"], "Projects");

    let first = c.online_users(None, Some(1)).await.unwrap();
    assert_eq!(
        first,
        json!({"users": [{"id": ann, "connections": 1, "location": "Projects", "info": {"name": "Ann"}}], "next": ann})
    );
    let second = c.online_users(Some(ann), Some(1)).await.unwrap();
    assert_eq!(second, json!({"users": [{"id": "bob", "connections": 1}]}));
    assert_eq!(
        c.online_users(None, None).await.unwrap()["users"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    assert_eq!(
        c.set_user_location(ann, None).await.unwrap(),
        json!({"online": true})
    );
    assert_eq!(c.user_status(ann).await.unwrap().get("location"), None);

    // Gone: offline, with when it was last seen.
    drop(ann_ws);
    let gone = timeout(WAIT, async {
        loop {
            let s = c.user_status(ann).await.unwrap();
            if s["online"] == false {
                return s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("offline in time");
    assert_eq!(gone["connections"], 0);
    assert!(gone["last_seen"].as_u64().unwrap() > 0, "{gone}");
    assert_eq!(
        c.set_user_location(ann, Some("Projects")).await.unwrap(),
        json!({"online": false})
    );

    // The server's checks come back as its 400.
    let err = c.online_users(None, Some(0)).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 400, body } if body.contains("limit")),
        "{err:?}"
    );
    assert!(matches!(
        c.user_status("").await,
        Err(ClientError::InvalidArgument(_))
    ));
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn delivery_log_of_published_events() {
    let server = server();
    let port = server.start().await.unwrap().port();
    let c = client(port, "secret");
    let (mut ws, _) = connect_async(format!("ws://127.0.0.1:{port}/app/key"))
        .await
        .unwrap();
    next_frame(&mut ws).await;
    let sub = json!({"event": "pusher:subscribe", "data": {"channel": "orders"}});
    ws.send(Message::Text(sub.to_string().into()))
        .await
        .unwrap();
    assert_eq!(
        next_frame(&mut ws).await["event"],
        "pusher_internal:subscription_succeeded"
    );
    c.trigger(&["orders".into()], "paid", r#"{"n":1}"#, None)
        .await
        .unwrap();
    c.trigger(&["orders".into()], "shipped", r#"{"n":2}"#, None)
        .await
        .unwrap();
    let log = c.delivery_log(Some(1)).await.unwrap();
    let events = log["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["event"], "shipped");
    assert_eq!(events[0]["delivered"], 1);
    assert_eq!(events[0]["digest"].as_str().map(str::len), Some(64));
    assert_eq!(
        c.delivery_log(None).await.unwrap()["events"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn history_of_a_channel_with_a_rule() {
    let server = pushbus::Server::new(pushbus::Config {
        port: 0,
        apps: vec![pushbus::AppConfig {
            history: vec![pushbus::config::HistoryRule {
                channels: "private-activity.*".into(),
                events: 3,
                ..Default::default()
            }],
            ..common::app()
        }],
        ..pushbus::Config::default()
    })
    .unwrap();
    let port = server.start().await.unwrap().port();
    let c = client(port, "secret");
    let channel = "private-activity.client.7";

    let empty = c.history(channel, None, None).await.unwrap();
    assert_eq!(
        empty,
        json!({"channel": channel, "serial": 0, "events": []})
    );

    for n in 1..=4 {
        c.trigger(
            &[channel.into()],
            "ActivityFeedUpdated",
            &format!(r#"{{"n":{n}}}"#),
            None,
        )
        .await
        .unwrap();
    }
    // The rule keeps 3: serials 2 to 4, oldest first.
    let all = c.history(channel, None, None).await.unwrap();
    assert_eq!(all["channel"], channel);
    assert_eq!(all["serial"], 4);
    let epoch = all["epoch"].as_str().expect("an epoch").to_string();
    assert!(!epoch.is_empty());
    let events = all["events"].as_array().unwrap();
    let serials: Vec<u64> = events
        .iter()
        .map(|e| e["serial"].as_u64().unwrap())
        .collect();
    assert_eq!(serials, [2, 3, 4]);
    assert_eq!(events[0]["event"], "ActivityFeedUpdated");
    assert_eq!(events[0]["data"], r#"{"n":2}"#);
    assert!(events[0]["time"].as_u64().unwrap() > 0);

    // since and limit go as query parameters.
    let page = c.history(channel, Some(2), Some(1)).await.unwrap();
    assert_eq!(page["epoch"], epoch.as_str());
    assert_eq!(page["serial"], 4);
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["serial"], 3);
    assert_eq!(page["events"][0]["data"], r#"{"n":3}"#);
    let none = c.history(channel, Some(4), None).await.unwrap();
    assert_eq!(none["events"], json!([]));

    // Refusals: by the client (bad name), by the server (no rule, limit).
    assert!(matches!(
        c.history("bad name", None, None).await,
        Err(ClientError::InvalidArgument(_))
    ));
    let err = c.history("other", None, None).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 400, body } if body.contains("history")),
        "{err:?}"
    );
    let err = c.history(channel, None, Some(1001)).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::Status { status: 400, body } if body.contains("limit")),
        "{err:?}"
    );
    server.shutdown().await.unwrap();
}
