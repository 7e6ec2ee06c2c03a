//! `publish`: E HTTP triggers with `--publishers` in flight; throughput and the latency
//! of each request.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::*;

pub async fn run(o: &Options) -> Result<Report, String> {
    let client = publisher(o)?;
    let latencies = Latencies::new();
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let data = payload(0, 0, 0, 0, o.size);
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..o.publishers {
        let (client, next, failures, latencies, data) = (
            client.clone(),
            next.clone(),
            failures.clone(),
            latencies.clone(),
            data.clone(),
        );
        let (events, channels) = (o.events, o.channels);
        workers.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= events {
                    break;
                }
                let t = Instant::now();
                let res = client
                    .trigger(&[format!("bench-{}", k % channels)], "bench", &data, None)
                    .await;
                latencies.record(w, t.elapsed().as_micros() as u64);
                if res.is_err() {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let wall = started.elapsed();
    let mut r = Report::new();
    r.add("events", "triggers", o.events as u64);
    r.add(
        "failures",
        "failed triggers",
        failures.load(Ordering::Relaxed),
    );
    r.add("publishers", "in flight", o.publishers as u64);
    r.add(
        "triggers_per_s",
        "triggers per second",
        o.events as f64 / wall.as_secs_f64().max(1e-6),
    );
    r.latency("request", &latencies.merged());
    meter.report(&mut r, "trigger", o.events as u64);
    Ok(r)
}
