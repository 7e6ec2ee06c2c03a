//! Pusher webhooks: the lifecycle events of apps with webhook targets, held for
//! Pusher's delay (a page reload sends nothing), filtered per target, batched, signed
//! and POSTed, retried with back-off, with every wait bounded and every drop counted.
//!
//! Events come from the ordered lifecycle path (one decision, one event, in decision
//! order per channel). On a cluster the occupied/vacated/added/removed events come
//! instead from the backend's feed: the Redis scripts publish each decision with the
//! node that owns the channel's webhooks, so every event is sent once, by one node per
//! channel, in Redis's decision order, and that node's delay sees every rejoin.
//!
//! [`hook`] is the event and the request body, [`delay`] Pusher's delay, [`target`] a
//! target's queue and sending task, [`http`] the request itself.

mod delay;
mod hook;
mod http;
mod target;

pub(crate) use http::tls_config;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::cluster::Backend;
use crate::config::{AppConfig, Config};
use crate::lifecycle::stream::Lifecycle;
use crate::lifecycle::{EventKind, LifecycleEvent};
use delay::Delayer;
use hook::Hook;
use target::{Sender, Target};

/// Lifecycle events waiting for the dispatcher at most (the ordered path counts and
/// logs what does not fit).
const ORDERED_CAPACITY: usize = 65_536;

/// Counters of one app's webhooks.
#[derive(Default, Debug)]
pub struct Stats {
    /// Requests answered with a 2xx.
    pub requests: AtomicU64,
    /// Events in those requests.
    pub sent: AtomicU64,
    /// Attempts that failed (non-2xx, timeout, connection error), retried or not.
    pub failures: AtomicU64,
    /// Events given up: a full queue, retried for too long, older than 300 s, or
    /// still failing at shutdown.
    pub dropped: AtomicU64,
}

/// A snapshot of [`Stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WebhookStats {
    pub requests: u64,
    pub sent: u64,
    pub failures: u64,
    pub dropped: u64,
}

impl Stats {
    fn snapshot(&self) -> WebhookStats {
        WebhookStats {
            requests: self.requests.load(Ordering::Relaxed),
            sent: self.sent.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// One app's part of the dispatcher.
struct AppHooks {
    delayer: Delayer,
    targets: Vec<Arc<Target>>,
    /// On a cluster the occupied/vacated/added/removed events come from the backend's
    /// feed (this node's share of the channels, from every node, in decision order),
    /// not from this node's own decisions.
    clustered: bool,
    /// Where the webhook-grade stream goes.
    lifecycle: Arc<Lifecycle>,
}

impl AppHooks {
    fn forward(&self, hook: Hook) {
        self.lifecycle.emit_delayed(hook.event.clone());
        for t in &self.targets {
            if t.accepts(&hook) {
                t.offer(hook.clone());
            }
        }
    }
}

/// The server's webhooks, running from start to shutdown.
pub(crate) struct Webhooks {
    drain: watch::Sender<bool>,
    dispatcher: JoinHandle<()>,
    senders: Vec<JoinHandle<()>>,
    stats: HashMap<String, Arc<Stats>>,
    /// Every target of each app, for their queue depth.
    targets: HashMap<String, Vec<Arc<Target>>>,
}

impl Webhooks {
    /// Starts the dispatcher and one sender per target; none when no app has a target.
    /// Must run before the first connection, so that no event is missed.
    pub fn start(
        config: &Config,
        lifecycle: &Arc<Lifecycle>,
        backends: &HashMap<String, Arc<dyn Backend>>,
    ) -> Option<Webhooks> {
        // Every app when an embedder wants the webhook-grade stream (asked for one, or
        // chose it for every stream); else those with targets.
        let everyone = lifecycle.delayed_wanted()
            || config.lifecycle_events == crate::config::LifecycleEvents::Webhook;
        let apps: Vec<&AppConfig> = config
            .apps
            .iter()
            .filter(|a| everyone || !a.webhooks.is_empty())
            .collect();
        if apps.is_empty() {
            return None;
        }
        let events = lifecycle.ordered(ORDERED_CAPACITY);
        // A cluster backend's webhook events join the ordered path's.
        let mut clustered = std::collections::HashSet::new();
        let (cluster_tx, cluster_events) = mpsc::channel(ORDERED_CAPACITY);
        for app in &apps {
            let Some(mut feed) = backends.get(&app.id).and_then(|b| b.take_webhook_feed()) else {
                continue;
            };
            clustered.insert(app.id.clone());
            let tx = cluster_tx.clone();
            tokio::spawn(async move {
                while let Some(event) = feed.recv().await {
                    if tx.send(event).await.is_err() {
                        return;
                    }
                }
            });
        }
        // The dispatcher drains first (deciding what it holds), then tells the senders.
        let (drain, drain_rx) = watch::channel(false);
        let (senders_drain, senders_drain_rx) = watch::channel(false);
        let mut senders = Vec::new();
        let mut stats = HashMap::new();
        let mut all_targets = HashMap::new();
        let mut dispatch = HashMap::new();
        for app in apps {
            let app_stats = Arc::new(Stats::default());
            let mut targets = Vec::new();
            for hook in &app.webhooks {
                let target = Arc::new(Target::new(hook, &app.webhook_options, app_stats.clone()));
                let url = url::Url::parse(&hook.url).expect("checked by the config");
                let headers = hook
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        Some((
                            HeaderName::from_bytes(k.as_bytes()).ok()?,
                            HeaderValue::from_str(v).ok()?,
                        ))
                    })
                    .collect();
                let poster = match http::Poster::new(&url, headers, &hook.ca_file) {
                    Ok(poster) => poster,
                    Err(e) => {
                        // Checked by the config; a file that changed since is the case.
                        tracing::warn!("webhooks to {}: not sent: {e}", hook.url);
                        continue;
                    }
                };
                let sender = Sender {
                    target: target.clone(),
                    poster,
                    key: app.key.clone(),
                    secret: app.secret.clone(),
                    options: app.webhook_options.clone(),
                    stats: app_stats.clone(),
                };
                senders.push(tokio::spawn(sender.run(senders_drain_rx.clone())));
                targets.push(target);
            }
            let delay_ms = (app.webhook_options.delay * 1000.0) as u64;
            all_targets.insert(app.id.clone(), targets.clone());
            dispatch.insert(
                app.id.clone(),
                AppHooks {
                    delayer: Delayer::new(delay_ms),
                    targets,
                    clustered: clustered.contains(&app.id),
                    lifecycle: lifecycle.clone(),
                },
            );
            stats.insert(app.id.clone(), app_stats);
        }
        let dispatcher = tokio::spawn(async move {
            run_dispatcher(events, cluster_events, dispatch, drain_rx).await;
            let _ = senders_drain.send(true);
        });
        Some(Webhooks {
            drain,
            dispatcher,
            senders,
            stats,
            targets: all_targets,
        })
    }

    /// Events waiting to be sent to app `app_id`'s targets, in all.
    pub fn queued(&self, app_id: &str) -> usize {
        self.targets
            .get(app_id)
            .map_or(0, |ts| ts.iter().map(|t| t.queued()).sum())
    }

    /// Counters of app `app_id`'s webhooks.
    pub fn stats(&self, app_id: &str) -> Option<WebhookStats> {
        self.stats.get(app_id).map(|s| s.snapshot())
    }

    /// At shutdown: the held events are decided as they stand, everything queued gets
    /// one attempt, within `grace`; what is still unsent then is counted as dropped.
    pub async fn drain(self, grace: Duration) {
        let _ = self.drain.send(true);
        let all = async {
            let _ = self.dispatcher.await;
            for s in self.senders {
                let _ = s.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("webhooks: not all sent within the shutdown grace of {grace:?}");
        }
    }
}

/// Takes each lifecycle event, holds or forwards it, and releases held ones when due.
async fn run_dispatcher(
    mut events: mpsc::Receiver<LifecycleEvent>,
    mut cluster_events: mpsc::Receiver<LifecycleEvent>,
    mut apps: HashMap<String, AppHooks>,
    mut drain: watch::Receiver<bool>,
) {
    let mut overflow = Vec::new();
    loop {
        let next_due = apps.values().filter_map(|a| a.delayer.next_due_ms()).min();
        let sleep = async {
            match next_due {
                Some(due) => {
                    let wait = due.saturating_sub(crate::app::outbox::now_ms());
                    tokio::time::sleep(Duration::from_millis(wait)).await
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                take(&mut apps, event, false, &mut overflow);
            }
            Some(event) = cluster_events.recv() => {
                take(&mut apps, event, true, &mut overflow);
            }
            _ = sleep => {}
            _ = drain.changed() => {
                // What was emitted before the drain, then everything held.
                while let Ok(event) = events.try_recv() {
                    take(&mut apps, event, false, &mut overflow);
                }
                while let Ok(event) = cluster_events.try_recv() {
                    take(&mut apps, event, true, &mut overflow);
                }
                for app in apps.values_mut() {
                    for hook in app.delayer.release_all() {
                        app.forward(hook);
                    }
                }
                return;
            }
        }
        let now = crate::app::outbox::now_ms();
        for app in apps.values_mut() {
            for hook in app.delayer.due(now) {
                app.forward(hook);
            }
        }
    }
}

/// An event, from this node's lifecycle or (`from_cluster`) its backend's feed.
fn take(
    apps: &mut HashMap<String, AppHooks>,
    event: LifecycleEvent,
    from_cluster: bool,
    overflow: &mut Vec<Hook>,
) {
    let Some(app) = apps.get_mut(&*event.app_id) else {
        return;
    };
    let membership = matches!(
        event.kind,
        EventKind::ChannelOccupied { .. }
            | EventKind::ChannelVacated { .. }
            | EventKind::MemberAdded { .. }
            | EventKind::MemberRemoved { .. }
    );
    // On a cluster, membership events come from the feed only: each once, in order.
    if app.clustered && membership != from_cluster {
        return;
    }
    let Some(hook) = Hook::from_event(&event, hook::unix_ms()) else {
        return;
    };
    let now_out = app
        .delayer
        .push(hook, crate::app::outbox::now_ms(), overflow);
    for h in overflow.drain(..) {
        app.forward(h);
    }
    if let Some(h) = now_out {
        app.forward(h);
    }
}
