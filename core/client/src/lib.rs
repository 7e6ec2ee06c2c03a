//! A client of the Pusher HTTP API, for pushbus or any Pusher-compatible server: trigger
//! events, batches, user events, channel queries, connection termination and (pushbus's
//! own) user status: who is online, and their location; the delivery log and channel
//! histories.
//!
//! It keeps its connections open between requests (HTTP keep-alive, one pool per
//! `Client`), which is what makes a broadcast from PHP or Node cheap: no new TCP (or TLS)
//! handshake per event. Requests are signed exactly as the official SDKs sign them.

#[cfg(unix)]
pub mod pipeline;

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};

use pushbus::auth;
use pushbus::names::{self, ChannelKind};

/// Where the server is and who we are to it.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    pub host: String,
    pub port: u16,
    /// `https` instead of `http`; server certificates are checked against the system's
    /// roots (or Mozilla's, when the system has none).
    pub tls: bool,
    pub app_id: String,
    pub key: String,
    pub secret: String,
    /// For each whole request, connecting included.
    pub timeout: Duration,
    /// Needed to publish to `private-encrypted-` channels: events are encrypted here,
    /// the server never sees their content.
    pub encryption_master_key: Option<[u8; 32]>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            host: "127.0.0.1".into(),
            port: 8080,
            tls: false,
            app_id: String::new(),
            key: String::new(),
            secret: String::new(),
            timeout: Duration::from_secs(5),
            encryption_master_key: None,
        }
    }
}

/// One event of a batch. Batch items name a single channel, as in the Pusher API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchEvent {
    pub channel: String,
    pub name: String,
    pub data: String,
    pub socket_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// The call was refused before anything was sent (bad channel name, option, …).
    InvalidArgument(String),
    /// No connection could be made, or it broke mid-request.
    Connect(String),
    Timeout,
    /// The server answered with a status other than 200.
    Status {
        status: u16,
        body: String,
    },
    /// A 200 whose body is not JSON.
    InvalidResponse(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::InvalidArgument(m) => write!(f, "invalid argument: {m}"),
            ClientError::Connect(m) => write!(f, "connection failed: {m}"),
            ClientError::Timeout => f.write_str("request timed out"),
            ClientError::Status { status, body } => write!(f, "server answered {status}: {body}"),
            ClientError::InvalidResponse(m) => write!(f, "invalid response: {m}"),
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// The code of this error in the bindings.
    pub fn code(&self) -> pushbus::error::Code {
        use pushbus::error::Code;
        match self {
            ClientError::InvalidArgument(_) => Code::InvalidArgument,
            ClientError::Connect(_) => Code::Connect,
            ClientError::Timeout => Code::Timeout,
            ClientError::Status { .. } => Code::HttpStatus,
            ClientError::InvalidResponse(_) => Code::InvalidResponse,
        }
    }
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// One call of the HTTP API, its arguments checked, ready to be signed and sent by
/// either transport: [`Client::execute`] (async, on a tokio runtime; http or https) or
/// [`crate::pipeline::Pipeline`] (on the caller's thread; plain http). Made by the
/// `*_request` methods of [`Client`]; signed when sent, with the time then.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    method: &'static str,
    /// The path after `/apps/{app_id}/`.
    route: String,
    /// Query parameters besides the signature's.
    params: Vec<(String, String)>,
    /// The JSON body, serialized (empty for a GET).
    body: String,
}

impl ApiRequest {
    fn get(route: String, params: Vec<(String, String)>) -> ApiRequest {
        ApiRequest {
            method: "GET",
            route,
            params,
            body: String::new(),
        }
    }

    fn post(route: String, body: String) -> ApiRequest {
        ApiRequest {
            method: "POST",
            route,
            params: Vec::new(),
            body,
        }
    }
}

/// An event as the HTTP API takes it: in a trigger (`channels`) or a batch (`channel`).
#[derive(serde::Serialize)]
struct EventBody<'a> {
    name: &'a str,
    data: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<&'a [String]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    socket_id: Option<&'a str>,
}

/// Cheap to clone: clones share the connection pool.
#[derive(Clone)]
pub struct Client {
    options: ClientOptions,
    http: HttpClient<Connector, Full<Bytes>>,
    /// `host:port`, an IPv6 address in brackets.
    authority: String,
}

/// What the SDKs leave unescaped in query values; everything else is percent-encoded
/// (the server decodes before checking the signature).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl Client {
    /// Checks the options and builds the client; no I/O happens until the first request.
    pub fn new(options: ClientOptions) -> Result<Client, ClientError> {
        let invalid = |m: &str| Err(ClientError::InvalidArgument(m.into()));
        if options.host.is_empty() || options.host.contains(['/', ' ', '?', '#']) {
            return invalid("host must be a host name or address");
        }
        if options.app_id.is_empty() || options.key.is_empty() || options.secret.is_empty() {
            return invalid("app_id, key and secret are required");
        }
        if options.app_id.contains(['/', '?', '#', ' ']) {
            return invalid("app_id must not contain '/', '?', '#' or spaces");
        }
        if options.timeout.is_zero() {
            return invalid("timeout must be positive");
        }
        // Small requests on a kept-alive connection: without TCP_NODELAY, Nagle plus
        // delayed ACKs can stall each one by tens of milliseconds.
        let mut tcp = HttpConnector::new();
        tcp.set_nodelay(true);
        tcp.enforce_http(false);
        tcp.set_connect_timeout(Some(options.timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config())
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http = HttpClient::builder(TokioExecutor::new())
            // Below the 30 s after which `pushbus serve` closes an idle keep-alive
            // connection, so a request never races the server's close.
            .pool_idle_timeout(Duration::from_secs(25))
            .build(connector);
        let host = if options.host.contains(':') && !options.host.starts_with('[') {
            format!("[{}]", options.host) // a bare IPv6 address
        } else {
            options.host.clone()
        };
        let authority = format!("{host}:{}", options.port);
        Ok(Client {
            options,
            http,
            authority,
        })
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    fn scheme(&self) -> &'static str {
        if self.options.tls {
            "https"
        } else {
            "http"
        }
    }

    /// Triggers `event` on `channels` (1 to 100), excluding `socket_id` if given. `data`
    /// is sent as the event's data string, verbatim.
    pub async fn trigger(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        socket_id: Option<&str>,
    ) -> Result<(), ClientError> {
        let request = self.trigger_request(channels, event, data, socket_id)?;
        self.execute(&request).await.map(drop)
    }

    /// Triggers several events in one request (the server's batch limit applies; 10 on
    /// Pusher).
    pub async fn trigger_batch(&self, events: &[BatchEvent]) -> Result<(), ClientError> {
        let request = self.batch_request(events)?;
        self.execute(&request).await.map(drop)
    }

    /// Sends `event` to every connection signed in as `user_id`.
    pub async fn send_to_user(
        &self,
        user_id: &str,
        event: &str,
        data: &str,
    ) -> Result<(), ClientError> {
        let request = self.user_event_request(user_id, event, data)?;
        self.execute(&request).await.map(drop)
    }

    /// `GET /channels`: occupied channels, optionally filtered by prefix; `info` may be
    /// `user_count` (with a `presence-` prefix).
    pub async fn channels(
        &self,
        filter_by_prefix: Option<&str>,
        info: Option<&str>,
    ) -> Result<Value, ClientError> {
        self.execute(&self.channels_request(filter_by_prefix, info))
            .await
    }

    /// `GET /channels/{name}`; `info` is a comma list of `user_count`,
    /// `subscription_count`, `cache`.
    pub async fn channel(&self, name: &str, info: Option<&str>) -> Result<Value, ClientError> {
        self.execute(&self.channel_request(name, info)?).await
    }

    /// `GET /channels/{name}/users` of a presence channel.
    pub async fn users(&self, channel: &str) -> Result<Value, ClientError> {
        self.execute(&self.users_request(channel)?).await
    }

    /// Closes every connection of `user_id`.
    pub async fn terminate_user_connections(&self, user_id: &str) -> Result<(), ClientError> {
        let request = self.terminate_request(user_id)?;
        self.execute(&request).await.map(drop)
    }

    /// `GET /users/{user_id}` (pushbus): the user's status, `{"id", "online",
    /// "connections", "channels"}` plus `last_seen` (ms) while offline and `location`,
    /// `info` while online.
    pub async fn user_status(&self, user_id: &str) -> Result<Value, ClientError> {
        self.execute(&self.user_status_request(user_id)?).await
    }

    /// `GET /users` (pushbus): a page of the app's online users, sorted by id, after
    /// `after` (`None`: from the first), at most `limit` (1 to 1000; `None`: the
    /// server's default, 100): `{"users": [...], "next": ...}`, `next` absent on the
    /// last page.
    pub async fn online_users(
        &self,
        after: Option<&str>,
        limit: Option<usize>,
    ) -> Result<Value, ClientError> {
        self.execute(&self.online_users_request(after, limit)).await
    }

    /// `GET /delivery_log` (pushbus): the newest records of the app's delivery log,
    /// newest first, at most `limit` (`None`: the server's default, 100), as
    /// `{"events": [{"id", "time", "channel", "event", "size", "digest" or "data",
    /// "delivered", "nodes", "except", "source"}, ...]}`.
    pub async fn delivery_log(&self, limit: Option<usize>) -> Result<Value, ClientError> {
        self.execute(&self.delivery_log_request(limit)).await
    }

    /// `GET /channels/{channel}/events` (pushbus): a history channel's kept events
    /// after serial `since` (`None`: from the first kept), at most `limit` (1 to 1000;
    /// `None`: the server's default, 100), oldest first, as `{"channel", "epoch",
    /// "serial", "events": [{"serial", "time", "event", "data"}, ...]}` (`epoch` absent
    /// while the channel has none yet). A channel no history rule names is refused
    /// (400).
    pub async fn history(
        &self,
        channel: &str,
        since: Option<u64>,
        limit: Option<usize>,
    ) -> Result<Value, ClientError> {
        self.execute(&self.history_request(channel, since, limit)?)
            .await
    }

    /// `POST /users/{user_id}/location` (pushbus): sets (`None`: clears) an online
    /// user's location; the answer `{"online": bool}` says whether they were online
    /// (an offline user's location is not kept).
    pub async fn set_user_location(
        &self,
        user_id: &str,
        location: Option<&str>,
    ) -> Result<Value, ClientError> {
        self.execute(&self.user_location_request(user_id, location)?)
            .await
    }

    /// What `trigger` sends. The arguments are checked here (`InvalidArgument`), at
    /// once, so a caller that queues its triggers learns of a bad one immediately;
    /// events of encrypted channels are encrypted here.
    pub fn trigger_request(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        socket_id: Option<&str>,
    ) -> Result<ApiRequest, ClientError> {
        let data = self.checked_data(channels, event, data, socket_id)?;
        let body = EventBody {
            name: event,
            data: &data,
            channels: Some(channels),
            channel: None,
            socket_id,
        };
        let body = serde_json::to_string(&body).expect("JSON of strings");
        Ok(ApiRequest::post("events".into(), body))
    }

    /// What `trigger_batch` sends.
    pub fn batch_request(&self, events: &[BatchEvent]) -> Result<ApiRequest, ClientError> {
        if events.is_empty() {
            return Err(ClientError::InvalidArgument("empty batch".into()));
        }
        let data = events
            .iter()
            .map(|e| {
                let channels = std::slice::from_ref(&e.channel);
                self.checked_data(channels, &e.name, &e.data, e.socket_id.as_deref())
            })
            .collect::<Result<Vec<_>, ClientError>>()?;
        // Batch items name their channel in the singular `channel`.
        let batch: Vec<EventBody> = events
            .iter()
            .zip(&data)
            .map(|(e, data)| EventBody {
                name: &e.name,
                data,
                channels: None,
                channel: Some(&e.channel),
                socket_id: e.socket_id.as_deref(),
            })
            .collect();
        let body = serde_json::to_string(&json!({ "batch": batch })).expect("JSON of strings");
        Ok(ApiRequest::post("batch_events".into(), body))
    }

    /// What `send_to_user` sends: a trigger on the user's `#server-to-user-` channel.
    pub fn user_event_request(
        &self,
        user_id: &str,
        event: &str,
        data: &str,
    ) -> Result<ApiRequest, ClientError> {
        self.trigger_request(&[names::user_channel_name(user_id)], event, data, None)
    }

    /// What `channels` asks.
    pub fn channels_request(
        &self,
        filter_by_prefix: Option<&str>,
        info: Option<&str>,
    ) -> ApiRequest {
        let mut params = Vec::new();
        if let Some(p) = filter_by_prefix {
            params.push(("filter_by_prefix".to_string(), p.to_string()));
        }
        if let Some(i) = info {
            params.push(("info".to_string(), i.to_string()));
        }
        ApiRequest::get("channels".into(), params)
    }

    /// What `channel` asks.
    pub fn channel_request(
        &self,
        name: &str,
        info: Option<&str>,
    ) -> Result<ApiRequest, ClientError> {
        check_channel(name)?;
        let params: Vec<(String, String)> = info
            .map(|i| vec![("info".to_string(), i.to_string())])
            .unwrap_or_default();
        Ok(ApiRequest::get(
            format!("channels/{}", segment(name)),
            params,
        ))
    }

    /// What `users` asks.
    pub fn users_request(&self, channel: &str) -> Result<ApiRequest, ClientError> {
        check_channel(channel)?;
        Ok(ApiRequest::get(
            format!("channels/{}/users", segment(channel)),
            Vec::new(),
        ))
    }

    /// What `terminate_user_connections` sends.
    pub fn terminate_request(&self, user_id: &str) -> Result<ApiRequest, ClientError> {
        if user_id.is_empty() || !user_id.bytes().all(names::is_valid_channel_char) {
            return Err(ClientError::InvalidArgument(format!(
                "invalid user id {user_id:?}"
            )));
        }
        let route = format!("users/{}/terminate_connections", segment(user_id));
        Ok(ApiRequest::post(route, "{}".into()))
    }

    /// What `user_status` asks. The user id is percent-encoded into the path: any
    /// non-empty id is sent as it is (the server checks it).
    pub fn user_status_request(&self, user_id: &str) -> Result<ApiRequest, ClientError> {
        check_user_id(user_id)?;
        Ok(ApiRequest::get(
            format!("users/{}", segment(user_id)),
            Vec::new(),
        ))
    }

    /// What `online_users` asks.
    pub fn online_users_request(&self, after: Option<&str>, limit: Option<usize>) -> ApiRequest {
        let mut params = Vec::new();
        if let Some(a) = after {
            params.push(("after".to_string(), a.to_string()));
        }
        if let Some(l) = limit {
            params.push(("limit".to_string(), l.to_string()));
        }
        ApiRequest::get("users".into(), params)
    }

    /// What `delivery_log` asks.
    pub fn delivery_log_request(&self, limit: Option<usize>) -> ApiRequest {
        let params = limit
            .map(|l| vec![("limit".to_string(), l.to_string())])
            .unwrap_or_default();
        ApiRequest::get("delivery_log".into(), params)
    }

    /// What `history` asks. The channel name is checked, and percent-encoded into the
    /// path.
    pub fn history_request(
        &self,
        channel: &str,
        since: Option<u64>,
        limit: Option<usize>,
    ) -> Result<ApiRequest, ClientError> {
        check_channel(channel)?;
        let mut params = Vec::new();
        if let Some(s) = since {
            params.push(("since".to_string(), s.to_string()));
        }
        if let Some(l) = limit {
            params.push(("limit".to_string(), l.to_string()));
        }
        Ok(ApiRequest::get(
            format!("channels/{}/events", segment(channel)),
            params,
        ))
    }

    /// What `set_user_location` sends: `{"location": "..."}`, or `{"location": null}`.
    pub fn user_location_request(
        &self,
        user_id: &str,
        location: Option<&str>,
    ) -> Result<ApiRequest, ClientError> {
        check_user_id(user_id)?;
        let body = json!({ "location": location }).to_string();
        Ok(ApiRequest::post(
            format!("users/{}/location", segment(user_id)),
            body,
        ))
    }

    /// Checks a trigger's arguments; its data, encrypted for a `private-encrypted-`
    /// channel.
    fn checked_data(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        socket_id: Option<&str>,
    ) -> Result<String, ClientError> {
        let invalid = |m: String| Err(ClientError::InvalidArgument(m));
        if channels.is_empty() || channels.len() > 100 {
            return invalid(format!(
                "between 1 and 100 channels per event, got {}",
                channels.len()
            ));
        }
        let mut encrypted = None;
        for c in channels {
            if check_channel(c)? == ChannelKind::EncryptedPrivate {
                encrypted = Some(c);
            }
        }
        if event.is_empty() || event.len() > 200 {
            return invalid(format!(
                "event name must be 1 to 200 bytes, got {}",
                event.len()
            ));
        }
        if let Some(s) = socket_id {
            if !names::is_valid_socket_id(s) {
                return invalid(format!("invalid socket_id {s:?}"));
            }
        }
        Ok(match encrypted {
            None => data.to_string(),
            Some(channel) => {
                if channels.len() > 1 {
                    return invalid(
                        "an encrypted channel cannot be triggered with other channels".into(),
                    );
                }
                let Some(master) = &self.options.encryption_master_key else {
                    return invalid(
                        "encryption_master_key is needed for private-encrypted- channels".into(),
                    );
                };
                let nonce: [u8; 24] = rand::random();
                auth::encrypt_event_data(channel, master, data.as_bytes(), &nonce)
            }
        })
    }

    /// The path and signed query string of `request`, signed now.
    fn signed_target(&self, request: &ApiRequest) -> String {
        let path = format!("/apps/{}/{}", self.options.app_id, request.route);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let o = &self.options;
        let signed = auth::sign_rest_request(
            &o.key,
            &o.secret,
            request.method,
            &path,
            &request.params,
            request.body.as_bytes(),
            now,
        );
        let mut target = path;
        for (i, (k, v)) in signed.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(k);
            target.push('=');
            target.extend(utf8_percent_encode(v, QUERY_VALUE));
        }
        target
    }

    /// `request` as the bytes of one HTTP/1.1 request, signed now: for a caller that
    /// writes it on a connection of its own (`Pipeline`).
    pub(crate) fn request_bytes(&self, request: &ApiRequest) -> Vec<u8> {
        let body = &request.body;
        let target = self.signed_target(request);
        let mut head = format!(
            "{} {target} HTTP/1.1\r\nhost: {}\r\nx-pusher-library: pushbus {}\r\n",
            request.method,
            self.authority,
            env!("CARGO_PKG_VERSION"),
        );
        if request.method == "POST" {
            head.push_str("content-type: application/json\r\n");
            head.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        bytes
    }

    /// Sends `request` and returns the server's JSON answer (`{}` for an empty one).
    pub async fn execute(&self, request: &ApiRequest) -> Result<Value, ClientError> {
        let target = self.signed_target(request);
        let uri = format!("{}://{}{target}", self.scheme(), self.authority);
        let method = if request.method == "POST" {
            Method::POST
        } else {
            Method::GET
        };
        let mut req = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| {
                ClientError::InvalidArgument(format!("cannot build request for {uri}: {e}"))
            })?;
        req.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        req.headers_mut().insert(
            "x-pusher-library",
            HeaderValue::from_static(concat!("pushbus ", env!("CARGO_PKG_VERSION"))),
        );
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| ClientError::Connect(error_chain(&e)))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Connect(e.to_string()))?
                .to_bytes();
            Ok::<_, ClientError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.options.timeout, exchange)
            .await
            .map_err(|_| ClientError::Timeout)??;
        answer_value(status, &bytes)
    }
}

/// The TLS client settings [`Client`] uses (system roots, or SSL_CERT_FILE's), for a
/// caller's own connections to the same server, such as the load tool's `wss://`.
pub fn tls_client_config() -> Arc<rustls::ClientConfig> {
    Arc::new(tls_config())
}

/// The TLS settings every client shares: built once per process, because reading the
/// system's root certificates takes milliseconds and would otherwise be paid by every
/// `Client::new` (on a JS or PHP request thread).
fn tls_config() -> rustls::ClientConfig {
    use hyper_rustls::ConfigBuilderExt;
    static CONFIG: OnceLock<rustls::ClientConfig> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let builder = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions");
            match builder.clone().with_native_roots() {
                Ok(b) => b.with_no_client_auth(),
                // No usable system store (a minimal container): Mozilla's roots.
                Err(_) => builder.with_webpki_roots().with_no_client_auth(),
            }
        })
        .clone()
}

/// What a path segment keeps unescaped: the characters of channel names that mean
/// nothing in a path (`#`, which would start a fragment, is escaped). The server
/// decodes the segment, and checks the signature over the path as sent.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'=')
    .remove(b'@')
    .remove(b',')
    .remove(b';');

fn segment(name: &str) -> String {
    utf8_percent_encode(name, PATH_SEGMENT).to_string()
}

/// The outcome of an answer: its JSON for a 200 (`{}` when empty), an error otherwise.
pub(crate) fn answer_value(status: u16, body: &[u8]) -> Result<Value, ClientError> {
    if status != 200 {
        return Err(ClientError::Status {
            status,
            body: String::from_utf8_lossy(body).into_owned(),
        });
    }
    if body.is_empty() {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|e| ClientError::InvalidResponse(e.to_string()))
}

fn check_channel(name: &str) -> Result<ChannelKind, ClientError> {
    names::validate_channel_name(name, names::DEFAULT_MAX_CHANNEL_NAME_LEN)
        .map(|t| t.kind)
        .map_err(|e| ClientError::InvalidArgument(format!("invalid channel name {name:?}: {e}")))
}

/// An empty id would name another route (`/users/`); the server checks the rest.
fn check_user_id(user_id: &str) -> Result<(), ClientError> {
    if user_id.is_empty() {
        return Err(ClientError::InvalidArgument("the user id is empty".into()));
    }
    Ok(())
}

/// hyper's errors say little at the top ("client error (Connect)"); the cause says why.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::new(ClientOptions {
            app_id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            ..ClientOptions::default()
        })
        .unwrap()
    }

    #[test]
    fn options_are_checked() {
        let bad = |o: ClientOptions| matches!(Client::new(o), Err(ClientError::InvalidArgument(_)));
        assert!(bad(ClientOptions::default()));
        assert!(bad(ClientOptions {
            host: "a/b".into(),
            app_id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            ..ClientOptions::default()
        }));
    }

    #[test]
    fn event_bodies() {
        let c = client();
        let event_body = |channels: &[String], socket_id| {
            c.trigger_request(channels, "e", "d", socket_id)
                .map(|r| r.body)
        };
        let b = event_body(&["a".into(), "b".into()], Some("1.2")).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&b).unwrap(),
            json!({"name":"e","data":"d","channels":["a","b"],"socket_id":"1.2"})
        );
        assert!(event_body(&[], None).is_err());
        assert!(event_body(&["bad name".into()], None).is_err());
        assert!(event_body(&["a".into()], Some("x")).is_err());
        assert!(event_body(&["private-encrypted-a".into()], None).is_err());
    }

    #[test]
    fn trigger_requests_are_the_event_bodies() {
        let c = client();
        let p = c
            .trigger_request(&["a".into()], "e", "d", Some("1.2"))
            .unwrap();
        assert_eq!((p.method, p.route.as_str()), ("POST", "events"));
        assert_eq!(
            serde_json::from_str::<Value>(&p.body).unwrap(),
            json!({"name":"e","data":"d","channels":["a"],"socket_id":"1.2"})
        );
        assert!(matches!(
            c.trigger_request(&["bad name".into()], "e", "d", None),
            Err(ClientError::InvalidArgument(_))
        ));
    }

    #[test]
    fn user_status_requests() {
        let c = client();
        let r = c.user_status_request("ann b/é").unwrap();
        assert_eq!(
            (r.method, r.route.as_str()),
            ("GET", "users/ann%20b%2F%C3%A9")
        );
        assert!(r.params.is_empty() && r.body.is_empty());
        assert!(matches!(
            c.user_status_request(""),
            Err(ClientError::InvalidArgument(_))
        ));

        let r = c.online_users_request(Some("a b"), Some(2));
        assert_eq!((r.method, r.route.as_str()), ("GET", "users"));
        assert_eq!(
            r.params,
            [("after".into(), "a b".into()), ("limit".into(), "2".into())]
        );
        assert!(c.online_users_request(None, None).params.is_empty());

        let r = c.user_location_request("7", Some("Projects")).unwrap();
        assert_eq!((r.method, r.route.as_str()), ("POST", "users/7/location"));
        assert_eq!(
            serde_json::from_str::<Value>(&r.body).unwrap(),
            json!({"location": "Projects"})
        );
        let r = c.user_location_request("7", None).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&r.body).unwrap(),
            json!({"location": null})
        );
        assert!(c.user_location_request("", None).is_err());
    }

    #[test]
    fn history_requests() {
        let c = client();
        let r = c
            .history_request("#server-to-user-7", Some(3), Some(2))
            .unwrap();
        assert_eq!(
            (r.method, r.route.as_str()),
            ("GET", "channels/%23server-to-user-7/events")
        );
        assert_eq!(
            r.params,
            [("since".into(), "3".into()), ("limit".into(), "2".into())]
        );
        assert!(c
            .history_request("activity", None, None)
            .unwrap()
            .params
            .is_empty());
        assert!(matches!(
            c.history_request("bad name", None, None),
            Err(ClientError::InvalidArgument(_))
        ));
    }

    #[test]
    fn encrypted_events_are_encrypted() {
        let c = Client::new(ClientOptions {
            app_id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            encryption_master_key: Some([7; 32]),
            ..ClientOptions::default()
        })
        .unwrap();
        let b = c
            .trigger_request(&["private-encrypted-a".into()], "e", "secret", None)
            .unwrap()
            .body;
        let b: Value = serde_json::from_str(&b).unwrap();
        let data: Value = serde_json::from_str(b["data"].as_str().unwrap()).unwrap();
        assert!(data["nonce"].is_string() && data["ciphertext"].is_string());
        assert!(c
            .trigger_request(&["private-encrypted-a".into(), "b".into()], "e", "d", None)
            .is_err());
    }
}
