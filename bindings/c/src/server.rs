//! The embedded server: `pushbus_server_*`.

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, PoisonError};

use pushbus_core::blocking::QUERY_TIMEOUT;
use pushbus_core::{Config, Server};
use serde::Serialize;

use crate::error::{pushbus_result, Failure};
use crate::events::{
    events_handle_from, pushbus_event_callback, pushbus_events, pushbus_free_callback,
    CallbackThread, UserData,
};
use crate::ffi::{
    free_box, guard, guard_void, opt_str_arg, pushbus_str, str_arg, str_array_arg, to_boxed_ptr,
    to_c_string, try_ref, Castable, Out, OwnershipBox,
};
use crate::runtime::{check_pid, current_pid, runtime};

/// An embedded pushbus server. Opaque. Every function taking a
/// `const pushbus_server *` may be called from any thread, concurrently.
#[allow(non_camel_case_types)]
pub struct pushbus_server {
    _private: [u8; 0],
}

pub(crate) struct ServerHandle {
    /// The process that created it; in a forked child the server's threads are gone.
    pid: u32,
    server: Server,
    /// The thread running the C event callback, if one is set.
    callback: Mutex<Option<CallbackThread>>,
}

impl Castable for pushbus_server {
    type Ownership = OwnershipBox;
    type RustType = ServerHandle;
}

/// Borrows a live server of this process.
///
/// # Safety
/// `server` is NULL or a live handle from `pushbus_server_new`.
unsafe fn server_ref<'a>(server: *const pushbus_server) -> Result<&'a ServerHandle, Failure> {
    let handle = try_ref::<pushbus_server>(server, "server")?;
    check_pid(handle.pid, "server")?;
    Ok(handle)
}

/// What a channel query reports.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pushbus_channel_info {
    /// At least one connection is subscribed.
    pub occupied: bool,
    /// Subscribed connections.
    pub subscription_count: usize,
    /// A presence channel: `user_count` is meaningful.
    pub presence: bool,
    /// Distinct users (presence channels only; 0 otherwise).
    pub user_count: usize,
}

/// Creates a server from a JSON configuration (the format of the config file, see
/// README: `{"host": "127.0.0.1", "port": 0, "apps": [{"id": ..., "key": ...,
/// "secret": ...}]}`). Nothing listens until `pushbus_server_start`; no thread starts.
///
/// `config_json` is pointer + length, UTF-8, borrowed for the call, not NULL. On
/// success writes to `*out_server` a server the caller owns and frees with
/// `pushbus_server_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `CONFIG` (bad JSON or values; the message says which).
/// Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_new(
    config_json: *const c_char,
    config_json_len: usize,
    out_server: *mut *mut pushbus_server,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_server, "out_server")?;
        let json = str_arg(config_json, config_json_len, "config_json")?;
        let config = Config::from_json(json).map_err(pushbus_core::Error::from)?;
        // The server's log lines go to stderr (PUSHBUS_LOG: a level, or `target=level` pairs).
        pushbus_core::logging::plain::install();
        let server = Server::new(config)?;
        out.write(to_boxed_ptr::<pushbus_server>(ServerHandle {
            pid: current_pid(),
            server,
            callback: Mutex::new(None),
        }));
        Ok(())
    })
}

/// Starts listening and serving (WebSocket and HTTP API on one port) on the library's
/// background threads, which the first start in a process creates.
///
/// `server` is borrowed, not NULL. `addr` is NULL for the configured host and port,
/// or `"host:port"` (pointer + length, UTF-8, borrowed; port 0 picks a free port).
/// `out_port` is NULL or receives the bound port, on success only. A server starts
/// once: after `pushbus_server_stop` it cannot be started again. Errors:
/// `NULL_PARAMETER`, `INVALID_UTF8`, `BIND` (address in use, ...), `ALREADY_STARTED`,
/// `RUNTIME`, `FORKED`. Threads: any; blocks until the socket is bound.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_start(
    server: *const pushbus_server,
    addr: *const c_char,
    addr_len: usize,
    out_port: *mut u16,
) -> pushbus_result {
    guard(|| {
        let out = Out::optional(out_port);
        let handle = server_ref(server)?;
        let addr = opt_str_arg(addr, addr_len, "addr")?;
        let rt = runtime()?;
        let bound = rt.block_on(async {
            match addr {
                Some(a) => handle.server.start_on(a).await,
                None => handle.server.start().await,
            }
        })?;
        if let Some(out) = out {
            out.write(bound.port());
        }
        Ok(())
    })
}

/// Publishes `event` with `data` to `channels` of app `app_id`, skipping the connection
/// `except_socket_id` (the sender, typically). Same rules and limits as the HTTP API;
/// on any error nothing is delivered.
///
/// `server` is borrowed, not NULL. `app_id`, `event` and `data` (the event's data
/// string, sent verbatim: usually JSON) are pointer + length, UTF-8, borrowed, not NULL.
/// `channels` points to `channels_len` strings, borrowed. `except_socket_id` is NULL
/// for none. Publishing to a `private-encrypted-` channel needs data from
/// `pushbus_auth_encrypt_data`. Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `UNKNOWN_APP`, `NO_CHANNELS`, `TOO_MANY_CHANNELS`, `INVALID_CHANNEL`,
/// `ENCRYPTED_WITH_OTHERS`, `INVALID_EVENT_NAME`, `DATA_TOO_LARGE`,
/// `INVALID_SOCKET_ID`, `FORKED`. Works whether or not the server is started.
/// Threads: any; never blocks (slow connections have bounded queues).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_server_publish(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    channels: *const pushbus_str,
    channels_len: usize,
    event: *const c_char,
    event_len: usize,
    data: *const c_char,
    data_len: usize,
    except_socket_id: *const c_char,
    except_socket_id_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let channels = str_array_arg(channels, channels_len, "channels")?;
        let event = str_arg(event, event_len, "event")?;
        let data = str_arg(data, data_len, "data")?;
        let except = opt_str_arg(except_socket_id, except_socket_id_len, "except_socket_id")?;
        handle
            .server
            .publish(app_id, &channels, event, data, except)?;
        Ok(())
    })
}

/// Reports one channel, occupied or not.
///
/// `server` is borrowed, not NULL; `app_id` and `channel` are pointer + length, UTF-8,
/// borrowed, not NULL. On success writes `*out_info`; on failure leaves it untouched.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`, `INVALID_CHANNEL`,
/// `FORKED`. Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_channel(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    channel: *const c_char,
    channel_len: usize,
    out_info: *mut pushbus_channel_info,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_info, "out_info")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let info = handle
            .server
            .wait_for(handle.server.channel(app_id, channel), QUERY_TIMEOUT)?;
        out.write(pushbus_channel_info {
            occupied: info.occupied,
            subscription_count: info.subscription_count,
            presence: info.user_count.is_some(),
            user_count: info.user_count.unwrap_or(0),
        });
        Ok(())
    })
}

/// Lists the occupied channels of an app as JSON, keyed by name as in the HTTP API's
/// `GET /channels`, each in the shape every face reports a channel:
/// `{"channels":{"cache-prices":{"name":"cache-prices","occupied":true,"subscription_count":1,"cache":{"data":"{}","ttl":30}},"presence-chat.1":{"name":"presence-chat.1","occupied":true,"subscription_count":2,"user_count":1}}}`
/// (`user_count` for presence channels only; `cache` for cache channels that keep an
/// event: its data and the seconds it is kept still).
///
/// `server` is borrowed, not NULL; `app_id` is pointer + length, UTF-8, borrowed, not
/// NULL; `prefix` is NULL for every channel or a name prefix (`"presence-"`),
/// borrowed. On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `UNKNOWN_APP`, `FORKED`. Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_channels(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    prefix: *const c_char,
    prefix_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let prefix = opt_str_arg(prefix, prefix_len, "prefix")?.unwrap_or("");
        let channels: std::collections::BTreeMap<String, pushbus_core::ChannelInfo> = handle
            .server
            .wait_for(handle.server.channels(app_id, prefix), QUERY_TIMEOUT)?
            .into_iter()
            .map(|c| (c.name.to_string(), c))
            .collect();
        let json = serde_json::json!({ "channels": channels }).to_string();
        out.write(to_c_string(json)?);
        Ok(())
    })
}

#[derive(Serialize)]
struct MembersJson<'a> {
    users: &'a [pushbus_core::Member],
}

/// Lists the members of a presence channel as JSON, sorted by user id, each in the shape
/// every face reports a member: `{"users":[{"id":"1","info":{"name":"Taylor"}},{"id":"2"}]}`
/// (`info`: the `user_info` of the member's `channel_data`, when it had one).
///
/// `server` is borrowed, not NULL; `app_id` and `channel` are pointer + length, UTF-8,
/// borrowed, not NULL. On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `UNKNOWN_APP`, `INVALID_CHANNEL`, `NOT_PRESENCE_CHANNEL`, `FORKED`.
/// Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_members(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    channel: *const c_char,
    channel_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let members = handle
            .server
            .wait_for(handle.server.members(app_id, channel), QUERY_TIMEOUT)?;
        let json = render(&MembersJson { users: &members }, "members")?;
        out.write(to_c_string(json)?);
        Ok(())
    })
}

/// A view as its one JSON form (serde): what every face reports.
fn render(value: &impl Serialize, what: &str) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| {
        Failure::new(
            pushbus_result::InvalidArgument,
            format!("cannot render {what}: {e}"),
        )
    })
}

/// The number of live connections of an app.
///
/// `server` is borrowed, not NULL; `app_id` is pointer + length, UTF-8, borrowed, not
/// NULL. On success writes `*out_count`; on failure leaves it untouched. Errors:
/// `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`, `FORKED`. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_connection_count(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    out_count: *mut usize,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_count, "out_count")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        out.write(
            handle
                .server
                .wait_for(handle.server.connection_count(app_id), QUERY_TIMEOUT)?,
        );
        Ok(())
    })
}

/// Counters of an app's webhooks since the server started (zeros without targets).
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pushbus_webhook_stats {
    /// Requests the receivers answered with a 2xx.
    pub requests: u64,
    /// Events in those requests.
    pub sent: u64,
    /// Attempts that failed (non-2xx, timeout, connection or TLS error), retried or not.
    pub failures: u64,
    /// Events given up: a full queue, retried for too long, older than 300 s, or
    /// still failing at shutdown.
    pub dropped: u64,
}

/// The webhook counters of an app.
///
/// `server` is borrowed, not NULL; `app_id` is pointer + length, UTF-8, borrowed, not
/// NULL. On success writes `*out_stats`; on failure leaves it untouched. Errors:
/// `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`, `FORKED`. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_webhook_stats(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    out_stats: *mut pushbus_webhook_stats,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_stats, "out_stats")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let s = handle.server.webhook_stats(app_id)?;
        out.write(pushbus_webhook_stats {
            requests: s.requests,
            sent: s.sent,
            failures: s.failures,
            dropped: s.dropped,
        });
        Ok(())
    })
}

/// Closes every connection signed in as `user_id` or present under that id in a
/// presence channel (close code 4009: pusher-js does not reconnect by itself).
///
/// `server` is borrowed, not NULL; `app_id` and `user_id` are pointer + length, UTF-8,
/// borrowed, not NULL. `out_count` is NULL or receives how many connections were
/// closed, on success only. Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`,
/// `FORKED`. Threads: any; does not wait for the connections to close.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_terminate_user_connections(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    user_id: *const c_char,
    user_id_len: usize,
    out_count: *mut usize,
) -> pushbus_result {
    guard(|| {
        let out = Out::optional(out_count);
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let closed = handle.server.wait_for(
            handle.server.terminate_user_connections(app_id, user_id),
            QUERY_TIMEOUT,
        )?;
        if let Some(out) = out {
            out.write(closed);
        }
        Ok(())
    })
}

/// Reports one user's status as JSON (cluster-wide), in the shape every face reports
/// it: `{"id":"7","online":true,"connections":2,"channels":["presence-chat.1"],"location":"Projects","info":{"name":"Ada"}}`.
/// A user is online while at least one connection is signed in as them or is a member
/// of a presence channel as them; `connections` counts those, `channels` lists the
/// user's presence channels (sorted). `location` (set by
/// `pushbus_server_set_user_location`) and `info` (the `user_info` the user first
/// connected with) appear while online, when there is one; `last_seen` while offline:
/// when their last connection closed, in milliseconds since the Unix epoch, as long as
/// it is kept (`user_status.last_seen_ttl`). A user never seen is offline with 0
/// connections and no `last_seen`.
///
/// `server` is borrowed, not NULL; `app_id` and `user_id` are pointer + length, UTF-8,
/// borrowed, not NULL. On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `UNKNOWN_APP`, `INVALID_ARGUMENT` (a user id empty, longer than 128
/// characters or with control characters), `FORKED`. Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_user_status(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    user_id: *const c_char,
    user_id_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let status = handle
            .server
            .wait_for(handle.server.user_status(app_id, user_id), QUERY_TIMEOUT)?;
        out.write(to_c_string(render(&status, "the user status")?)?);
        Ok(())
    })
}

/// Lists a page of the app's online users as JSON (cluster-wide), sorted by id, in the
/// shape every face reports it:
/// `{"users":[{"id":"7","connections":2,"location":"Projects","info":{"name":"Ada"}},{"id":"8","connections":1}],"next":"8"}`
/// (`location` and `info` as in `pushbus_server_user_status`, when there is one).
/// `next` is there when more users follow: pass it as `after` for the next page.
///
/// `server` is borrowed, not NULL; `app_id` is pointer + length, UTF-8, borrowed, not
/// NULL; `after` is NULL (or empty) for the first page, or the id after which to
/// start (pointer + length, UTF-8, borrowed). `limit` is the most users listed, 1 to
/// 1000. On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `UNKNOWN_APP`, `INVALID_ARGUMENT` (`limit` out of range), `FORKED`.
/// Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_online_users(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    after: *const c_char,
    after_len: usize,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let after = opt_str_arg(after, after_len, "after")?.unwrap_or("");
        let page = handle.server.wait_for(
            handle.server.online_users(app_id, after, limit),
            QUERY_TIMEOUT,
        )?;
        out.write(to_c_string(render(&page, "the online users")?)?);
        Ok(())
    })
}

/// Sets the location of an online user (the page or section of the app they are on,
/// say), shown in their status and in the online users until they go offline; NULL
/// `location` clears it. An offline user's location is not kept.
///
/// `server` is borrowed, not NULL; `app_id` and `user_id` are pointer + length, UTF-8,
/// borrowed, not NULL; `location` is NULL to clear, or pointer + length (UTF-8, at most
/// 256 bytes, no control characters), borrowed. `out_online` is NULL or receives
/// whether the user was online (and so whether the location was kept), on success
/// only. Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`, `INVALID_ARGUMENT`
/// (the user id or the location), `FORKED`. Threads: any; does not block.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_server_set_user_location(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    user_id: *const c_char,
    user_id_len: usize,
    location: *const c_char,
    location_len: usize,
    out_online: *mut bool,
) -> pushbus_result {
    guard(|| {
        let out = Out::optional(out_online);
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let location = opt_str_arg(location, location_len, "location")?;
        let online = handle.server.wait_for(
            handle.server.set_user_location(app_id, user_id, location),
            QUERY_TIMEOUT,
        )?;
        if let Some(out) = out {
            out.write(online);
        }
        Ok(())
    })
}

#[derive(Serialize)]
struct DeliveryLogJson<'a> {
    events: &'a [pushbus_core::DeliveryRecord],
}

/// Lists the newest records of the app's delivery log as JSON, newest first, as the
/// HTTP API's `GET /apps/{id}/delivery_log` answers, each in the shape every face
/// reports a record:
/// `{"events":[{"id":"1","time":1733300000000,"channel":"orders","event":"paid","size":7,"digest":"9f86…","delivered":2,"nodes":1,"except":"123.456","source":"api"}]}`.
/// `time` is in milliseconds since the Unix epoch; `size` the bytes of the data;
/// `digest` its SHA-256 (hex), or `data` itself when the app's
/// `delivery_log.payloads` is `"payload"`; `delivered` the connections it reached and
/// `nodes` the nodes that reached at least one (cluster-wide); `except` the socket the
/// publisher excluded, when there was one; `source` `"api"` (the HTTP API or an
/// embedder) or `"client"` (a client event, with `user_id`, the sender, on presence
/// channels). An app whose `delivery_log.size` is 0 keeps no log: `{"events":[]}`.
///
/// `server` is borrowed, not NULL; `app_id` is pointer + length, UTF-8, borrowed, not
/// NULL. `limit` is the most records listed, 1 to 1000 (a log keeping fewer gives what
/// it keeps). On
/// success writes to `*out_json` a string the caller frees with `pushbus_string_free`;
/// on failure leaves it untouched. Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `UNKNOWN_APP`, `INVALID_ARGUMENT` (`limit` out of range), `TIMEOUT` (a cluster whose
/// Redis does not answer), `FORKED`. Threads: any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_delivery_log(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let events = handle
            .server
            .wait_for(handle.server.delivery_log(app_id, limit), QUERY_TIMEOUT)?;
        let json = render(&DeliveryLogJson { events: &events }, "the delivery log")?;
        out.write(to_c_string(json)?);
        Ok(())
    })
}

/// Lists a history channel's kept events as JSON, as the HTTP API's
/// `GET /apps/{id}/channels/{name}/events` answers, in the shape every face reports a
/// history:
/// `{"channel":"activity","epoch":"b3f1…","serial":7,"events":[{"serial":6,"time":1733300000000,"event":"ActivityFeedUpdated","data":"{\"n\":6}"},{"serial":7,"time":1733300000120,"event":"ActivityFeedUpdated","data":"{\"n\":7}"}]}`.
/// The events are those kept after serial `since`, oldest first, at most `limit`;
/// `serial` is the channel's last (0 while it has none), `epoch` changes whenever the
/// channel's history had to start over and is absent while it has none yet; `time` is
/// in milliseconds since the Unix epoch; `data` the data string as published. Only the
/// channels one of the app's `history` rules names keep a history.
///
/// `server` is borrowed, not NULL; `app_id` and `channel` are pointer + length, UTF-8,
/// borrowed, not NULL. `since` is the serial after which to list (0: from the first
/// kept); `limit` the most events listed, 1 to 1000. On success writes to `*out_json`
/// a string the caller frees with `pushbus_string_free`; on failure leaves it
/// untouched. Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `UNKNOWN_APP`,
/// `INVALID_CHANNEL`, `INVALID_ARGUMENT` (`limit` out of range, or a channel no
/// history rule names), `TIMEOUT` (a cluster's Redis did not answer in time), `FORKED`.
/// Threads: any; on a cluster it waits for Redis (bounded).
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_server_history(
    server: *const pushbus_server,
    app_id: *const c_char,
    app_id_len: usize,
    channel: *const c_char,
    channel_len: usize,
    since: u64,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = server_ref(server)?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let history = handle.server.wait_for(
            handle.server.history(app_id, channel, since, limit),
            QUERY_TIMEOUT,
        )?;
        out.write(to_c_string(render(&history, "the history")?)?);
        Ok(())
    })
}

/// Reads the TLS certificate and key files again (after a renewal): new connections
/// get the new certificate, open ones keep theirs. On an error the certificate in use
/// stays and the message says why (a file missing, unreadable, or key and certificate
/// not matching).
///
/// `server` is borrowed, not NULL. Errors: `NULL_PARAMETER`, `NOT_RUNNING`, `CONFIG`
/// (no certificate configured, or the new files are unusable), `FORKED`. Threads:
/// any; reads two files.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_reload_tls(
    server: *const pushbus_server,
) -> pushbus_result {
    guard(|| {
        server_ref(server)?.server.reload_tls()?;
        Ok(())
    })
}

/// The metrics in the OpenMetrics text format, as `GET /metrics` answers them
/// (`application/openmetrics-text; version=1.0.0`), for an embedder that serves
/// metrics on a route of its own.
///
/// `server` is borrowed, not NULL. On success writes to `*out_text` a string the
/// caller frees with `pushbus_string_free`; on failure leaves it untouched. Errors:
/// `NULL_PARAMETER`, `CONFIG` (metrics are off in the config), `FORKED`. Threads:
/// any; does not block.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_metrics_text(
    server: *const pushbus_server,
    out_text: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_text, "out_text")?;
        let text = server_ref(server)?.server.metrics_text()?;
        out.write(to_c_string(text)?);
        Ok(())
    })
}

/// Creates a reader of the server's lifecycle events (every app), receiving the events
/// that happen from now on; read it with `pushbus_events_poll`.
///
/// `server` is borrowed, not NULL. On success writes to `*out_events` a reader the
/// caller owns and frees with `pushbus_events_free`; it may outlive the server (it
/// then reports `CLOSED` once drained). On failure leaves `*out_events` untouched.
/// Each reader holds at most the config's `event_buffer` events; a reader that falls
/// further behind loses the oldest (see `pushbus_event.lost`). Errors:
/// `NULL_PARAMETER`, `FORKED`. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_events(
    server: *const pushbus_server,
    out_events: *mut *mut pushbus_events,
) -> pushbus_result {
    events_reader(server, out_events, |s| s.events())
}

/// A new `pushbus_events` reader of one of the server's streams.
unsafe fn events_reader(
    server: *const pushbus_server,
    out_events: *mut *mut pushbus_events,
    stream: impl FnOnce(&pushbus_core::Server) -> pushbus_core::EventReceiver,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_events, "out_events")?;
        let handle = server_ref(server)?;
        out.write(events_handle_from(stream(&handle.server)));
        Ok(())
    })
}

/// Creates a reader of the lifecycle events as webhooks see them (every app, with
/// webhook targets or not): `member_removed` and `channel_vacated` come after the app's
/// webhook delay (`webhook_options.delay`, 3 s by default), and neither they nor the
/// `member_added` / `channel_occupied` that undid them within it (a page reload) come
/// at all; no connection events. On a cluster each node's reader gets the occupied,
/// vacated, added and removed events of the channels whose webhooks it sends (each
/// event reaches one node). Read it with `pushbus_events_poll`, free it with
/// `pushbus_events_free`, like a `pushbus_server_events` reader.
///
/// Create it before `pushbus_server_start`: the delayed stream is set up at start for
/// the readers that exist then. `server` is borrowed, not NULL. Errors:
/// `NULL_PARAMETER`, `FORKED`. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_webhook_events(
    server: *const pushbus_server,
    out_events: *mut *mut pushbus_events,
) -> pushbus_result {
    events_reader(server, out_events, |s| s.webhook_events())
}

/// Sets (or, with `callback` NULL, removes) the function called with each lifecycle
/// event, replacing any previous one. Events are delivered in order on one thread of
/// the library's own ("pushbus-events"), one at a time; the event is borrowed for the
/// duration of the call. The callback may call any `pushbus_*` function, including
/// this one and `pushbus_server_free` on its own server; it should return quickly, as
/// events queue behind it (and the oldest are lost past `event_buffer`).
///
/// `server` is borrowed, not NULL. Takes ownership of `user_data`, which is passed to
/// each call (from the callback thread): `free_user_data`, if not NULL, is called with
/// it exactly once, when the callback is replaced or removed, when the server is
/// freed, or before this function returns if it fails or `callback` is NULL. When this
/// function returns, a replaced callback is no longer running and will not be called
/// again, unless this was called from inside that callback (then it stops when the
/// callback returns). Errors: `NULL_PARAMETER`, `RUNTIME`, `FORKED`. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_set_event_callback(
    server: *const pushbus_server,
    callback: pushbus_event_callback,
    user_data: *mut c_void,
    free_user_data: pushbus_free_callback,
) -> pushbus_result {
    guard(|| {
        // Owned first, so that every early return below runs the finalizer.
        let user_data = UserData::new(user_data, free_user_data);
        let handle = server_ref(server)?;
        let new = match callback {
            None => {
                drop(user_data);
                None
            }
            Some(cb) => match CallbackThread::spawn(handle.server.events(), cb, user_data) {
                Ok(thread) => Some(thread),
                Err((failure, user_data)) => {
                    drop(user_data);
                    return Err(failure);
                }
            },
        };
        let old = std::mem::replace(
            &mut *handle
                .callback
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
            new,
        );
        // Outside the lock: the old callback may itself be calling in here.
        if let Some(old) = old {
            old.stop();
        }
        Ok(())
    })
}

/// Stops the server gracefully: stops accepting, finishes HTTP requests in flight,
/// flushes each WebSocket's queue and closes it with code 4200 (pusher-js reconnects
/// at once). Waits up to the config's `shutdown_grace` seconds. Queries and the event
/// readers keep working; the server cannot be started again.
///
/// `server` is borrowed, not NULL. Errors: `NULL_PARAMETER`, `NOT_RUNNING` (never
/// started, or already stopped), `RUNTIME`, `FORKED`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_stop(server: *const pushbus_server) -> pushbus_result {
    guard(|| {
        let handle = server_ref(server)?;
        if handle.server.local_addr().is_none() {
            // Not running: answer without starting the runtime's threads.
            return Err(pushbus_core::Error::NotRunning.into());
        }
        runtime()?.block_on(handle.server.shutdown())?;
        Ok(())
    })
}

/// Frees a server: stops it gracefully first if it is running (as
/// `pushbus_server_stop`, blocking up to `shutdown_grace`), then stops the event
/// callback (its `free_user_data` has run when this returns, unless called from the
/// callback itself). Event readers stay valid and report `CLOSED` once drained.
///
/// Takes ownership of `server`; NULL is a no-op. No other call may be using `server`
/// at the same time. In a forked child, a server made by the parent is released
/// without being touched: its threads do not exist here, and its memory stays
/// allocated. Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_server_free(server: *mut pushbus_server) {
    guard_void(|| {
        let Some(handle) = free_box(server) else {
            return;
        };
        if handle.pid != current_pid() {
            std::mem::forget(handle);
            return;
        }
        if handle.server.local_addr().is_some() {
            if let Ok(rt) = runtime() {
                let _ = rt.block_on(handle.server.shutdown());
            }
        }
        let callback = handle
            .callback
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = callback {
            thread.stop();
        }
        drop(handle);
    })
}
