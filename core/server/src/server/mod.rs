//! The server: the embedding API ([`Server`]) over the listener ([`listener`]), the
//! routes of each HTTP request ([`routes`]), one WebSocket session per connection
//! ([`session`]) and the HTTP API ([`http_api`]).
//!
//! WebSockets and the HTTP API share one port, as in Pusher and Reverb. Shutdown is a
//! watch signal to the listener and HTTP connections plus a 4200 close request to every
//! WebSocket; each task holds a clone of an mpsc sender, so "all senders dropped" means
//! everything has finished (the mini-redis pattern).

mod body;
mod console;
mod http_api;
mod listener;
mod routes;
mod session;
#[cfg(test)]
mod session_tests;
mod state;
mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::config::Config;
use crate::error::Error;
use crate::lifecycle::{EventReceiver, LifecycleEvent};
use crate::protocol::ErrorCode;
use crate::shards::lock;
use crate::views::{ChannelInfo, DeliveryRecord, Member, OnlineUsers, UserStatus};
use state::ServerState;

/// An embeddable pushbus server: build it from a [`Config`], [`start`](Server::start) it
/// inside a tokio runtime, publish and query from any thread, and
/// [`shutdown`](Server::shutdown) it gracefully.
///
/// Queries are `async` because on a cluster they are answered by the cluster backend;
/// on a single node they are ready at once. Callers without a runtime at hand (the C
/// and Node bindings) wait for them with [`crate::blocking::wait`].
pub struct Server {
    state: Arc<ServerState>,
    running: Mutex<Option<Running>>,
}

struct Running {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Every task holds a sender; `recv` returning `None` means all are done.
    done: mpsc::Receiver<()>,
    /// The separate metrics address, and what stops it (last, after the drain).
    metrics_addr: Option<SocketAddr>,
    metrics_stop: watch::Sender<bool>,
    /// The certificate of the server's port, when it serves TLS.
    tls: Option<Arc<tls::Tls>>,
}

impl Server {
    /// Validates `config` and builds the server (nothing listens yet).
    pub fn new(config: Config) -> Result<Server, Error> {
        config.validate()?;
        Ok(Server {
            state: Arc::new(ServerState::new(config)),
            running: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &Config {
        &self.state.config
    }

    /// Binds the configured host and port (port 0 picks a free one) and starts serving
    /// in the current tokio runtime. Returns the bound address.
    pub async fn start(&self) -> Result<SocketAddr, Error> {
        let addr = format!("{}:{}", self.state.config.host, self.state.config.port);
        self.start_on(&addr).await
    }

    /// Binds `addr` (`host:port`) instead of the configured address.
    pub async fn start_on(&self, addr: &str) -> Result<SocketAddr, Error> {
        if lock(&self.running).is_some() || self.state.is_shutting_down() {
            return Err(Error::AlreadyStarted);
        }
        let bind_error = |source| Error::Bind {
            addr: addr.to_string(),
            source,
        };
        // Before binding: a missing or mismatched file is a config error, said at once.
        let tls = match &self.state.config.tls {
            Some(config) => Some(Arc::new(tls::Tls::load(config)?)),
            None => None,
        };
        let listener = listener::bind(addr).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        let metrics_listener = match &self.state.config.metrics.address {
            Some(metrics_addr) if self.state.config.metrics.enabled => {
                let bind_error = |source| Error::Bind {
                    addr: metrics_addr.clone(),
                    source,
                };
                Some(listener::bind(metrics_addr).await.map_err(bind_error)?)
            }
            _ => None,
        };
        let _ = self.state.runtime.set(tokio::runtime::Handle::current());
        if let Some(node) = self.state.join_cluster().await? {
            let cluster = self.state.config.cluster.as_ref().expect("a cluster");
            tracing::info!(
                "joined the cluster at {} as node {node} (prefix {:?}, lease {} s)",
                state::redacted(&cluster.redis_url),
                cluster.prefix,
                cluster.node_lease
            );
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel(1);
        let mut running = lock(&self.running);
        if running.is_some() {
            return Err(Error::AlreadyStarted);
        }
        // Before the first connection, so that no lifecycle event is missed.
        let backends = self
            .state
            .apps()
            .filter_map(|app| Some((app.app.id.clone(), app.backend().ok()?.clone())))
            .collect();
        if let Some(hooks) =
            crate::webhooks::Webhooks::start(&self.state.config, &self.state.lifecycle, &backends)
        {
            *lock(&self.state.webhooks) = Some(hooks);
        }
        let mut metrics_addr = None;
        let (metrics_stop, metrics_stop_rx) = watch::channel(false);
        if let Some(metrics_listener) = metrics_listener {
            metrics_addr = metrics_listener.local_addr().ok();
            tokio::spawn(listener::metrics_loop(
                metrics_listener,
                self.state.clone(),
                metrics_stop_rx,
            ));
        }
        if self.state.config.console.enabled {
            tokio::spawn(crate::console::follow(
                self.state.lifecycle.subscribe(),
                self.state.console.clone(),
                shutdown_rx.clone(),
            ));
        }
        tokio::spawn(listener::sweep_loop(
            self.state.clone(),
            shutdown_rx.clone(),
        ));
        tokio::spawn(listener::accept_loop(
            listener,
            tls.clone(),
            self.state.clone(),
            shutdown_rx,
            done_tx,
        ));
        *running = Some(Running {
            addr: bound,
            shutdown: shutdown_tx,
            done: done_rx,
            metrics_addr,
            metrics_stop,
            tls,
        });
        Ok(bound)
    }

    /// Whether the server's port speaks TLS (`wss://`, `https://`).
    pub fn serves_tls(&self) -> bool {
        self.state.config.tls.is_some()
    }

    /// Reads the TLS certificate and key files again (after a renewal): new connections
    /// get the new certificate, open ones keep theirs. On an error (a file missing,
    /// unreadable or not matching) the certificate in use stays and the error says why.
    pub fn reload_tls(&self) -> Result<(), Error> {
        let tls = lock(&self.running).as_ref().map(|r| r.tls.clone());
        match tls {
            None => Err(Error::NotRunning),
            Some(None) => Err(Error::Config(crate::config::ConfigError(
                "tls: this server has no certificate configured".into(),
            ))),
            // Outside the lock: reading files takes a moment.
            Some(Some(tls)) => tls.reload(),
        }
    }

    /// This node's id in its cluster once started (random per start, so a restarted
    /// node is a new node); `None` on a single node.
    pub fn cluster_node(&self) -> Option<String> {
        self.state.node.get().map(|n| n.to_string())
    }

    /// Waits for one of this server's queries (`channel`, `members`, …) from a thread
    /// that runs no async code, such as a C or JavaScript caller: the query runs in the
    /// context of the runtime the server was started on (a cluster backend's timers and
    /// sockets belong to it) and fails after `timeout`. See [`crate::blocking::wait`].
    pub fn wait_for<T>(
        &self,
        query: impl std::future::Future<Output = Result<T, Error>>,
        timeout: std::time::Duration,
    ) -> Result<T, Error> {
        let _context = self.state.runtime.get().map(|runtime| runtime.enter());
        crate::blocking::wait(query, timeout)
    }

    /// The bound address while running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().map(|r| r.addr)
    }

    /// The bound separate metrics address (`metrics.address`) while running.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        lock(&self.running).as_ref().and_then(|r| r.metrics_addr)
    }

    /// The Prometheus text exposition `GET /metrics` answers, for embedders that serve
    /// metrics on a route of their own. A config error when metrics are off.
    pub fn metrics_text(&self) -> Result<String, Error> {
        let metrics = self.state.metrics.as_ref().ok_or_else(|| {
            Error::Config(crate::config::ConfigError(
                "metrics are off: set metrics.enabled (PUSHBUS_METRICS=true)".into(),
            ))
        })?;
        Ok(crate::metrics::scrape::encode(
            metrics,
            self.state.snapshot(),
        ))
    }

    /// Publishes `event` with `data` (sent verbatim as the frame's data string) to
    /// `channels` of app `app_id`, skipping the connection `except_socket_id`. Same
    /// rules and limits as the HTTP API. Never blocks; callable from any thread.
    pub fn publish(
        &self,
        app_id: &str,
        channels: &[String],
        event: &str,
        data: &str,
        except_socket_id: Option<&str>,
    ) -> Result<(), Error> {
        self.state
            .app_by_id(app_id)?
            .publish(channels, event, data, except_socket_id)
    }

    /// Occupied channels of an app whose names start with `prefix` ("" for all).
    pub async fn channels(&self, app_id: &str, prefix: &str) -> Result<Vec<ChannelInfo>, Error> {
        self.state.app_by_id(app_id)?.channels(prefix).await
    }

    /// One channel, occupied or not.
    pub async fn channel(&self, app_id: &str, channel: &str) -> Result<ChannelInfo, Error> {
        let app = self.state.app_by_id(app_id)?;
        app.check_query_channel(channel)?;
        app.channel(channel).await
    }

    /// Members of a presence channel, sorted by user id.
    pub async fn members(&self, app_id: &str, channel: &str) -> Result<Vec<Member>, Error> {
        self.state.app_by_id(app_id)?.members(channel).await
    }

    /// Closes (4009, no auto-reconnect in pusher-js) every connection signed in as
    /// `user_id` or present under that id in a presence channel. Returns how many were
    /// on this node.
    pub async fn terminate_user_connections(
        &self,
        app_id: &str,
        user_id: &str,
    ) -> Result<usize, Error> {
        self.state.app_by_id(app_id)?.terminate_user(user_id).await
    }

    /// One user's status: online (signed in, or a presence member, on any connection),
    /// connection count, presence channels, `last_seen` once offline, location, info.
    pub async fn user_status(&self, app_id: &str, user_id: &str) -> Result<UserStatus, Error> {
        self.state.app_by_id(app_id)?.user_status(user_id).await
    }

    /// The app's online users with an id after `after` ("" from the first), sorted by
    /// id, at most `limit` (1 to 1000); `next` is the `after` of the next page.
    pub async fn online_users(
        &self,
        app_id: &str,
        after: &str,
        limit: usize,
    ) -> Result<OnlineUsers, Error> {
        self.state
            .app_by_id(app_id)?
            .online_users(after, limit)
            .await
    }

    /// Sets (`None`: clears) the location of an online user (the seed's
    /// `setOnline($user, 'Projects')`), shown in their status until they go offline.
    /// Returns whether the user was online: an offline user's location is not kept.
    pub async fn set_user_location(
        &self,
        app_id: &str,
        user_id: &str,
        location: Option<&str>,
    ) -> Result<bool, Error> {
        self.state
            .app_by_id(app_id)?
            .set_user_location(user_id, location)
            .await
    }

    /// The newest records of the app's delivery log, newest first, at most `limit` (1
    /// to 1000); each with the connections it reached, cluster-wide.
    pub async fn delivery_log(
        &self,
        app_id: &str,
        limit: usize,
    ) -> Result<Vec<DeliveryRecord>, Error> {
        self.state.app_by_id(app_id)?.delivery_log(limit).await
    }

    /// A history channel's kept events after serial `since` (0: all), at most `limit`
    /// (1 to 1000), oldest first, with the channel's epoch and last serial.
    pub async fn history(
        &self,
        app_id: &str,
        channel: &str,
        since: u64,
        limit: usize,
    ) -> Result<crate::views::ChannelHistory, Error> {
        self.state
            .app_by_id(app_id)?
            .history(channel, since, limit)
            .await
    }

    /// Live connections of an app.
    pub async fn connection_count(&self, app_id: &str) -> Result<usize, Error> {
        self.state.app_by_id(app_id)?.connection_count().await
    }

    /// A new receiver of lifecycle events, from now on. Bounded: a receiver that falls
    /// more than `event_buffer` events behind gets `Lagged(n)` and skips ahead.
    /// With `lifecycle_events: "webhook"` in the config, [`Server::webhook_events`].
    pub fn events(&self) -> EventReceiver {
        match self.state.config.lifecycle_events {
            crate::config::LifecycleEvents::All => self.state.lifecycle.subscribe(),
            crate::config::LifecycleEvents::Webhook => self.webhook_events(),
        }
    }

    /// A receiver of the lifecycle events as webhooks see them: `member_removed` and
    /// `channel_vacated` after the app's webhook delay (`webhook_options.delay`), and
    /// neither them nor the `member_added`/`channel_occupied` that undid them within it
    /// (a page reload is no event at all); no connection events. For every app, with
    /// webhook targets or not. On a cluster each node's stream has the occupied/vacated/
    /// added/removed events of the channels it sends the webhooks of, whichever node
    /// decided them: each event reaches one node's embedder. Ask before `start` (the
    /// stream is set up then); bounded like [`Server::events`].
    pub fn webhook_events(&self) -> EventReceiver {
        self.state.lifecycle.subscribe_delayed()
    }

    /// The ordered lifecycle path, for one in-process consumer that needs every event
    /// in decision order per channel (webhook delivery): room for `capacity` events.
    /// When it is full (or the receiver is gone) events are dropped, each one counted
    /// ([`Server::dropped_ordered_events`]) and logged; a second call replaces the
    /// first consumer.
    pub fn ordered_events(&self, capacity: usize) -> mpsc::Receiver<LifecycleEvent> {
        self.state.lifecycle.ordered(capacity)
    }

    /// Events the ordered lifecycle path has dropped since the server was built.
    pub fn dropped_ordered_events(&self) -> u64 {
        self.state.lifecycle.dropped()
    }

    /// Graceful shutdown: stop accepting, finish HTTP requests in flight, flush each
    /// WebSocket's queue and close it with 4200 (pusher-js reconnects at once, to
    /// another node or to this one restarted). Waits up to `shutdown_grace` seconds.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let Some(mut running) = lock(&self.running).take() else {
            return Err(Error::NotRunning);
        };
        // Not ready first, so that load balancers stop sending connections here, while
        // the ones already here are still served.
        self.state.begin_draining();
        let drain = Duration::try_from_secs_f64(self.state.config.drain_delay).unwrap_or_default();
        if !drain.is_zero() {
            tracing::info!(
                "draining: /ready answers 503 for {drain:?} before connections are closed"
            );
            tokio::time::sleep(drain).await;
        }
        self.state.begin_shutdown();
        let _ = running.shutdown.send(true);
        for app in self.state.apps() {
            app.close_all(ErrorCode::Reconnect, "Server shutting down");
        }
        let grace = Duration::try_from_secs_f64(self.state.config.shutdown_grace)
            .unwrap_or(Duration::from_secs(5));
        if tokio::time::timeout(grace, running.done.recv())
            .await
            .is_err()
        {
            tracing::warn!("shutdown: connections still open after {grace:?}, dropping them");
        }
        for app in self.state.apps() {
            app.goodbye().await;
        }
        let hooks = lock(&self.state.webhooks).take();
        if let Some(hooks) = hooks {
            hooks.drain(grace).await;
        }
        let _ = running.metrics_stop.send(true);
        Ok(())
    }

    /// Counters of app `app_id`'s webhooks since the server started (zeros for an app
    /// without targets, or once stopped): requests answered 2xx, events in them,
    /// failed attempts, events given up.
    pub fn webhook_stats(&self, app_id: &str) -> Result<crate::WebhookStats, Error> {
        self.state.app_by_id(app_id)?;
        let hooks = lock(&self.state.webhooks);
        Ok(hooks
            .as_ref()
            .and_then(|w| w.stats(app_id))
            .unwrap_or_default())
    }
}

#[cfg(test)]
impl Server {
    /// Connections and channels of an app on this node, as the registry counts them
    /// (tests of cleanup).
    pub(crate) fn local_counts(&self, app_id: &str) -> (usize, usize) {
        let app = self.state.app_by_id(app_id).expect("app");
        (app.local_connection_count(), app.local_channel_count())
    }
}
