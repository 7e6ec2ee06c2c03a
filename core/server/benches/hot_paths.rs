//! Micro-benchmarks of the hot paths: frame parsing and building, signature checks,
//! fan-out of one event to 10,000 local subscribers, publish through the Rust API.
//! `cargo bench -p pushbus --bench hot_paths`; figures go to BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pushbus::config::AppConfig;
use pushbus::hub::Hub;
use pushbus::outbox::Outbox;
use pushbus::socket_id::SocketId;
use pushbus::{auth, protocol, Config, Server};

const KEY: &str = "278d425bdf160c739803";
const SECRET: &str = "7ad3773142a6692b25b8";

fn frames(c: &mut Criterion) {
    let subscribe = r#"{"event":"pusher:subscribe","data":{"auth":"278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4","channel":"private-foobar"}}"#;
    let whisper = r#"{"event":"client-typing","channel":"presence-chat.1","data":{"typing":true,"name":"Taylor"}}"#;
    c.bench_function("parse subscribe frame", |b| {
        b.iter(|| protocol::parse_client_frame(black_box(subscribe)))
    });
    c.bench_function("parse client event frame", |b| {
        b.iter(|| protocol::parse_client_frame(black_box(whisper)))
    });
    let data = r#"{"invoice":{"id":1,"total":99,"url":"https:\/\/portal.test\/invoices\/1"}}"#;
    c.bench_function("build channel event frame", |b| {
        b.iter(|| {
            protocol::channel_event(
                black_box("App\\Events\\InvoiceCreated"),
                "private-client.7",
                black_box(data),
                None,
            )
        })
    });
}

fn signatures(c: &mut Criterion) {
    let auth = auth::authorize_channel(KEY, SECRET, "1234.1234", "private-foobar", None);
    c.bench_function("verify private channel auth", |b| {
        b.iter(|| {
            auth::verify_channel_auth(
                KEY,
                SECRET,
                black_box("1234.1234"),
                "private-foobar",
                None,
                black_box(&auth),
            )
        })
    });
    let body = br#"{"name":"foo","channels":["project-3"],"data":"{\"some\":\"data\"}"}"#;
    let query = "auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f&auth_signature=da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";
    c.bench_function("verify REST request", |b| {
        b.iter(|| {
            auth::verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                black_box(query),
                black_box(body),
                1353088179,
                600,
            )
        })
    });
}

fn fanout(c: &mut Criterion) {
    const SUBSCRIBERS: usize = 10_000;
    let (events, _) = tokio::sync::broadcast::channel(16);
    let hub = Hub::new(
        AppConfig {
            id: "3".into(),
            key: KEY.into(),
            secret: SECRET.into(),
            ..AppConfig::default()
        },
        events,
    );
    let mut receivers = Vec::with_capacity(SUBSCRIBERS);
    for _ in 0..SUBSCRIBERS {
        let outbox = Outbox::new(SocketId::generate(), 64);
        hub.connect(&outbox).unwrap();
        hub.subscribe(&outbox, "portal", None).unwrap();
        outbox.take_all();
        receivers.push(outbox);
    }
    let frame = protocol::channel_event("Announcement", "portal", &"x".repeat(100), None);
    let mut group = c.benchmark_group("fan-out");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    group.bench_function("one event to 10k local subscribers (queue + drain)", |b| {
        b.iter(|| {
            hub.deliver("portal", black_box(&frame), None);
            // Drain as connection tasks would, so queues never fill up.
            for outbox in &receivers {
                black_box(outbox.take_all());
            }
        })
    });
    group.finish();
}

fn publish_api(c: &mut Criterion) {
    let config = Config {
        apps: vec![AppConfig {
            id: "3".into(),
            key: KEY.into(),
            secret: SECRET.into(),
            ..AppConfig::default()
        }],
        ..Config::default()
    };
    let server = Server::new(config).unwrap();
    let channels = vec!["private-client.7".to_string()];
    let data = r#"{"invoice":{"id":1,"total":99}}"#;
    c.bench_function("Server::publish (validate, serialise, route)", |b| {
        b.iter(|| {
            server.publish(
                "3",
                black_box(&channels),
                "App\\Events\\InvoiceCreated",
                black_box(data),
                None,
            )
        })
    });
}

criterion_group!(benches, frames, signatures, fanout, publish_api);
criterion_main!(benches);
