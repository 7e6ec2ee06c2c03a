//! The server: the embedding API ([`Server`]), the listener, and routing of each HTTP
//! request to the WebSocket endpoint, the HTTP API or `/up`.
//!
//! WebSockets and the HTTP API share one port, as in Pusher and Reverb. Shutdown is a
//! watch signal to the listener and HTTP connections plus a 4200 close request to every
//! WebSocket; each task holds a clone of an mpsc sender, so "all senders dropped" means
//! everything has finished (the mini-redis pattern).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, ORIGIN, UPGRADE};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::config::Config;
use crate::connection::{self, Handshake};
use crate::error::Error;
use crate::events::{EventReceiver, EventSender};
use crate::fanout::{Fanout, LocalFanout};
use crate::hub::{ChannelInfo, Hub, MemberInfo};
use crate::names::{self, ChannelKind};
use crate::protocol::{self, ErrorCode};
use crate::socket_id::SocketId;
use crate::{http_api, log};

/// State shared by every task of one server.
pub(crate) struct Shared {
    pub config: Config,
    hubs_by_id: HashMap<String, Arc<Hub>>,
    hubs_by_key: HashMap<String, Arc<Hub>>,
    pub fanout: Arc<dyn Fanout>,
    events: EventSender,
    /// Set at shutdown, so that a WebSocket upgraded in the meantime is told 4200 too.
    shutting_down: AtomicBool,
}

impl Shared {
    pub fn hub_by_key(&self, key: &str) -> Option<Arc<Hub>> {
        self.hubs_by_key.get(key).cloned()
    }

    pub fn hub_by_id(&self, id: &str) -> Result<&Arc<Hub>, Error> {
        self.hubs_by_id
            .get(id)
            .ok_or_else(|| Error::UnknownApp(id.to_string()))
    }

    /// Validates and publishes one event to `channels` (PROTOCOL.md §3.1, §6.2). All
    /// checks run before anything is delivered, so an invalid request delivers nothing.
    pub fn publish(
        &self,
        hub: &Hub,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<(), Error> {
        let except = self.publish_check(hub, channels, event, data, except)?;
        self.deliver(hub, channels, event, data, except);
        Ok(())
    }

    /// Publishes an event that [`Shared::publish_check`] accepted: serialised once per
    /// channel, cached for cache channels, handed to the fan-out.
    pub fn deliver(
        &self,
        hub: &Hub,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<SocketId>,
    ) {
        for channel in channels {
            let frame = protocol::channel_event(event, channel, data, None);
            if names::channel_type(channel).cache {
                hub.store_cache(channel, &frame, data);
            }
            self.fanout.publish(hub, channel, &frame, except);
        }
    }

    /// The checks of [`Shared::publish`]; returns the socket to exclude.
    pub fn publish_check(
        &self,
        hub: &Hub,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<Option<SocketId>, Error> {
        let app = &hub.app;
        if channels.is_empty() {
            return Err(Error::NoChannels);
        }
        if channels.len() > app.max_channels_per_event {
            return Err(Error::TooManyChannels {
                count: channels.len(),
                max: app.max_channels_per_event,
            });
        }
        for channel in channels {
            let t = names::validate_channel_name(channel, app.max_channel_name_length).map_err(
                |reason| Error::InvalidChannel {
                    channel: channel.clone(),
                    reason,
                },
            )?;
            if t.kind == ChannelKind::EncryptedPrivate && channels.len() > 1 {
                return Err(Error::EncryptedWithOthers);
            }
        }
        validate_event_name(event, app.max_event_name_length)?;
        if data.len() > app.max_event_data {
            return Err(Error::DataTooLarge {
                size: data.len(),
                max: app.max_event_data,
            });
        }
        match except {
            None => Ok(None),
            // A well-formed id we never issued excludes nobody.
            Some(s) if names::is_valid_socket_id(s) => Ok(SocketId::parse(s)),
            Some(s) => Err(Error::InvalidSocketId(s.to_string())),
        }
    }
}

fn validate_event_name(name: &str, max: usize) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "must not be empty"
    } else if name.len() > max {
        "too long"
    } else if name.starts_with("pusher:") || name.starts_with("pusher_internal:") {
        "names starting with pusher: are reserved for the protocol"
    } else {
        return Ok(());
    };
    Err(Error::InvalidEventName {
        name: name.chars().take(64).collect(),
        reason,
    })
}

/// An embeddable pushbus server: build it from a [`Config`], [`start`](Server::start) it
/// inside a tokio runtime, publish and query from any thread, and
/// [`shutdown`](Server::shutdown) it gracefully.
pub struct Server {
    shared: Arc<Shared>,
    running: Mutex<Option<Running>>,
}

struct Running {
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    /// Every task holds a sender; `recv` returning `None` means all are done.
    done: mpsc::Receiver<()>,
}

impl Server {
    /// Validates `config` and builds the server (nothing listens yet).
    pub fn new(config: Config) -> Result<Server, Error> {
        Server::with_fanout(config, Arc::new(LocalFanout))
    }

    /// Like [`Server::new`], with a custom fan-out (e.g. a cross-node adapter).
    pub fn with_fanout(config: Config, fanout: Arc<dyn Fanout>) -> Result<Server, Error> {
        config.validate()?;
        let (events, _) = broadcast::channel(config.event_buffer.max(1));
        let mut hubs_by_id = HashMap::new();
        let mut hubs_by_key = HashMap::new();
        for app in &config.apps {
            let hub = Arc::new(Hub::new(app.clone(), events.clone()));
            hubs_by_id.insert(app.id.clone(), hub.clone());
            hubs_by_key.insert(app.key.clone(), hub);
        }
        Ok(Server {
            shared: Arc::new(Shared {
                config,
                hubs_by_id,
                hubs_by_key,
                fanout,
                events,
                shutting_down: AtomicBool::new(false),
            }),
            running: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Binds the configured host and port (port 0 picks a free one) and starts serving
    /// in the current tokio runtime. Returns the bound address.
    pub async fn start(&self) -> Result<SocketAddr, Error> {
        let addr = format!("{}:{}", self.shared.config.host, self.shared.config.port);
        self.start_on(&addr).await
    }

    /// Binds `addr` (`host:port`) instead of the configured address.
    pub async fn start_on(&self, addr: &str) -> Result<SocketAddr, Error> {
        if self.lock_running().is_some() || self.shared.shutting_down.load(Ordering::Acquire) {
            return Err(Error::AlreadyStarted);
        }
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| Error::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel(1);
        let mut running = self.lock_running();
        if running.is_some() {
            return Err(Error::AlreadyStarted);
        }
        tokio::spawn(sweep_loop(self.shared.clone(), shutdown_rx.clone()));
        tokio::spawn(accept_loop(
            listener,
            self.shared.clone(),
            shutdown_rx,
            done_tx,
        ));
        *running = Some(Running {
            addr: bound,
            shutdown: shutdown_tx,
            done: done_rx,
        });
        Ok(bound)
    }

    fn lock_running(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The bound address while running.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.lock_running().as_ref().map(|r| r.addr)
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
        let hub = self.shared.hub_by_id(app_id)?;
        self.shared
            .publish(hub, channels, event, data, except_socket_id)
    }

    /// Occupied channels of an app whose names start with `prefix` ("" for all).
    pub fn channels(&self, app_id: &str, prefix: &str) -> Result<Vec<ChannelInfo>, Error> {
        Ok(self.shared.hub_by_id(app_id)?.channels(prefix))
    }

    /// One channel, occupied or not.
    pub fn channel(&self, app_id: &str, channel: &str) -> Result<ChannelInfo, Error> {
        let hub = self.shared.hub_by_id(app_id)?;
        validate_query_channel(hub, channel)?;
        Ok(hub.channel(channel))
    }

    /// Members of a presence channel, sorted by user id.
    pub fn members(&self, app_id: &str, channel: &str) -> Result<Vec<MemberInfo>, Error> {
        let hub = self.shared.hub_by_id(app_id)?;
        if validate_query_channel(hub, channel)? != ChannelKind::Presence {
            return Err(Error::NotPresenceChannel(channel.to_string()));
        }
        Ok(hub.members(channel))
    }

    /// Closes (4009, no auto-reconnect in pusher-js) every connection signed in as
    /// `user_id` or present under that id in a presence channel. Returns how many.
    pub fn terminate_user_connections(&self, app_id: &str, user_id: &str) -> Result<usize, Error> {
        Ok(self.shared.hub_by_id(app_id)?.terminate_user(user_id))
    }

    /// Live connections of an app.
    pub fn connection_count(&self, app_id: &str) -> Result<usize, Error> {
        Ok(self.shared.hub_by_id(app_id)?.connection_count())
    }

    /// A new receiver of lifecycle events, from now on. Bounded: a receiver that falls
    /// more than `event_buffer` events behind gets `Lagged(n)` and skips ahead.
    pub fn events(&self) -> EventReceiver {
        self.shared.events.subscribe()
    }

    /// Graceful shutdown: stop accepting, finish HTTP requests in flight, flush each
    /// WebSocket's queue and close it with 4200 (pusher-js reconnects at once, to
    /// another node or to this one restarted). Waits up to `shutdown_grace` seconds.
    pub async fn shutdown(&self) -> Result<(), Error> {
        let Some(mut running) = self.lock_running().take() else {
            return Err(Error::NotRunning);
        };
        self.shared.shutting_down.store(true, Ordering::Release);
        let _ = running.shutdown.send(true);
        for hub in self.shared.hubs_by_id.values() {
            hub.close_all(ErrorCode::Reconnect, "Server shutting down");
        }
        let grace = Duration::try_from_secs_f64(self.shared.config.shutdown_grace)
            .unwrap_or(Duration::from_secs(5));
        if tokio::time::timeout(grace, running.done.recv())
            .await
            .is_err()
        {
            log::warn!("shutdown: connections still open after {grace:?}, dropping them");
        }
        Ok(())
    }
}

fn validate_query_channel(hub: &Hub, channel: &str) -> Result<ChannelKind, Error> {
    names::validate_channel_name(channel, hub.app.max_channel_name_length)
        .map(|t| t.kind)
        .map_err(|reason| Error::InvalidChannel {
            channel: channel.to_string(),
            reason,
        })
}

/// How often connections are checked for silence and stuck writes. Fine enough for
/// the 1 s granularity of the ping settings; a pass over 20,000 connections costs
/// well under a millisecond.
const SWEEP_EVERY: Duration = Duration::from_millis(250);
/// A socket that takes no bytes for this long is closed (4100).
const WRITE_TIMEOUT_MS: u64 = 20_000;

async fn sweep_loop(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = tick.tick() => {
                let now = crate::outbox::now_ms();
                for hub in shared.hubs_by_id.values() {
                    hub.sweep(now, WRITE_TIMEOUT_MS);
                }
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve_http(stream, shared.clone(), shutdown.clone(), done.clone()));
                }
                Err(e) => {
                    // Usually out of file descriptors: back off instead of spinning,
                    // and keep serving the connections we have.
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
}

async fn serve_http(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let svc_done = done.clone();
    let svc_shared = shared.clone();
    let service = hyper::service::service_fn(move |req| {
        let shared = svc_shared.clone();
        let done = svc_done.clone();
        async move { Ok::<_, Infallible>(route(req, shared, done).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Also how long an idle keep-alive connection is kept (the client's pool lets
        // go of its connections after 25 s, before this).
        .header_read_timeout(Duration::from_secs(30))
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

pub(crate) type HttpResponse = Response<Full<Bytes>>;

async fn route(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    done: mpsc::Sender<()>,
) -> HttpResponse {
    let full_path = req.uri().path().to_string();
    let Some(path) = full_path.strip_prefix(shared.config.path.as_str()) else {
        return http_api::error_response(&Error::RouteNotFound);
    };
    if path == "/up" {
        return http_api::json_response(StatusCode::OK, r#"{"health":"OK"}"#.into());
    }
    if let Some(key) = path.strip_prefix("/app/") {
        let key = key.to_string();
        return upgrade(req, key, shared, done);
    }
    if path.starts_with("/apps/") {
        let path = path.to_string();
        return http_api::handle(req, &shared, &path).await;
    }
    http_api::error_response(&Error::RouteNotFound)
}

fn header_has(req: &Request<Incoming>, name: hyper::header::HeaderName, token: &str) -> bool {
    req.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// Answers a WebSocket upgrade on `/app/{key}` and hands the socket to its own task.
/// App checks happen after the upgrade because pusher-js only understands errors sent
/// over the socket.
fn upgrade(
    mut req: Request<Incoming>,
    app_key: String,
    shared: Arc<Shared>,
    done: mpsc::Sender<()>,
) -> HttpResponse {
    let key = req.headers().get("sec-websocket-key").cloned();
    let version_ok = req
        .headers()
        .get("sec-websocket-version")
        .is_some_and(|v| v.as_bytes() == b"13");
    let (Some(key), true, true, true) = (
        key,
        version_ok,
        header_has(&req, CONNECTION, "upgrade"),
        header_has(&req, UPGRADE, "websocket"),
    ) else {
        let mut resp = http_api::json_response(
            StatusCode::UPGRADE_REQUIRED,
            r#"{"error":"This endpoint only accepts WebSocket connections"}"#.into(),
        );
        resp.headers_mut()
            .insert(UPGRADE, HeaderValue::from_static("websocket"));
        return resp;
    };
    let protocol = req.uri().query().and_then(|q| {
        http_api::query_params(q)
            .into_iter()
            .find(|(k, _)| k == "protocol")
            .map(|(_, v)| v)
    });
    let origin = req
        .headers()
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_message = shared
        .hub_by_key(&app_key)
        .map_or(10_000, |h| h.app.max_message_size);
    // Small buffers: most frames are tiny, and buffer size × connections is the bulk of
    // idle memory. The write buffer still lets a burst of queued frames go out in one
    // syscall (see `connection::write_batch`).
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(512)
        .write_buffer_size(8192)
        .max_message_size(Some(max_message))
        .max_frame_size(Some(max_message));
    let on_upgrade = hyper::upgrade::on(&mut req);
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let ws = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(ws_config),
                )
                .await;
                let hs = Handshake {
                    app_key,
                    protocol,
                    origin,
                };
                // A task of its own, so that what the upgrade needed is freed now
                // rather than held for the connection's lifetime.
                tokio::spawn(connection::serve(ws, shared, hs, done));
            }
            Err(e) => log::debug!("upgrade failed: {e}"),
        }
    });
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(UPGRADE, HeaderValue::from_static("websocket"));
    if let Ok(v) = HeaderValue::from_str(&derive_accept_key(key.as_bytes())) {
        h.insert("sec-websocket-accept", v);
    }
    resp
}

impl Shared {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }
}
