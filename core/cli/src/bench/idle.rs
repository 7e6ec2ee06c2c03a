//! `idle`: N connections, each subscribed to one of C channels, held for `--duration`;
//! server memory per connection (with `--server-pid`), connect rate and errors.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use super::*;

pub async fn run(o: &Options) -> Result<Report, String> {
    let channels = o.channels;
    let before = servers_stat(&o.server_pid);
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let conns = connect_many(o, o.connections, |i, mut ws, sid| async move {
        subscribe(&mut ws, &format!("idle-{}", i % channels), "", None).await?;
        Ok((ws, sid))
    })
    .await?;
    let connect_time = started.elapsed();
    let after_connect = servers_stat(&o.server_pid);

    // Hold them, answering the server's pings like pusher-js would.
    let holders: Vec<_> = conns
        .into_iter()
        .map(|(mut ws, _)| {
            let duration = o.duration;
            tokio::spawn(async move {
                let until = tokio::time::Instant::now() + duration;
                let mut closed_early = false;
                loop {
                    match tokio::time::timeout_at(until, ws.next()).await {
                        Err(_) => break,
                        Ok(Some(Ok(Message::Text(t)))) if t.contains("\"pusher:ping\"") => {
                            let _ = ws
                                .send(Message::Text(r#"{"event":"pusher:pong","data":{}}"#.into()))
                                .await;
                        }
                        Ok(Some(Ok(_))) => {}
                        Ok(_) => {
                            closed_early = true;
                            break;
                        }
                    }
                }
                (ws, closed_early)
            })
        })
        .collect();
    let mut dropped = 0u64;
    let mut kept = Vec::with_capacity(holders.len());
    for h in holders {
        match h.await {
            Ok((ws, early)) => {
                dropped += u64::from(early);
                kept.push(ws);
            }
            Err(_) => dropped += 1,
        }
    }
    let at_end = servers_stat(&o.server_pid);

    let mut r = Report::new();
    r.add("connections", "connections", o.connections as u64);
    r.add("channels", "channels", channels as u64);
    r.add(
        "connect_s",
        "connect + subscribe time (s)",
        connect_time.as_secs_f64(),
    );
    r.add(
        "connects_per_s",
        "connections per second",
        o.connections as f64 / connect_time.as_secs_f64().max(1e-6),
    );
    r.add("held_s", "held for (s)", o.duration.as_secs_f64());
    r.add(
        "dropped_by_server",
        "closed by the server while held",
        dropped,
    );
    if let (Some(b), Some(a), Some(e)) = (before, after_connect, at_end) {
        let per_conn = |x: &ProcStat| {
            (x.rss_bytes.saturating_sub(b.rss_bytes)) as f64 / o.connections as f64 / 1024.0
        };
        r.add(
            "server_rss_before_mib",
            "server RSS before (MiB)",
            b.rss_bytes as f64 / 1048576.0,
        );
        r.add(
            "server_rss_connected_mib",
            "server RSS connected (MiB)",
            a.rss_bytes as f64 / 1048576.0,
        );
        r.add(
            "server_kib_per_connection",
            "server RSS per connection (KiB)",
            per_conn(&a),
        );
        r.add(
            "server_kib_per_connection_end",
            "server RSS per connection after hold (KiB)",
            per_conn(&e),
        );
    }
    meter.report(&mut r, "connection", o.connections as u64);
    drop(kept);
    Ok(r)
}
