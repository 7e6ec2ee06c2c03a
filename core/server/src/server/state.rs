//! What every task of one server shares: the configuration, the app services by id and
//! by key, the lifecycle paths, and whether shutdown has begun.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::body::BodyBudget;
use crate::cluster::redis::RedisBackend;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::stream::Lifecycle;
use crate::metrics::scrape::{AppSnapshot, Snapshot};
use crate::metrics::Metrics;
use crate::service::AppService;

pub(crate) struct ServerState {
    pub config: Config,
    apps_by_id: HashMap<String, Arc<AppService>>,
    apps_by_key: HashMap<String, Arc<AppService>>,
    pub lifecycle: Arc<Lifecycle>,
    /// Set at shutdown, so that a WebSocket upgraded in the meantime is told 4200 too.
    shutting_down: AtomicBool,
    /// Set when a shutdown begins, `drain_delay` before `shutting_down`.
    draining: AtomicBool,
    /// HTTP API request bodies being received.
    pub bodies: BodyBudget,
    /// This node's id in its cluster, once joined.
    pub node: std::sync::OnceLock<Arc<str>>,
    /// The runtime the server was started on: a query waited for from another thread
    /// runs in its context (the cluster backend's timers and sockets belong to it).
    pub runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    /// What `/metrics` reports, when enabled.
    pub metrics: Option<Arc<Metrics>>,
    /// Webhooks of the apps that have targets, while running.
    pub webhooks: std::sync::Mutex<Option<crate::webhooks::Webhooks>>,
    /// What the debug console shows; recorded into only when the console is enabled.
    pub console: Arc<crate::console::Journal>,
}

impl ServerState {
    /// Whether this node should get new connections (`GET /ready`): not while it shuts
    /// down, nor while a cluster backend cannot reach Redis; the reason when not.
    pub fn readiness(&self) -> Result<(), String> {
        if self.is_shutting_down() || self.draining.load(Ordering::Acquire) {
            return Err("draining: the server is shutting down".into());
        }
        for app in self.apps() {
            if app.backend().is_ok_and(|b| !b.reachable()) {
                return Err(format!(
                    "app {}: the cluster backend cannot reach Redis",
                    app.app.id
                ));
            }
        }
        Ok(())
    }

    /// One service per configured app: single-node ones, or on a cluster ones whose
    /// backend [`ServerState::join_cluster`] attaches when the server starts.
    pub fn new(config: Config) -> ServerState {
        let lifecycle = Lifecycle::new(config.event_buffer);
        let metrics = config.metrics.enabled.then(|| Arc::new(Metrics::new()));
        let mut apps_by_id = HashMap::new();
        let mut apps_by_key = HashMap::new();
        let console = Arc::new(crate::console::Journal::default());
        for app in &config.apps {
            let service = if config.cluster.is_some() {
                AppService::detached(app.clone(), Default::default(), lifecycle.clone())
            } else {
                AppService::local(app.clone(), lifecycle.clone())
            };
            let app_metrics = metrics.as_ref().map(|m| m.app(&service.app_id));
            let service = Arc::new(service.with_metrics(app_metrics));
            if config.console.enabled {
                service.show_console(console.clone());
            }
            apps_by_id.insert(app.id.clone(), service.clone());
            apps_by_key.insert(app.key.clone(), service);
        }
        ServerState {
            config,
            apps_by_id,
            apps_by_key,
            lifecycle,
            shutting_down: AtomicBool::new(false),
            draining: AtomicBool::new(false),
            bodies: BodyBudget::default(),
            node: std::sync::OnceLock::new(),
            runtime: std::sync::OnceLock::new(),
            metrics,
            webhooks: std::sync::Mutex::new(None),
            console,
        }
    }

    /// The live figures of one metrics scrape.
    pub fn snapshot(&self) -> Snapshot {
        let hooks = crate::shards::lock(&self.webhooks);
        let mut apps: Vec<AppSnapshot> = self
            .apps()
            .map(|service| {
                let backend = service.backend().ok();
                let id = &service.app.id;
                AppSnapshot {
                    app: service.app_id.clone(),
                    connections: service.local_connection_count(),
                    census: service.census(),
                    backend: backend.map(|b| b.figures()).unwrap_or_default(),
                    cluster_up: self
                        .config
                        .cluster
                        .as_ref()
                        .map(|_| backend.is_some_and(|b| b.reachable())),
                    unreached: service.unreached_publishes(),
                    webhooks: hooks
                        .as_ref()
                        .filter(|_| service.app.has_webhooks())
                        .and_then(|w| Some((w.stats(id)?, w.queued(id)))),
                }
            })
            .collect();
        apps.sort_by(|a, b| a.app.cmp(&b.app));
        Snapshot {
            ready: self.readiness().is_ok(),
            lifecycle_dropped: self.lifecycle.dropped(),
            apps,
        }
    }

    /// On a cluster, connects every app to Redis as one new node; returns the node id.
    pub async fn join_cluster(&self) -> Result<Option<Arc<str>>, Error> {
        let Some(cluster) = &self.config.cluster else {
            return Ok(None);
        };
        let node = RedisBackend::new_node_id();
        for service in self.apps_by_id.values() {
            let app = &service.app;
            let backend = RedisBackend::connect(
                cluster,
                node.clone(),
                app,
                // The scripts publish webhook events for the apps that send them.
                app.has_webhooks()
                    || self.config.lifecycle_events == crate::config::LifecycleEvents::Webhook
                    || self.lifecycle.delayed_wanted(),
                service.inbound(),
            )
            .await
            .map_err(|e| {
                Error::Backend(format!(
                    "cannot join the cluster at {}: {}",
                    redacted(&cluster.redis_url),
                    e.0
                ))
            })?;
            service.attach(Arc::new(backend));
            service.announce_changes();
        }
        let _ = self.node.set(node.clone());
        Ok(Some(node))
    }

    pub fn app_by_key(&self, key: &str) -> Option<&Arc<AppService>> {
        self.apps_by_key.get(key)
    }

    pub fn app_by_id(&self, id: &str) -> Result<&Arc<AppService>, Error> {
        self.apps_by_id
            .get(id)
            .ok_or_else(|| Error::UnknownApp(id.to_string()))
    }

    pub fn apps(&self) -> impl Iterator<Item = &Arc<AppService>> {
        self.apps_by_id.values()
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::Release);
    }

    /// The first step of a shutdown: not ready, still serving.
    pub fn begin_draining(&self) {
        self.draining.store(true, Ordering::Release);
    }
}

/// A Redis URL fit for a log line: without its password.
pub(crate) fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(a malformed URL)".into(),
    }
}
