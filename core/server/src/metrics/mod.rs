//! Prometheus metrics (`GET /metrics`, see [`crate::config::MetricsConfig`]).
//!
//! Two kinds: counters and the publish-to-write histogram are bumped where things
//! happen, through handles resolved once per app ([`AppMetrics`]), so the hot path
//! pays an atomic add and never a label lookup; gauges (connections, channels,
//! members, queues, Redis, the process) are read from the live state at each scrape
//! ([`scrape`]), so nothing keeps them in step. Encoding is `prometheus-client`'s.
//!
//! One [`Metrics`] per server, not a process-wide registry: a PHP or Node process may
//! embed several servers, and tests run many in one process.

mod process;
pub(crate) mod scrape;

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::protocol::ErrorCode;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppLabel {
    app: Arc<str>,
}

/// How a connection ended: `by` is `server` (a `pusher:error` code, or a WebSocket
/// code for a broken frame), `client` (its close frame; codes outside the usual ones
/// are `other`, so a client cannot grow the label set; `none` without a code) or
/// `network` (no close frame; code `none`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CloseLabel {
    app: Arc<str>,
    by: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabel {
    /// `""` when the path names no configured app.
    app: Arc<str>,
    route: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RefusedLabel {
    code: u16,
}

/// The metrics one server counts; its families live in `registry`.
pub(crate) struct Metrics {
    registry: Registry,
    connections: Family<AppLabel, Counter>,
    closes: Family<CloseLabel, Counter>,
    refused: Family<RefusedLabel, Counter>,
    messages_in: Family<AppLabel, Counter>,
    bytes_in: Family<AppLabel, Counter>,
    messages_out: Family<AppLabel, Counter>,
    bytes_out: Family<AppLabel, Counter>,
    published: Family<AppLabel, Counter>,
    client_events: Family<AppLabel, Counter>,
    rate_limited: Family<AppLabel, Counter>,
    dropped_frames: Family<AppLabel, Counter>,
    http: Family<HttpLabel, Counter>,
    publish_to_write: Family<AppLabel, Histogram>,
}

/// 50 µs to about 3 s: a local delivery takes tens of microseconds, a slow reader's
/// batch seconds.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.5, 13))
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("pushbus");
        let m = Metrics {
            connections: Family::default(),
            closes: Family::default(),
            refused: Family::default(),
            messages_in: Family::default(),
            bytes_in: Family::default(),
            messages_out: Family::default(),
            bytes_out: Family::default(),
            published: Family::default(),
            client_events: Family::default(),
            rate_limited: Family::default(),
            dropped_frames: Family::default(),
            http: Family::default(),
            publish_to_write: Family::new_with_constructor(latency_buckets),
            registry: Registry::default(),
        };
        let r = &mut registry;
        // The per-app counters.
        for (name, help, family) in [
            (
                "connections_opened",
                "WebSocket connections admitted",
                &m.connections,
            ),
            (
                "ws_messages_received",
                "Text frames received from clients",
                &m.messages_in,
            ),
            (
                "ws_received_bytes",
                "Bytes of text frames received from clients",
                &m.bytes_in,
            ),
            (
                "ws_messages_sent",
                "Frames written to clients",
                &m.messages_out,
            ),
            (
                "ws_sent_bytes",
                "Bytes of frames written to clients",
                &m.bytes_out,
            ),
            (
                "events_published",
                "Events published through the HTTP API or an embedding API, one per channel",
                &m.published,
            ),
            (
                "client_events",
                "Client events accepted from connections",
                &m.client_events,
            ),
            (
                "client_events_rate_limited",
                "Client events refused by the per-connection rate limit (4301)",
                &m.rate_limited,
            ),
            (
                "frames_dropped",
                "Frames not delivered because their connection was too slow (closed with \
             4100) or already closing",
                &m.dropped_frames,
            ),
        ] {
            r.register(name, help, family.clone());
        }
        r.register(
            "connections_closed",
            "WebSocket connections ended, by who closed them and the close code",
            m.closes.clone(),
        );
        r.register(
            "connections_refused",
            "WebSocket connections refused at the handshake (unknown or disabled app, \
             over quota), by error code",
            m.refused.clone(),
        );
        r.register(
            "http_requests",
            "HTTP API requests, by route and status",
            m.http.clone(),
        );
        r.register(
            "publish_to_write_seconds",
            "From an event reaching this node to the write that carried it to a \
             connection (the oldest event of each write)",
            m.publish_to_write.clone(),
        );
        Metrics { registry, ..m }
    }

    /// The handles of one app, resolved once.
    pub fn app(&self, app: &Arc<str>) -> AppMetrics {
        let label = AppLabel { app: app.clone() };
        AppMetrics {
            app: app.clone(),
            connections: self.connections.get_or_create_owned(&label),
            closes: self.closes.clone(),
            messages_in: self.messages_in.get_or_create_owned(&label),
            bytes_in: self.bytes_in.get_or_create_owned(&label),
            messages_out: self.messages_out.get_or_create_owned(&label),
            bytes_out: self.bytes_out.get_or_create_owned(&label),
            published: self.published.get_or_create_owned(&label),
            client_events: self.client_events.get_or_create_owned(&label),
            rate_limited: self.rate_limited.get_or_create_owned(&label),
            dropped_frames: self.dropped_frames.get_or_create_owned(&label),
            publish_to_write: self.publish_to_write.get_or_create_owned(&label),
        }
    }

    pub fn refused(&self, code: ErrorCode) {
        self.refused
            .get_or_create(&RefusedLabel { code: code.code() })
            .inc();
    }

    pub fn http_request(&self, app: Option<&Arc<str>>, route: &'static str, status: u16) {
        let app = app.cloned().unwrap_or_else(|| Arc::from(""));
        self.http
            .get_or_create(&HttpLabel { app, route, status })
            .inc();
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }
}

/// One app's counters; cheap to clone (each handle is an `Arc`).
#[derive(Clone)]
pub(crate) struct AppMetrics {
    app: Arc<str>,
    pub connections: Counter,
    closes: Family<CloseLabel, Counter>,
    pub messages_in: Counter,
    pub bytes_in: Counter,
    pub messages_out: Counter,
    pub bytes_out: Counter,
    pub published: Counter,
    pub client_events: Counter,
    pub rate_limited: Counter,
    pub dropped_frames: Counter,
    pub publish_to_write: Histogram,
}

/// Who ended a connection, for [`AppMetrics::closed`].
pub(crate) enum ClosedBy {
    /// A `pusher:error` code or a WebSocket close code the server sent.
    Server(u16),
    /// The client's close frame, with its code if it gave one.
    Client(Option<u16>),
    /// The socket failed or the peer went away without a close frame.
    Network,
}

impl std::fmt::Display for ClosedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClosedBy::Server(code) => write!(f, "by the server, code {code}"),
            ClosedBy::Client(Some(code)) => write!(f, "by the client, code {code}"),
            ClosedBy::Client(None) => write!(f, "by the client, no code"),
            ClosedBy::Network => write!(f, "the connection was lost (no close frame)"),
        }
    }
}

impl AppMetrics {
    pub fn closed(&self, by: ClosedBy) {
        let (by, code) = match by {
            ClosedBy::Server(code) => ("server", server_code(code)),
            ClosedBy::Client(code) => ("client", client_code(code)),
            ClosedBy::Network => ("network", "none"),
        };
        self.closes
            .get_or_create(&CloseLabel {
                app: self.app.clone(),
                by,
                code,
            })
            .inc();
    }

    /// A write of `frames` frames, `bytes` long, whose oldest published frame reached
    /// this node at `oldest_us` (on [`crate::app::outbox::now_us`]'s clock; 0: none).
    pub fn wrote(&self, frames: usize, bytes: usize, oldest_us: u64) {
        self.messages_out.inc_by(frames as u64);
        self.bytes_out.inc_by(bytes as u64);
        if oldest_us != 0 {
            let waited = crate::app::outbox::now_us().saturating_sub(oldest_us);
            self.publish_to_write.observe(waited as f64 / 1e6);
        }
    }
}

/// The close codes the server sends, as static labels.
fn server_code(code: u16) -> &'static str {
    match code {
        1002 => "1002",
        1007 => "1007",
        1009 => "1009",
        4001 => "4001",
        4003 => "4003",
        4004 => "4004",
        4009 => "4009",
        4100 => "4100",
        4200 => "4200",
        4201 => "4201",
        4202 => "4202",
        4301 => "4301",
        _ => "other",
    }
}

fn client_code(code: Option<u16>) -> &'static str {
    match code {
        None => "none",
        Some(1000) => "1000",
        Some(1001) => "1001",
        Some(1005) => "1005",
        Some(_) => "other",
    }
}
