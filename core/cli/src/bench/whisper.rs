//! `whisper`: N connections on one private channel, each sending client events at
//! `--rate` per second for `--duration`; relayed client events per second.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::*;

const CHANNEL: &str = "private-bench-whisper";

pub async fn run(o: &Options) -> Result<Report, String> {
    let (key, secret) = (o.key.clone(), o.secret.clone());
    let conns = connect_many(o, o.connections, |_, mut ws, sid| {
        let auth = pushbus::auth::authorize_channel(&key, &secret, &sid, CHANNEL, None);
        async move {
            subscribe(&mut ws, CHANNEL, &auth, None).await?;
            Ok((ws, sid))
        }
    })
    .await?;
    let rate = if o.rate > 0.0 { o.rate } else { 5.0 };
    let sent = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let rejected = Arc::new(AtomicU64::new(0));
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let until = tokio::time::Instant::now() + o.duration;
    let mut tasks = Vec::new();
    for (ws, _) in conns {
        let (sent, received, rejected) = (sent.clone(), received.clone(), rejected.clone());
        tasks.push(tokio::spawn(async move {
            let (mut tx, mut rx) = ws.split();
            let reader = async {
                while let Some(Ok(m)) = rx.next().await {
                    if let Message::Text(t) = m {
                        if t.contains("client-bench") {
                            received.fetch_add(1, Ordering::Relaxed);
                        } else if t.contains("pusher:error") {
                            rejected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            };
            let writer = async {
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                loop {
                    tick.tick().await;
                    let f = r#"{"event":"client-bench","channel":"private-bench-whisper","data":{"typing":true}}"#;
                    if tx.send(Message::Text(f.into())).await.is_err() {
                        break;
                    }
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            };
            let _ = tokio::time::timeout_at(until, async { tokio::join!(reader, writer) }).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let wall = started.elapsed();
    let n = o.connections as u64;
    let (s, got) = (
        sent.load(Ordering::Relaxed),
        received.load(Ordering::Relaxed),
    );
    let mut r = Report::new();
    r.add("connections", "connections", n);
    r.add(
        "rate_per_connection",
        "client events per second per connection",
        rate,
    );
    r.add("sent", "client events sent", s);
    r.add(
        "rejected",
        "rejected (pusher:error)",
        rejected.load(Ordering::Relaxed),
    );
    r.add(
        "expected_deliveries",
        "expected deliveries (sent × (N−1))",
        s * n.saturating_sub(1),
    );
    r.add("deliveries", "deliveries", got);
    r.add(
        "deliveries_per_s",
        "deliveries per second",
        got as f64 / wall.as_secs_f64().max(1e-6),
    );
    meter.report(&mut r, "delivery", got);
    Ok(r)
}
