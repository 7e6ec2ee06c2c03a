//! `churn`: N steady subscribers receive events at a steady rate while M other
//! connections connect, subscribe (public, private, presence), unsubscribe and
//! disconnect in a loop. One run has two phases of `--duration` each, calm then churn;
//! (after a second of warm-up events whose latency is not recorded);
//! publish-to-delivery latency of the steady subscribers is reported for each, so a
//! subscribe storm stalling publishes shows as the churn p99 rising above the calm one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{watch, Notify};

use super::*;

/// How long to wait for stragglers after the last publish before counting them lost.
const SETTLE: Duration = Duration::from_secs(10);

/// The publisher's worker field carries the phase an event was published in.
const CALM: u64 = 0;
const CHURN: u64 = 1;
/// Events of the first second, before the calm phase: delivered and counted, but
/// their latency (new HTTP connections, first allocations) is not the calm phase's.
const WARMUP: u64 = 2;

struct Shared {
    base: Instant,
    /// Latencies of events published in the calm phase ([0]) and under churn ([1]).
    latencies: [Arc<Latencies>; 2],
    delivered: AtomicU64,
    progress: Notify,
}

struct ChurnCounts {
    /// Cycle k may start at `started` + k / --churn-rate (no pacing when 0).
    started: tokio::time::Instant,
    rate: f64,
    tickets: AtomicU64,
    cycles: AtomicU64,
    subscribes: AtomicU64,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
}

impl ChurnCounts {
    fn new(rate: f64) -> ChurnCounts {
        ChurnCounts {
            started: tokio::time::Instant::now(),
            rate,
            tickets: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            subscribes: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            first_error: std::sync::Mutex::new(None),
        }
    }

    /// Waits for this churner's turn when the churn is paced.
    async fn pace(&self) {
        if self.rate > 0.0 {
            let k = self.tickets.fetch_add(1, Ordering::Relaxed);
            let at = self.started + Duration::from_secs_f64(k as f64 / self.rate);
            tokio::time::sleep_until(at).await;
        }
    }

    fn failed(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.first_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
    }
}

pub async fn run(o: &Options) -> Result<Report, String> {
    let channels = o.channels;
    let rate = if o.rate > 0.0 { o.rate } else { 200.0 };
    let per_phase = ((rate * o.duration.as_secs_f64()).round() as usize).max(1);
    let shared = Arc::new(Shared {
        base: Instant::now(),
        latencies: [Latencies::new(), Latencies::new()],
        delivered: AtomicU64::new(0),
        progress: Notify::new(),
    });

    let conns = connect_many(o, o.connections, |i, mut ws, sid| async move {
        subscribe(&mut ws, &format!("bench-{}", i % channels), "", None).await?;
        Ok((ws, sid))
    })
    .await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let receivers: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, (ws, _))| {
            let want = (2 * per_phase + rate as usize) / channels + 2;
            tokio::spawn(receive(ws, i, want, shared.clone(), stop_rx.clone()))
        })
        .collect();
    let client = publisher(o)?;
    let meter = CpuMeter::start(o);
    let failures = Arc::new(AtomicU64::new(0));

    let mut next_seq = 0u64;
    let warm = publish_phase(
        o,
        &client,
        &shared,
        rate,
        (rate.round() as usize).max(1),
        WARMUP,
        &mut next_seq,
        &failures,
    )
    .await;

    // Calm phase.
    let calm_started = Instant::now();
    let calm = publish_phase(
        o,
        &client,
        &shared,
        rate,
        per_phase,
        CALM,
        &mut next_seq,
        &failures,
    )
    .await;

    let calm_time = calm_started.elapsed();

    // Churn phase: start the churners, give them a second to reach their pace, then
    // publish the same number of events at the same rate.
    let churn = Arc::new(ChurnCounts::new(o.churn_rate));
    let (churn_stop_tx, churn_stop_rx) = watch::channel(false);
    let addrs = server_addrs(o)?;
    let churners: Vec<_> = (0..o.churners)
        .map(|j| {
            let (o, churn, stop) = (o.clone(), churn.clone(), churn_stop_rx.clone());
            let addr = addrs[j % addrs.len()];
            tokio::spawn(async move { churner(&o, addr, j, &churn, stop).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cycles_before = churn.cycles.load(Ordering::Relaxed);
    let subscribes_before = churn.subscribes.load(Ordering::Relaxed);
    let churn_started = Instant::now();
    let churned = publish_phase(
        o,
        &client,
        &shared,
        rate,
        per_phase,
        CHURN,
        &mut next_seq,
        &failures,
    )
    .await;
    let churn_time = churn_started.elapsed();
    let cycles = churn.cycles.load(Ordering::Relaxed) - cycles_before;
    let subscribes = churn.subscribes.load(Ordering::Relaxed) - subscribes_before;
    let _ = churn_stop_tx.send(true);

    // Every steady subscriber should have every published event of its channel.
    let published = calm + churned;
    let expected: u64 = (0..o.connections)
        .map(|i| published_to(i % channels, channels, next_seq))
        .sum();
    settle(&shared.delivered, &shared.progress, expected, SETTLE).await;
    let _ = stop_tx.send(true);
    let mut distinct = 0u64;
    let mut duplicates = 0u64;
    for (i, r) in receivers.into_iter().enumerate() {
        let (d, dup) = r.await.map_err(|e| format!("receiver {i} failed: {e}"))?;
        distinct += d;
        duplicates += dup;
    }
    for c in churners {
        let _ = tokio::time::timeout(Duration::from_secs(10), c).await;
    }

    let mut r = Report::new();
    r.add("connections", "steady subscribers", o.connections as u64);
    r.add("channels", "channels", channels as u64);
    r.add("churners", "churning connections", o.churners as u64);
    r.add("rate", "publish rate (events/s)", rate);
    r.add(
        "churn_rate",
        "churn rate asked (cycles/s, 0 = flat out)",
        o.churn_rate,
    );
    r.add("calm_s", "calm phase (s)", calm_time.as_secs_f64());
    r.add("churn_s", "churn phase (s)", churn_time.as_secs_f64());
    r.add("warmup_events", "warm-up events published", warm);
    r.add("events", "events published (calm + churn)", published);
    r.add(
        "publish_failures",
        "publish failures",
        failures.load(Ordering::Relaxed),
    );
    r.add("expected_deliveries", "expected deliveries", expected);
    r.add("deliveries", "deliveries", distinct);
    r.add("lost", "lost", expected.saturating_sub(distinct));
    r.add("duplicates", "duplicated", duplicates);
    let secs = churn_time.as_secs_f64().max(1e-6);
    r.add(
        "churn_cycles_per_s",
        "churn: connect+3 subscribes+unsubscribes+close per second",
        cycles as f64 / secs,
    );
    r.add(
        "churn_subscribes_per_s",
        "churn: subscribes per second",
        subscribes as f64 / secs,
    );
    r.add(
        "churn_errors",
        "churn errors",
        churn.errors.load(Ordering::Relaxed),
    );
    if let Some(e) = churn
        .first_error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
    {
        r.add("first_churn_error", "first churn error", e);
    }
    let calm_h = shared.latencies[CALM as usize].merged();
    let churn_h = shared.latencies[CHURN as usize].merged();
    r.latency("calm_latency", &calm_h);
    r.latency("churn_latency", &churn_h);
    if !calm_h.is_empty() && !churn_h.is_empty() {
        r.add(
            "p99_ratio",
            "p99 under churn / p99 calm",
            churn_h.value_at_quantile(0.99) as f64 / calm_h.value_at_quantile(0.99).max(1) as f64,
        );
    }
    meter.report(&mut r, "delivery", distinct);
    Ok(r)
}

/// Events of `channel` among the first `total` sequence numbers (round-robin).
fn published_to(channel: usize, channels: usize, total: u64) -> u64 {
    let c = channels as u64;
    total / c + u64::from((channel as u64) < total % c)
}

/// Publishes `count` events at `rate`, round-robin over the channels, with `phase` in
/// the payload; returns how many the server accepted. A failed publish still uses its
/// sequence number, so receivers do not wait for it.
#[allow(clippy::too_many_arguments)]
async fn publish_phase(
    o: &Options,
    client: &Client,
    shared: &Shared,
    rate: f64,
    count: usize,
    phase: u64,
    next_seq: &mut u64,
    failures: &AtomicU64,
) -> u64 {
    let interval = Duration::from_secs_f64(1.0 / rate);
    let started = tokio::time::Instant::now();
    let mut ok = 0u64;
    let mut in_flight = futures_util::stream::FuturesUnordered::new();
    for k in 0..count {
        tokio::time::sleep_until(started + interval * k as u32).await;
        let seq = *next_seq;
        *next_seq += 1;
        let ch = (seq % o.channels as u64) as usize;
        let data = payload(micros_since(shared.base), seq, phase, k as u64, o.size);
        let client = client.clone();
        // A task per publish, so it progresses while this loop sleeps until the next
        // event's send time; at most --publishers in flight.
        in_flight.push(tokio::spawn(async move {
            client
                .trigger(&[format!("bench-{ch}")], "bench", &data, None)
                .await
        }));
        while in_flight.len() >= o.publishers {
            if let Some(r) = in_flight.next().await {
                if matches!(r, Ok(Ok(()))) {
                    ok += 1;
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
    while let Some(r) = in_flight.next().await {
        if matches!(r, Ok(Ok(()))) {
            ok += 1;
        } else {
            failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    ok
}

/// One steady subscriber: records latency by phase; returns (distinct, duplicates).
async fn receive(
    mut ws: Ws,
    index: usize,
    capacity: usize,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> (u64, u64) {
    let mut seen = std::collections::HashSet::with_capacity(capacity);
    let mut duplicates = 0u64;
    while let Some(t) = next_bench_frame(&mut ws, &mut stop).await {
        let now = micros_since(shared.base);
        let Some(stamp) = parse_payload(&t) else {
            continue;
        };
        if stamp.worker != WARMUP {
            let phase = usize::from(stamp.worker == CHURN);
            shared.latencies[phase].record(index, now.saturating_sub(stamp.t));
        }
        if !seen.insert(stamp.seq) {
            duplicates += 1;
            continue;
        }
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        shared.progress.notify_waiters();
    }
    (seen.len() as u64, duplicates)
}

/// One churning connection, until `stop`: connect, subscribe to a public, a private
/// and a presence channel of its own group, unsubscribe from all three, close.
async fn churner(
    o: &Options,
    addr: SocketAddr,
    j: usize,
    counts: &ChurnCounts,
    mut stop: watch::Receiver<bool>,
) {
    let group = j % 50;
    let public = format!("churn-{group}");
    let private = format!("private-churn-{group}");
    let presence = format!("presence-churn-{group}");
    let channel_data = format!("{{\"user_id\":\"churn-{j}\",\"user_info\":{{\"n\":{j}}}}}");
    let mut round = 0usize;
    while !*stop.borrow() {
        let cycle = async {
            counts.pace().await;
            let (mut ws, sid) = connect(o, addr, source_ip(o, j + round)).await?;
            subscribe(&mut ws, &public, "", None).await?;
            let auth = pushbus::auth::authorize_channel(&o.key, &o.secret, &sid, &private, None);
            subscribe(&mut ws, &private, &auth, None).await?;
            let auth = pushbus::auth::authorize_channel(
                &o.key,
                &o.secret,
                &sid,
                &presence,
                Some(&channel_data),
            );
            subscribe(&mut ws, &presence, &auth, Some(&channel_data)).await?;
            counts.subscribes.fetch_add(3, Ordering::Relaxed);
            for ch in [&public, &private, &presence] {
                send_json(
                    &mut ws,
                    &json!({"event": "pusher:unsubscribe", "data": {"channel": ch}}),
                )
                .await?;
            }
            // Close and wait for the server's side, so the server (which closes the
            // TCP connection first) keeps the TIME_WAIT, not our ephemeral ports.
            let _ = ws.close(None).await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(Ok(_)) = ws.next().await {}
            })
            .await;
            Ok::<(), String>(())
        };
        tokio::select! {
            _ = stop.changed() => break,
            r = cycle => match r {
                Ok(()) => {
                    counts.cycles.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    counts.failed(e);
                    // Do not spin on a refusing server.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
        round += 1;
    }
}
