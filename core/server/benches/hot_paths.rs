//! Micro-benchmarks of the hot paths: frame parsing and building, signature checks,
//! fan-out of one event to 10,000 local subscribers, publish through the Rust API.
//! `cargo bench -p pushbus --bench hot_paths`; figures go to BENCHMARKS.md.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use pushbus::bench_support::{self as protocol, Fanout};
use pushbus::config::AppConfig;
use pushbus::{auth, Config, Server};

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
    let app = AppConfig {
        id: "3".into(),
        key: KEY.into(),
        secret: SECRET.into(),
        ..AppConfig::default()
    };
    let fanout = Fanout::new(app, "portal", SUBSCRIBERS);
    let channels = vec!["portal".to_string()];
    let data = "x".repeat(100);
    let mut group = c.benchmark_group("fan-out");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    group.bench_function("one event to 10k local subscribers (queue + drain)", |b| {
        b.iter(|| black_box(fanout.publish_and_drain(&channels, black_box(&data))))
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
