//! Three real `pushbus serve` processes on one real `redis-server`, configured only by
//! Laravel Reverb's environment variables: a node killed with SIGKILL has its presence
//! members removed on the survivors within its lease, exactly once each, and the
//! channel counts drop with them; a node frozen longer than its lease (SIGSTOP, as in a
//! network pause) is removed, then registers its live connections again on SIGCONT.

#[path = "../../server/tests/common/redis.rs"]
mod redis_server;
#[path = "../../server/tests/common/ws_client.rs"]
mod ws_client;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pushbus_client::{Client as Rest, ClientOptions};
use redis_server::RedisServer;
use serde_json::{json, Value};
use tokio::time::timeout;
use ws_client::{Client, KEY, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_pushbus");
const APP_ID: &str = "app-id";
/// The shortest lease the config accepts, so that the test takes seconds.
const LEASE: Duration = Duration::from_secs(3);
const CHANNEL: &str = "presence-project.5";
/// Every member's connection is on this public channel too, for `subscription_count`
/// (which Pusher gives for non-presence channels only).
const FEED: &str = "project.5.feed";

struct Node {
    child: Child,
    port: u16,
    stderr: Arc<Mutex<Vec<String>>>,
    dir: std::path::PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGCONT) };
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Node {
    fn start(redis: &RedisServer, n: usize) -> Node {
        let dir = std::env::temp_dir().join(format!("pushbus-cluster-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(BIN)
            .arg("serve")
            // No ./.env in here, and nothing from the developer's shell.
            .current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("REVERB_APP_ID", APP_ID)
            .env("REVERB_APP_KEY", KEY)
            .env("REVERB_APP_SECRET", SECRET)
            .env("REVERB_SERVER_HOST", "127.0.0.1")
            .env("REVERB_SERVER_PORT", "0")
            .env("REVERB_SCALING_ENABLED", "true")
            .env("REVERB_SCALING_CHANNEL", "portal")
            .env("REDIS_HOST", "127.0.0.1")
            .env("REDIS_PORT", redis.port.to_string())
            .env("REDIS_PASSWORD", "null")
            .env("PUSHBUS_NODE_LEASE", LEASE.as_secs().to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pushbus serve");
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.rsplit(':').next().and_then(|p| p.trim().parse().ok()));
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(15))
            .expect("the node announced its port")
            .expect("the port parses");
        Node {
            child,
            port,
            stderr,
            dir,
        }
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    fn rest(&self) -> Rest {
        Rest::new(ClientOptions {
            port: self.port,
            app_id: APP_ID.into(),
            key: KEY.into(),
            secret: SECRET.into(),
            ..ClientOptions::default()
        })
        .unwrap()
    }

    fn signal(&self, signal: i32) {
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Whether the node logs a line containing `needle` within 10 s: the reader thread
    /// may not have collected a line yet when stdout already announced the port.
    fn logged(&self, needle: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if self
                .stderr
                .lock()
                .unwrap()
                .iter()
                .any(|l| l.contains(needle))
            {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn member(node: &Node, user: &str) -> Client {
    let mut c = Client::connect(node.addr()).await;
    let data = json!({"user_id": user, "user_info": {"name": user}}).to_string();
    c.subscribe(CHANNEL, Some(&data)).await;
    c.subscribe(FEED, None).await;
    c
}

/// Member events (`+id` / `-id`) this client receives until the marker event arrives.
async fn member_events_until_marker(c: &mut Client, within: Duration) -> Vec<String> {
    timeout(within, async {
        let mut seen = Vec::new();
        loop {
            let f = c.next_any().await;
            let user = || {
                let data: Value = serde_json::from_str(f["data"].as_str().unwrap()).unwrap();
                data["user_id"].as_str().unwrap().to_string()
            };
            match f["event"].as_str().unwrap() {
                "pusher_internal:member_added" => seen.push(format!("+{}", user())),
                "pusher_internal:member_removed" => seen.push(format!("-{}", user())),
                "marker" => return seen,
                _ => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no marker within {within:?}"))
}

/// Waits for `event` about `user`, for at most `within`, and returns how long it took.
async fn wait_member(c: &mut Client, event: &str, user: &str, within: Duration) -> Duration {
    let start = Instant::now();
    timeout(within, async {
        loop {
            let f = c.next_any().await;
            if f["event"] == event {
                let data: Value = serde_json::from_str(f["data"].as_str().unwrap()).unwrap();
                if data["user_id"] == user {
                    return start.elapsed();
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {event} for {user} within {within:?}"))
}

/// The presence channel's `user_count` and the feed's `subscription_count`.
async fn counts(node: &Node) -> (u64, u64) {
    let rest = node.rest();
    let users = rest.channel(CHANNEL, Some("user_count")).await.unwrap();
    let feed = rest
        .channel(FEED, Some("subscription_count"))
        .await
        .unwrap();
    (
        users["user_count"].as_u64().unwrap(),
        feed["subscription_count"].as_u64().unwrap_or(0),
    )
}

async fn marker(node: &Node) {
    node.rest()
        .trigger(&[CHANNEL.to_string()], "marker", "{}", None)
        .await
        .expect("marker published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_removed_within_its_lease_and_a_frozen_one_comes_back() {
    let redis = RedisServer::start();
    let nodes: Vec<Node> = (0..3).map(|n| Node::start(&redis, n)).collect();
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    for n in &nodes {
        assert!(
            n.logged(&format!(
                "joined the cluster at redis://127.0.0.1:{}",
                redis.port
            )),
            "no 'joined the cluster' line: {:?}",
            n.stderr.lock().unwrap()
        );
    }

    // Alice on a and b, Bob on a only, Carol (the observer) on c, Dave on b.
    let mut carol = member(c, "carol").await;
    let _alice_a = member(a, "alice").await;
    let _bob = member(a, "bob").await;
    let _alice_b = member(b, "alice").await;
    let mut dave = member(b, "dave").await;
    marker(a).await;
    assert_eq!(
        member_events_until_marker(&mut carol, Duration::from_secs(5)).await,
        ["+alice", "+bob", "+dave"]
    );
    assert_eq!(
        member_events_until_marker(&mut dave, Duration::from_secs(5)).await,
        Vec::<String>::new(),
        "dave joined last"
    );
    assert_eq!(counts(b).await, (4, 5));

    // SIGKILL: no goodbye. Bob (only on a) leaves everywhere once; Alice stays (on b).
    a.signal(libc::SIGKILL);
    // The README's bound is the lease plus one renewal (lease / 3) of a survivor; twice
    // the lease leaves room for a loaded machine.
    let took = wait_member(
        &mut carol,
        "pusher_internal:member_removed",
        "bob",
        LEASE * 2,
    )
    .await;
    eprintln!("bob removed on c {took:?} after the kill (lease {LEASE:?})");
    marker(b).await;
    assert_eq!(
        member_events_until_marker(&mut carol, Duration::from_secs(5)).await,
        Vec::<String>::new(),
        "a second member_removed, or alice removed while still on b"
    );
    assert_eq!(
        member_events_until_marker(&mut dave, Duration::from_secs(5)).await,
        ["-bob"],
        "dave (on b) saw bob leave once"
    );
    assert_eq!(
        counts(c).await,
        (3, 3),
        "users alice, carol, dave; one socket each"
    );
    assert_eq!(
        c.rest().users(CHANNEL).await.unwrap()["users"],
        json!([{"id": "alice"}, {"id": "carol"}, {"id": "dave"}])
    );

    // b frozen past its lease (alice and dave are on b only by now): c removes them,
    // then b, thawed, registers them again, each once.
    b.signal(libc::SIGSTOP);
    let mut gone = member_events(&mut carol, 2, LEASE * 3).await;
    gone.sort();
    assert_eq!(gone, ["-alice", "-dave"]);
    assert_eq!(counts(c).await, (1, 1), "only carol while b is frozen");
    b.signal(libc::SIGCONT);
    let mut back = member_events(&mut carol, 2, LEASE * 3).await;
    back.sort();
    assert_eq!(back, ["+alice", "+dave"]);
    marker(c).await;
    assert_eq!(
        member_events_until_marker(&mut carol, Duration::from_secs(5)).await,
        Vec::<String>::new()
    );
    assert_eq!(counts(c).await, (3, 3));
    assert!(
        b.logged("registered its 4 subscriptions again (the cluster had removed them)"),
        "b logs its re-registration: {:?}",
        b.stderr.lock().unwrap()
    );
}

/// The next `n` member events (`+id` / `-id`) this client receives.
async fn member_events(c: &mut Client, n: usize, within: Duration) -> Vec<String> {
    let mut seen = Vec::new();
    timeout(within, async {
        while seen.len() < n {
            let f = c.next_any().await;
            let sign = match f["event"].as_str().unwrap() {
                "pusher_internal:member_added" => "+",
                "pusher_internal:member_removed" => "-",
                _ => continue,
            };
            let data: Value = serde_json::from_str(f["data"].as_str().unwrap()).unwrap();
            seen.push(format!("{sign}{}", data["user_id"].as_str().unwrap()));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{n} member events within {within:?}: only {seen:?}"));
    seen
}
