//! `NativeServer`: a `pushbus::Server` owned by a JavaScript object.
//!
//! Lifecycle events travel from the server's bounded broadcast channel to JavaScript
//! through a *pump* task on the tokio runtime. The pump takes what is ready (at most
//! [`MAX_BATCH`] events), hands the batch to a thread-safe function with a queue of
//! [`QUEUE_SIZE`], and waits — asynchronously — until JavaScript has handled it before
//! taking the next batch. So at most one batch is queued for the JavaScript thread, no
//! thread ever blocks on JavaScript, and when JavaScript falls behind the broadcast
//! channel drops the oldest events and the pump reports how many (a `lagged` event).
//!
//! The thread-safe function is *weak*: it never keeps Node's event loop alive. Keeping
//! the process alive while the server runs is the JavaScript layer's job (`ref()` /
//! `unref()`, like `net.Server`). When the JavaScript object is garbage-collected, or
//! the process exits, [`Drop`] stops the pump and shuts the server down in the
//! background without waiting for anything.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use napi::bindgen_prelude::{Function, PromiseRaw};
use napi::threadsafe_function::{ThreadsafeFunction, UnknownReturnValue};
use napi::{Env, Status};
use napi_derive::napi;
use pushbus::blocking::QUERY_TIMEOUT;
use pushbus::EventReceiver;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::error::{guard, promise, JsErr};

/// Most lifecycle events handed to JavaScript in one call.
const MAX_BATCH: usize = 256;
/// Calls queued for the JavaScript thread at once. The pump waits for each call to be
/// handled, so one would do; a little slack costs nothing.
const QUEUE_SIZE: usize = 2;
/// How long `stop()` waits for JavaScript to take the last events before giving up on
/// them (only reached when the JavaScript thread is stuck).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Weak (does not keep the event loop alive), not error-first, bounded.
type EventsFn = ThreadsafeFunction<
    Vec<ServerEvent>,
    UnknownReturnValue,
    Vec<ServerEvent>,
    Status,
    false,
    true,
    QUEUE_SIZE,
>;

/// A lifecycle event as JavaScript sees it; `name` says which fields are set.
#[napi(object)]
pub struct ServerEvent {
    /// `connection_opened`, `connection_closed`, `channel_occupied`, `channel_vacated`,
    /// `member_added`, `member_removed`, `client_event`, `cache_miss`,
    /// `subscription_count`, `user_online`, `user_offline` (`userId`), `event_logged`
    /// (`channel`, `event` and the `record`), or `lagged` (JavaScript was too slow and
    /// `missed` events were dropped).
    pub name: String,
    pub app_id: Option<String>,
    pub socket_id: Option<String>,
    pub channel: Option<String>,
    pub user_id: Option<String>,
    /// Client events: the event name (`client-…`).
    pub event: Option<String>,
    /// Client events: the data as sent by the client (a JSON text).
    pub data: Option<String>,
    /// `lagged`: how many events were dropped.
    pub missed: Option<f64>,
    /// `subscription_count`: the channel's subscriptions.
    pub subscription_count: Option<f64>,
    /// `event_logged`: the delivery log's record of the event (with this node's
    /// deliveries).
    pub record: Option<DeliveryRecord>,
}

impl ServerEvent {
    fn new(name: &str) -> ServerEvent {
        ServerEvent {
            name: name.into(),
            app_id: None,
            socket_id: None,
            channel: None,
            user_id: None,
            event: None,
            data: None,
            missed: None,
            subscription_count: None,
            record: None,
        }
    }

    fn lagged(missed: u64) -> ServerEvent {
        ServerEvent {
            missed: Some(missed as f64),
            ..ServerEvent::new("lagged")
        }
    }

    /// Reads the event's fields from its one serialised form, defined in core
    /// (`pushbus::LifecycleEvent`), so the names cannot drift from the other faces.
    fn from_core(e: pushbus::LifecycleEvent) -> ServerEvent {
        let mut out = ServerEvent::new(e.kind.name());
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(&e) else {
            return out;
        };
        let text = |k: &str| fields.get(k).and_then(|v| v.as_str()).map(str::to_string);
        out.app_id = text("app_id");
        out.socket_id = text("socket_id");
        out.channel = text("channel");
        out.user_id = text("user_id");
        out.event = text("event");
        out.data = text("data");
        out.subscription_count = e.kind.subscription_count().map(|n| n as f64);
        if let Some(record) = e.kind.record() {
            // The record's own `data` (a kept payload) and `user_id` (a client event's
            // sender) stay in `record`: at the top they would mean what they mean for a
            // client event, as in C, where an `event_logged`'s `data` is the record.
            out.data = None;
            out.user_id = None;
            out.record = Some(record.clone().into());
        }
        out
    }
}

/// Counters of an app's webhooks (zeros without targets).
#[napi(object)]
pub struct WebhookStats {
    /// Requests the receivers answered with a 2xx.
    pub requests: f64,
    /// Events in those requests.
    pub sent: f64,
    /// Attempts that failed (retried or not).
    pub failures: f64,
    /// Events given up (full queue, retried too long, older than 300 s, shutdown).
    pub dropped: f64,
}

/// The bound address, as `start()` reports it.
#[napi(object)]
pub struct ServerAddress {
    pub host: String,
    pub port: u32,
}

/// What the server knows about one channel.
#[napi(object)]
pub struct ChannelInfo {
    pub name: String,
    pub occupied: bool,
    pub subscription_count: u32,
    /// Distinct users; presence channels only.
    pub user_count: Option<u32>,
    /// Cache channels with a cached event: its data and seconds left.
    pub cache: Option<CachedEvent>,
}

#[napi(object)]
pub struct CachedEvent {
    pub data: String,
    pub ttl: u32,
}

/// A presence member: its user id and the `user_info` it subscribed with, if any.
#[napi(object)]
pub struct Member {
    pub id: String,
    pub info: Option<serde_json::Value>,
}

/// One user's status, in the shape every face reports it (`pushbus::UserStatus`, field
/// for field, with its serde names): online while a connection is signed in or present
/// as the user.
#[napi(object)]
pub struct UserStatus {
    pub id: String,
    pub online: bool,
    /// Connections signed in or present as the user.
    pub connections: u32,
    /// The presence channels the user is a member of, sorted.
    pub channels: Vec<String>,
    /// While offline: when the last connection closed, in ms since the Unix epoch (as
    /// long as it is kept).
    #[napi(js_name = "last_seen")]
    pub last_seen: Option<f64>,
    /// While online: what the app set (`setUserLocation`).
    pub location: Option<String>,
    /// While online: the `user_info` the user first connected with.
    pub info: Option<serde_json::Value>,
}

/// One online user of a page (`pushbus::OnlineUser`).
#[napi(object)]
pub struct OnlineUser {
    pub id: String,
    pub connections: u32,
    pub location: Option<String>,
    pub info: Option<serde_json::Value>,
}

/// A page of the app's online users, sorted by id (`pushbus::OnlineUsers`); `next` is
/// the `after` of the next page, absent on the last one.
#[napi(object)]
pub struct OnlineUsers {
    pub users: Vec<OnlineUser>,
    pub next: Option<String>,
}

/// One record of the delivery log, in the shape every face reports it
/// (`pushbus::DeliveryRecord`, field for field, with its serde names).
#[napi(object)]
pub struct DeliveryRecord {
    /// Unique within the app.
    pub id: String,
    /// When it was published, in ms since the Unix epoch.
    pub time: f64,
    pub channel: String,
    pub event: String,
    /// Bytes of its data.
    pub size: u32,
    /// The data, when the app's log keeps payloads (`delivery_log.payloads: "payload"`).
    pub data: Option<String>,
    /// The data's SHA-256 (hex), when it keeps digests (the default).
    pub digest: Option<String>,
    /// Connections it was delivered to, cluster-wide.
    pub delivered: u32,
    /// Nodes that delivered it to at least one connection.
    pub nodes: u32,
    /// The socket the publisher excluded, if any.
    pub except: Option<String>,
    /// `api` (the HTTP API or an embedder) or `client` (a client event).
    pub source: String,
    /// A client event's sender, on presence channels.
    #[napi(js_name = "user_id")]
    pub user_id: Option<String>,
}

/// A history channel's kept events (`pushbus::ChannelHistory`, field for field, with
/// its serde names): those after the `since` asked, oldest first.
#[napi(object)]
pub struct ChannelHistory {
    pub channel: String,
    /// Changes whenever the channel's history started over; absent while it has none.
    pub epoch: Option<String>,
    /// The channel's last serial (0: none yet).
    pub serial: f64,
    pub events: Vec<HistoryEvent>,
}

/// One kept event of a history channel (`pushbus::HistoryEvent`).
#[napi(object)]
pub struct HistoryEvent {
    pub serial: f64,
    /// When it was published, in ms since the Unix epoch.
    pub time: f64,
    pub event: String,
    /// The data string, as published.
    pub data: String,
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A stored `user_info` as a JS value.
fn info_value(
    info: Option<std::sync::Arc<serde_json::value::RawValue>>,
) -> Result<Option<serde_json::Value>, JsErr> {
    info.map(|raw| {
        serde_json::from_str(raw.get())
            .map_err(|e| JsErr::new(crate::error::PANIC, format!("stored user_info: {e}")))
    })
    .transpose()
}

// Destructured field by field: a field added to a core view fails the build here
// rather than going missing in JavaScript.
impl TryFrom<pushbus::UserStatus> for UserStatus {
    type Error = JsErr;
    fn try_from(s: pushbus::UserStatus) -> Result<UserStatus, JsErr> {
        let pushbus::UserStatus {
            id,
            online,
            connections,
            channels,
            last_seen,
            location,
            info,
        } = s;
        Ok(UserStatus {
            id: id.to_string(),
            online,
            connections: to_u32(connections),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            last_seen: last_seen.map(|t| t as f64),
            location: location.map(|l| l.to_string()),
            info: info_value(info)?,
        })
    }
}

impl TryFrom<pushbus::OnlineUsers> for OnlineUsers {
    type Error = JsErr;
    fn try_from(page: pushbus::OnlineUsers) -> Result<OnlineUsers, JsErr> {
        let pushbus::OnlineUsers { users, next } = page;
        let users = users
            .into_iter()
            .map(|u| {
                let pushbus::OnlineUser {
                    id,
                    connections,
                    location,
                    info,
                } = u;
                Ok(OnlineUser {
                    id: id.to_string(),
                    connections: to_u32(connections),
                    location: location.map(|l| l.to_string()),
                    info: info_value(info)?,
                })
            })
            .collect::<Result<_, JsErr>>()?;
        Ok(OnlineUsers {
            users,
            next: next.map(|n| n.to_string()),
        })
    }
}

impl From<pushbus::DeliveryRecord> for DeliveryRecord {
    fn from(r: pushbus::DeliveryRecord) -> DeliveryRecord {
        let pushbus::DeliveryRecord {
            id,
            time,
            channel,
            event,
            size,
            data,
            digest,
            delivered,
            nodes,
            except,
            source,
            user_id,
        } = r;
        let text = |s: std::sync::Arc<str>| s.to_string();
        DeliveryRecord {
            id: text(id),
            time: time as f64,
            channel: text(channel),
            event: text(event),
            size: to_u32(size),
            data: data.map(text),
            digest: digest.map(text),
            delivered: to_u32(delivered),
            nodes: to_u32(nodes),
            except: except.map(text),
            source: text(source),
            user_id: user_id.map(text),
        }
    }
}

impl From<pushbus::ChannelHistory> for ChannelHistory {
    fn from(h: pushbus::ChannelHistory) -> ChannelHistory {
        let pushbus::ChannelHistory {
            channel,
            epoch,
            serial,
            events,
        } = h;
        let events = events
            .into_iter()
            .map(|e| {
                let pushbus::HistoryEvent {
                    serial,
                    time,
                    event,
                    data,
                } = e;
                HistoryEvent {
                    serial: serial as f64,
                    time: time as f64,
                    event: event.to_string(),
                    data: data.to_string(),
                }
            })
            .collect();
        ChannelHistory {
            channel: channel.to_string(),
            epoch: epoch.map(|e| e.to_string()),
            serial: serial as f64,
            events,
        }
    }
}

impl From<pushbus::ChannelInfo> for ChannelInfo {
    fn from(c: pushbus::ChannelInfo) -> ChannelInfo {
        ChannelInfo {
            name: c.name.to_string(),
            occupied: c.occupied,
            subscription_count: to_u32(c.subscription_count),
            user_count: c.user_count.map(to_u32),
            cache: c.cache.map(|k| CachedEvent {
                data: k.data.to_string(),
                ttl: u32::try_from(k.ttl).unwrap_or(u32::MAX),
            }),
        }
    }
}

/// The running pump: how to ask it to finish, and its task.
struct Pump {
    finish: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

/// State shared with the futures of `start()` and `stop()`.
struct Shared {
    /// In an `Arc` of its own so that `Drop` can hand it to a background shutdown.
    server: Arc<pushbus::Server>,
    /// Given at construction; moved into the pump at start.
    on_events: Mutex<Option<EventsFn>>,
    /// Set while running: `stop()` drains it, `Drop` aborts it.
    pump: Mutex<Option<Pump>>,
    /// The runtime the server runs on, kept so that `Drop` can shut it down from any
    /// thread without panicking when the runtime is already gone.
    runtime: Mutex<Option<tokio::runtime::Handle>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An embedded pushbus server. Wrapped by `Server` in `index.js`; not meant to be used
/// directly.
#[napi]
pub struct NativeServer {
    shared: Arc<Shared>,
}

#[napi]
impl NativeServer {
    /// `config` is the JSON config document (the format of `pushbus serve --config`).
    /// `onEvents` receives each batch of lifecycle events on the JavaScript thread; it
    /// must not throw.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        config: String,
        on_events: Function<'_, Vec<ServerEvent>, UnknownReturnValue>,
    ) -> napi::Result<NativeServer> {
        guard(env, || {
            let config = pushbus::Config::from_json(&config).map_err(pushbus::Error::from)?;
            // The server's log lines go to stderr (PUSHBUS_LOG: a level, or `target=level` pairs).
            pushbus::logging::plain::install();
            let server = pushbus::Server::new(config)?;
            let on_events: EventsFn = on_events
                .build_threadsafe_function::<Vec<ServerEvent>>()
                .weak::<true>()
                .callee_handled::<false>()
                .max_queue_size::<QUEUE_SIZE>()
                .build()
                .map_err(|e| JsErr::new(crate::error::PANIC, e.reason))?;
            Ok(NativeServer {
                shared: Arc::new(Shared {
                    server: Arc::new(server),
                    on_events: Mutex::new(Some(on_events)),
                    pump: Mutex::new(None),
                    runtime: Mutex::new(None),
                }),
            })
        })
    }

    /// Binds the configured address and starts serving; resolves with the bound address.
    #[napi]
    pub fn start<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ServerAddress>> {
        let shared = self.shared.clone();
        // Subscribe before listening, so that no event of the first connection is lost.
        let events = shared.server.events();
        promise(
            env,
            async move {
                let addr = shared.server.start().await?;
                *lock(&shared.runtime) = Some(tokio::runtime::Handle::current());
                if let Some(on_events) = lock(&shared.on_events).take() {
                    let (finish, finish_rx) = oneshot::channel();
                    let task = tokio::spawn(pump(events, on_events, finish_rx));
                    *lock(&shared.pump) = Some(Pump { finish, task });
                }
                Ok(addr)
            },
            |addr| ServerAddress {
                host: addr.ip().to_string(),
                port: u32::from(addr.port()),
            },
        )
    }

    /// Graceful shutdown (queued events flushed, clients closed with 4200); resolves once
    /// the server has stopped and the last lifecycle events were handed to JavaScript.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop<'env>(&self, env: &'env Env) -> napi::Result<PromiseRaw<'env, ()>> {
        let shared = self.shared.clone();
        promise(
            env,
            async move {
                shared.server.shutdown().await?;
                let pump = lock(&shared.pump).take();
                if let Some(Pump { finish, mut task }) = pump {
                    let _ = finish.send(());
                    if tokio::time::timeout(DRAIN_TIMEOUT, &mut task)
                        .await
                        .is_err()
                    {
                        task.abort();
                    }
                }
                Ok(())
            },
            |()| (),
        )
    }

    /// Publishes `data` (sent verbatim) on `channels` of app `appId`. Never blocks.
    #[napi]
    pub fn publish(
        &self,
        env: &Env,
        app_id: String,
        channels: Vec<String>,
        event: String,
        data: String,
        except_socket_id: Option<String>,
    ) -> napi::Result<()> {
        guard(env, || {
            Ok(self.shared.server.publish(
                &app_id,
                &channels,
                &event,
                &data,
                except_socket_id.as_deref(),
            )?)
        })
    }

    /// Occupied channels whose names start with `prefix`, sorted by name.
    #[napi]
    pub fn channels(
        &self,
        env: &Env,
        app_id: String,
        prefix: String,
    ) -> napi::Result<Vec<ChannelInfo>> {
        guard(env, || {
            let list = self
                .shared
                .server
                .wait_for(self.shared.server.channels(&app_id, &prefix), QUERY_TIMEOUT)?;
            Ok(list.into_iter().map(ChannelInfo::from).collect())
        })
    }

    /// One channel, occupied or not.
    #[napi]
    pub fn channel(&self, env: &Env, app_id: String, name: String) -> napi::Result<ChannelInfo> {
        guard(env, || {
            Ok(self
                .shared
                .server
                .wait_for(self.shared.server.channel(&app_id, &name), QUERY_TIMEOUT)?
                .into())
        })
    }

    /// Members of a presence channel, sorted by user id.
    #[napi]
    pub fn members(&self, env: &Env, app_id: String, channel: String) -> napi::Result<Vec<Member>> {
        guard(env, || {
            let members = self
                .shared
                .server
                .wait_for(self.shared.server.members(&app_id, &channel), QUERY_TIMEOUT)?;
            members
                .into_iter()
                .map(|m| {
                    Ok(Member {
                        id: m.id.to_string(),
                        info: info_value(m.info)?,
                    })
                })
                .collect()
        })
    }

    /// Closes every connection of user `userId` (code 4009); returns how many.
    #[napi]
    pub fn terminate_user_connections(
        &self,
        env: &Env,
        app_id: String,
        user_id: String,
    ) -> napi::Result<u32> {
        guard(env, || {
            let n = self.shared.server.wait_for(
                self.shared
                    .server
                    .terminate_user_connections(&app_id, &user_id),
                QUERY_TIMEOUT,
            )?;
            Ok(to_u32(n))
        })
    }

    /// One user's status (cluster-wide): online, connections, presence channels,
    /// `last_seen` once offline, location and info while online.
    #[napi]
    pub fn user_status(
        &self,
        env: &Env,
        app_id: String,
        user_id: String,
    ) -> napi::Result<UserStatus> {
        guard(env, || {
            let status = self.shared.server.wait_for(
                self.shared.server.user_status(&app_id, &user_id),
                QUERY_TIMEOUT,
            )?;
            status.try_into()
        })
    }

    /// A page of app `appId`'s online users with an id after `after` ("" from the
    /// first), sorted by id, at most `limit` (1 to 1000).
    #[napi]
    pub fn online_users(
        &self,
        env: &Env,
        app_id: String,
        after: String,
        limit: u32,
    ) -> napi::Result<OnlineUsers> {
        guard(env, || {
            let page = self.shared.server.wait_for(
                self.shared
                    .server
                    .online_users(&app_id, &after, limit as usize),
                QUERY_TIMEOUT,
            )?;
            page.try_into()
        })
    }

    /// Sets (`null`: clears) an online user's location; returns whether the user was
    /// online (an offline user's location is not kept).
    #[napi]
    pub fn set_user_location(
        &self,
        env: &Env,
        app_id: String,
        user_id: String,
        location: Option<String>,
    ) -> napi::Result<bool> {
        guard(env, || {
            Ok(self.shared.server.wait_for(
                self.shared
                    .server
                    .set_user_location(&app_id, &user_id, location.as_deref()),
                QUERY_TIMEOUT,
            )?)
        })
    }

    /// The newest records of app `appId`'s delivery log, newest first, at most `limit`
    /// (1 to the app's `delivery_log.size`; none when the size is 0).
    #[napi]
    pub fn delivery_log(
        &self,
        env: &Env,
        app_id: String,
        limit: u32,
    ) -> napi::Result<Vec<DeliveryRecord>> {
        guard(env, || {
            let records = self.shared.server.wait_for(
                self.shared.server.delivery_log(&app_id, limit as usize),
                QUERY_TIMEOUT,
            )?;
            Ok(records.into_iter().map(DeliveryRecord::from).collect())
        })
    }

    /// A history channel's kept events after serial `since` (0: from the first kept),
    /// at most `limit` (1 to 1000), oldest first, with its epoch and last serial.
    #[napi]
    pub fn history(
        &self,
        env: &Env,
        app_id: String,
        channel: String,
        since: i64,
        limit: u32,
    ) -> napi::Result<ChannelHistory> {
        guard(env, || {
            let since = u64::try_from(since).map_err(|_| {
                JsErr::invalid_argument(format!("since must be 0 or more, not {since}"))
            })?;
            let history = self.shared.server.wait_for(
                self.shared
                    .server
                    .history(&app_id, &channel, since, limit as usize),
                QUERY_TIMEOUT,
            )?;
            Ok(history.into())
        })
    }

    /// Counters of app `appId`'s webhooks since the server started.
    #[napi]
    pub fn webhook_stats(&self, env: &Env, app_id: String) -> napi::Result<WebhookStats> {
        guard(env, || {
            let s = self.shared.server.webhook_stats(&app_id)?;
            Ok(WebhookStats {
                requests: s.requests as f64,
                sent: s.sent as f64,
                failures: s.failures as f64,
                dropped: s.dropped as f64,
            })
        })
    }

    /// Reads the TLS certificate and key files again: new connections get the new
    /// certificate, open ones keep theirs; on an error the one in use stays.
    #[napi]
    pub fn reload_tls(&self, env: &Env) -> napi::Result<()> {
        guard(env, || Ok(self.shared.server.reload_tls()?))
    }

    /// The metrics in the OpenMetrics text format, as `GET /metrics` answers them.
    #[napi]
    pub fn metrics_text(&self, env: &Env) -> napi::Result<String> {
        guard(env, || Ok(self.shared.server.metrics_text()?))
    }

    /// Live connections of app `appId`.
    #[napi]
    pub fn connection_count(&self, env: &Env, app_id: String) -> napi::Result<u32> {
        guard(env, || {
            let n = self
                .shared
                .server
                .wait_for(self.shared.server.connection_count(&app_id), QUERY_TIMEOUT)?;
            Ok(to_u32(n))
        })
    }
}

/// The JavaScript object was garbage-collected (or its environment is exiting): stop
/// delivering events and shut the server down in the background. Nothing here waits.
impl Drop for NativeServer {
    fn drop(&mut self) {
        if let Some(pump) = lock(&self.shared.pump).take() {
            pump.task.abort();
        }
        let runtime = lock(&self.shared.runtime).take();
        if let (Some(runtime), Some(_)) = (runtime, self.shared.server.local_addr()) {
            let server = self.shared.server.clone();
            // On a runtime that has already shut down this drops the future at once, and
            // the runtime's shutdown has closed the sockets anyway.
            runtime.spawn(async move {
                let _ = server.shutdown().await;
            });
        }
    }
}

/// Moves lifecycle events from the broadcast channel to JavaScript, one batch at a
/// time, until `finish` fires (then drains what is left) or JavaScript goes away.
async fn pump(mut events: EventReceiver, on_events: EventsFn, mut finish: oneshot::Receiver<()>) {
    let mut finishing = false;
    loop {
        let mut batch = Vec::new();
        if !finishing {
            tokio::select! {
                received = events.recv() => match received {
                    Ok(e) => batch.push(ServerEvent::from_core(e)),
                    Err(RecvError::Lagged(n)) => batch.push(ServerEvent::lagged(n)),
                    Err(RecvError::Closed) => finishing = true,
                },
                _ = &mut finish => finishing = true,
            }
        }
        while batch.len() < MAX_BATCH {
            match events.try_recv() {
                Ok(e) => batch.push(ServerEvent::from_core(e)),
                Err(TryRecvError::Lagged(n)) => batch.push(ServerEvent::lagged(n)),
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        if batch.is_empty() {
            if finishing {
                return;
            }
            continue;
        }
        let full = batch.len() == MAX_BATCH;
        // Waits until JavaScript has run the callback. The JavaScript side never throws
        // (it rethrows listener errors on the next tick); if it did anyway, the batch is
        // simply done. Any other error means the function is gone (environment
        // teardown), and then nobody is listening any more.
        match on_events.call_async_catch(batch).await {
            Ok(_) => {}
            Err(e) if e.status == Status::PendingException => {}
            Err(_) => return,
        }
        if finishing && !full {
            return;
        }
    }
}
