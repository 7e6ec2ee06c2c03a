//! What the Redis backend relies on from its client crate (redis-rs), checked against a
//! real `redis-server`: a managed connection reconnects by itself after Redis restarts,
//! and its pub/sub subscriptions come back with it (Reverb stopped broadcasting for
//! good after a Redis reconnect, reverb#258).

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;
use tokio::time::timeout;

#[path = "common/redis.rs"]
mod redis_server;
use redis_server::RedisServer;

const WAIT: Duration = Duration::from_secs(15);

async fn managed(url: &str, push: Option<mpsc::UnboundedSender<PushInfo>>) -> ConnectionManager {
    let mut config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(1)))
        .set_response_timeout(Some(Duration::from_secs(1)))
        .set_max_delay(Duration::from_millis(500));
    if let Some(tx) = push {
        config = config.set_push_sender(tx).set_automatic_resubscription();
    }
    let client = redis::Client::open(url).unwrap();
    ConnectionManager::new_with_config(client, config)
        .await
        .unwrap()
}

/// The next pub/sub message's payload.
async fn next_message(rx: &mut mpsc::UnboundedReceiver<PushInfo>) -> Vec<u8> {
    timeout(WAIT, async {
        loop {
            let push = rx.recv().await.expect("push channel open");
            if push.kind == PushKind::Message {
                if let Some(Value::BulkString(payload)) = push.data.get(1) {
                    return payload.clone();
                }
            }
        }
    })
    .await
    .expect("a message in time")
}

/// Publishes until one subscriber receives it (a restarted Redis has none until the
/// subscriber's connection is back); returns how long that took.
async fn publish_until_received(publisher: &mut ConnectionManager, payload: &str) -> Duration {
    let started = Instant::now();
    loop {
        let receivers: Result<i64, _> = redis::cmd("PUBLISH")
            .arg("pushbus-test")
            .arg(payload)
            .query_async(publisher)
            .await;
        if receivers == Ok(1) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < WAIT,
            "no subscriber came back: {receivers:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_come_back_after_a_redis_restart() {
    let mut redis = RedisServer::start();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut subscriber = managed(&redis.url(), Some(tx)).await;
    subscriber.subscribe("pushbus-test").await.unwrap();
    let mut publisher = managed(&redis.url(), None).await;

    publish_until_received(&mut publisher, "before").await;
    assert_eq!(next_message(&mut rx).await, b"before");

    redis.restart();
    let took = publish_until_received(&mut publisher, "after").await;
    assert_eq!(next_message(&mut rx).await, b"after");
    assert!(took < WAIT, "resubscribed after {took:?}");

    // Commands work again on the same managed connection, too.
    let pong: String = redis::cmd("PING")
        .query_async(&mut subscriber)
        .await
        .unwrap();
    assert_eq!(pong, "PONG");
}
