//! One webhook target: its filter, its bounded queue, and the task that batches, signs,
//! sends and retries. Each target has its own task and connection, so a slow or dead
//! receiver delays only itself.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::hook::{self, Hook, MAX_AGE_MS};
use super::http::Poster;
use super::Stats;
use crate::auth;
use crate::config::{WebhookConfig, WebhookOptions};
use crate::shards::lock;

/// The longest wait between two attempts of one request.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub(crate) struct Target {
    pub url: String,
    event_types: Vec<String>,
    starts_with: String,
    ends_with: String,
    queue: Mutex<Queue>,
    wake: Notify,
    max_events: usize,
    max_bytes: usize,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Hook>,
    bytes: usize,
}

impl Target {
    pub fn new(config: &WebhookConfig, options: &WebhookOptions, stats: Arc<Stats>) -> Target {
        Target {
            url: config.url.clone(),
            event_types: config.event_types.clone(),
            starts_with: config.filter.channel_name_starts_with.clone(),
            ends_with: config.filter.channel_name_ends_with.clone(),
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            max_events: options.max_queued_events,
            max_bytes: options.max_queued_bytes,
            stats,
        }
    }

    /// Whether this target wants `hook` (its event types and channel filter).
    pub fn accepts(&self, hook: &Hook) -> bool {
        self.event_types.iter().any(|t| t == hook.name())
            && hook.channel().starts_with(&self.starts_with)
            && hook.channel().ends_with(&self.ends_with)
    }

    /// Queues `hook`; when the queue is full the oldest events make room, counted and
    /// logged (the newest state matters most to a receiver that catches up).
    pub fn offer(&self, hook: Hook) {
        let mut q = lock(&self.queue);
        q.bytes += hook.json.len();
        q.events.push_back(hook);
        let mut dropped = 0;
        while q.events.len() > self.max_events || q.bytes > self.max_bytes {
            let Some(old) = q.events.pop_front() else {
                break;
            };
            q.bytes -= old.json.len();
            dropped += 1;
        }
        drop(q);
        if dropped > 0 {
            self.dropped(dropped, "its queue is full");
        }
        self.wake.notify_one();
    }

    pub fn queued(&self) -> usize {
        lock(&self.queue).events.len()
    }

    fn dropped(&self, n: u64, why: &str) {
        let total = self.stats.dropped.fetch_add(n, Ordering::Relaxed) + n;
        // Logged at powers of two of the app's total, so a dead receiver is a few lines.
        if (total - n..total).any(|t| (t + 1).is_power_of_two()) {
            tracing::warn!(
                "webhooks to {}: {n} events dropped, {why} ({total} dropped in all)",
                self.url
            );
        }
    }

    /// Up to `max` of the queued events, oldest first; of several `subscription_count`
    /// of one channel only the newest is kept.
    fn take_batch(&self, max: usize) -> Vec<Hook> {
        let mut q = lock(&self.queue);
        let n = q.events.len().min(max);
        let batch: Vec<Hook> = q.events.drain(..n).collect();
        q.bytes -= batch.iter().map(|h| h.json.len()).sum::<usize>();
        drop(q);
        let mut last_count: HashMap<&str, usize> = HashMap::new();
        for (i, h) in batch.iter().enumerate() {
            if h.name() == "subscription_count" {
                last_count.insert(h.channel(), i);
            }
        }
        let keep: Vec<bool> = batch
            .iter()
            .enumerate()
            .map(|(i, h)| {
                h.name() != "subscription_count" || last_count.get(h.channel()) == Some(&i)
            })
            .collect();
        batch
            .into_iter()
            .zip(keep)
            .filter_map(|(h, k)| k.then_some(h))
            .collect()
    }
}

/// What the sending task needs besides its target.
pub(crate) struct Sender {
    pub target: Arc<Target>,
    pub poster: Poster,
    pub key: String,
    pub secret: String,
    pub options: WebhookOptions,
    pub stats: Arc<Stats>,
}

impl Sender {
    /// Sends batches until `drain` turns true and the queue is empty. While draining,
    /// nothing waits for a batch window or a retry: each batch gets one attempt.
    pub async fn run(mut self, mut drain: watch::Receiver<bool>) {
        let window = Duration::from_secs_f64(self.options.batch_window);
        loop {
            while self.target.queued() == 0 {
                if *drain.borrow() {
                    return;
                }
                tokio::select! {
                    _ = self.target.wake.notified() => {}
                    _ = drain.changed() => {}
                }
            }
            // A full batch goes at once; a partial one waits for the window to fill it.
            let full = self.target.queued() >= self.options.batch_max_events;
            if !*drain.borrow() && !window.is_zero() && !full {
                tokio::select! {
                    _ = tokio::time::sleep(window) => {}
                    _ = drain.changed() => {}
                }
            }
            let batch = self.target.take_batch(self.options.batch_max_events);
            self.deliver(batch, &mut drain).await;
        }
    }

    /// One batch: sent, retried with back-off while failing for up to `retry_for`, or
    /// dropped (counted and logged).
    async fn deliver(&mut self, mut batch: Vec<Hook>, drain: &mut watch::Receiver<bool>) {
        let started = Instant::now();
        let retry_for = Duration::from_secs_f64(self.options.retry_for);
        let timeout = Duration::from_secs_f64(self.options.timeout);
        let mut backoff = Duration::from_secs(1);
        loop {
            let now = hook::unix_ms();
            let before = batch.len();
            batch.retain(|h| now.saturating_sub(h.created_ms) < MAX_AGE_MS);
            if batch.len() < before {
                self.target
                    .dropped((before - batch.len()) as u64, "older than 300 s");
            }
            if batch.is_empty() {
                return;
            }
            let body = hook::body(&batch);
            let signature = auth::sign_webhook(&self.secret, body.as_bytes());
            let result = self.poster.post(body, &self.key, &signature, timeout).await;
            let why = match result {
                Ok(status) if (200..300).contains(&status) => {
                    self.stats.requests.fetch_add(1, Ordering::Relaxed);
                    self.stats
                        .sent
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return;
                }
                Ok(status) => format!("answered {status}"),
                Err(e) => e,
            };
            let failures = self.stats.failures.fetch_add(1, Ordering::Relaxed) + 1;
            if failures.is_power_of_two() {
                tracing::warn!(
                    "webhooks to {}: {why}; retrying ({failures} failed attempts in all)",
                    self.target.url
                );
            }
            if *drain.borrow() || started.elapsed() + backoff > retry_for {
                let reason = if *drain.borrow() {
                    format!("the server is shutting down and the receiver {why}")
                } else {
                    format!("the receiver {why} for {} s", retry_for.as_secs())
                };
                self.target.dropped(batch.len() as u64, &reason);
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = drain.changed() => {}
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::{EventKind, LifecycleEvent};

    fn occupied(channel: &str, created_ms: u64) -> Hook {
        let event = LifecycleEvent {
            app_id: "a".into(),
            kind: EventKind::ChannelOccupied {
                channel: channel.into(),
            },
        };
        Hook::from_event(&event, created_ms).unwrap()
    }

    fn sender(options: WebhookOptions) -> (Sender, Arc<Stats>) {
        let stats = Arc::new(Stats::default());
        // Nothing listens on port 1: an attempt would count as a failure.
        let config = WebhookConfig {
            url: "http://127.0.0.1:1/hook".into(),
            ..WebhookConfig::default()
        };
        let url = url::Url::parse(&config.url).unwrap();
        let sender = Sender {
            target: Arc::new(Target::new(&config, &options, stats.clone())),
            poster: Poster::new(&url, Vec::new(), "").unwrap(),
            key: "k".into(),
            secret: "s".into(),
            options,
            stats: stats.clone(),
        };
        (sender, stats)
    }

    #[tokio::test]
    async fn events_older_than_300_s_are_dropped_unsent() {
        let (mut s, stats) = sender(WebhookOptions::default());
        let (_drain_tx, mut drain) = watch::channel(false);
        let stale = occupied("x", hook::unix_ms() - MAX_AGE_MS - 1000);
        s.deliver(vec![stale], &mut drain).await;
        let [requests, sent, failures, dropped] = [
            &stats.requests,
            &stats.sent,
            &stats.failures,
            &stats.dropped,
        ]
        .map(|c| c.load(Ordering::Relaxed));
        assert_eq!(
            (requests, sent, failures, dropped),
            (0, 0, 0, 1),
            "no attempt was made"
        );
    }

    #[test]
    fn a_full_queue_drops_its_oldest_and_a_batch_keeps_the_newest_count() {
        let options = WebhookOptions {
            max_queued_events: 3,
            ..WebhookOptions::default()
        };
        let (s, stats) = sender(options);
        for ch in ["a", "b", "c", "d"] {
            s.target.offer(occupied(ch, 0));
        }
        assert_eq!(stats.dropped.load(Ordering::Relaxed), 1);
        let batch = s.target.take_batch(100);
        let channels: Vec<&str> = batch.iter().map(|h| h.channel()).collect();
        assert_eq!(channels, ["b", "c", "d"], "the oldest made room");

        let (s, _) = sender(WebhookOptions::default());
        for (channel, n) in [("x", 1), ("y", 5), ("x", 2)] {
            let event = LifecycleEvent {
                app_id: "a".into(),
                kind: EventKind::SubscriptionCount {
                    channel: channel.into(),
                    subscription_count: n,
                },
            };
            s.target.offer(Hook::from_event(&event, 0).unwrap());
        }
        let counts: Vec<Option<usize>> = s
            .target
            .take_batch(100)
            .iter()
            .map(|h| h.event.kind.subscription_count())
            .collect();
        assert_eq!(
            counts,
            [Some(5), Some(2)],
            "one count per channel, the newest"
        );
    }
}
