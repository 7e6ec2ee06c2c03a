//! What every task of one server shares: the configuration, the app services by id and
//! by key, the lifecycle paths, and whether shutdown has begun.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::body::BodyBudget;
use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::stream::Lifecycle;
use crate::service::AppService;

pub(crate) struct ServerState {
    pub config: Config,
    apps_by_id: HashMap<String, Arc<AppService>>,
    apps_by_key: HashMap<String, Arc<AppService>>,
    pub lifecycle: Arc<Lifecycle>,
    /// Set at shutdown, so that a WebSocket upgraded in the meantime is told 4200 too.
    shutting_down: AtomicBool,
    /// HTTP API request bodies being received.
    pub bodies: BodyBudget,
}

impl ServerState {
    /// One single-node service per configured app.
    pub fn new(config: Config) -> ServerState {
        let lifecycle = Lifecycle::new(config.event_buffer);
        let mut apps_by_id = HashMap::new();
        let mut apps_by_key = HashMap::new();
        for app in &config.apps {
            let service = Arc::new(AppService::local(app.clone(), lifecycle.clone()));
            apps_by_id.insert(app.id.clone(), service.clone());
            apps_by_key.insert(app.key.clone(), service);
        }
        ServerState {
            config,
            apps_by_id,
            apps_by_key,
            lifecycle,
            shutting_down: AtomicBool::new(false),
            bodies: BodyBudget::default(),
        }
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
}
