//! `resume`: N connections that enabled pushbus's recovery subscribe to C history
//! channels (`bench-history-{i mod C}`; the server needs a history rule for them), all
//! drop at once (as a network drop would), E events are published to each channel while
//! they are away, then all reconnect at once and resume from where they were. How long
//! until every one has caught up, how many events were replayed, and whether any was
//! lost, repeated or out of order (each event's serial says).

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Mutex as AsyncMutex;

use super::*;

fn channel(o: &Options, i: usize) -> String {
    format!("bench-history-{}", i % o.channels)
}

/// Enables recovery, subscribes (resuming after `since` if given) and reads until the
/// channel says where the client stands; returns (epoch, serial) and, when resuming,
/// the serials of the events replayed before the live ones.
async fn join(
    ws: &mut Ws,
    channel: &str,
    since: Option<(&str, u64)>,
    until: u64,
) -> Result<(String, u64, Vec<u64>), String> {
    send_json(
        ws,
        &json!({"event": "pushbus:enable", "data": {"features": ["recovery"]}}),
    )
    .await?;
    let mut data = json!({ "channel": channel });
    if let Some((epoch, serial)) = since {
        data["pushbus_since"] = json!({"epoch": epoch, "serial": serial});
    }
    send_json(ws, &json!({"event": "pusher:subscribe", "data": data})).await?;
    let (mut epoch, mut last, mut replayed) = (String::new(), 0, Vec::new());
    loop {
        let f = next_json(ws, Duration::from_secs(60)).await?;
        let parsed = || -> Value {
            serde_json::from_str(f["data"].as_str().unwrap_or("{}")).unwrap_or_default()
        };
        match f["event"].as_str() {
            Some("pushbus:position") => {
                let d = parsed();
                epoch = d["epoch"].as_str().unwrap_or("").to_string();
                last = d["serial"].as_u64().unwrap_or(0);
            }
            Some("pushbus:serial") => {
                let d = parsed();
                epoch = d["epoch"].as_str().unwrap_or("").to_string();
                last = d["serial"].as_u64().unwrap_or(0);
                replayed.push(last);
            }
            Some("pushbus:gap") => return Err(format!("{channel}: a gap: {f}")),
            Some("pusher:subscription_error") | Some("pusher:error") => {
                return Err(format!("subscribe {channel}: {f}"))
            }
            _ => {}
        }
        if !epoch.is_empty() && last >= until {
            return Ok((epoch, last, replayed));
        }
    }
}

pub async fn run(o: &Options) -> Result<Report, String> {
    let n = o.connections;
    let per_channel = o.events.max(1) as u64;
    // Each connection's (epoch, serial) where it dropped.
    let places: Arc<AsyncMutex<Vec<(String, u64)>>> =
        Arc::new(AsyncMutex::new(vec![(String::new(), 0); n]));
    let p = places.clone();
    let conns = connect_many(o, n, |i, mut ws, sid| {
        let p = p.clone();
        async move {
            let (epoch, serial, _) = join(&mut ws, &channel(o, i), None, 0).await?;
            p.lock().await[i] = (epoch, serial);
            Ok((ws, sid))
        }
    })
    .await?;
    // The drop: every socket closed at once, no goodbye.
    drop(conns);

    let client = publisher(o)?;
    let data = payload(0, 0, 0, 0, o.size);
    for k in 0..per_channel {
        for c in 0..o.channels {
            client
                .trigger(&[format!("bench-history-{c}")], "bench", &data, None)
                .await
                .map_err(|e| format!("publish {k}: {e}"))?;
        }
    }

    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let places = places.lock().await.clone();
    let replays: Arc<AsyncMutex<Vec<Vec<u64>>>> = Arc::new(AsyncMutex::new(vec![Vec::new(); n]));
    let r = replays.clone();
    let places = Arc::new(places);
    let pl = places.clone();
    let back = connect_many(o, n, |i, mut ws, sid| {
        let (r, pl) = (r.clone(), pl.clone());
        async move {
            let (epoch, serial) = &pl[i];
            let (_, _, replayed) = join(
                &mut ws,
                &channel(o, i),
                Some((epoch, *serial)),
                serial + per_channel,
            )
            .await?;
            r.lock().await[i] = replayed;
            Ok((ws, sid))
        }
    })
    .await?;
    let caught_up = started.elapsed();
    let replays = replays.lock().await;
    let (mut replayed, mut lost, mut repeated, mut out_of_order) = (0u64, 0u64, 0u64, 0u64);
    for (i, got) in replays.iter().enumerate() {
        let from = places[i].1;
        replayed += got.len() as u64;
        let mut expect = from + 1;
        let mut seen = std::collections::HashSet::new();
        for &s in got {
            if !seen.insert(s) {
                repeated += 1;
            } else if s != expect {
                out_of_order += 1;
            }
            expect = s + 1;
        }
        lost += per_channel.saturating_sub(seen.len() as u64);
    }
    let mut r = Report::new();
    r.add("connections", "resuming connections", n as u64);
    r.add("channels", "history channels", o.channels as u64);
    r.add(
        "missed_per_channel",
        "events missed per channel",
        per_channel,
    );
    r.add("replayed", "events replayed", replayed);
    r.add("lost", "lost", lost);
    r.add("duplicates", "replayed twice", repeated);
    r.add("out_of_order", "out of order", out_of_order);
    r.add(
        "catch_up_ms",
        "all caught up after (ms, reconnect included)",
        caught_up.as_secs_f64() * 1000.0,
    );
    meter.report(&mut r, "replayed_event", replayed);
    drop(back);
    Ok(r)
}
