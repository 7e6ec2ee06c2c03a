//! `users`: N connections sign in as U users (connection i as user i mod U, each with
//! a watchlist of `--watchlist` other users); how long the sign-ins take, then the
//! latency of E user-status queries (`GET /users/{id}`, `--publishers` in flight) and of
//! paging through the online users (`GET /users?limit=100`), checking every answer.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::*;

pub async fn run(o: &Options) -> Result<Report, String> {
    let users = o.users.clamp(1, o.connections);
    let per_user = o.connections / users;
    let watch = o.watchlist.min(100);
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let conns = connect_many(o, o.connections, |i, mut ws, sid| async move {
        let list: Vec<String> = (1..=watch)
            .map(|k| format!("u{}", (i + k) % users))
            .collect();
        let user_data = json!({
            "id": format!("u{}", i % users),
            "user_info": {"n": i},
            "watchlist": list,
        })
        .to_string();
        let auth = pushbus::auth::authenticate_user(&o.key, &o.secret, &sid, &user_data);
        let frame =
            json!({"event": "pusher:signin", "data": {"auth": auth, "user_data": user_data}});
        send_json(&mut ws, &frame).await?;
        loop {
            let f = next_json(&mut ws, Duration::from_secs(30)).await?;
            match f["event"].as_str() {
                Some("pusher:signin_success") if watch == 0 => return Ok((ws, sid)),
                // With a watchlist: signed in once the initial status came.
                Some("pusher_internal:watchlist_events") => return Ok((ws, sid)),
                Some("pusher:error") => return Err(format!("sign-in: {f}")),
                _ => {}
            }
        }
    })
    .await?;
    let signin = started.elapsed();
    let mut r = Report::new();
    r.add("connections", "signed-in connections", conns.len() as u64);
    r.add("users", "online users", users as u64);
    r.add("watchlist", "watchlist ids per connection", watch as u64);
    r.add(
        "signins_per_s",
        "sign-ins per second (connect included)",
        conns.len() as f64 / signin.as_secs_f64().max(1e-6),
    );
    meter.report(&mut r, "signin", conns.len() as u64);

    // User-status queries, each answer checked.
    let client = publisher(o)?;
    let latencies = Latencies::new();
    let next = Arc::new(AtomicUsize::new(0));
    let wrong = Arc::new(AtomicU64::new(0));
    let queries = o.events.max(1);
    let meter = CpuMeter::start(o);
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..o.publishers {
        let (client, next, wrong, latencies) = (
            client.clone(),
            next.clone(),
            wrong.clone(),
            latencies.clone(),
        );
        let exact = o.connections % users == 0;
        workers.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= queries {
                    break;
                }
                let id = format!("u{}", (k * 7919) % users);
                let t = Instant::now();
                let res = client.user_status(&id).await;
                latencies.record(w, t.elapsed().as_micros() as u64);
                let ok = res.is_ok_and(|s| {
                    s["online"] == true
                        && (!exact || s["connections"].as_u64() == Some(per_user as u64))
                });
                if !ok {
                    wrong.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let wall = started.elapsed();
    r.add("queries", "user-status queries", queries as u64);
    r.add(
        "wrong_answers",
        "wrong or failed answers",
        wrong.load(Ordering::Relaxed),
    );
    r.add(
        "queries_per_s",
        "queries per second",
        queries as f64 / wall.as_secs_f64().max(1e-6),
    );
    r.latency("status", &latencies.merged());
    meter.report(&mut r, "query", queries as u64);

    // Every online user, a page of 100 at a time.
    let pages = Latencies::new();
    let (mut after, mut listed, mut n) = (None::<String>, 0usize, 0usize);
    loop {
        let t = Instant::now();
        let page = client
            .online_users(after.as_deref(), Some(100))
            .await
            .map_err(|e| format!("online users: {e}"))?;
        pages.record(0, t.elapsed().as_micros() as u64);
        n += 1;
        listed += page["users"].as_array().map_or(0, Vec::len);
        match page["next"].as_str() {
            Some(next) if n < 100_000 => after = Some(next.to_string()),
            _ => break,
        }
    }
    r.add("listed_users", "online users listed", listed as u64);
    r.add("pages", "pages of 100", n as u64);
    r.latency("page", &pages.merged());
    drop(conns);
    Ok(r)
}
