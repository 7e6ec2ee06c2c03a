//! `fanout`: N connections over C public channels, E events published over HTTP; every
//! delivery's latency on one clock, plus loss, duplicates and reordering per connection.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::*;

/// After this many events the server's RSS is sampled once.
const EARLY_SAMPLE: usize = 10_000;

/// How long to wait for stragglers after the last publish before counting them lost.
const SETTLE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct ConnStats {
    distinct: u64,
    duplicates: u64,
    out_of_order: u64,
}

struct Shared {
    base: Instant,
    latencies: Arc<Latencies>,
    delivered: AtomicU64,
    last_delivery_us: AtomicU64,
    progress: Notify,
}

fn events_for_channel(o: &Options, ch: usize) -> usize {
    o.events / o.channels + usize::from(ch < o.events % o.channels)
}

pub async fn run(o: &Options) -> Result<Report, String> {
    let channels = o.channels;
    let shared = Arc::new(Shared {
        base: Instant::now(),
        latencies: Latencies::new(),
        delivered: AtomicU64::new(0),
        last_delivery_us: AtomicU64::new(0),
        progress: Notify::new(),
    });
    let connect_started = Instant::now();
    let conns = connect_many(o, o.connections, |i, mut ws, sid| async move {
        subscribe(&mut ws, &format!("bench-{}", i % channels), "", None).await?;
        Ok((ws, sid))
    })
    .await?;
    let connect_time = connect_started.elapsed();

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut receivers = Vec::with_capacity(conns.len());
    for (i, (ws, _)) in conns.into_iter().enumerate() {
        let expected = events_for_channel(o, i % channels);
        receivers.push(tokio::spawn(receive(
            ws,
            i,
            expected,
            shared.clone(),
            stop_rx.clone(),
        )));
    }

    let client = publisher(o)?;
    let meter = CpuMeter::start(o);
    let publish_started = Instant::now();
    let published_ok: Arc<Vec<AtomicUsize>> =
        Arc::new((0..channels).map(|_| AtomicUsize::new(0)).collect());
    let failures = Arc::new(AtomicUsize::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let next = Arc::new(AtomicUsize::new(0));
    // Server RSS once the first 10,000 events are out, to compare with the end of a
    // long run (growth check).
    let rss_early = Arc::new(AtomicU64::new(0));
    let interval = (o.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / o.rate));
    let mut workers = Vec::new();
    for worker in 0..o.publishers as u64 {
        let (client, next, ok, failures, first_error, shared, rss_early) = (
            client.clone(),
            next.clone(),
            published_ok.clone(),
            failures.clone(),
            first_error.clone(),
            shared.clone(),
            rss_early.clone(),
        );
        let server_pids = o.server_pid.clone();
        let (events, size) = (o.events, o.size);
        workers.push(tokio::spawn(async move {
            let mut q = 0u64;
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= events {
                    break;
                }
                if let Some(iv) = interval {
                    // Event k is due at k × interval after the start: a steady rate
                    // however many publishers share the work.
                    tokio::time::sleep_until((publish_started + iv * k as u32).into()).await;
                }
                if k == EARLY_SAMPLE {
                    if let Some(stat) = servers_stat(&server_pids) {
                        rss_early.store(stat.rss_bytes, Ordering::Relaxed);
                    }
                }
                let (ch, seq) = (k % channels, k / channels);
                let data = payload(micros_since(shared.base), seq as u64, worker, q, size);
                q += 1;
                match client
                    .trigger(&[format!("bench-{ch}")], "bench", &data, None)
                    .await
                {
                    Ok(()) => {
                        ok[ch].fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        failures.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .get_or_insert(e.to_string());
                    }
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let publish_time = publish_started.elapsed();
    let subscribers_per_channel: Vec<u64> = (0..channels)
        .map(|ch| (0..o.connections).filter(|i| i % channels == ch).count() as u64)
        .collect();
    let expected: u64 = (0..channels)
        .map(|ch| published_ok[ch].load(Ordering::Relaxed) as u64 * subscribers_per_channel[ch])
        .sum();

    // Wait for every expected delivery, or give up SETTLE after the last publish.
    settle(&shared.delivered, &shared.progress, expected, SETTLE).await;
    let _ = stop_tx.send(true);
    let mut totals = ConnStats::default();
    let mut lost = 0u64;
    let mut conns_with_loss = 0u64;
    for (i, r) in receivers.into_iter().enumerate() {
        let s = r.await.map_err(|e| format!("receiver {i} failed: {e}"))?;
        let want = published_ok[i % channels].load(Ordering::Relaxed) as u64;
        let missing = want.saturating_sub(s.distinct);
        lost += missing;
        conns_with_loss += u64::from(missing > 0);
        totals.distinct += s.distinct;
        totals.duplicates += s.duplicates;
        totals.out_of_order += s.out_of_order;
    }

    let delivered = shared.delivered.load(Ordering::Relaxed);
    let span = Duration::from_micros(
        shared
            .last_delivery_us
            .load(Ordering::Relaxed)
            .saturating_sub(publish_started.duration_since(shared.base).as_micros() as u64),
    );
    let mut r = Report::new();
    r.add("connections", "connections", o.connections as u64);
    r.add("channels", "channels", channels as u64);
    r.add(
        "events",
        "events published",
        (o.events - failures.load(Ordering::Relaxed)) as u64,
    );
    r.add(
        "publish_failures",
        "publish failures",
        failures.load(Ordering::Relaxed) as u64,
    );
    if let Some(e) = first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
    {
        r.add("first_publish_error", "first publish error", e);
    }
    r.add("size_bytes", "event data size (bytes)", o.size as u64);
    r.add("rate", "publish rate (events/s, 0 = flat out)", o.rate);
    r.add(
        "connect_s",
        "connect + subscribe time (s)",
        connect_time.as_secs_f64(),
    );
    r.add("publish_s", "publish time (s)", publish_time.as_secs_f64());
    r.add("expected_deliveries", "expected deliveries", expected);
    r.add("deliveries", "deliveries", delivered);
    r.add("lost", "lost", lost);
    r.add(
        "connections_with_loss",
        "connections with loss",
        conns_with_loss,
    );
    r.add("duplicates", "duplicated", totals.duplicates);
    r.add("out_of_order", "out of order", totals.out_of_order);
    r.add(
        "deliveries_per_s",
        "deliveries per second",
        delivered as f64 / span.as_secs_f64().max(1e-6),
    );
    r.latency("latency", &shared.latencies.merged());
    let early = rss_early.load(Ordering::Relaxed);
    if early > 0 {
        r.add(
            "server_rss_after_10k_mib",
            "server RSS after 10,000 events (MiB)",
            early as f64 / 1048576.0,
        );
    }
    meter.report(&mut r, "delivery", delivered);
    Ok(r)
}

async fn receive(
    mut ws: Ws,
    index: usize,
    expected: usize,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> ConnStats {
    let mut stats = ConnStats::default();
    let mut seen = vec![false; expected];
    // Highest per-worker sequence seen so far.
    let mut max_q: Vec<Option<u64>> = Vec::new();
    while let Some(t) = next_bench_frame(&mut ws, &mut stop).await {
        let now = micros_since(shared.base);
        let Some(stamp) = parse_payload(&t) else {
            continue;
        };
        shared.latencies.record(index, now.saturating_sub(stamp.t));
        let seq = stamp.seq;
        match seen.get_mut(seq as usize) {
            Some(s) if *s => stats.duplicates += 1,
            Some(s) => {
                *s = true;
                stats.distinct += 1;
            }
            None => stats.duplicates += 1,
        }
        let w = stamp.worker as usize;
        if w >= max_q.len() && w < 4096 {
            max_q.resize(w + 1, None);
        }
        if let Some(m) = max_q.get_mut(w) {
            if m.is_some_and(|m| stamp.q < m) {
                stats.out_of_order += 1;
            }
            *m = (*m).max(Some(stamp.q));
        }
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        shared.last_delivery_us.fetch_max(now, Ordering::Relaxed);
        shared.progress.notify_waiters();
    }
    stats
}
