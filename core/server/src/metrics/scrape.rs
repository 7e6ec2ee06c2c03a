//! One scrape: the counted families, then the gauges read from a [`Snapshot`] of the
//! live state, then the process figures, in Prometheus text format.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use super::Metrics;
use crate::cluster::BackendFigures;
use crate::webhooks::WebhookStats;

/// What the server reads from its state for one scrape.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub ready: bool,
    /// Events the ordered lifecycle path (webhooks) dropped.
    pub lifecycle_dropped: u64,
    pub apps: Vec<AppSnapshot>,
}

#[derive(Debug, Default)]
pub(crate) struct AppSnapshot {
    pub app: Arc<str>,
    /// Connections on this node.
    pub connections: usize,
    /// Channel kind label, channels, subscriptions (this node).
    pub census: Vec<(&'static str, usize, usize)>,
    pub backend: BackendFigures,
    /// On a cluster: whether the backend reaches Redis.
    pub cluster_up: Option<bool>,
    pub unreached: u64,
    /// With webhook targets: the counters and the events queued.
    pub webhooks: Option<(WebhookStats, usize)>,
}

/// The text exposition of `metrics` and `snapshot`.
pub(crate) fn encode(metrics: &Metrics, snapshot: Snapshot) -> String {
    let mut state = Registry::with_prefix("pushbus");
    state.register_collector(Box::new(snapshot));
    let mut process = Registry::default();
    process.register_collector(Box::new(super::process::Process));
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = text::encode_registry(&mut out, metrics.registry());
    let _ = text::encode_registry(&mut out, &state);
    let _ = text::encode_registry(&mut out, &process);
    let _ = text::encode_eof(&mut out);
    out
}

type Fmt = Result<(), std::fmt::Error>;

/// Reads one counter of a [`WebhookStats`].
type Pick = fn(&WebhookStats) -> u64;

/// A gauge or counter with an `app` label (and maybe one more) per app.
fn per_app<T: EncodeMetric>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    rows: impl IntoIterator<Item = (Vec<(&'static str, String)>, T)>,
) -> Fmt {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, metric) in rows {
        metric.encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

fn app_label(a: &AppSnapshot) -> Vec<(&'static str, String)> {
    vec![("app", a.app.to_string())]
}

fn gauge(v: usize) -> ConstGauge {
    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> Fmt {
        let g = MetricType::Gauge;
        let c = MetricType::Counter;
        ConstGauge::new(i64::from(self.ready)).encode(e.encode_descriptor(
            "ready",
            "Whether /ready answers 200",
            None,
            g,
        )?)?;
        ConstCounter::new(self.lifecycle_dropped).encode(e.encode_descriptor(
            "lifecycle_events_dropped",
            "Lifecycle events the ordered path (webhooks) dropped: its consumer fell behind",
            None,
            c,
        )?)?;
        let apps = &self.apps;
        per_app(
            &mut e,
            "connections",
            "WebSocket connections open on this node",
            g,
            apps.iter().map(|a| (app_label(a), gauge(a.connections))),
        )?;
        let by_kind = |a: &AppSnapshot, pick: fn(&(&'static str, usize, usize)) -> usize| {
            let rows: Vec<_> = a
                .census
                .iter()
                .map(|k| {
                    let labels = vec![("app", a.app.to_string()), ("type", k.0.to_string())];
                    (labels, gauge(pick(k)))
                })
                .collect();
            rows
        };
        per_app(
            &mut e,
            "channels",
            "Channels with subscribers on this node, by type",
            g,
            apps.iter().flat_map(|a| by_kind(a, |k| k.1)),
        )?;
        per_app(
            &mut e,
            "subscriptions",
            "Channel subscriptions on this node, by channel type",
            g,
            apps.iter().flat_map(|a| by_kind(a, |k| k.2)),
        )?;
        per_app(
            &mut e,
            "presence_members",
            "Presence channel members with a connection on this node",
            g,
            apps.iter()
                .map(|a| (app_label(a), gauge(a.backend.local_members))),
        )?;
        per_app(
            &mut e,
            "cache_bytes",
            "Bytes the cache channels keep on this node",
            g,
            apps.iter()
                .map(|a| (app_label(a), gauge(a.backend.cache_bytes))),
        )?;
        let clustered: Vec<&AppSnapshot> = apps.iter().filter(|a| a.cluster_up.is_some()).collect();
        if !clustered.is_empty() {
            per_app(
                &mut e,
                "cluster_backend_up",
                "Whether the cluster backend reaches Redis",
                g,
                clustered
                    .iter()
                    .map(|a| (app_label(a), gauge(usize::from(a.cluster_up == Some(true))))),
            )?;
            per_app(
                &mut e,
                "cluster_redis_rtt_seconds",
                "Round trip of the last PING to Redis (lease renewal)",
                g,
                clustered.iter().filter_map(|a| {
                    Some((
                        app_label(a),
                        ConstGauge::new(a.backend.redis_rtt?.as_secs_f64()),
                    ))
                }),
            )?;
            per_app(
                &mut e,
                "cluster_queued_writes",
                "Writes waiting for the ordered writer to Redis",
                g,
                clustered
                    .iter()
                    .map(|a| (app_label(a), gauge(a.backend.queued_writes as usize))),
            )?;
            per_app(
                &mut e,
                "cluster_writes_dropped",
                "Writes to Redis dropped: the write queue was full",
                c,
                clustered
                    .iter()
                    .map(|a| (app_label(a), ConstCounter::new(a.backend.dropped_writes))),
            )?;
            per_app(
                &mut e,
                "cluster_publishes_unreached",
                "Publishes delivered on this node only: Redis was unreachable",
                c,
                clustered
                    .iter()
                    .map(|a| (app_label(a), ConstCounter::new(a.unreached))),
            )?;
        }
        let hooks: Vec<(&AppSnapshot, &(WebhookStats, usize))> = apps
            .iter()
            .filter_map(|a| Some((a, a.webhooks.as_ref()?)))
            .collect();
        if !hooks.is_empty() {
            let counters: [(&str, &str, Pick); 4] = [
                (
                    "webhook_requests",
                    "Webhook requests answered with a 2xx",
                    |s| s.requests,
                ),
                ("webhook_events_sent", "Events in those requests", |s| {
                    s.sent
                }),
                (
                    "webhook_failures",
                    "Webhook attempts that failed (non-2xx, timeout, connection error)",
                    |s| s.failures,
                ),
                (
                    "webhook_events_dropped",
                    "Webhook events given up (full queue, retried too long, shutdown)",
                    |s| s.dropped,
                ),
            ];
            for (name, help, pick) in counters {
                per_app(
                    &mut e,
                    name,
                    help,
                    c,
                    hooks
                        .iter()
                        .map(|(a, (s, _))| (app_label(a), ConstCounter::new(pick(s)))),
                )?;
            }
            per_app(
                &mut e,
                "webhook_queued_events",
                "Webhook events waiting to be sent",
                g,
                hooks.iter().map(|(a, (_, q))| (app_label(a), gauge(*q))),
            )?;
        }
        Ok(())
    }
}
