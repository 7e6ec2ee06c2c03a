//! The app service: the one door through which protocol code (the WebSocket session
//! and the HTTP API) and the embedding API act on an app.
//!
//! It owns the app's local [`Registry`] and its cluster [`Backend`], and it is the only
//! place that emits lifecycle events. One file per kind of operation: [`subscribe`]
//! (joins, leaves, disconnects), [`publish`] (published and client events), [`query`]
//! (channels, members, counts, terminate).

mod publish;
mod query;
mod subscribe;
mod users;

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock};

use crate::app::history::History;
use crate::app::outbox::Outbox;
use crate::app::registry::Registry;
use crate::cluster::local::LocalBackend;
use crate::cluster::{Backend, BackendError, SharedInbound};
use crate::config::AppConfig;
use crate::lifecycle::stream::Lifecycle;
use crate::lifecycle::EventKind;
use crate::metrics::AppMetrics;
use crate::protocol::ErrorCode;

pub(crate) use subscribe::SubscribeError;

pub(crate) struct AppService {
    pub app: Arc<AppConfig>,
    pub app_id: Arc<str>,
    registry: Arc<Registry>,
    /// Set once: at construction on a single node, when the server starts (and has
    /// connected to Redis) on a cluster.
    backend: OnceLock<Arc<dyn Backend>>,
    lifecycle: Arc<Lifecycle>,
    /// Publishes that reached this node's subscribers only (the cluster was
    /// unreachable), since the start.
    unreached: AtomicU64,
    metrics: Option<AppMetrics>,
    /// The app's channel histories on this node (see [`History`]).
    history: History,
}

impl AppService {
    /// An app on this node alone.
    pub fn local(app: AppConfig, lifecycle: Arc<Lifecycle>) -> AppService {
        let registry = Arc::new(Registry::default());
        let inbound: SharedInbound = registry.clone();
        let backend = LocalBackend::new(inbound, &app);
        let service = AppService::detached(app, registry, lifecycle);
        service.attach(Arc::new(backend));
        service
    }

    /// An app whose backend is attached later ([`AppService::attach`]): a cluster
    /// node's, connected when the server starts. Until then it refuses what needs the
    /// cluster (publishing, queries) with a readable error.
    pub fn detached(
        app: AppConfig,
        registry: Arc<Registry>,
        lifecycle: Arc<Lifecycle>,
    ) -> AppService {
        AppService {
            app_id: app.id.as_str().into(),
            registry,
            backend: OnceLock::new(),
            lifecycle,
            unreached: AtomicU64::new(0),
            metrics: None,
            history: History::new(app.history.clone(), app.history_max_bytes),
            app: Arc::new(app),
        }
    }

    /// Counts into `metrics` (none: nothing is counted).
    pub fn with_metrics(mut self, metrics: Option<AppMetrics>) -> AppService {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> Option<&AppMetrics> {
        self.metrics.as_ref()
    }

    /// Publishes that reached only this node (the cluster was unreachable).
    pub fn unreached_publishes(&self) -> u64 {
        self.unreached.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// This node's channels and subscriptions by kind (see [`Registry::census`]).
    pub fn census(&self) -> Vec<(&'static str, usize, usize)> {
        self.registry.census()
    }

    /// Gives the app its backend; a second call is ignored (one backend for life).
    pub fn attach(&self, backend: Arc<dyn Backend>) {
        let _ = self.backend.set(backend);
    }

    /// Lets the debug console see the events this node delivers for the app.
    pub fn show_console(&self, journal: Arc<crate::console::Journal>) {
        self.registry.show_console(journal, self.app_id.clone());
    }

    /// Shows the console what a connection was refused, and why (an auth signature that
    /// does not match, a rate limit): the question the console is opened for.
    pub fn show_refusal(
        &self,
        socket: &crate::protocol::socket_id::SocketId,
        channel: Option<&str>,
        name: &str,
        message: &str,
    ) {
        if let Some(journal) = self.registry.console() {
            journal.record_refusal(&self.app_id, channel, &socket.to_string(), name, message);
        }
    }

    /// This node's registry of the app, which a cluster backend delivers to.
    pub fn inbound(&self) -> SharedInbound {
        self.registry.clone()
    }

    /// Announces, as they come, the changes the backend hands this node (a
    /// vanished node's members and channels). Spawned on the current runtime; ends
    /// with the backend.
    pub fn announce_changes(self: &Arc<Self>) {
        let Some(mut changes) = self.backend().ok().and_then(|b| b.changes()) else {
            return;
        };
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            while let Some(change) = changes.recv().await {
                let Some(service) = service.upgrade() else {
                    return;
                };
                service.announce(change).await;
            }
        });
    }

    /// Leaves the cluster (shutdown, after the connections closed): what was left of
    /// this node's entries is removed, and announced to the other nodes.
    pub async fn goodbye(&self) {
        let Ok(backend) = self.backend() else {
            return;
        };
        for change in backend.goodbye().await {
            self.announce(change).await;
        }
    }

    /// The app's backend once attached (readiness and the webhooks ask it too).
    pub(crate) fn backend(&self) -> Result<&Arc<dyn Backend>, BackendError> {
        self.backend.get().ok_or_else(|| {
            BackendError("the cluster backend is connected when the server starts".into())
        })
    }

    fn emit(&self, kind: EventKind) {
        self.lifecycle.emit(&self.app_id, kind);
    }

    /// Adds a connection, or refuses it when the app is at its quota.
    pub fn connect(&self, outbox: &Outbox) -> Result<(), ErrorCode> {
        self.registry.connect(outbox, self.app.max_connections)?;
        // Connections arrive only once the server started, with its backend attached.
        if let Ok(backend) = self.backend() {
            backend.connection_opened(outbox.socket_id());
        }
        self.emit(EventKind::ConnectionOpened {
            socket_id: outbox.socket_id().to_string(),
        });
        Ok(())
    }

    /// Whether a connection quota must be checked with the other nodes too.
    pub fn quota_is_cluster_wide(&self) -> bool {
        self.app.max_connections.is_some()
            && self.backend().is_ok_and(|backend| backend.spans_nodes())
    }

    /// Whether the other nodes' connections leave room for one more here, under the
    /// app's quota. Two connections arriving at the same moment on different nodes may
    /// both take the last slot: the count is a read, not a reservation. When the
    /// cluster cannot be asked, only this node's connections count.
    pub async fn cluster_has_room(&self) -> bool {
        let (Some(max), Ok(backend)) = (self.app.max_connections, self.backend()) else {
            return true;
        };
        match backend.other_nodes_connections().await {
            Ok(others) => others + self.registry.connection_count() < max,
            Err(e) => {
                tracing::warn!(
                    "app {}: the connection quota counts this node only: {}",
                    self.app_id,
                    e.0
                );
                true
            }
        }
    }

    /// Connections of this app on this node.
    pub fn local_connection_count(&self) -> usize {
        self.registry.connection_count()
    }

    /// Channels with subscribers on this node.
    #[cfg(test)]
    pub fn local_channel_count(&self) -> usize {
        self.registry.channel_count()
    }

    /// One liveness pass over the app's connections, and the backend's upkeep.
    pub fn sweep(&self, now_ms: u64, write_timeout_ms: u64) {
        let ping = self.app.ping_interval().as_millis() as u64;
        let pong = self.app.pong_timeout().as_millis() as u64;
        self.registry.sweep(now_ms, ping, pong, write_timeout_ms);
        self.history.purge();
        if let Ok(backend) = self.backend() {
            backend.maintain();
        }
    }

    /// Asks every connection of the app on this node to close (shutdown).
    pub fn close_all(&self, code: ErrorCode, message: &'static str) {
        self.registry.close_all(code, message);
    }
}
