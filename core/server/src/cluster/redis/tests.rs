//! The Redis backend against a real `redis-server`: the conformance suite, ordering
//! and isolation on the bus, restarts, refusals while down, vanished nodes.

#[path = "../../../tests/common/redis.rs"]
mod redis_server;

use super::*;
use crate::cluster::conformance;

/// An app `id` as the tests configure it.
fn test_app(id: &str) -> crate::config::AppConfig {
    crate::config::AppConfig {
        id: id.into(),
        cache_ttl: 60,
        ..Default::default()
    }
}

async fn node(
    redis: &redis_server::RedisServer,
    app: &str,
) -> (RedisBackend, Arc<conformance::RecordingInbound>) {
    node_with_lease(redis, app, 15.0).await
}

async fn node_with_lease(
    redis: &redis_server::RedisServer,
    app: &str,
    node_lease: f64,
) -> (RedisBackend, Arc<conformance::RecordingInbound>) {
    let inbound = Arc::new(conformance::RecordingInbound::default());
    let cluster = ClusterConfig {
        redis_url: format!("redis://127.0.0.1:{}", redis.port),
        node_lease,
        ..ClusterConfig::default()
    };
    let backend = RedisBackend::connect(
        &cluster,
        RedisBackend::new_node_id(),
        &test_app(app),
        false,
        inbound.clone(),
    )
    .await
    .unwrap();
    (backend, inbound)
}

/// Waits until `inbound` has recorded `n` deliveries; returns them.
async fn delivered(inbound: &conformance::RecordingInbound, n: usize) -> Vec<(String, String)> {
    tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let got = crate::shards::lock(&inbound.delivered).clone();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("delivered in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_other_nodes_in_order_and_only_them() {
    let redis = redis_server::RedisServer::start();
    let (a, a_in) = node(&redis, "app").await;
    let (_b, b_in) = node(&redis, "app").await;
    let (_c, c_in) = node(&redis, "other-app").await;
    for i in 0..100 {
        let frame = crate::protocol::channel_event("e", "orders", &i.to_string(), None);
        a.broadcast("orders", &frame, None).unwrap();
    }
    let got = delivered(&b_in, 100).await;
    let data: Vec<String> = got
        .iter()
        .map(|(ch, f)| {
            assert_eq!(ch, "orders");
            event_data(f).unwrap()
        })
        .collect();
    let want: Vec<String> = (0..100).map(|i| i.to_string()).collect();
    assert_eq!(data, want, "in the order node a published them");
    a.broadcast_status("7", true).unwrap();
    a.terminate_user("42").await.unwrap();
    tokio::time::timeout(Duration::from_secs(15), async {
        while crate::shards::lock(&b_in.terminated).is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("terminate reached node b");
    // Sent before the terminate, on the same bus: there already.
    assert_eq!(
        *crate::shards::lock(&b_in.statuses),
        [("7".to_string(), true)]
    );
    assert!(crate::shards::lock(&c_in.statuses).is_empty());
    // The publishing node delivered locally already; another app never hears.
    assert!(crate::shards::lock(&a_in.delivered).is_empty());
    assert!(crate::shards::lock(&c_in.delivered).is_empty());
    assert!(crate::shards::lock(&c_in.terminated).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bus_comes_back_after_a_redis_restart() {
    let mut redis = redis_server::RedisServer::start();
    let (a, _) = node_with_lease(&redis, "app", 3.0).await;
    let (_b, b_in) = node_with_lease(&redis, "app", 3.0).await;
    let frame = crate::protocol::channel_event("e", "orders", "before", None);
    a.broadcast("orders", &frame, None).unwrap();
    delivered(&b_in, 1).await;
    redis.restart();
    // Publishes while Redis is coming back are refused or lost (and reported); one
    // after it is back must arrive without restarting either node.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let frame = crate::protocol::channel_event("e", "orders", "after", None);
        let _ = a.broadcast("orders", &frame, None);
        let got = crate::shards::lock(&b_in.delivered).clone();
        if got.iter().any(|(_, f)| f.contains("after")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bus did not come back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcasts_are_refused_while_redis_is_down_and_resume_after() {
    let mut redis = redis_server::RedisServer::start();
    let (a, _) = node_with_lease(&redis, "app", 3.0).await;
    let (_b, b_in) = node_with_lease(&redis, "app", 3.0).await;
    let frame = |text: &str| crate::protocol::channel_event("e", "orders", text, None);
    redis.stop();
    // The first publish after Redis went away is queued and fails in the writer;
    // from then on publishes are refused at once, never claimed sent.
    let started = std::time::Instant::now();
    while a.broadcast("orders", &frame("down"), None).is_ok() {
        assert!(started.elapsed() < Duration::from_secs(15), "never refused");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    redis.restart();
    // The lease renewal (every second here) finds Redis again.
    let started = std::time::Instant::now();
    loop {
        if a.broadcast("orders", &frame("back"), None).is_ok() {
            let got = crate::shards::lock(&b_in.delivered).clone();
            if got.iter().any(|(_, f)| f.contains("back")) {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "broadcasts did not resume"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vanished_node_is_removed_once_within_its_lease() {
    let redis = redis_server::RedisServer::start();
    let (a, _) = node_with_lease(&redis, "app", 1.0).await;
    let (b, _) = node_with_lease(&redis, "app", 1.0).await;
    let (c, _) = node_with_lease(&redis, "app", 1.0).await;
    let (s1, s2, s3, s4) = (
        SocketId::generate(),
        SocketId::generate(),
        SocketId::generate(),
        SocketId::generate(),
    );
    let (ua, ub) = (conformance::member("a"), conformance::member("b"));
    for s in [s1, s2, s4] {
        a.connection_opened(s);
    }
    b.connection_opened(s3);
    a.join("presence-room", s1, Some(&ua), 100).await.unwrap();
    a.join("presence-room", s2, Some(&ub), 100).await.unwrap();
    b.join("presence-room", s3, Some(&ub), 100).await.unwrap();
    a.join("orders", s4, None, 100).await.unwrap();
    assert!(a.user_connected("a", s1, None).await.unwrap());
    assert!(a.user_connected("b", s2, None).await.unwrap());
    assert!(!b.user_connected("b", s3, None).await.unwrap());
    assert_eq!(b.connection_count().await.unwrap(), 4);

    // Node a vanishes without a goodbye: no leave, no count update.
    let a_id = a.node_id().to_string();
    drop(a);
    let mut changes = [b.changes().unwrap(), c.changes().unwrap()];
    let mut seen = Vec::new();
    let started = std::time::Instant::now();
    while seen.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "removed in time: {seen:?}"
        );
        for d in &mut changes {
            while let Ok(change) = d.try_recv() {
                seen.push(change);
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen.sort_by(|x, y| x.channel.cmp(&y.channel));
    // A member_removed carries the version of its decision; nothing else does.
    for change in &mut seen {
        assert_eq!(
            change.member_removed.is_some(),
            change.version > 0,
            "{change:?}"
        );
        change.version = 0;
    }
    assert_eq!(
        seen,
        [
            ClusterChange {
                status: Some(("a".into(), false)),
                ..ClusterChange::default()
            },
            ClusterChange {
                channel: "orders".into(),
                member_removed: None,
                channel_vacated: true,
                ..ClusterChange::default()
            },
            ClusterChange {
                channel: "presence-room".into(),
                member_removed: Some("a".into()),
                channel_vacated: false,
                ..ClusterChange::default()
            },
        ],
        "b is still present through node b; each change announced by one node only"
    );
    let room = b.channel("presence-room").await.unwrap();
    assert_eq!((room.subscription_count, room.user_count), (1, Some(1)));
    assert_eq!(
        b.members("presence-room").await.unwrap()[0].id.as_ref(),
        "b"
    );
    assert!(!b.channel("orders").await.unwrap().occupied);
    assert_eq!(b.connection_count().await.unwrap(), 1);
    let gone = b.user_status("a").await.unwrap();
    assert!(!gone.online && gone.channels.is_empty() && gone.last_seen.is_some());
    let still = b.user_status("b").await.unwrap();
    assert_eq!((still.online, still.connections), (true, 1));
    assert_eq!(&*still.channels[0], "presence-room");
    // Nothing of node a is left to be removed (or announced) again.
    let mut conn = b.conn.clone();
    let lease: Option<f64> = ::redis::cmd("ZSCORE")
        .arg(b.keys.nodes())
        .arg(&a_id)
        .query_async(&mut conn)
        .await
        .unwrap();
    let entries: usize = ::redis::cmd("SCARD")
        .arg(b.keys.node_subs(&a_id))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!((lease, entries), (None, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_backend_passes_the_conformance_suite() {
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    // A fresh app id per check, so that checks do not see each other's state.
    let n = AtomicU64::new(0);
    let handle = tokio::runtime::Handle::current();
    conformance::run_all(|inbound| {
        let cluster = ClusterConfig {
            redis_url: url.clone(),
            ..ClusterConfig::default()
        };
        let app = format!("app{}", n.fetch_add(1, Ordering::Relaxed));
        let backend = std::thread::scope(|s| {
            s.spawn(|| {
                handle.block_on(RedisBackend::connect(
                    &cluster,
                    RedisBackend::new_node_id(),
                    &test_app(&app),
                    false,
                    inbound,
                ))
            })
            .join()
            .unwrap()
        })
        .unwrap();
        Arc::new(backend)
    })
    .await;
}
