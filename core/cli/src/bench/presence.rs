//! `presence`: N members join one presence channel at once; how long until every
//! member has heard of every later one (n·(n−1)/2 `member_added` in all), and whether
//! the count is exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::*;

const CHANNEL: &str = "presence-bench";

pub async fn run(o: &Options) -> Result<Report, String> {
    let n = o.connections as u64;
    let conns = connect_many(o, o.connections, |_, ws, sid| async move { Ok((ws, sid)) }).await?;
    let added = Arc::new(AtomicU64::new(0));
    let progress = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (mut ws, sid)) in conns.into_iter().enumerate() {
        let cd = format!("{{\"user_id\":\"{i}\",\"user_info\":{{\"name\":\"member {i}\"}}}}");
        let auth = pushbus::auth::authorize_channel(&o.key, &o.secret, &sid, CHANNEL, Some(&cd));
        let (added, progress, mut stop) = (added.clone(), progress.clone(), stop_rx.clone());
        tasks.push(tokio::spawn(async move {
            let frame = json!({"event":"pusher:subscribe","data":{"channel":CHANNEL,"auth":auth,"channel_data":cd}});
            if send_json(&mut ws, &frame).await.is_err() {
                return Err(format!("member {i}: send failed"));
            }
            loop {
                tokio::select! {
                    _ = stop.changed() => return Ok(ws),
                    msg = ws.next() => match msg {
                        Some(Ok(Message::Text(t))) => {
                            if t.contains("pusher_internal:member_added") {
                                added.fetch_add(1, Ordering::Relaxed);
                                progress.notify_waiters();
                            } else if t.contains("pusher:subscription_error") {
                                return Err(format!("member {i}: {t}"));
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return Err(format!("member {i}: socket closed")),
                    }
                }
            }
        }));
    }
    let expected = n * n.saturating_sub(1) / 2;
    let limit = tokio::time::Instant::now() + o.duration.max(Duration::from_secs(1));
    while added.load(Ordering::Relaxed) < expected {
        let notified = progress.notified();
        if added.load(Ordering::Relaxed) >= expected
            || tokio::time::timeout_at(limit, notified).await.is_err()
        {
            break;
        }
    }
    let settle = started.elapsed();
    // Anything more arriving now would be a duplicate; give it a moment to show.
    let counted_at_settle = added.load(Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        loop {
            progress.notified().await;
        }
    })
    .await;
    let _ = stop_tx.send(true);
    let mut errors = Vec::new();
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            errors.push(e);
        }
    }
    let total = added.load(Ordering::Relaxed);
    let mut r = Report::new();
    r.add("members", "members", n);
    r.add("expected_member_added", "expected member_added", expected);
    r.add("member_added", "member_added received", total);
    r.add(
        "settled",
        "settled (exact count reached)",
        counted_at_settle == expected && total == expected,
    );
    r.add(
        "settle_ms",
        "time to settle (ms)",
        settle.as_secs_f64() * 1000.0,
    );
    r.add(
        "subscribe_errors",
        "subscription errors",
        errors.len() as u64,
    );
    if let Some(e) = errors.first() {
        r.add("first_error", "first error", e.clone());
    }
    meter.report(&mut r, "member_added", total);
    Ok(r)
}
