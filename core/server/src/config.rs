//! Server and app configuration: from a JSON file, from Laravel Reverb's env vars, or the
//! built-in development app.
//!
//! Precedence, lowest first: defaults, the JSON file (`--config` / `PUSHBUS_CONFIG`), a
//! dotenv file (`--env-file`), the process environment. Reverb's variable names are read
//! unchanged so that an existing Reverb `.env` configures pushbus as is.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::limits;

/// The whole server: where it listens and which apps it serves.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Bind address. `0.0.0.0` listens on every interface.
    pub host: String,
    /// Bind port; 0 lets the OS pick one (the bound address is reported back).
    pub port: u16,
    /// Mount prefix for every route (Reverb's `REVERB_SERVER_PATH`), stripped before
    /// routing and signature checks. Empty, or starting with `/`.
    pub path: String,
    /// Largest HTTP request body accepted, in bytes (413 above it). Large enough by
    /// default for a full batch of ten 10 KB events.
    pub max_request_size: usize,
    /// Allowed clock skew of `auth_timestamp` on HTTP API requests, in seconds; 0 turns
    /// the check off (as Reverb and Soketi do).
    pub timestamp_window: u64,
    /// Seconds to wait at shutdown for connections to flush before they are dropped.
    pub shutdown_grace: f64,
    /// Seconds `GET /ready` answers 503 at shutdown before connections are closed
    /// (4200), so that a load balancer stops sending new ones first; 0 closes at once.
    pub drain_delay: f64,
    /// Capacity of the lifecycle-event stream; a consumer that falls further behind
    /// than this loses the oldest events (and is told how many).
    pub event_buffer: usize,
    /// What the embedding APIs' lifecycle streams carry (`Server::events`, C's
    /// `pushbus_server_events` and callback, Node's events, PHP's `poll`): `all` (every
    /// event as it happens) or `webhook` (as webhooks see them: removals after the
    /// webhook delay, reloads not at all, no connection events).
    pub lifecycle_events: LifecycleEvents,
    /// Run as one node of a cluster on Redis (Reverb's `REVERB_SCALING_ENABLED`); none
    /// for a single node.
    pub cluster: Option<ClusterConfig>,
    /// Prometheus metrics (`GET /metrics`); off by default.
    pub metrics: MetricsConfig,
    /// TLS on the server's own port (wss:// and https://); none serves plain ws/http.
    pub tls: Option<TlsConfig>,
    /// The debug console (`GET /console`); off by default.
    pub console: ConsoleConfig,
    pub apps: Vec<AppConfig>,
}

/// The debug console: a page on the server's port that shows connections, channels,
/// members and the live event stream of every app, and publishes test events.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleConfig {
    pub enabled: bool,
    /// What the page asks for before it shows anything; required when enabled, since
    /// the console sees every app's events and can publish to any channel.
    pub token: Option<String>,
}

/// The certificate the server's port presents. Both files are PEM and are read at
/// start and again on [`crate::Server::reload_tls`] (SIGHUP in `pushbus serve`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (as Let's Encrypt's `fullchain.pem`).
    pub cert: String,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: String,
}

/// Where and for whom `GET /metrics` answers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    pub enabled: bool,
    /// The bearer token a scrape must send (`Authorization: Bearer …`). Required for
    /// metrics on the server's own port, which clients can reach.
    pub token: Option<String>,
    /// A separate `host:port` serving `/metrics` (and `/up`, `/ready`) alone, for a
    /// private network; the token is asked there too when set.
    pub address: Option<String>,
}

/// See [`Config::lifecycle_events`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleEvents {
    All,
    Webhook,
}

/// How a node joins its cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// The Redis every node shares: `redis://[user[:password]@]host[:port][/db]`, or
    /// `unix:///path/to/redis.sock`.
    pub redis_url: String,
    /// Prefix of every Redis key and pub/sub channel (Reverb's `REVERB_SCALING_CHANNEL`):
    /// deployments with different prefixes on one Redis never see each other.
    pub prefix: String,
    /// Seconds a node's registration lasts without a heartbeat: a node that dies without
    /// a goodbye has its connections and presence members removed cluster-wide within
    /// this long.
    pub node_lease: f64,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            redis_url: "redis://127.0.0.1:6379".into(),
            prefix: "reverb".into(),
            node_lease: 15.0,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8080,
            path: String::new(),
            max_request_size: 256 * 1024,
            timestamp_window: 600,
            shutdown_grace: 5.0,
            drain_delay: 0.0,
            event_buffer: 4096,
            lifecycle_events: LifecycleEvents::All,
            cluster: None,
            metrics: MetricsConfig::default(),
            tls: None,
            console: ConsoleConfig::default(),
            apps: Vec::new(),
        }
    }
}

/// One tenant: its credentials and limits.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AppConfig {
    pub id: String,
    pub key: String,
    pub secret: String,
    /// A disabled app refuses connections (4003) and HTTP requests (403).
    pub enabled: bool,
    /// Cap on concurrent connections (4004 above it); `None` is unlimited.
    pub max_connections: Option<usize>,
    /// Host patterns (`*` wildcards) allowed in the `Origin` header; `*` allows all.
    /// Requests without an `Origin` header (servers, native apps) are always allowed.
    pub allowed_origins: Vec<String>,
    /// Seconds, sent to clients as `activity_timeout` (pusher-js pings after this much
    /// silence).
    pub activity_timeout: u64,
    /// Seconds of client silence before the server sends `pusher:ping`.
    pub ping_interval: f64,
    /// Seconds to wait for any frame after our ping before closing with 4201.
    pub pong_timeout: f64,
    /// Largest inbound WebSocket message, in bytes.
    pub max_message_size: usize,
    /// Largest event `data`, in bytes, for published and client events (413 over HTTP).
    pub max_event_data: usize,
    pub max_channels_per_event: usize,
    pub max_batch_size: usize,
    pub max_channel_name_length: usize,
    pub max_event_name_length: usize,
    /// Distinct users per presence channel.
    pub max_presence_members: usize,
    /// Bytes of a presence member's `user_info`.
    pub max_user_info_size: usize,
    /// Channels one connection may be subscribed to at once.
    pub max_subscriptions_per_connection: usize,
    /// Accept `client-` events at all.
    pub client_events: bool,
    /// Also accept client events on public channels (Reverb does; Pusher does not).
    pub client_events_on_public: bool,
    /// Client events per second per connection; excess is rejected with 4301.
    pub client_event_rate: u32,
    /// Accept `pusher:signin`.
    pub user_authentication: bool,
    /// Seconds a cache channel keeps its last event.
    pub cache_ttl: u64,
    /// Bytes all cache channels of the app may keep; when full, a channel not yet
    /// cached is not cached (its subscribers get `pusher:cache_miss`) until expired
    /// entries are purged.
    pub cache_max_bytes: usize,
    /// Frames queued for one connection before it is judged too slow and closed with
    /// 4100. Each queued frame is a shared, already serialised event, so the bound is
    /// on count, and memory per slow client is bounded by count × largest event.
    pub outbound_queue: usize,
    /// Where Pusher webhooks go (none by default).
    pub webhooks: Vec<WebhookConfig>,
    /// How webhooks are batched, delayed and retried, for every target of the app.
    pub webhook_options: WebhookOptions,
    /// Who is online: watchlist timing and how long `last_seen` is kept.
    pub user_status: UserStatusOptions,
    /// The ring of recently published events (the seed's `realtime_events`).
    pub delivery_log: DeliveryLogOptions,
    /// Which channels keep a history of their events (for recovery after a reconnect
    /// and rewind on subscribe); none by default.
    pub history: Vec<HistoryRule>,
    /// Bytes all the app's channel histories may keep; when full, the app's oldest
    /// kept event goes first.
    pub history_max_bytes: usize,
    /// Logs every frame of the app's connections, both ways, at `info` (target
    /// `pushbus::frames`), with their opening and closing: the server's side of
    /// `Pusher.logToConsole`. Frames hold what clients send; not for production.
    pub debug: bool,
}

/// One webhook target, in Soketi's shape (`event_types`, `filter`, `headers`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    /// `http://` or `https://` URL the events are POSTed to.
    pub url: String,
    /// The event names this target gets (`channel_occupied`, `channel_vacated`,
    /// `member_added`, `member_removed`, `client_event`, `cache_miss`,
    /// `subscription_count`); by default all but `client_event` and
    /// `subscription_count`.
    pub event_types: Vec<String>,
    pub filter: WebhookFilter,
    /// Extra request headers (for the receiver's own authentication).
    pub headers: std::collections::BTreeMap<String, String>,
    /// For `https://` targets with a private CA: a PEM file of CA certificates trusted
    /// besides Mozilla's roots.
    pub ca_file: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            url: String::new(),
            event_types: WEBHOOK_DEFAULT_EVENTS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            filter: WebhookFilter::default(),
            headers: Default::default(),
            ca_file: String::new(),
        }
    }
}

/// Every webhook event name, in Pusher's spelling.
pub const WEBHOOK_EVENTS: [&str; 7] = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "client_event",
    "cache_miss",
    "subscription_count",
];

/// The events a target gets unless it names its own: the chatty ones are opt-in.
pub const WEBHOOK_DEFAULT_EVENTS: [&str; 5] = [
    "channel_occupied",
    "channel_vacated",
    "member_added",
    "member_removed",
    "cache_miss",
];

/// Which channels' events a target gets; both empty: every channel.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookFilter {
    pub channel_name_starts_with: String,
    pub channel_name_ends_with: String,
}

/// What the delivery log keeps: per app, the most recent published events with how
/// many connections each reached (on a cluster, in Redis, counted by every node).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryLogOptions {
    /// Events kept at most, the oldest dropped first; 0 turns the log off (nothing is
    /// recorded, nothing costs).
    pub size: usize,
    /// Bytes the kept records may take at most (on a single node; a cluster bounds
    /// them by `size`, each record by the app's `max_event_data`).
    pub max_bytes: usize,
    /// What of an event's data is kept: `digest` (its SHA-256, the default: payloads
    /// may be sensitive) or `payload` (the data itself).
    pub payloads: LoggedPayload,
    /// Also log client events (`client-…`, typing indicators and the like), which
    /// would otherwise crowd the published ones out.
    pub client_events: bool,
    /// Also emit each logged event to embedders, as the lifecycle event
    /// `event_logged` (with this node's delivered count), for an app that writes its
    /// own `realtime_events` rows.
    pub events: bool,
}

/// Channels whose names match `channels` (`*` matches any run of characters) keep
/// their last `events` events for `ttl` seconds, and give the last `rewind` of them to
/// every new subscriber right after `subscription_succeeded`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryRule {
    pub channels: String,
    pub events: usize,
    pub ttl: u64,
    pub rewind: usize,
}

impl Default for HistoryRule {
    fn default() -> Self {
        HistoryRule {
            channels: String::new(),
            events: 100,
            ttl: 120,
            rewind: 0,
        }
    }
}

impl HistoryRule {
    /// Whether `channel` matches the rule's pattern.
    pub fn matches(&self, channel: &str) -> bool {
        wildcard_match(&self.channels, channel)
    }

    /// Parses `PUSHBUS_HISTORY`: rules separated by `;`, each
    /// `pattern[:events[:ttl[:rewind]]]`, e.g. `private-client.*:100:120;activity:50:3600:10`.
    pub fn parse_list(v: &str) -> Result<Vec<HistoryRule>, String> {
        let mut rules = Vec::new();
        for spec in v.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let mut parts = spec.split(':');
            let mut rule = HistoryRule {
                channels: parts.next().unwrap_or("").to_string(),
                ..HistoryRule::default()
            };
            let num = |p: Option<&str>, name: &str, default: u64| -> Result<u64, String> {
                match p {
                    None | Some("") => Ok(default),
                    Some(n) => n.parse().map_err(|_| {
                        format!("PUSHBUS_HISTORY: {name} {n:?} in {spec:?} is not a number")
                    }),
                }
            };
            rule.events = num(parts.next(), "events", rule.events as u64)? as usize;
            rule.ttl = num(parts.next(), "ttl", rule.ttl)?;
            rule.rewind = num(parts.next(), "rewind", 0)? as usize;
            if parts.next().is_some() {
                return Err(format!(
                    "PUSHBUS_HISTORY: {spec:?} has more than pattern:events:ttl:rewind"
                ));
            }
            rules.push(rule);
        }
        Ok(rules)
    }
}

/// `*` matches any run of characters (none included); everything else itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// See [`DeliveryLogOptions::payloads`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoggedPayload {
    Digest,
    Payload,
}

impl Default for DeliveryLogOptions {
    fn default() -> Self {
        DeliveryLogOptions {
            size: 1000,
            max_bytes: 4 << 20,
            payloads: LoggedPayload::Digest,
            client_events: false,
            events: false,
        }
    }
}

/// How user status (online, `last_seen`, watchlists) behaves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserStatusOptions {
    /// Seconds a user must stay offline (no connection signed in or present as them,
    /// cluster-wide) before watchers are told `offline`: a page reload within it tells
    /// them nothing, like the webhooks' `delay`. 0 tells at once.
    pub offline_delay: f64,
    /// Seconds a user's `last_seen` (when their last connection closed) is kept.
    pub last_seen_ttl: u64,
    /// Users whose `last_seen` is kept at most; past it the oldest is forgotten.
    pub last_seen_max: usize,
}

impl Default for UserStatusOptions {
    fn default() -> Self {
        UserStatusOptions {
            offline_delay: 3.0,
            last_seen_ttl: 86_400,
            last_seen_max: 100_000,
        }
    }
}

impl UserStatusOptions {
    pub fn offline_delay(&self) -> Duration {
        secs(self.offline_delay)
    }
}

/// Batching, Pusher's delay, retries and the bounds of what waits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookOptions {
    /// Seconds events for one target are collected before a request is sent.
    pub batch_window: f64,
    /// Events per request at most.
    pub batch_max_events: usize,
    /// Seconds `channel_vacated` and `member_removed` are held; dropped with the
    /// matching `channel_occupied` / `member_added` when the channel is occupied again
    /// or the user rejoins within it (a page reload sends nothing). 0 sends at once.
    pub delay: f64,
    /// Seconds one request may take before it counts as failed (and is retried).
    pub timeout: f64,
    /// Seconds a failing request is retried (exponential back-off) before its events
    /// are dropped and counted.
    pub retry_for: f64,
    /// Events waiting for one target at most (queued and being retried); when full,
    /// the oldest are dropped, counted and logged.
    pub max_queued_events: usize,
    /// Bytes of events waiting for one target at most, with the same policy.
    pub max_queued_bytes: usize,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            batch_window: 0.05,
            batch_max_events: 100,
            delay: 3.0,
            timeout: 5.0,
            retry_for: 300.0,
            max_queued_events: 10_000,
            max_queued_bytes: 16 * 1024 * 1024,
        }
    }
}

impl Default for AppConfig {
    fn default() -> Self {
        AppConfig {
            id: String::new(),
            key: String::new(),
            secret: String::new(),
            enabled: true,
            max_connections: None,
            allowed_origins: vec!["*".into()],
            activity_timeout: 30,
            ping_interval: 40.0,
            pong_timeout: 30.0,
            max_message_size: limits::MAX_MESSAGE_SIZE,
            max_event_data: limits::MAX_EVENT_DATA,
            max_channels_per_event: limits::MAX_CHANNELS_PER_EVENT,
            max_batch_size: limits::MAX_BATCH_SIZE,
            max_channel_name_length: limits::MAX_CHANNEL_NAME_LENGTH,
            max_event_name_length: limits::MAX_EVENT_NAME_LENGTH,
            max_presence_members: limits::MAX_PRESENCE_MEMBERS,
            max_user_info_size: limits::MAX_USER_INFO_SIZE,
            max_subscriptions_per_connection: limits::MAX_SUBSCRIPTIONS_PER_CONNECTION,
            client_events: true,
            client_events_on_public: false,
            debug: false,
            client_event_rate: limits::CLIENT_EVENT_RATE,
            user_authentication: true,
            cache_ttl: 1800,
            cache_max_bytes: 64 << 20,
            outbound_queue: 1024,
            webhooks: Vec::new(),
            webhook_options: WebhookOptions::default(),
            user_status: UserStatusOptions::default(),
            delivery_log: DeliveryLogOptions::default(),
            history: Vec::new(),
            history_max_bytes: 16 << 20,
        }
    }
}

impl AppConfig {
    /// Whether the app has webhook targets.
    pub fn has_webhooks(&self) -> bool {
        !self.webhooks.is_empty()
    }

    pub fn ping_interval(&self) -> Duration {
        secs(self.ping_interval)
    }
    pub fn pong_timeout(&self) -> Duration {
        secs(self.pong_timeout)
    }
}

fn secs(s: f64) -> Duration {
    Duration::try_from_secs_f64(s).unwrap_or(Duration::from_secs(1))
}

/// Credentials of the app used when nothing is configured, so that `pushbus serve` works
/// out of the box for local development.
pub const DEV_APP_ID: &str = "pushbus-dev";
pub const DEV_APP_KEY: &str = "pushbus-dev-key";
pub const DEV_APP_SECRET: &str = "pushbus-dev-secret";

/// What is wrong with a configuration, said so that a person can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for ConfigError {}

fn err(msg: impl Into<String>) -> ConfigError {
    ConfigError(msg.into())
}

impl Config {
    /// A config with the development app only.
    pub fn development() -> Config {
        Config {
            apps: vec![AppConfig {
                id: DEV_APP_ID.into(),
                key: DEV_APP_KEY.into(),
                secret: DEV_APP_SECRET.into(),
                ..AppConfig::default()
            }],
            ..Config::default()
        }
    }

    /// Parses a JSON config document (the file format, also what the bindings accept).
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let config: Config =
            serde_json::from_str(text).map_err(|e| err(format!("invalid config JSON: {e}")))?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| err(format!("cannot read config file {}: {e}", path.display())))?;
        Config::from_json(&text).map_err(|e| err(format!("{}: {}", path.display(), e.0)))
    }

    /// Applies Reverb-compatible variables (and pushbus's own `PUSHBUS_*` ones) on top of
    /// this config. `vars` is usually the process environment merged over a dotenv file.
    ///
    /// `REVERB_APP_ID`, `REVERB_APP_KEY` and `REVERB_APP_SECRET` define (or replace) one
    /// app; the `REVERB_APP_*` limits apply to it. Returns whether any variable was used.
    pub fn apply_env(&mut self, vars: &HashMap<String, String>) -> Result<bool, ConfigError> {
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        let mut used = false;

        let has_reverb_app = ["REVERB_APP_ID", "REVERB_APP_KEY", "REVERB_APP_SECRET"]
            .iter()
            .any(|n| get(n).is_some());
        if has_reverb_app {
            let id = get("REVERB_APP_ID").ok_or_else(|| err("REVERB_APP_ID is not set"))?;
            let key = get("REVERB_APP_KEY").ok_or_else(|| err("REVERB_APP_KEY is not set"))?;
            let secret =
                get("REVERB_APP_SECRET").ok_or_else(|| err("REVERB_APP_SECRET is not set"))?;
            let mut app = AppConfig {
                id: id.into(),
                key: key.into(),
                secret: secret.into(),
                ..AppConfig::default()
            };
            if let Some(v) = get("REVERB_APP_ACTIVITY_TIMEOUT") {
                app.activity_timeout = parse_num("REVERB_APP_ACTIVITY_TIMEOUT", v)?;
            }
            if let Some(v) = get("REVERB_APP_PING_INTERVAL") {
                app.ping_interval = parse_num("REVERB_APP_PING_INTERVAL", v)?;
            } else {
                app.ping_interval = app.activity_timeout as f64 + 10.0;
            }
            if let Some(v) = get("REVERB_APP_MAX_CONNECTIONS") {
                app.max_connections = Some(parse_num("REVERB_APP_MAX_CONNECTIONS", v)?);
            }
            if let Some(v) = get("REVERB_APP_MAX_MESSAGE_SIZE") {
                app.max_message_size = parse_num("REVERB_APP_MAX_MESSAGE_SIZE", v)?;
            }
            // Reverb: `members` (default) and `all` accept client events, anything else
            // turns them off. Reverb also relays them on public channels; Pusher never
            // does (Echo cannot whisper there, and anyone could flood a channel such as
            // `portal`), so that stays an explicit opt-in.
            app.client_events = matches!(
                get("REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM").unwrap_or("members"),
                "members" | "all"
            );
            if let Some(v) = get("PUSHBUS_CLIENT_EVENTS_ON_PUBLIC") {
                app.client_events_on_public = parse_bool("PUSHBUS_CLIENT_EVENTS_ON_PUBLIC", v)?;
            }
            if let Some(v) = get("PUSHBUS_APP_DEBUG") {
                app.debug = parse_bool("PUSHBUS_APP_DEBUG", v)?;
            }
            if let Some(v) = get("PUSHBUS_OFFLINE_DELAY") {
                app.user_status.offline_delay = parse_num("PUSHBUS_OFFLINE_DELAY", v)?;
            }
            if let Some(v) = get("PUSHBUS_DELIVERY_LOG_SIZE") {
                app.delivery_log.size = parse_num("PUSHBUS_DELIVERY_LOG_SIZE", v)?;
            }
            if let Some(v) = get("PUSHBUS_DELIVERY_LOG_PAYLOADS") {
                app.delivery_log.payloads = match v {
                    "digest" => LoggedPayload::Digest,
                    "payload" => LoggedPayload::Payload,
                    _ => {
                        return Err(ConfigError(format!(
                            "PUSHBUS_DELIVERY_LOG_PAYLOADS must be digest or payload, not {v:?}"
                        )))
                    }
                };
            }
            if let Some(v) = get("PUSHBUS_HISTORY") {
                app.history = HistoryRule::parse_list(v).map_err(ConfigError)?;
            }
            if let Some(v) = get("PUSHBUS_DELIVERY_LOG_EVENTS") {
                app.delivery_log.events = parse_bool("PUSHBUS_DELIVERY_LOG_EVENTS", v)?;
            }
            if let Some(v) = get("PUSHBUS_ALLOWED_ORIGINS") {
                app.allowed_origins = v.split(',').map(|s| s.trim().to_string()).collect();
            }
            if let Some(urls) = get("PUSHBUS_WEBHOOK_URL") {
                let event_types: Vec<String> = match get("PUSHBUS_WEBHOOK_EVENTS") {
                    Some(v) => v.split(',').map(|s| s.trim().to_string()).collect(),
                    None => WebhookConfig::default().event_types,
                };
                app.webhooks = urls
                    .split(',')
                    .map(str::trim)
                    .filter(|u| !u.is_empty())
                    .map(|url| WebhookConfig {
                        url: url.into(),
                        event_types: event_types.clone(),
                        ..WebhookConfig::default()
                    })
                    .collect();
            }
            // Replace an app with the same id from the file, keep the others.
            self.apps.retain(|a| a.id != app.id);
            self.apps.push(app);
            // Reverb's server binds to every interface unless told otherwise.
            self.host = "0.0.0.0".into();
            used = true;
        }
        if let Some(v) = get("REVERB_SERVER_HOST") {
            self.host = v.into();
            used = true;
        }
        if let Some(v) = get("REVERB_SERVER_PORT") {
            self.port = parse_num("REVERB_SERVER_PORT", v)?;
            used = true;
        }
        if let Some(v) = get("REVERB_SERVER_PATH") {
            self.path = v.into();
            used = true;
        }
        if let Some(v) = get("REVERB_MAX_REQUEST_SIZE") {
            self.max_request_size = parse_num("REVERB_MAX_REQUEST_SIZE", v)?;
            used = true;
        }
        if let Some(v) = get("PUSHBUS_HOST") {
            self.host = v.into();
            used = true;
        }
        if let Some(v) = get("PUSHBUS_PORT") {
            self.port = parse_num("PUSHBUS_PORT", v)?;
            used = true;
        }
        if let Some(v) = get("PUSHBUS_DRAIN_DELAY") {
            self.drain_delay = parse_num("PUSHBUS_DRAIN_DELAY", v)?;
            used = true;
        }
        if let Some(v) = get("PUSHBUS_METRICS") {
            self.metrics.enabled = parse_bool("PUSHBUS_METRICS", v)?;
            used = true;
        }
        if let Some(v) = laravel_value(get("PUSHBUS_METRICS_TOKEN")) {
            self.metrics.token = Some(v.into());
            used = true;
        }
        if let Some(v) = laravel_value(get("PUSHBUS_METRICS_ADDRESS")) {
            self.metrics.address = Some(v.into());
            used = true;
        }
        if let Some(v) = get("PUSHBUS_CONSOLE") {
            self.console.enabled = parse_bool("PUSHBUS_CONSOLE", v)?;
            used = true;
        }
        if let Some(v) = laravel_value(get("PUSHBUS_CONSOLE_TOKEN")) {
            self.console.token = Some(v.into());
            used = true;
        }
        if let Some(v) = laravel_value(get("PUSHBUS_TLS_CERT")) {
            self.tls.get_or_insert_with(TlsConfig::default).cert = v.into();
            used = true;
        }
        if let Some(v) = laravel_value(get("PUSHBUS_TLS_KEY")) {
            self.tls.get_or_insert_with(TlsConfig::default).key = v.into();
            used = true;
        }
        if let Some(v) = get("PUSHBUS_TIMESTAMP_WINDOW") {
            self.timestamp_window = parse_num("PUSHBUS_TIMESTAMP_WINDOW", v)?;
            used = true;
        }
        if let Some(v) = laravel_value(get("REVERB_SCALING_ENABLED")) {
            self.cluster = if parse_bool("REVERB_SCALING_ENABLED", v)? {
                let mut cluster = self.cluster.take().unwrap_or_default();
                if let Some(prefix) = laravel_value(get("REVERB_SCALING_CHANNEL")) {
                    cluster.prefix = prefix.into();
                }
                if let Some(url) = redis_url_from_env(&get)? {
                    cluster.redis_url = url;
                }
                if let Some(v) = laravel_value(get("PUSHBUS_NODE_LEASE")) {
                    cluster.node_lease = parse_num("PUSHBUS_NODE_LEASE", v)?;
                }
                Some(cluster)
            } else {
                None
            };
            used = true;
        }
        Ok(used)
    }

    /// Checks the config as a whole; every problem a person should fix before start.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.apps.is_empty() {
            return Err(err("no apps configured"));
        }
        if !(self.drain_delay >= 0.0 && self.drain_delay <= 3600.0) {
            return Err(err("drain_delay must be between 0 and 3600 seconds"));
        }
        if let Some(tls) = &self.tls {
            if tls.cert.trim().is_empty() || tls.key.trim().is_empty() {
                return Err(err(
                    "tls needs both a certificate and a key file (tls.cert and tls.key, \
                     PUSHBUS_TLS_CERT and PUSHBUS_TLS_KEY)",
                ));
            }
        }
        if self.console.enabled
            && self
                .console
                .token
                .as_deref()
                .is_none_or(|t| t.trim().len() < 8)
        {
            return Err(err(
                "the console needs a token of at least 8 characters (console.token, \
                 PUSHBUS_CONSOLE_TOKEN): it shows every app's events and can publish",
            ));
        }
        let m = &self.metrics;
        if m.token.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(err("metrics.token must not be empty"));
        }
        if m.enabled && m.address.is_none() && m.token.is_none() {
            return Err(err(
                "metrics on the server's own port need a token (metrics.token, \
                 PUSHBUS_METRICS_TOKEN), or a separate metrics.address \
                 (PUSHBUS_METRICS_ADDRESS) on a private network",
            ));
        }
        if let Some(a) = &m.address {
            if a.rsplit_once(':')
                .is_none_or(|(_, p)| p.parse::<u16>().is_err())
            {
                return Err(err(format!("metrics.address {a:?} must be host:port")));
            }
        }
        if !self.path.is_empty() && (!self.path.starts_with('/') || self.path.ends_with('/')) {
            return Err(err(format!(
                "path {:?} must start with '/' and not end with '/'",
                self.path
            )));
        }
        if let Some(c) = &self.cluster {
            if c.redis_url.starts_with("rediss://") {
                return Err(err(
                    "cluster.redis_url: rediss:// (TLS to Redis) is not supported yet; \
                     reach Redis over a private network or a TLS tunnel with redis://",
                ));
            }
            let scheme_ok = ["redis://", "unix://", "redis+unix://"]
                .iter()
                .any(|s| c.redis_url.starts_with(s));
            if !scheme_ok {
                return Err(err(format!(
                    "cluster.redis_url {:?} must start with redis:// or unix://",
                    c.redis_url
                )));
            }
            if c.prefix.is_empty() || c.prefix.bytes().any(|b| b.is_ascii_whitespace()) {
                return Err(err("cluster.prefix must be non-empty, without spaces"));
            }
            if !(c.node_lease >= 3.0 && c.node_lease <= 3600.0) {
                return Err(err("cluster.node_lease must be between 3 and 3600 seconds"));
            }
        }
        let mut ids = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for (i, app) in self.apps.iter().enumerate() {
            let name = format!("app #{} ({:?})", i + 1, app.id);
            if app.id.is_empty() || app.key.is_empty() || app.secret.is_empty() {
                return Err(err(format!("{name}: id, key and secret must all be set")));
            }
            if !app
                .id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(err(format!(
                    "{name}: id may only contain letters, digits, '-', '_' and '.'"
                )));
            }
            if app.key.contains(':') || app.key.contains('/') {
                return Err(err(format!("{name}: key must not contain ':' or '/'")));
            }
            if !ids.insert(app.id.as_str()) {
                return Err(err(format!("{name}: duplicate app id")));
            }
            if !keys.insert(app.key.as_str()) {
                return Err(err(format!("{name}: duplicate app key")));
            }
            if app.activity_timeout == 0 {
                return Err(err(format!(
                    "{name}: activity_timeout must be at least 1 (pusher-js refuses 0)"
                )));
            }
            for (field, v) in [
                ("ping_interval", app.ping_interval),
                ("pong_timeout", app.pong_timeout),
            ] {
                if !(v > 0.0 && v < 86_400.0) {
                    return Err(err(format!(
                        "{name}: {field} must be between 0 and 86400 seconds"
                    )));
                }
            }
            if app.outbound_queue == 0 || app.max_message_size < 64 || app.client_event_rate == 0 {
                return Err(err(format!(
                    "{name}: outbound_queue and client_event_rate must be positive, max_message_size at least 64"
                )));
            }
            validate_webhooks(&name, app)?;
        }
        Ok(())
    }
}

fn validate_webhooks(name: &str, app: &AppConfig) -> Result<(), ConfigError> {
    for (i, hook) in app.webhooks.iter().enumerate() {
        let at = format!("{name}: webhooks[{i}]");
        let url = url::Url::parse(&hook.url)
            .map_err(|e| err(format!("{at}: url {:?} is not a URL: {e}", hook.url)))?;
        if !["http", "https"].contains(&url.scheme()) || url.host_str().is_none() {
            return Err(err(format!(
                "{at}: url {:?} must be http(s)://host[:port]/path",
                hook.url
            )));
        }
        if url.scheme() == "https" {
            crate::webhooks::tls_config(&hook.ca_file).map_err(|e| err(format!("{at}: {e}")))?;
        } else if !hook.ca_file.is_empty() {
            return Err(err(format!("{at}: ca_file is for https:// targets")));
        }
        if hook.event_types.is_empty() {
            return Err(err(format!("{at}: event_types is empty")));
        }
        if let Some(bad) = hook
            .event_types
            .iter()
            .find(|t| !WEBHOOK_EVENTS.contains(&t.as_str()))
        {
            return Err(err(format!(
                "{at}: unknown event type {bad:?} (one of {})",
                WEBHOOK_EVENTS.join(", ")
            )));
        }
        for (header, value) in &hook.headers {
            let reserved = [
                "content-type",
                "content-length",
                "host",
                "x-pusher-key",
                "x-pusher-signature",
            ];
            if reserved.contains(&header.to_ascii_lowercase().as_str()) {
                return Err(err(format!("{at}: header {header:?} is set by pushbus")));
            }
            if hyper::header::HeaderName::from_bytes(header.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(value).is_err()
            {
                return Err(err(format!(
                    "{at}: header {header:?} is not a valid HTTP header"
                )));
            }
        }
    }
    let o = &app.webhook_options;
    let seconds = [
        ("batch_window", o.batch_window, 0.0),
        ("delay", o.delay, 0.0),
        ("timeout", o.timeout, 0.001),
        ("retry_for", o.retry_for, 0.0),
    ];
    for (field, v, min) in seconds {
        if !(v >= min && v <= 3600.0) {
            return Err(err(format!(
                "{name}: webhook_options.{field} must be between {min} and 3600 seconds"
            )));
        }
    }
    if o.batch_max_events == 0 || o.max_queued_events == 0 || o.max_queued_bytes == 0 {
        return Err(err(format!(
            "{name}: webhook_options batch_max_events, max_queued_events and max_queued_bytes must be positive"
        )));
    }
    let u = &app.user_status;
    if !(u.offline_delay >= 0.0 && u.offline_delay <= 3600.0) {
        return Err(err(format!(
            "{name}: user_status.offline_delay must be between 0 and 3600 seconds"
        )));
    }
    for rule in &app.history {
        if rule.channels.is_empty() || rule.events == 0 || rule.events > 100_000 || rule.ttl == 0 {
            return Err(err(format!(
                "{name}: each history rule needs a channels pattern, events between 1 and 100000 and a positive ttl"
            )));
        }
        if rule.rewind > rule.events {
            return Err(err(format!(
                "{name}: history rewind ({}) must not exceed events ({})",
                rule.rewind, rule.events
            )));
        }
    }
    if app.delivery_log.size > 1_000_000 {
        return Err(err(format!(
            "{name}: delivery_log.size must be at most 1000000"
        )));
    }
    if u.last_seen_max == 0 || u.last_seen_ttl == 0 {
        return Err(err(format!(
            "{name}: user_status.last_seen_ttl and last_seen_max must be positive"
        )));
    }
    Ok(())
}

/// A value as Laravel's `env()` reads it: `null`, `(null)` and `empty` are no value.
fn laravel_value(v: Option<&str>) -> Option<&str> {
    match v {
        Some("null" | "(null)" | "empty" | "(empty)") | None => None,
        Some(v) => Some(v),
    }
}

/// The Redis URL of Laravel's Redis variables: `REDIS_URL`, or `REDIS_HOST`,
/// `REDIS_PORT`, `REDIS_USERNAME`, `REDIS_PASSWORD`, `REDIS_DB` (Laravel's defaults:
/// 127.0.0.1, 6379, no user or password, database 0). None when none is set.
fn redis_url_from_env<'a>(
    get: &impl Fn(&str) -> Option<&'a str>,
) -> Result<Option<String>, ConfigError> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let var = |name: &str| laravel_value(get(name));
    if let Some(url) = var("REDIS_URL") {
        return Ok(Some(url.to_string()));
    }
    let names = [
        "REDIS_HOST",
        "REDIS_PORT",
        "REDIS_USERNAME",
        "REDIS_PASSWORD",
        "REDIS_DB",
    ];
    if names.iter().all(|n| var(n).is_none()) {
        return Ok(None);
    }
    let host = var("REDIS_HOST").unwrap_or("127.0.0.1");
    let port: u16 = match var("REDIS_PORT") {
        Some(p) => parse_num("REDIS_PORT", p)?,
        None => 6379,
    };
    let db: u32 = match var("REDIS_DB") {
        Some(d) => parse_num("REDIS_DB", d)?,
        None => 0,
    };
    let enc = |v: &str| utf8_percent_encode(v, NON_ALPHANUMERIC).to_string();
    let auth = match (var("REDIS_USERNAME"), var("REDIS_PASSWORD")) {
        (Some(user), Some(password)) => format!("{}:{}@", enc(user), enc(password)),
        (Some(user), None) => format!("{}@", enc(user)),
        (None, Some(password)) => format!(":{}@", enc(password)),
        (None, None) => String::new(),
    };
    // An IPv6 literal needs brackets in a URL.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    };
    Ok(Some(format!("redis://{auth}{host}:{port}/{db}")))
}

fn parse_bool(name: &str, v: &str) -> Result<bool, ConfigError> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "(true)" | "yes" | "on" => Ok(true),
        "0" | "false" | "(false)" | "no" | "off" => Ok(false),
        _ => Err(err(format!("{name}={v:?} is not true or false"))),
    }
}

fn parse_num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, ConfigError> {
    v.parse()
        .map_err(|_| err(format!("{name}={v:?} is not a valid number")))
}

/// Reads a dotenv file as Laravel writes it: `KEY=value`, optional `export`, single or
/// double quotes, `#` comments, and `${OTHER}` references inside unquoted or
/// double-quoted values.
pub fn parse_dotenv(text: &str) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().to_string();
        let raw = raw.trim();
        let value = if let Some(inner) = raw.strip_prefix('\'') {
            inner.split('\'').next().unwrap_or("").to_string()
        } else if let Some(inner) = raw.strip_prefix('"') {
            let end = inner.rfind('"').unwrap_or(inner.len());
            expand(
                &inner[..end].replace("\\n", "\n").replace("\\\"", "\""),
                &vars,
            )
        } else {
            let bare = raw.split(" #").next().unwrap_or("").trim();
            expand(bare, &vars)
        };
        vars.insert(key, value);
    }
    vars
}

fn expand(value: &str, vars: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                let name = &after[..end];
                if let Some(v) = vars.get(name).cloned().or_else(|| std::env::var(name).ok()) {
                    out.push_str(&v);
                }
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn scaled(pairs: &[(&str, &str)]) -> Option<ClusterConfig> {
        let mut c = Config::default();
        c.apply_env(&vars(pairs)).unwrap();
        c.cluster
    }

    #[test]
    fn the_console_needs_a_token() {
        let check = |console: &str| {
            Config::from_json(&format!(
                r#"{{"console":{console},"apps":[{{"id":"1","key":"k","secret":"s"}}]}}"#
            ))?
            .validate()
        };
        assert!(check(r#"{"enabled":false}"#).is_ok());
        let e = check(r#"{"enabled":true}"#).unwrap_err();
        assert!(e.0.contains("console needs a token"), "{e}");
        assert!(check(r#"{"enabled":true,"token":"short"}"#).is_err());
        assert!(check(r#"{"enabled":true,"token":"long-enough"}"#).is_ok());
        let mut c = Config::default();
        c.apply_env(&vars(&[
            ("PUSHBUS_CONSOLE", "true"),
            ("PUSHBUS_CONSOLE_TOKEN", "console-token"),
        ]))
        .unwrap();
        assert!(c.console.enabled);
        assert_eq!(c.console.token.as_deref(), Some("console-token"));
    }

    #[test]
    fn tls_needs_both_files_and_env_sets_them() {
        let check = |tls: &str| {
            Config::from_json(&format!(
                r#"{{"tls":{tls},"apps":[{{"id":"1","key":"k","secret":"s"}}]}}"#
            ))?
            .validate()
        };
        assert!(check(r#"{"cert":"/etc/c.pem","key":"/etc/k.pem"}"#).is_ok());
        let e = check(r#"{"cert":"/etc/c.pem"}"#).unwrap_err();
        assert!(e.0.contains("both a certificate and a key"), "{e}");
        assert!(check(r#"{"cert":"c","key":"k","ca":"x"}"#).is_err());
        let mut c = Config::default();
        c.apply_env(&vars(&[
            ("PUSHBUS_TLS_CERT", "/etc/fullchain.pem"),
            ("PUSHBUS_TLS_KEY", "/etc/privkey.pem"),
        ]))
        .unwrap();
        assert_eq!(
            c.tls,
            Some(TlsConfig {
                cert: "/etc/fullchain.pem".into(),
                key: "/etc/privkey.pem".into(),
            })
        );
        let mut c = Config::default();
        c.apply_env(&vars(&[("PUSHBUS_TLS_CERT", "null")])).unwrap();
        assert_eq!(c.tls, None);
    }

    #[test]
    fn metrics_need_a_token_on_the_main_port_and_env_sets_them() {
        let check = |metrics: &str| {
            Config::from_json(&format!(
                r#"{{"metrics":{metrics},"apps":[{{"id":"1","key":"k","secret":"s"}}]}}"#
            ))?
            .validate()
        };
        assert!(check(r#"{"enabled":false}"#).is_ok());
        let e = check(r#"{"enabled":true}"#).unwrap_err();
        assert!(e.0.contains("need a token"), "{e}");
        assert!(check(r#"{"enabled":true,"token":"t0k3n"}"#).is_ok());
        assert!(check(r#"{"enabled":true,"token":" "}"#).is_err());
        assert!(check(r#"{"enabled":true,"address":"127.0.0.1:9100"}"#).is_ok());
        assert!(check(r#"{"enabled":true,"address":"nowhere"}"#).is_err());
        let mut c = Config::default();
        c.apply_env(&vars(&[
            ("PUSHBUS_METRICS", "true"),
            ("PUSHBUS_METRICS_TOKEN", "abc"),
            ("PUSHBUS_METRICS_ADDRESS", "0.0.0.0:9100"),
        ]))
        .unwrap();
        assert_eq!(
            c.metrics,
            MetricsConfig {
                enabled: true,
                token: Some("abc".into()),
                address: Some("0.0.0.0:9100".into()),
            }
        );
    }

    #[test]
    fn reverb_scaling_variables_make_a_cluster_node() {
        assert_eq!(scaled(&[]), None);
        assert_eq!(scaled(&[("REVERB_SCALING_ENABLED", "false")]), None);
        let c = scaled(&[("REVERB_SCALING_ENABLED", "true")]).unwrap();
        assert_eq!(c, ClusterConfig::default());
        assert_eq!((c.prefix.as_str(), c.node_lease), ("reverb", 15.0));
        let c = scaled(&[
            ("REVERB_SCALING_ENABLED", "true"),
            ("REVERB_SCALING_CHANNEL", "portal"),
            ("REDIS_URL", "redis://cache.internal:6380/2"),
            ("REDIS_HOST", "ignored"),
        ])
        .unwrap();
        assert_eq!(c.prefix, "portal");
        assert_eq!(c.redis_url, "redis://cache.internal:6380/2");
        // Laravel's separate variables, its `null`, and a password that needs escaping.
        let c = scaled(&[
            ("REVERB_SCALING_ENABLED", "(true)"),
            ("REDIS_URL", "null"),
            ("REDIS_HOST", "10.0.0.5"),
            ("REDIS_PASSWORD", "p@ss:w/rd"),
            ("REDIS_DB", "3"),
        ])
        .unwrap();
        assert_eq!(c.redis_url, "redis://:p%40ss%3Aw%2Frd@10.0.0.5:6379/3");
        let c = scaled(&[
            ("REVERB_SCALING_ENABLED", "true"),
            ("REDIS_USERNAME", "app"),
            ("REDIS_PASSWORD", "null"),
            ("REDIS_PORT", "7000"),
        ])
        .unwrap();
        assert_eq!(c.redis_url, "redis://app@127.0.0.1:7000/0");
        let c = scaled(&[
            ("REVERB_SCALING_ENABLED", "true"),
            ("PUSHBUS_NODE_LEASE", "4.5"),
        ])
        .unwrap();
        assert_eq!(c.node_lease, 4.5);
        // Turning scaling off in the environment overrides a cluster from the file.
        let mut file = Config::from_json(r#"{"cluster":{"prefix":"x"}}"#).unwrap();
        assert_eq!(file.cluster.as_ref().unwrap().prefix, "x");
        file.apply_env(&vars(&[("REVERB_SCALING_ENABLED", "false")]))
            .unwrap();
        assert!(file.cluster.is_none());
        let mut bad = Config::default();
        assert!(bad
            .apply_env(&vars(&[("REVERB_SCALING_ENABLED", "maybe")]))
            .is_err());
        assert!(bad
            .apply_env(&vars(&[
                ("REVERB_SCALING_ENABLED", "1"),
                ("REDIS_PORT", "x")
            ]))
            .is_err());
    }

    #[test]
    fn webhook_targets_are_validated_and_reverb_env_sets_them() {
        let check = |hooks: &str| {
            Config::from_json(&format!(
                r#"{{"apps":[{{"id":"1","key":"k","secret":"s","webhooks":{hooks}}}]}}"#
            ))?
            .validate()
        };
        check(r#"[{"url":"http://127.0.0.1:8000/hook"}]"#).unwrap();
        check(r#"[{"url":"https://portal.example/pushbus/webhook"}]"#).unwrap();
        let app = Config::from_json(
            r#"{"apps":[{"id":"1","key":"k","secret":"s","webhooks":[{"url":"http://h/x"}]}]}"#,
        )
        .unwrap()
        .apps
        .remove(0);
        assert_eq!(app.webhooks[0].event_types, WEBHOOK_DEFAULT_EVENTS);
        assert!(app.has_webhooks());
        for (bad, says) in [
            (r#"[{"url":"not a url"}]"#, "is not a URL"),
            (r#"[{"url":"ftp://h/x"}]"#, "must be http(s)://"),
            (
                r#"[{"url":"https://h/x","ca_file":"/nonexistent/ca.pem"}]"#,
                "ca_file \"/nonexistent/ca.pem\"",
            ),
            (
                r#"[{"url":"http://h/x","ca_file":"/etc/hosts"}]"#,
                "for https:// targets",
            ),
            (
                r#"[{"url":"http://h","event_types":["member_joined"]}]"#,
                "unknown event type",
            ),
            (
                r#"[{"url":"http://h","event_types":[]}]"#,
                "event_types is empty",
            ),
            (
                r#"[{"url":"http://h","headers":{"X-Pusher-Signature":"x"}}]"#,
                "set by pushbus",
            ),
            (
                r#"[{"url":"http://h","headers":{"bad header":"x"}}]"#,
                "not a valid HTTP header",
            ),
            (r#"[{"url":"http://h","secret":"x"}]"#, "unknown field"),
        ] {
            let e = check(bad).unwrap_err();
            assert!(e.0.contains(says), "{bad}: {e}");
        }
        let mut c = Config::default();
        c.apply_env(&vars(&[
            ("REVERB_APP_ID", "1"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
            ("PUSHBUS_WEBHOOK_URL", "http://a/hook, http://b/hook"),
            ("PUSHBUS_WEBHOOK_EVENTS", "member_added,member_removed"),
        ]))
        .unwrap();
        let hooks = &c.apps[0].webhooks;
        assert_eq!(hooks.len(), 2);
        assert_eq!(
            (hooks[0].url.as_str(), hooks[1].url.as_str()),
            ("http://a/hook", "http://b/hook")
        );
        assert_eq!(hooks[1].event_types, ["member_added", "member_removed"]);
        c.validate().unwrap();
    }

    #[test]
    fn cluster_settings_are_validated() {
        let check = |cluster: &str| {
            Config::from_json(&format!(
                r#"{{"apps":[{{"id":"1","key":"k","secret":"s"}}],"cluster":{cluster}}}"#
            ))?
            .validate()
        };
        check(r#"{}"#).unwrap();
        check(r#"{"redis_url":"redis://u:p@h:1/0","prefix":"a:b","node_lease":5}"#).unwrap();
        let tls = check(r#"{"redis_url":"rediss://h:1"}"#).unwrap_err();
        assert!(tls.0.contains("not supported yet"), "{tls}");
        assert!(check(r#"{"redis_url":"http://h"}"#).is_err());
        assert!(check(r#"{"prefix":""}"#).is_err());
        assert!(check(r#"{"node_lease":1}"#).is_err());
        assert!(
            check(r#"{"lease":5}"#).is_err(),
            "unknown fields are refused"
        );
    }

    #[test]
    fn reverb_env_defines_an_app() {
        let mut c = Config::default();
        let used = c
            .apply_env(&vars(&[
                ("REVERB_APP_ID", "123456"),
                ("REVERB_APP_KEY", "abc"),
                ("REVERB_APP_SECRET", "shh"),
                ("REVERB_SERVER_PORT", "9000"),
                ("REVERB_APP_ACTIVITY_TIMEOUT", "45"),
                ("REVERB_APP_MAX_MESSAGE_SIZE", "20000"),
                ("REVERB_APP_MAX_CONNECTIONS", "7"),
            ]))
            .unwrap();
        assert!(used);
        c.validate().unwrap();
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 9000);
        let app = &c.apps[0];
        assert_eq!((app.id.as_str(), app.key.as_str()), ("123456", "abc"));
        assert_eq!(app.activity_timeout, 45);
        assert_eq!(app.ping_interval, 55.0);
        assert_eq!(app.max_message_size, 20000);
        assert_eq!(app.max_connections, Some(7));
        // Relayed on private and presence channels only, unless opted in.
        assert!(app.client_events && !app.client_events_on_public);
    }

    #[test]
    fn public_client_events_are_an_explicit_opt_in() {
        let mut c = Config::default();
        let mut env = vec![
            ("REVERB_APP_ID", "1"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
            ("PUSHBUS_CLIENT_EVENTS_ON_PUBLIC", "true"),
        ];
        c.apply_env(&vars(&env)).unwrap();
        assert!(c.apps[0].client_events_on_public);
        env[3].1 = "maybe";
        let e = Config::default().apply_env(&vars(&env)).unwrap_err();
        assert!(e.0.contains("PUSHBUS_CLIENT_EVENTS_ON_PUBLIC"), "{e}");
    }

    #[test]
    fn history_rules_and_patterns() {
        assert!(wildcard_match("private-client.*", "private-client.7"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "axxbyyc"));
        assert!(!wildcard_match("private-client.*", "private-clients.7"));
        assert!(!wildcard_match("activity", "activity.1"));
        let rules =
            HistoryRule::parse_list("private-client.*:100:120; activity:50:3600:10;presence-*")
                .unwrap();
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (rules[1].events, rules[1].ttl, rules[1].rewind),
            (50, 3600, 10)
        );
        assert_eq!((rules[2].events, rules[2].ttl), (100, 120));
        assert!(HistoryRule::parse_list("a:x").is_err());
        assert!(HistoryRule::parse_list("a:1:2:3:4").is_err());
    }

    #[test]
    fn user_status_and_delivery_log_from_the_environment() {
        let mut c = Config::default();
        let mut env = vec![
            ("REVERB_APP_ID", "1"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
            ("PUSHBUS_OFFLINE_DELAY", "0.5"),
            ("PUSHBUS_DELIVERY_LOG_SIZE", "50"),
            ("PUSHBUS_DELIVERY_LOG_PAYLOADS", "payload"),
            ("PUSHBUS_DELIVERY_LOG_EVENTS", "true"),
        ];
        c.apply_env(&vars(&env)).unwrap();
        let app = &c.apps[0];
        assert_eq!(app.user_status.offline_delay, 0.5);
        assert_eq!(app.delivery_log.size, 50);
        assert_eq!(app.delivery_log.payloads, LoggedPayload::Payload);
        assert!(app.delivery_log.events);
        env[5].1 = "everything";
        let e = Config::default().apply_env(&vars(&env)).unwrap_err();
        assert!(e.0.contains("PUSHBUS_DELIVERY_LOG_PAYLOADS"), "{e}");
    }

    #[test]
    fn reverb_env_can_disable_client_events() {
        let mut c = Config::default();
        c.apply_env(&vars(&[
            ("REVERB_APP_ID", "1"),
            ("REVERB_APP_KEY", "k"),
            ("REVERB_APP_SECRET", "s"),
            ("REVERB_APP_ACCEPT_CLIENT_EVENTS_FROM", "none"),
        ]))
        .unwrap();
        assert!(!c.apps[0].client_events);
    }

    #[test]
    fn partial_reverb_app_is_an_error() {
        let mut c = Config::default();
        let e = c.apply_env(&vars(&[("REVERB_APP_KEY", "k")])).unwrap_err();
        assert!(e.0.contains("REVERB_APP_ID"), "{e}");
        let e = c
            .apply_env(&vars(&[
                ("REVERB_APP_ID", "1"),
                ("REVERB_APP_KEY", "k"),
                ("REVERB_APP_SECRET", "s"),
                ("REVERB_SERVER_PORT", "eighty"),
            ]))
            .unwrap_err();
        assert!(e.0.contains("REVERB_SERVER_PORT"), "{e}");
    }

    #[test]
    fn dotenv_as_laravel_writes_it() {
        let env = parse_dotenv(
            "APP_NAME=Laravel\n# comment\nREVERB_APP_ID=428771\nREVERB_APP_KEY=\"nnlpkpbbzzsmoxdmyedn\"\n\
             REVERB_APP_SECRET='q8x#9'\nVITE_REVERB_APP_KEY=\"${REVERB_APP_KEY}\"\nexport REVERB_PORT=8080 # trailing\n",
        );
        assert_eq!(env["REVERB_APP_ID"], "428771");
        assert_eq!(env["REVERB_APP_KEY"], "nnlpkpbbzzsmoxdmyedn");
        assert_eq!(env["REVERB_APP_SECRET"], "q8x#9");
        assert_eq!(env["VITE_REVERB_APP_KEY"], "nnlpkpbbzzsmoxdmyedn");
        assert_eq!(env["REVERB_PORT"], "8080");
        assert_eq!(env["APP_NAME"], "Laravel");
    }

    #[test]
    fn json_config_rejects_unknown_fields_and_bad_values() {
        assert!(
            Config::from_json(r#"{"apps":[{"id":"1","key":"k","secret":"s","bogus":1}]}"#).is_err()
        );
        let c = Config::from_json(
            r#"{"apps":[{"id":"1","key":"k","secret":"s","activity_timeout":0}]}"#,
        )
        .unwrap();
        assert!(c.validate().unwrap_err().0.contains("activity_timeout"));
        let c = Config::from_json(
            r#"{"apps":[{"id":"1","key":"k","secret":"s"},{"id":"2","key":"k","secret":"t"}]}"#,
        )
        .unwrap();
        assert!(c.validate().unwrap_err().0.contains("duplicate app key"));
        Config::development().validate().unwrap();
    }
}
