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

use std::sync::Arc;
use std::time::Duration;

use crate::app::outbox::Outbox;
use crate::app::registry::Registry;
use crate::cluster::local::LocalBackend;
use crate::cluster::{Backend, SharedInbound};
use crate::config::AppConfig;
use crate::lifecycle::stream::Lifecycle;
use crate::lifecycle::EventKind;
use crate::protocol::socket_id::SocketId;
use crate::protocol::ErrorCode;

pub(crate) use subscribe::SubscribeError;

pub(crate) struct AppService {
    pub app: Arc<AppConfig>,
    pub app_id: Arc<str>,
    registry: Arc<Registry>,
    backend: Arc<dyn Backend>,
    lifecycle: Arc<Lifecycle>,
}

impl AppService {
    /// An app on this node alone.
    pub fn local(app: AppConfig, lifecycle: Arc<Lifecycle>) -> AppService {
        let registry = Arc::new(Registry::default());
        let inbound: SharedInbound = registry.clone();
        let backend = LocalBackend::new(
            inbound,
            Duration::from_secs(app.cache_ttl),
            app.cache_max_bytes,
        );
        AppService::new(app, registry, Arc::new(backend), lifecycle)
    }

    pub fn new(
        app: AppConfig,
        registry: Arc<Registry>,
        backend: Arc<dyn Backend>,
        lifecycle: Arc<Lifecycle>,
    ) -> AppService {
        AppService {
            app_id: app.id.as_str().into(),
            app: Arc::new(app),
            registry,
            backend,
            lifecycle,
        }
    }

    fn emit(&self, kind: EventKind) {
        self.lifecycle.emit(&self.app_id, kind);
    }

    /// Adds a connection, or refuses it when the app is at its quota.
    pub fn connect(&self, outbox: &Outbox) -> Result<(), ErrorCode> {
        self.registry.connect(outbox, self.app.max_connections)?;
        self.backend.connection_opened(outbox.socket_id());
        self.emit(EventKind::ConnectionOpened {
            socket_id: outbox.socket_id().to_string(),
        });
        Ok(())
    }

    /// Records a signed-in connection (for the user channel and terminate).
    pub fn sign_in(&self, socket: SocketId, user_id: &Arc<str>) {
        self.registry.add_user(user_id, socket);
    }

    /// Connections of this app on this node.
    #[cfg(test)]
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
        self.backend.maintain();
    }

    /// Asks every connection of the app on this node to close (shutdown).
    pub fn close_all(&self, code: ErrorCode, message: &'static str) {
        self.registry.close_all(code, message);
    }
}
