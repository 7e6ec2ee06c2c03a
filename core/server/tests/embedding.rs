//! The Rust embedding API against a real server on 127.0.0.1:0 and real WebSocket
//! clients: publish, queries, lifecycle events, terminate, graceful shutdown, errors.

use futures_util::StreamExt;
use pushbus::{AppConfig, Config, Error, EventKind, Server};
use serde_json::{json, Value};
use tokio::time::timeout;

fn config() -> Config {
    Config {
        port: 0,
        apps: vec![AppConfig {
            id: "app".into(),
            key: KEY.into(),
            secret: SECRET.into(),
            ..AppConfig::default()
        }],
        ..Config::default()
    }
}

#[path = "common/ws_client.rs"]
mod ws_client;
use ws_client::{Client, KEY, SECRET, WAIT};

async fn next_kind(events: &mut pushbus::EventReceiver, name: &str) -> EventKind {
    timeout(WAIT, async {
        loop {
            let e = events.recv().await.expect("event stream open");
            if e.kind.name() == name {
                assert_eq!(&*e.app_id, "app");
                return e.kind;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {name} event"))
}

#[tokio::test]
async fn publish_queries_and_lifecycle() {
    let server = Server::new(config()).unwrap();
    let mut events = server.events();
    let addr = server.start().await.unwrap();
    assert_eq!(server.local_addr(), Some(addr));

    let mut a = Client::connect(addr).await;
    assert!(matches!(next_kind(&mut events, "connection_opened").await,
        EventKind::ConnectionOpened { socket_id } if socket_id == a.socket_id));
    let mut b = Client::connect(addr).await;
    a.subscribe("portal", None).await;
    b.subscribe("portal", None).await;
    assert!(matches!(next_kind(&mut events, "channel_occupied").await,
        EventKind::ChannelOccupied { channel } if &*channel == "portal"));

    // Publish reaches both; with an excluded socket only the other one.
    server
        .publish(
            "app",
            &["portal".into()],
            "Announcement",
            r#"{"text":"hi"}"#,
            None,
        )
        .unwrap();
    for c in [&mut a, &mut b] {
        let e = c.next_event("Announcement").await;
        assert_eq!(e["channel"], "portal");
        assert_eq!(e["data"], r#"{"text":"hi"}"#);
    }
    server
        .publish(
            "app",
            &["portal".into()],
            "Excluded",
            "1",
            Some(&a.socket_id),
        )
        .unwrap();
    server
        .publish("app", &["portal".into()], "Marker", "2", None)
        .unwrap();
    b.next_event("Excluded").await;
    // `a` must see the marker without having seen the excluded event first.
    let first = timeout(WAIT, a.ws.next()).await.unwrap().unwrap().unwrap();
    let first: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(first["event"], "Marker");

    // Presence: one member per user, queries agree.
    let cd = r#"{"user_id":"5","user_info":{"name":"Ann"}}"#;
    let ok = a.subscribe("presence-project.3", Some(cd)).await;
    assert!(ok["data"].as_str().unwrap().contains(r#""count":1"#));
    assert!(matches!(next_kind(&mut events, "member_added").await,
        EventKind::MemberAdded { channel, user_id } if &*channel == "presence-project.3" && &*user_id == "5"));
    let members = server.members("app", "presence-project.3").await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(&*members[0].id, "5");
    assert_eq!(members[0].info.as_ref().unwrap().get(), r#"{"name":"Ann"}"#);
    let info = server.channel("app", "presence-project.3").await.unwrap();
    assert!(info.occupied);
    assert_eq!(info.user_count, Some(1));
    let names: Vec<String> = server
        .channels("app", "")
        .await
        .unwrap()
        .iter()
        .map(|c| c.name.to_string())
        .collect();
    assert_eq!(names, vec!["portal", "presence-project.3"]);
    assert_eq!(server.connection_count("app").await.unwrap(), 2);

    // Client events surface as lifecycle events.
    b.subscribe("private-client.7", None).await;
    a.subscribe("private-client.7", None).await;
    a.send(json!({"event":"client-typing","channel":"private-client.7","data":{"typing":true}}))
        .await;
    assert_eq!(
        b.next_event("client-typing").await["data"],
        r#"{"typing":true}"#
    );
    assert!(matches!(next_kind(&mut events, "client_event").await,
        EventKind::ClientEvent { event, data, socket_id, .. }
            if event == "client-typing" && data == r#"{"typing":true}"# && socket_id == a.socket_id));

    // Terminate the presence user: `a` is closed with 4009, `b` stays.
    assert_eq!(
        server.terminate_user_connections("app", "5").await.unwrap(),
        1
    );
    let (_, code) = a.until_close().await;
    assert_eq!(code, 4009);
    let a_id = a.socket_id.clone();
    drop(a);
    assert!(matches!(next_kind(&mut events, "member_removed").await,
        EventKind::MemberRemoved { user_id, .. } if &*user_id == "5"));
    assert!(matches!(next_kind(&mut events, "connection_closed").await,
        EventKind::ConnectionClosed { socket_id } if socket_id == a_id));
    server
        .publish("app", &["portal".into()], "StillHere", "3", None)
        .unwrap();
    b.next_event("StillHere").await;

    // Graceful shutdown flushes what was published, then closes with 4200.
    server
        .publish("app", &["portal".into()], "LastWords", "4", None)
        .unwrap();
    let (stopped, (seen, code)) = tokio::join!(server.shutdown(), b.until_close());
    stopped.unwrap();
    assert!(seen.contains(&"LastWords".to_string()), "{seen:?}");
    assert_eq!(code, 4200);
    assert!(matches!(server.shutdown().await, Err(Error::NotRunning)));
}

#[tokio::test]
async fn api_errors_are_typed() {
    let server = Server::new(config()).unwrap();
    let addr = server.start().await.unwrap();
    let err = server
        .publish("nope", &["a".into()], "e", "d", None)
        .unwrap_err();
    assert!(matches!(err, Error::UnknownApp(_)));
    assert_eq!(err.http_status(), 404);
    let err = server
        .publish("app", &["bad name".into()], "e", "d", None)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidChannel { .. }), "{err}");
    let err = server
        .publish("app", &["a".into()], "pusher:x", "d", None)
        .unwrap_err();
    assert!(matches!(err, Error::InvalidEventName { .. }), "{err}");
    let big = "x".repeat(10_241);
    let err = server
        .publish("app", &["a".into()], "e", &big, None)
        .unwrap_err();
    assert_eq!(err.http_status(), 413);
    let err = server
        .publish("app", &["a".into()], "e", "d", Some("1.2.3"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidSocketId(_)));
    let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
    assert!(matches!(
        server.publish("app", &many, "e", "d", None),
        Err(Error::TooManyChannels {
            count: 101,
            max: 100
        })
    ));
    assert!(matches!(
        server.members("app", "portal").await,
        Err(Error::NotPresenceChannel(_))
    ));
    assert!(matches!(server.start().await, Err(Error::AlreadyStarted)));

    // The port is taken: a second server says so.
    let other = Server::new(config()).unwrap();
    let err = other.start_on(&addr.to_string()).await.unwrap_err();
    assert!(matches!(err, Error::Bind { .. }));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
    server.shutdown().await.unwrap();
}

#[test]
fn bad_config_is_refused() {
    let mut c = config();
    c.apps[0].secret.clear();
    assert!(matches!(Server::new(c), Err(Error::Config(_))));
    assert!(matches!(
        Server::new(Config::default()),
        Err(Error::Config(_))
    ));
}

#[tokio::test]
async fn a_shutdown_that_interrupts_a_write_still_delivers_everything() {
    let mut config = config();
    config.apps[0].outbound_queue = 4000;
    let server = Server::new(config).unwrap();
    let addr = server.start().await.unwrap();
    let mut c = Client::connect(addr).await;
    c.subscribe("bulk", None).await;
    // 27 MB the client does not read yet: more than loopback's socket buffers, so the
    // connection's write blocks, and the shutdown's close arrives in the middle of it.
    let data = format!("\"{}\"", "x".repeat(9000));
    for _ in 0..3000 {
        server
            .publish("app", &["bulk".into()], "Bulk", &data, None)
            .unwrap();
    }
    // Not a wait for anything: it only gives the write time to block, so that the
    // close interrupts it (the assertions hold however the two interleave).
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (stopped, (seen, code)) = tokio::join!(server.shutdown(), c.until_close());
    stopped.unwrap();
    assert_eq!(seen.iter().filter(|e| *e == "Bulk").count(), 3000);
    assert_eq!(code, 4200);
}
