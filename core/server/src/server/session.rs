//! One WebSocket session: handshake checks, the frames a client may send (ping,
//! subscribe, unsubscribe, signin, client events) and their checks, and the loop that
//! moves frames both ways. One task per connection does all of it, so its state needs
//! no locks.
//!
//! A join or leave may wait on the cluster backend. It runs as the session's one
//! operation in flight, polled beside the socket, so writes go on meanwhile; frames
//! read in the meantime wait their turn in a small queue, so a client's frames take
//! effect in the order it sent them. Leaving the app's state behind is the job of the
//! session's `Drop`, so it happens on every exit: a close, an error, a panic, a
//! cancelled task.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::Either;
use futures_util::{FutureExt, SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;
use tracing::Instrument;

use super::state::ServerState;
use crate::app::outbox::{Kill, Outbox};
use crate::auth;
use crate::metrics::ClosedBy;
use crate::protocol::identity::{PresenceMember, SignedInUser};
use crate::protocol::names::{self, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::protocol::{self, ErrorCode, SubscriptionErrorType};
use crate::service::{AppService, SubscribeError};

/// What the upgrade request said, checked once the socket is open (pusher-js only reads
/// errors sent over the socket).
pub(crate) struct Handshake {
    pub app_key: String,
    /// The `protocol` query parameter, if present.
    pub protocol: Option<String>,
    pub origin: Option<String>,
}

/// How long a closing connection may spend flushing and waiting for the client's close.
/// A client too slow for its queue (4100) needs this long to read what its socket
/// buffers hold before it can see the close; 2 s lost that close under load.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// How long, within [`CLOSE_GRACE`], a connection waits for the client to answer its
/// close frame once that frame is written. Shorter than the default shutdown grace, so
/// a client that never answers (a process blocked in `stop()` itself) does not hold
/// shutdown to its limit.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);

/// Held by every connection task; shutdown waits until all are dropped.
pub(crate) type TaskGuard = tokio::sync::mpsc::Sender<()>;

/// Checks the handshake and returns the connection's whole life as one future: either
/// the refusal (boxed: rare) or the session. A plain function rather than an `async fn`
/// so that the socket is moved into exactly one future, not also kept in a wrapper.
pub(crate) fn serve<S>(
    ws: WebSocketStream<S>,
    state: Arc<ServerState>,
    hs: Handshake,
    guard: TaskGuard,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Boxed = Pin<Box<dyn Future<Output = ()> + Send>>;
    let app = match check_handshake(&state, &hs) {
        Ok(app) => app,
        Err((code, message)) => {
            return Either::Left(Box::pin(refuse(ws, &state, code, message, guard)) as Boxed);
        }
    };
    if app.quota_is_cluster_wide() {
        // Rare (apps with a quota, in a cluster): the other nodes' count is a Redis read.
        return Either::Left(Box::pin(async move {
            if app.cluster_has_room().await {
                start(ws, state, app, guard).await
            } else {
                refuse(
                    ws,
                    &state,
                    ErrorCode::OverConnectionQuota,
                    OVER_QUOTA,
                    guard,
                )
                .await
            }
        }) as Boxed);
    }
    Either::Right(start(ws, state, app, guard))
}

const OVER_QUOTA: &str = "Application is over connection quota";

/// Admits the connection on this node and runs its session.
fn start<S>(
    ws: WebSocketStream<S>,
    state: Arc<ServerState>,
    app: Arc<AppService>,
    guard: TaskGuard,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let socket_id = SocketId::generate();
    let outbox = Outbox::new(socket_id, app.app.outbound_queue);
    if let Err(code) = app.connect(&outbox) {
        return Either::Left(Box::pin(refuse(ws, &state, code, OVER_QUOTA, guard)));
    }
    if let Some(m) = app.metrics() {
        m.connections.inc();
    }
    if state.is_shutting_down() {
        outbox.close(ErrorCode::Reconnect, "Server shutting down");
    }
    let session = Session {
        socket_id,
        outbox,
        subscriptions: HashMap::new(),
        user: None,
        client_events: TokenBucket::new(app.app.client_event_rate),
        app,
        op: None,
        _guard: guard,
    };
    session.outbox.send(protocol::connection_established(
        &session.socket_id.to_string(),
        session.app.app.activity_timeout,
    ));
    // Every line logged for this connection names it: through this span when debugging
    // (a span enabled at `info` would cost memory per connection in the subscriber);
    // a debug app's frame lines name it in their own fields.
    let (app_id, socket) = (&*session.app.app_id, session.socket_id);
    if session.app.app.debug {
        tracing::info!(target: "pushbus::frames", app = app_id, %socket, "connected");
    }
    let span = tracing::debug_span!("conn", app = app_id, %socket);
    Either::Right(session.run(ws).instrument(span))
}

fn check_handshake(
    state: &ServerState,
    hs: &Handshake,
) -> Result<Arc<AppService>, (ErrorCode, &'static str)> {
    let app = state
        .app_by_key(&hs.app_key)
        .ok_or((ErrorCode::AppNotFound, "Application does not exist"))?;
    if !app.app.enabled {
        return Err((ErrorCode::AppDisabled, "Application is disabled"));
    }
    // Absent means 7 (pusher-js always sends it); never reject for client/version.
    if let Some(p) = &hs.protocol {
        match p.parse::<u32>() {
            Ok(4..=7) => {}
            Ok(_) => {
                return Err((
                    ErrorCode::UnsupportedProtocol,
                    "Unsupported protocol version",
                ))
            }
            Err(_) => return Err((ErrorCode::InvalidVersion, "Invalid version string format")),
        }
    }
    if let Some(origin) = &hs.origin {
        if !origin_allowed(&app.app.allowed_origins, origin) {
            return Err((ErrorCode::Unauthorized, "Origin not allowed"));
        }
    }
    Ok(app.clone())
}

/// Compares the host of `origin` with the patterns (`*` matches any run of characters).
pub(crate) fn origin_allowed(patterns: &[String], origin: &str) -> bool {
    let without_scheme = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let host_port = without_scheme.split('/').next().unwrap_or("");
    let host = match host_port.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host_port,
    };
    let host = host.to_ascii_lowercase();
    patterns
        .iter()
        .any(|p| glob_match(p.trim().to_ascii_lowercase().as_bytes(), host.as_bytes()))
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => (0..=text.len()).any(|i| glob_match(rest, &text[i..])),
        Some((c, rest)) => text.first() == Some(c) && glob_match(rest, &text[1..]),
    }
}

/// Tells the client why it cannot stay (pusher:error, then close with the same code).
/// Counted in the metrics when the refusal is decided.
fn refuse<S>(
    ws: WebSocketStream<S>,
    state: &ServerState,
    code: ErrorCode,
    message: &'static str,
    guard: TaskGuard,
) -> impl Future<Output = ()> + Send
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    if let Some(m) = &state.metrics {
        m.refused(code);
    }
    send_refusal(ws, code, message, guard)
}

async fn send_refusal<S>(
    mut ws: WebSocketStream<S>,
    code: ErrorCode,
    message: &'static str,
    _guard: TaskGuard,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = timeout(CLOSE_GRACE, async {
        let _ = ws
            .send(Message::Text(protocol::error(Some(code), message)))
            .await;
        close_and_drain(&mut ws, CloseCode::from(code.code()), message).await;
    })
    .await;
}

/// The close frame, the client's answer if it gives one, then a graceful end.
async fn close_and_drain<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let frame = CloseFrame {
        code,
        reason: reason.to_string().into(),
    };
    if ws.close(Some(frame)).await.is_ok() {
        await_close_reply(ws).await;
    }
    linger(ws).await;
}

/// What the connection loop does after one wake-up.
enum Step {
    Continue,
    Flush,
    Write,
}

/// How a session ends.
enum End {
    /// The socket failed or the client went away without a close frame.
    Gone,
    /// The server closes (a `pusher:error` code).
    Kill(Kill),
    /// The client sent a close frame (with this code): answer it (tungstenite queued
    /// the answer).
    ClientClosed(Option<u16>),
    /// The client broke RFC 6455 or sent more than allowed: close with this code.
    Violation(CloseCode, &'static str),
}

/// A batch smaller than this waits for scheduler rounds (at most `COALESCE_ROUNDS`,
/// while it grows) before it is written.
const COALESCE_BELOW: usize = 256;
const COALESCE_ROUNDS: usize = 16;

/// Frames read while an operation is in flight, at most; past it the session stops
/// reading until the operation is done (TCP back-pressure on the client).
const MAX_DEFERRED: usize = 64;

/// A join or leave waiting for the app service (and its backend), with the frames
/// read meanwhile. Boxed in the session: an idle connection holds a null pointer.
struct Op {
    future: Pin<Box<dyn Future<Output = OpDone> + Send>>,
    /// The channel it is about, and the presence user there: if the session ends
    /// first, cleanup leaves it too (leaving is idempotent).
    channel: (Arc<str>, Option<Arc<str>>),
    /// Text frames read while it is in flight, handled in order after it.
    deferred: VecDeque<Utf8Bytes>,
}

enum OpDone {
    Subscribed {
        channel: Arc<str>,
        presence_user: Option<Arc<str>>,
        result: Result<bool, SubscribeError>,
    },
    Unsubscribed,
}

struct Session {
    socket_id: SocketId,
    outbox: Outbox,
    app: Arc<AppService>,
    /// Channel → this socket's presence user id there (None for other channels).
    subscriptions: HashMap<Arc<str>, Option<Arc<str>>>,
    user: Option<SignedInUser>,
    client_events: TokenBucket,
    /// The join or leave in flight, if any; polled by the loop beside the socket.
    op: Option<Box<Op>>,
    /// Keeps shutdown waiting until this connection is done.
    _guard: TaskGuard,
}

/// Resolves when the operation in flight is done; never, when there is none.
async fn op_done(op: &mut Option<Box<Op>>) -> OpDone {
    match op {
        Some(op) => (&mut op.future).await,
        None => std::future::pending().await,
    }
}

impl Session {
    /// Serves the connection until it ends. Liveness (pings, 4201, stuck writes) is
    /// checked by the app's sweep, not by a timer here: one timer per connection would
    /// cost memory and timer-wheel work.
    async fn run<S>(mut self, mut ws: WebSocketStream<S>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let outbox = self.outbox.clone();
        let metrics = self.app.metrics().cloned();
        let debug = self.app.app.debug;
        let (app_id, socket) = (self.app.app_id.clone(), self.socket_id);
        let mut batch = VecDeque::new();
        // When the oldest published frame of `batch` reached this node.
        let mut oldest = 0;
        // Nothing large (a tungstenite message or error) is held across an `.await`
        // here: the future's size is every idle connection's memory.
        let end = loop {
            let can_read = self
                .op
                .as_ref()
                .is_none_or(|op| op.deferred.len() < MAX_DEFERRED);
            // Not biased: a subscriber that receives frames without a pause must still
            // have its own frames (pongs, unsubscribes) read.
            let step = tokio::select! {
                kill = outbox.next(&mut batch, &mut oldest) => match kill {
                    Some(kill) => break End::Kill(kill),
                    None => Step::Write,
                },
                done = op_done(&mut self.op), if self.op.is_some() => {
                    let deferred = self.op.take().map(|op| op.deferred).unwrap_or_default();
                    self.apply(done);
                    self.run_deferred(deferred);
                    Step::Continue
                }
                msg = ws.next(), if can_read => {
                    outbox.touch();
                    match msg {
                        Some(Ok(Message::Text(text))) => {
                            if debug {
                                tracing::info!(target: "pushbus::frames", app = &*app_id, %socket, "<- {}", text.as_str());
                            }
                            if let Some(m) = &metrics {
                                m.messages_in.inc();
                                m.bytes_in.inc_by(text.len() as u64);
                            }
                            match &mut self.op {
                                Some(op) => op.deferred.push_back(text),
                                None => self.on_text(&text),
                            }
                            Step::Continue
                        }
                        // tungstenite queues the pong; flushing sends it.
                        Some(Ok(Message::Ping(_))) => Step::Flush,
                        // Binary frames are not part of the protocol; they only count
                        // as activity.
                        Some(Ok(Message::Binary(_) | Message::Pong(_) | Message::Frame(_))) => Step::Continue,
                        Some(Ok(Message::Close(frame))) => {
                            break End::ClientClosed(frame.map(|f| u16::from(f.code)))
                        }
                        Some(Err(WsError::Capacity(_))) => {
                            break End::Violation(CloseCode::Size, "Message too large")
                        }
                        Some(Err(WsError::Utf8(_))) => {
                            break End::Violation(CloseCode::Invalid, "Invalid UTF-8 in a text frame")
                        }
                        Some(Err(WsError::Protocol(e))) => {
                            tracing::debug!("protocol violation: {e}");
                            break End::Violation(CloseCode::Protocol, "WebSocket protocol violation")
                        }
                        Some(Err(_)) | None => break End::Gone,
                    }
                }
            };
            match step {
                Step::Continue => {}
                Step::Flush => {
                    if ws.flush().await.is_err() {
                        break End::Gone;
                    }
                }
                Step::Write => {
                    // A small batch lets the tasks queued before this one run first,
                    // for as long as they add to it: in a storm (a thousand members
                    // joining) one write then carries many frames instead of one. When
                    // nothing else is runnable each round returns at once.
                    for _ in 0..COALESCE_ROUNDS {
                        if batch.len() >= COALESCE_BELOW {
                            break;
                        }
                        let before = batch.len();
                        tokio::task::yield_now().await;
                        outbox.take_more(&mut batch, &mut oldest);
                        if batch.len() == before {
                            break;
                        }
                    }
                    if debug {
                        for frame in &batch {
                            tracing::info!(target: "pushbus::frames", app = &*app_id, %socket, "-> {}", frame.as_str());
                        }
                    }
                    outbox.set_writing(true);
                    let (frames, bytes) = match &metrics {
                        Some(_) => (batch.len(), batch.iter().map(|f| f.len()).sum()),
                        None => (0, 0),
                    };
                    let written = tokio::select! {
                        r = write_batch(&mut ws, &mut batch) => r.is_ok(),
                        // Closed while stuck writing (the sweep's write timeout,
                        // terminate, shutdown): stop writing and close.
                        kill = outbox.killed() => break End::Kill(kill),
                    };
                    outbox.set_writing(false);
                    if !written {
                        break End::Gone;
                    }
                    if let Some(m) = &metrics {
                        m.wrote(frames, bytes, oldest);
                    }
                    oldest = 0;
                    if batch.capacity() > 64 {
                        // Give back the memory of a burst.
                        batch = VecDeque::new();
                    }
                }
            }
        };
        let closed_by = match &end {
            End::Gone => ClosedBy::Network,
            End::Kill(kill) => ClosedBy::Server(kill.code.code()),
            End::ClientClosed(code) => ClosedBy::Client(*code),
            End::Violation(code, _) => ClosedBy::Server(u16::from(*code)),
        };
        // Boxed: the closing futures would otherwise be part of every idle session.
        match end {
            End::Gone => {}
            End::Kill(kill) => {
                let (frames, bytes) = Box::pin(finish(&mut ws, &outbox, kill, batch)).await;
                if let Some(m) = &metrics {
                    m.wrote(frames, bytes, 0);
                }
            }
            End::ClientClosed(_) => Box::pin(answer_close(&mut ws)).await,
            End::Violation(code, reason) => Box::pin(close_with(&mut ws, code, reason)).await,
        }
        if debug {
            tracing::info!(target: "pushbus::frames", app = &*app_id, %socket, "closed: {closed_by}");
        }
        if let Some(m) = &metrics {
            m.dropped_frames.inc_by(outbox.take_dropped());
            m.closed(closed_by);
        }
        // `Drop` leaves the app's state.
    }

    /// Starts an operation; applies it at once when it is ready without waiting (the
    /// single-node backend always is), otherwise the loop polls it.
    fn start(
        &mut self,
        channel: (Arc<str>, Option<Arc<str>>),
        future: impl Future<Output = OpDone> + Send + 'static,
    ) {
        let mut future: Pin<Box<dyn Future<Output = OpDone> + Send>> = Box::pin(future);
        match (&mut future).now_or_never() {
            Some(done) => self.apply(done),
            None => {
                self.op = Some(Box::new(Op {
                    future,
                    channel,
                    deferred: VecDeque::new(),
                }))
            }
        }
    }

    fn apply(&mut self, done: OpDone) {
        match done {
            OpDone::Subscribed {
                channel,
                presence_user,
                result,
            } => match result {
                Ok(_) => {
                    self.subscriptions.entry(channel).or_insert(presence_user);
                }
                Err(SubscribeError::MemberLimit) => {
                    let msg = format!(
                        "Presence channel member limit reached ({} members)",
                        self.app.app.max_presence_members
                    );
                    self.subscription_error(
                        &channel,
                        SubscriptionErrorType::LimitReached,
                        &msg,
                        4100,
                    );
                }
                Err(SubscribeError::Unavailable(e)) => {
                    let msg = format!("Subscription not possible now, try again: {}", e.0);
                    self.subscription_error(
                        &channel,
                        SubscriptionErrorType::ServerError,
                        &msg,
                        503,
                    );
                }
            },
            OpDone::Unsubscribed => {}
        }
    }

    /// Handles the frames that waited for an operation; when one starts another, the
    /// rest wait for that one.
    fn run_deferred(&mut self, mut frames: VecDeque<Utf8Bytes>) {
        while let Some(text) = frames.pop_front() {
            self.on_text(&text);
            if let Some(op) = &mut self.op {
                op.deferred = frames;
                return;
            }
        }
    }

    fn on_text(&mut self, text: &str) {
        let Ok(frame) = protocol::parse_client_frame(text) else {
            self.error(ErrorCode::Reconnect, "Invalid message format");
            return;
        };
        match frame.event.as_str() {
            "pusher:ping" => self.outbox.send(protocol::pong()),
            "pusher:pong" => {}
            "pusher:subscribe" => self.subscribe(&frame),
            "pusher:unsubscribe" => self.unsubscribe(&frame),
            "pusher:signin" => self.signin(&frame),
            "pushbus:enable" => self.enable(&frame),
            #[cfg(test)]
            "pushbus:test-panic" => panic!("test hook: a session panics"),
            e if e.starts_with("client-") => self.client_event(frame),
            // Unknown pusher: events are ignored for forward compatibility, and events
            // that are neither are not ours to handle.
            _ => {}
        }
    }

    /// A non-fatal `pusher:error`; the connection stays open.
    fn error(&self, code: ErrorCode, message: &str) {
        self.app
            .show_refusal(&self.socket_id, None, "pusher:error", message);
        self.outbox.send(protocol::error(Some(code), message));
    }

    fn subscription_error(
        &self,
        channel: &str,
        kind: SubscriptionErrorType,
        message: &str,
        status: u16,
    ) {
        self.app.show_refusal(
            &self.socket_id,
            Some(channel),
            "pusher:subscription_error",
            message,
        );
        self.outbox
            .send(protocol::subscription_error(channel, kind, message, status));
    }

    fn subscribe(&mut self, frame: &protocol::ClientFrame) {
        let data = frame.data_object().unwrap_or_default();
        let Some(channel) = data.get("channel").and_then(Value::as_str) else {
            self.error(
                ErrorCode::Reconnect,
                "Invalid message format: subscribe needs a channel",
            );
            return;
        };
        let app = &self.app.app;
        let kind = match names::validate_channel_name(channel, app.max_channel_name_length) {
            Ok(t) => t.kind,
            Err(e) => {
                let msg = format!("Invalid channel name: {e}");
                self.subscription_error(channel, SubscriptionErrorType::InvalidChannel, &msg, 4009);
                return;
            }
        };
        if !self.subscriptions.contains_key(channel)
            && self.subscriptions.len() >= app.max_subscriptions_per_connection
        {
            let msg = format!(
                "Subscription limit reached: at most {} channels per connection",
                app.max_subscriptions_per_connection
            );
            self.subscription_error(channel, SubscriptionErrorType::LimitReached, &msg, 4100);
            return;
        }
        let auth = data.get("auth").and_then(Value::as_str).unwrap_or("");
        let member = match kind {
            ChannelKind::Public => None,
            ChannelKind::Private | ChannelKind::EncryptedPrivate => {
                if !auth::verify_channel_auth(
                    &app.key,
                    &app.secret,
                    &self.socket_id.to_string(),
                    channel,
                    None,
                    auth,
                ) {
                    self.auth_error(channel, None, auth);
                    return;
                }
                None
            }
            ChannelKind::Presence => match self.presence_member(channel, &data, auth) {
                Ok(m) => Some(m),
                Err((kind, msg, status)) => {
                    self.subscription_error(channel, kind, &msg, status);
                    return;
                }
            },
            ChannelKind::User => {
                let signed_in_as = self.user.as_ref().map(|u| &*u.id);
                if signed_in_as.is_none() || names::user_channel_id(channel) != signed_in_as {
                    self.subscription_error(
                        channel,
                        SubscriptionErrorType::AuthError,
                        "Only a connection signed in as this user may subscribe to its user channel",
                        401,
                    );
                    return;
                }
                None
            }
        };
        let channel: Arc<str> = match self.subscriptions.get_key_value(channel) {
            Some((name, _)) => name.clone(),
            None => channel.into(),
        };
        let presence_user = member.as_ref().map(|m| m.user_id.clone());
        // pushbus's recovery: where the client's last connection left the channel.
        let since = data.get("pushbus_since").and_then(|v| {
            Some((
                v.get("epoch")?.as_str()?.to_string(),
                v.get("serial")?.as_u64()?,
            ))
        });
        let (app, outbox) = (self.app.clone(), self.outbox.clone());
        let name = channel.clone();
        self.start((channel, presence_user.clone()), async move {
            let resume = since.as_ref().map(|(e, s)| (e.as_str(), *s));
            let result = app
                .subscribe_from(&outbox, &name, member.as_ref(), resume)
                .await;
            OpDone::Subscribed {
                channel: name,
                presence_user,
                result,
            }
        });
    }

    fn auth_error(&self, channel: &str, channel_data: Option<&str>, got: &str) {
        let expected =
            auth::channel_string_to_sign(&self.socket_id.to_string(), channel, channel_data);
        let msg = format!(
            "Invalid signature: expected HMAC SHA256 hex digest of {expected:?}, but got {got:?}"
        );
        self.subscription_error(channel, SubscriptionErrorType::AuthError, &msg, 401);
    }

    /// Verifies a presence subscription and works out who the member is: from
    /// `channel_data`, or from the sign-in when there is none (pusher-js allows that).
    fn presence_member(
        &self,
        channel: &str,
        data: &serde_json::Map<String, Value>,
        auth: &str,
    ) -> Result<PresenceMember, (SubscriptionErrorType, String, u16)> {
        let app = &self.app.app;
        let auth_err = |msg: String| (SubscriptionErrorType::AuthError, msg, 401);
        let channel_data = match data.get("channel_data") {
            Some(Value::String(s)) => Some(s.as_str()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(auth_err("channel_data must be a JSON string".into())),
        };
        if !auth::verify_channel_auth(
            &app.key,
            &app.secret,
            &self.socket_id.to_string(),
            channel,
            channel_data,
            auth,
        ) {
            let expected =
                auth::channel_string_to_sign(&self.socket_id.to_string(), channel, channel_data);
            return Err(auth_err(format!(
                "Invalid signature: expected HMAC SHA256 hex digest of {expected:?}, but got {auth:?}"
            )));
        }
        let member = match channel_data {
            Some(cd) => PresenceMember::from_channel_data(cd).map_err(auth_err)?,
            None => match &self.user {
                Some(u) => PresenceMember {
                    user_id: u.id.clone(),
                    user_info: u.info.clone(),
                },
                None => {
                    return Err(auth_err(
                        "Presence channels need channel_data or a signed-in connection".into(),
                    ))
                }
            },
        };
        if let Some(info) = &member.user_info {
            if info.get().len() > app.max_user_info_size {
                return Err((
                    SubscriptionErrorType::LimitReached,
                    format!(
                        "user_info too large: {} bytes (at most {})",
                        info.get().len(),
                        app.max_user_info_size
                    ),
                    4301,
                ));
            }
        }
        Ok(member)
    }

    fn unsubscribe(&mut self, frame: &protocol::ClientFrame) {
        let data = frame.data_object().unwrap_or_default();
        let Some(channel) = data.get("channel").and_then(Value::as_str) else {
            return;
        };
        let Some((channel, presence_user)) = self.subscriptions.remove_entry(channel) else {
            return;
        };
        let (app, socket) = (self.app.clone(), self.socket_id);
        let (name, user) = (channel.clone(), presence_user.clone());
        self.start((channel, presence_user), async move {
            app.unsubscribe(socket, &name, user.as_deref()).await;
            OpDone::Unsubscribed
        });
    }

    fn signin(&mut self, frame: &protocol::ClientFrame) {
        let app = &self.app.app;
        if !app.user_authentication {
            self.outbox.close(
                ErrorCode::Unauthorized,
                "User authentication is disabled for this app",
            );
            return;
        }
        let data = frame.data_object().unwrap_or_default();
        let auth = data.get("auth").and_then(Value::as_str).unwrap_or("");
        let Some(user_data) = data.get("user_data").and_then(Value::as_str) else {
            self.outbox
                .close(ErrorCode::Unauthorized, "Sign-in needs user_data");
            return;
        };
        if !auth::verify_user_auth(
            &app.key,
            &app.secret,
            &self.socket_id.to_string(),
            user_data,
            auth,
        ) {
            self.outbox
                .close(ErrorCode::Unauthorized, "Invalid sign-in signature");
            return;
        }
        let user = match SignedInUser::from_user_data(user_data) {
            Ok(user) => user,
            Err(why) => {
                self.outbox.close(ErrorCode::Unauthorized, why);
                return;
            }
        };
        if let Some(current) = &self.user {
            if current.id != user.id {
                self.outbox
                    .close(ErrorCode::Unauthorized, "Already signed in as another user");
                return;
            }
        }
        self.outbox.send(protocol::signin_success(user_data));
        if self.user.is_some() {
            // Signed in again as the same user: answered again, nothing else changes.
            return;
        }
        if user.watchlist_truncated {
            self.error(
                ErrorCode::WatchlistLimit,
                "Watchlist limit exceeded. Only the first 100 user IDs are accepted.",
            );
        }
        self.app.sign_in(&self.outbox, &user);
        self.user = Some(user);
    }

    /// pushbus's opt-in features (see [`protocol::features`]): enabled as asked,
    /// answered with all the connection has.
    fn enable(&mut self, frame: &protocol::ClientFrame) {
        let data = frame.data_object().unwrap_or_default();
        let asked = data
            .get("features")
            .and_then(Value::as_array)
            .map(|names| protocol::features::parse(names.iter().filter_map(Value::as_str)))
            .unwrap_or(0);
        let all = self.outbox.enable(asked);
        self.outbox
            .send(protocol::features_enabled(&protocol::features::names(all)));
    }

    fn client_event(&mut self, frame: protocol::ClientFrame) {
        let app = &self.app.app;
        if !app.client_events {
            self.error(
                ErrorCode::ClientEventRejected,
                "Client events are disabled for this app",
            );
            return;
        }
        let Some(channel) = frame.channel.as_deref() else {
            self.error(
                ErrorCode::ClientEventRejected,
                "Client event rejected: no channel given",
            );
            return;
        };
        let kind = names::channel_type(channel).kind;
        let allowed = match kind {
            ChannelKind::Private | ChannelKind::Presence | ChannelKind::EncryptedPrivate => true,
            ChannelKind::Public => app.client_events_on_public,
            ChannelKind::User => false,
        };
        if !allowed {
            self.error(
                ErrorCode::ClientEventRejected,
                "Client event rejected: only private and presence channels accept client events",
            );
            return;
        }
        let Some((name, presence_user)) = self.subscriptions.get_key_value(channel) else {
            let msg = format!("Client event rejected: not subscribed to channel {channel:?}");
            self.error(ErrorCode::Unauthorized, &msg);
            return;
        };
        if frame.event.len() > app.max_event_name_length {
            self.error(
                ErrorCode::ClientEventRejected,
                "Client event rejected: event name too long",
            );
            return;
        }
        let data = frame.data_string();
        if data.len() > app.max_event_data {
            let msg = format!(
                "Client event rejected: data too large ({} bytes, at most {})",
                data.len(),
                app.max_event_data
            );
            self.error(ErrorCode::ClientEventRejected, &msg);
            return;
        }
        let (name, presence_user) = (name.clone(), presence_user.clone());
        if !self.client_events.take() {
            if let Some(m) = self.app.metrics() {
                m.rate_limited.inc();
            }
            self.error(
                ErrorCode::ClientEventRejected,
                "Client event rejected due to rate limit",
            );
            return;
        }
        if let Some(m) = self.app.metrics() {
            m.client_events.inc();
        }
        self.app
            .client_event(self.socket_id, &name, frame.event, data, presence_user);
    }
}

impl Drop for Session {
    /// Leaves every channel, the sign-in and the connection count behind: on a close,
    /// an error, a panic in the session, or its task being cancelled alike.
    fn drop(&mut self) {
        self.outbox.detach();
        let mut subscriptions: Vec<_> = self.subscriptions.drain().collect();
        if let Some(op) = self.op.take() {
            subscriptions.push(op.channel);
        }
        let signed_in_as = self.user.take();
        let (app, socket) = (self.app.clone(), self.socket_id);
        // Shutdown waits for the cleanup too: its lifecycle events come before `stop`
        // returns.
        let guard = self._guard.clone();
        let cleanup = async move {
            app.disconnect(socket, subscriptions, signed_in_as).await;
            drop(guard);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(cleanup);
            }
            Err(_) => {
                // No runtime (it is being torn down): what needs no waiting is done now.
                if cleanup.now_or_never().is_none() {
                    tracing::warn!(
                        "connection {socket}: cleanup left unfinished without a runtime"
                    );
                }
            }
        }
    }
}

/// Writes queued frames and flushes once: one syscall for a burst, not one per frame.
async fn write_batch<S>(
    ws: &mut WebSocketStream<S>,
    batch: &mut VecDeque<Utf8Bytes>,
) -> Result<(), WsError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // Taken off the batch once the sink took it: cancelled (a close while writing),
    // the batch still holds every frame not written, for `finish`.
    while let Some(frame) = batch.front() {
        ws.feed(Message::Text(frame.clone())).await?;
        batch.pop_front();
    }
    ws.flush().await
}

/// Closes on the server's initiative: flush what is queued (except for a client too
/// slow to take it), then `pusher:error` and the close frame with the same code.
/// Returns the frames and bytes written, for the metrics.
async fn finish<S>(
    ws: &mut WebSocketStream<S>,
    outbox: &Outbox,
    kill: Kill,
    unwritten: VecDeque<Utf8Bytes>,
) -> (usize, usize)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut written = (0, 0);
    let _ = timeout(CLOSE_GRACE, async {
        if kill.code == ErrorCode::OverCapacity {
            // Too slow to take them: they would only delay the close.
            outbox.drop_queued();
        } else {
            // What the write the close interrupted had not sent yet comes first.
            let mut queued = unwritten;
            queued.append(&mut outbox.take_all());
            let count = (queued.len(), queued.iter().map(|f| f.len()).sum::<usize>());
            if write_batch(ws, &mut queued).await.is_err() {
                return;
            }
            written = count;
        }
        let error = protocol::error(Some(kill.code), &kill.message);
        let length = error.len();
        if ws.send(Message::Text(error)).await.is_err() {
            return;
        }
        written = (written.0 + 1, written.1 + length);
        close_and_drain(ws, CloseCode::from(kill.code.code()), &kill.message).await;
    })
    .await;
    written
}

/// Closes with a WebSocket close code (a protocol violation, a message too large).
async fn close_with<S>(ws: &mut WebSocketStream<S>, code: CloseCode, reason: &'static str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = timeout(CLOSE_GRACE, close_and_drain(ws, code, reason)).await;
}

/// Answers the client's close frame (RFC 6455 §5.5.1: tungstenite queued the answer,
/// with the client's code, or 1002 for a code that is not allowed), then ends.
async fn answer_close<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = timeout(CLOSE_GRACE, async {
        if ws.flush().await.is_ok() {
            linger(ws).await;
        }
    })
    .await;
}

/// Reads until the client answers a close frame we sent (or gives up), so that the
/// TCP close is clean.
async fn await_close_reply<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let _ = timeout(CLOSE_REPLY_WAIT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// Input read and discarded after the close, at most (see [`linger`]).
const LINGER_BYTES: usize = 1 << 20;

/// Ends the TCP connection so that what was written last (a close frame) arrives.
/// Closing a socket whose input was not all read makes the kernel send a reset, which
/// discards what the client had not read yet: a client still sending (an oversized
/// message) would never see its 1009. So: shut down the write side, then read and
/// discard until the client closes too, for at most [`CLOSE_REPLY_WAIT`] and
/// [`LINGER_BYTES`].
async fn linger<S>(ws: &mut WebSocketStream<S>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let stream = ws.get_mut();
    let _ = timeout(CLOSE_REPLY_WAIT, async {
        if stream.shutdown().await.is_err() {
            return;
        }
        let mut buf = [0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    })
    .await;
}

/// Per-connection client-event rate limit: `rate` events per second, bursts up to
/// `rate`.
struct TokenBucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: u32) -> TokenBucket {
        TokenBucket {
            rate: f64::from(rate),
            tokens: f64::from(rate),
            last: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.last).as_secs_f64() * self.rate;
        self.tokens = (self.tokens + refill).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(origin_allowed(&p(&["*"]), "http://anything.test"));
        assert!(origin_allowed(&p(&["portal.test"]), "https://portal.test"));
        assert!(origin_allowed(
            &p(&["portal.test"]),
            "http://portal.test:8000"
        ));
        assert!(origin_allowed(
            &p(&["*.portal.test"]),
            "https://app.portal.test"
        ));
        assert!(!origin_allowed(
            &p(&["*.portal.test"]),
            "https://portal.test.evil"
        ));
        assert!(!origin_allowed(&p(&["portal.test"]), "http://evil.test"));
        assert!(!origin_allowed(&p(&[]), "http://portal.test"));
    }

    #[test]
    fn token_bucket_allows_rate_then_refuses() {
        let mut b = TokenBucket::new(10);
        assert_eq!((0..20).filter(|_| b.take()).count(), 10);
    }
}
