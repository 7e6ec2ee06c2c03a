//! Several servers on one real `redis-server` behave as one Pusher server: events,
//! exclusion, client events, terminate and cache channels cross nodes; presence is per
//! user cluster-wide; queries answer for the whole cluster from any node; a graceful
//! shutdown removes a node's members at once; two prefixes never meet.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use pushbus::{AppConfig, ClusterConfig, Config, Server};
use serde_json::{json, Value};

#[path = "common/redis.rs"]
mod redis_server;
#[path = "common/ws_client.rs"]
mod ws_client;
use redis_server::RedisServer;
use ws_client::{Client, KEY, SECRET, WAIT};

const APP: &str = "app";

/// A server of the test app on a free port, joining `cluster`.
fn clustered(cluster: ClusterConfig) -> Server {
    Server::new(Config {
        port: 0,
        apps: vec![AppConfig {
            id: APP.into(),
            key: KEY.into(),
            secret: SECRET.into(),
            // Pusher's default of 100 members, raised for the 300-member test.
            max_presence_members: 400,
            ..AppConfig::default()
        }],
        cluster: Some(cluster),
        ..Config::default()
    })
    .unwrap()
}

async fn node(redis: &RedisServer, prefix: &str) -> Server {
    let server = clustered(ClusterConfig {
        redis_url: redis.url(),
        prefix: prefix.into(),
        node_lease: 3.0,
    });
    server.start().await.unwrap();
    server
}

async fn cluster(redis: &RedisServer, n: usize) -> Vec<Server> {
    let mut nodes = Vec::new();
    for _ in 0..n {
        nodes.push(node(redis, "reverb").await);
    }
    nodes
}

async fn client(server: &Server) -> Client {
    Client::connect(server.local_addr().unwrap()).await
}

fn presence(user: &str) -> String {
    json!({"user_id": user, "user_info": {"name": user}}).to_string()
}

/// A watcher ("w") on node 0 of `channel`, and member `user` on node 1 that it has
/// seen join.
async fn watched_member(nodes: &[Server], channel: &str, user: &str) -> (Client, Client) {
    let mut watcher = client(&nodes[0]).await;
    watcher.subscribe(channel, Some(&presence("w"))).await;
    let mut member = client(&nodes[1]).await;
    member.subscribe(channel, Some(&presence(user))).await;
    let added = watcher.next_event("pusher_internal:member_added").await;
    assert_eq!(data(&added)["user_id"], user);
    (watcher, member)
}

/// A plain HTTP GET to `server`: the status and the body.
async fn get(server: &Server, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(server.local_addr().unwrap())
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: pushbus\r\nConnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(WAIT, s.read_to_string(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    let status = answer.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

/// Waits (bounded) until `check` holds.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, check: impl Fn() -> F) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !check().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn data(frame: &Value) -> Value {
    serde_json::from_str(frame["data"].as_str().unwrap()).unwrap()
}

/// A bus subscription is live once an event published on one node reaches another:
/// publishes keep going until one arrives.
async fn until_connected(from: &Server, to: &mut Client, channel: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        // Refused (and said so) while the bus is down.
        let _ = from.publish(APP, &[channel.to_string()], "ping", "{}", None);
        if tokio::time::timeout(Duration::from_millis(200), to.next_event("ping"))
            .await
            .is_ok()
        {
            return;
        }
        assert!(Instant::now() < deadline, "nodes never connected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_cross_nodes_once_and_in_order() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 3).await;
    let mut b = client(&nodes[1]).await;
    let mut c = client(&nodes[2]).await;
    let mut a = client(&nodes[0]).await;
    for x in [&mut a, &mut b, &mut c] {
        x.subscribe("orders", None).await;
    }
    for i in 0..100 {
        nodes[0]
            .publish(APP, &["orders".into()], "e", &i.to_string(), None)
            .unwrap();
    }
    for x in [&mut a, &mut b, &mut c] {
        for i in 0..100 {
            let got = x.next_event("e").await;
            assert_eq!(got["data"], i.to_string(), "once each, in publishing order");
        }
    }
    // Exclusion by a socket on another node.
    nodes[0]
        .publish(APP, &["orders".into()], "x", "1", Some(&b.socket_id))
        .unwrap();
    nodes[0]
        .publish(APP, &["orders".into()], "after", "2", None)
        .unwrap();
    let next = b.next_any().await;
    assert_eq!(next["event"], "after", "b was excluded: {next}");
    assert_eq!(c.next_event("x").await["data"], "1");

    // A client event from node b reaches the members on a and c, not b itself.
    for x in [&mut a, &mut b, &mut c] {
        x.subscribe("private-room", None).await;
    }
    b.send(json!({"event": "client-typing", "channel": "private-room", "data": {"who": "b"}}))
        .await;
    for x in [&mut a, &mut c] {
        assert_eq!(data(&x.next_event("client-typing").await)["who"], "b");
    }

    // Queries from any node answer for the cluster.
    for n in &nodes {
        assert_eq!(n.connection_count(APP).await.unwrap(), 3);
        let info = n.channel(APP, "orders").await.unwrap();
        assert_eq!((info.occupied, info.subscription_count), (true, 3));
        let names: Vec<String> = n
            .channels(APP, "")
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name.to_string())
            .collect();
        assert_eq!(names, ["orders", "private-room"]);
    }

    // A cache channel keeps its last event cluster-wide.
    nodes[2]
        .publish(APP, &["cache-prices".into()], "price", "42", None)
        .unwrap();
    let mut late = client(&nodes[1]).await;
    late.subscribe("cache-prices", None).await;
    assert_eq!(late.next_event("price").await["data"], "42");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminate_reaches_the_user_on_every_node() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 2).await;
    let mut on_b = client(&nodes[1]).await;
    on_b.subscribe("presence-room", Some(&presence("u7"))).await;
    let mut watcher = client(&nodes[0]).await;
    watcher
        .subscribe("presence-room", Some(&presence("w")))
        .await;
    let here = nodes[0]
        .terminate_user_connections(APP, "u7")
        .await
        .unwrap();
    assert_eq!(here, 0, "none of u7's connections is on node a");
    let (_, code) = on_b.until_close().await;
    assert_eq!(code, 4009);
    let removed = watcher.next_event("pusher_internal:member_removed").await;
    assert_eq!(data(&removed)["user_id"], "u7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_per_user_across_nodes() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 3).await;
    let ch = "presence-project.5";
    let mut watcher = client(&nodes[2]).await;
    watcher.subscribe(ch, Some(&presence("w"))).await;
    let mut u_a = client(&nodes[0]).await;
    let mut u_b = client(&nodes[1]).await;
    u_a.subscribe(ch, Some(&presence("u"))).await;
    let ok = u_b.subscribe(ch, Some(&presence("u"))).await;
    let listed = data(&ok)["presence"]["ids"].clone();
    let mut ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["u", "w"], "members on every node are listed");
    let added = watcher.next_event("pusher_internal:member_added").await;
    assert_eq!(data(&added)["user_id"], "u");

    // The first of u's connections leaving says nothing; the last one does.
    u_a.send(json!({"event": "pusher:unsubscribe", "data": {"channel": ch}}))
        .await;
    eventually("u_a's leave is recorded", || async {
        nodes[2].channel(APP, ch).await.unwrap().subscription_count == 2
    })
    .await;
    u_b.send(json!({"event": "pusher:unsubscribe", "data": {"channel": ch}}))
        .await;
    let next = watcher.next_any().await;
    assert_eq!(next["event"], "pusher_internal:member_removed", "{next}");
    assert_eq!(data(&next)["user_id"], "u");
    let info = nodes[0].channel(APP, ch).await.unwrap();
    assert_eq!((info.user_count, info.subscription_count), (Some(1), 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_members_over_three_nodes_are_counted_exactly() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 3).await;
    let ch = "presence-portal";
    let mut watchers = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        let mut w = client(n).await;
        w.subscribe(ch, Some(&presence(&format!("watcher-{i}"))))
            .await;
        watchers.push(w);
    }
    let mut members = Vec::new();
    for i in 0..300 {
        let mut m = client(&nodes[i % 3]).await;
        m.subscribe(ch, Some(&presence(&format!("user-{i}")))).await;
        members.push(m);
    }
    for (i, w) in watchers.iter_mut().enumerate() {
        let mut seen = HashSet::new();
        // The watchers that joined after this one, then the 300 users.
        let expected = 300 + (2 - i);
        while seen.len() < expected {
            let added = w.next_event("pusher_internal:member_added").await;
            let user = data(&added)["user_id"].as_str().unwrap().to_string();
            assert!(seen.insert(user.clone()), "{user} added twice");
        }
    }
    for n in &nodes {
        let info = n.channel(APP, ch).await.unwrap();
        assert_eq!((info.user_count, info.subscription_count), (Some(303), 303));
        assert_eq!(n.members(APP, ch).await.unwrap().len(), 303);
        assert_eq!(n.connection_count(APP).await.unwrap(), 303);
    }
}

/// Members joining all at once over three nodes: each learns of every other exactly
/// once, from its member list or a `member_added`, never both, whatever the order in
/// which the nodes hear of the joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_storm_over_three_nodes_tells_each_member_of_each_other_once() {
    const N: usize = 150;
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 3).await;
    let ch = "presence-storm";
    let mut clients = Vec::new();
    for i in 0..N {
        clients.push(client(&nodes[i % 3]).await);
    }
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            tokio::spawn(async move {
                let me = format!("user-{i}");
                let ok = c.subscribe(ch, Some(&presence(&me))).await;
                let listed = data(&ok)["presence"]["ids"].clone();
                let mut known: HashSet<String> = listed
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect();
                assert!(known.contains(&me));
                let from_list = known.len();
                while known.len() < N {
                    let added = c.next_event("pusher_internal:member_added").await;
                    let user = data(&added)["user_id"].as_str().unwrap().to_string();
                    assert!(known.insert(user.clone()), "{me} was told of {user} twice");
                }
                (from_list, c)
            })
        })
        .collect();
    let mut told = 0;
    let mut clients = Vec::new();
    for t in tasks {
        let (from_list, c) = t.await.expect("every member learns of every other once");
        told += N - from_list;
        clients.push(c);
    }
    assert_eq!(told, N * (N - 1) / 2, "member_added in all");
    // Nothing more is on its way: a marker published after the storm comes next.
    nodes[0]
        .publish(APP, &[ch.to_string()], "marker", "{}", None)
        .unwrap();
    for c in &mut clients {
        let next = c.next_any().await;
        assert_eq!(next["event"], "marker", "{next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_removes_the_nodes_members_at_once() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 2).await;
    let ch = "presence-room";
    let (mut watcher, mut leaving) = watched_member(&nodes, ch, "gone").await;
    // It answers the close handshake, as pusher-js does.
    let closed = tokio::spawn(async move { leaving.until_close().await });
    let started = Instant::now();
    nodes[1].shutdown().await.unwrap();
    let removed = watcher.next_event("pusher_internal:member_removed").await;
    assert_eq!(data(&removed)["user_id"], "gone");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "removed before a lease (3 s) could run out"
    );
    assert_eq!(nodes[0].connection_count(APP).await.unwrap(), 1);
    assert_eq!(closed.await.unwrap().1, 4200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_prefixes_on_one_redis_never_meet() {
    let redis = RedisServer::start();
    let (a1, a2) = (node(&redis, "portal").await, node(&redis, "portal").await);
    let b1 = node(&redis, "staging").await;
    let mut on_a2 = client(&a2).await;
    let mut on_b1 = client(&b1).await;
    on_a2.subscribe("presence-room", Some(&presence("x"))).await;
    on_b1.subscribe("presence-room", Some(&presence("y"))).await;
    on_a2.subscribe("orders", None).await;
    on_b1.subscribe("orders", None).await;
    until_connected(&a1, &mut on_a2, "orders").await;
    a1.publish(APP, &["orders".into()], "for-portal", "1", None)
        .unwrap();
    b1.publish(APP, &["orders".into()], "for-staging", "2", None)
        .unwrap();
    assert_eq!(on_a2.next_event("for-portal").await["data"], "1");
    let next = on_b1.next_any().await;
    assert_eq!(next["event"], "for-staging", "{next}");
    assert_eq!(a1.members(APP, "presence-room").await.unwrap().len(), 1);
    assert_eq!(b1.connection_count(APP).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_is_a_readable_start_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = clustered(ClusterConfig {
        redis_url: format!("redis://:hunter2@127.0.0.1:{port}"),
        ..ClusterConfig::default()
    });
    let e = server.start().await.unwrap_err().to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.contains("hunter2"), "no password in messages: {e}");
    assert!(server.local_addr().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_for_five_seconds_then_back() {
    let mut redis = RedisServer::start();
    let nodes = cluster(&redis, 2).await;
    let ch = "presence-room";
    let mut watcher = client(&nodes[0]).await;
    watcher.subscribe(ch, Some(&presence("w"))).await;
    let mut local = client(&nodes[0]).await;
    local.subscribe("orders", None).await;
    let mut stays = client(&nodes[1]).await;
    stays.subscribe(ch, Some(&presence("stays"))).await;
    let mut goes = client(&nodes[1]).await;
    goes.subscribe(ch, Some(&presence("goes"))).await;
    let mut remote = client(&nodes[1]).await;
    remote.subscribe("orders", None).await;
    for _ in 0..2 {
        watcher.next_event("pusher_internal:member_added").await;
    }
    until_connected(&nodes[0], &mut remote, "orders").await;

    redis.stop();
    // For five seconds: every publish reaches this node's subscriber; the ones that
    // could not reach the other node say so.
    let started = Instant::now();
    let (mut i, mut refused) = (0, 0);
    while started.elapsed() < Duration::from_secs(5) {
        let sent = nodes[0].publish(APP, &["orders".into()], "down", &i.to_string(), None);
        if let Err(e) = sent {
            assert!(e.to_string().contains("not sent to the other nodes"), "{e}");
            refused += 1;
        }
        assert_eq!(local.next_event("down").await["data"], i.to_string());
        if i == 5 {
            // A user leaves while Redis cannot be told.
            goes.send(json!({"event": "pusher:unsubscribe", "data": {"channel": ch}}))
                .await;
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(refused > 0, "publishes while Redis was down were reported");
    // Load balancers are told to send new connections elsewhere.
    let (status, body) = get(&nodes[0], "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot reach Redis"), "{body}");
    redis.restart();

    until_connected(&nodes[0], &mut remote, "orders").await;
    eventually("ready again", || async {
        get(&nodes[0], "/ready").await.0 == 200
    })
    .await;
    // The leave Redis missed is settled and announced on the other node, once.
    let removed = watcher.next_event("pusher_internal:member_removed").await;
    assert_eq!(data(&removed)["user_id"], "goes");
    for n in &nodes {
        eventually("presence restored in Redis", || async {
            let info = n.channel(APP, ch).await.unwrap();
            info.user_count == Some(2) && info.subscription_count == 2
        })
        .await;
        let ids: Vec<String> = n
            .members(APP, ch)
            .await
            .unwrap()
            .iter()
            .map(|m| m.id.to_string())
            .collect();
        assert_eq!(ids, ["stays", "w"]);
        eventually("connections counted again", || async {
            n.connection_count(APP).await.unwrap() == 5
        })
        .await;
    }
    // A join after the restart sees every member.
    let mut late = client(&nodes[1]).await;
    let ok = late.subscribe(ch, Some(&presence("late"))).await;
    assert_eq!(data(&ok)["presence"]["count"], 3);
    let added = watcher.next_any().await;
    assert_eq!(data(&added)["user_id"], "late", "no other change: {added}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_removed_after_a_pause_registers_again() {
    let redis = RedisServer::start();
    let nodes = cluster(&redis, 2).await;
    let ch = "presence-room";
    let (mut watcher, mut paused) = watched_member(&nodes, ch, "p").await;

    // As if node b had not renewed its lease for longer than the lease: its lease is
    // over, and node a removes it at its next check. Node b's own renewal could come
    // first and undo that, so it is ended again (XX: only while b is registered) until
    // node a has removed it.
    let b = nodes[1].cluster_node().unwrap();
    let url = redis.url();
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let expire = tokio::spawn(async move {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        loop {
            let _: redis::Value = redis::cmd("ZADD")
                .arg("reverb:app:nodes")
                .arg("XX")
                .arg(0)
                .arg(&b)
                .query_async(&mut conn)
                .await
                .unwrap();
            tokio::select! {
                _ = &mut stopped => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(20)) => {}
            }
        }
    });
    let removed = watcher.next_event("pusher_internal:member_removed").await;
    let _ = stop.send(());
    expire.await.unwrap();
    assert_eq!(data(&removed)["user_id"], "p");
    // Node b finds itself removed at its next renewal and registers its live
    // connection again, announced as the member it is again.
    let added = watcher.next_any().await;
    assert_eq!(added["event"], "pusher_internal:member_added", "{added}");
    assert_eq!(data(&added)["user_id"], "p");
    let back = paused.next_any().await;
    assert_eq!(back["event"], "pusher_internal:member_removed", "{back}");
    let info = nodes[0].channel(APP, ch).await.unwrap();
    assert_eq!((info.user_count, info.subscription_count), (Some(2), 2));
    assert_eq!(nodes[0].connection_count(APP).await.unwrap(), 2);
}
