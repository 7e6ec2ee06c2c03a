//! The HTTP API client: `pushbus_client_*`, for a running pushbus or any
//! Pusher-compatible server.

use std::ffi::c_char;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use ::pushbus_client::pipeline::{FlushReport, Pipeline};
use ::pushbus_client::{ApiRequest, BatchEvent, Client, ClientError, ClientOptions};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::error::{pushbus_result, Failure};
use crate::ffi::{
    bytes_arg, free_box, guard, guard_void, opt_str_arg, pushbus_str, slice_arg, str_arg,
    str_array_arg, to_boxed_ptr, to_c_string, try_ref, Castable, Out, OwnershipBox,
};
use crate::runtime::{check_pid, current_pid, runtime};

/// A client of the Pusher HTTP API. Opaque. It keeps its connection to the server open
/// between requests (keep-alive). Every function taking a `const pushbus_client *` may
/// be called from any thread, concurrently; each blocks its caller until the request
/// completes or times out (except `pushbus_client_trigger_queued`).
///
/// A plain-http client does its I/O on the calling thread, on one kept-open connection
/// (requests pipelined, answered in order; the library starts no thread for it):
/// concurrent calls take turns on it, so threads that need parallel requests use a
/// client each. An https client runs its requests on the library's threads.
#[allow(non_camel_case_types)]
pub struct pushbus_client {
    _private: [u8; 0],
}

pub(crate) struct ClientHandle {
    /// The process that created it: its connection (and, for https, the runtime its
    /// requests run on) belongs to that process, not to a forked child.
    pid: u32,
    client: Client,
    /// Every request of a plain-http client, on the caller's thread: queued triggers
    /// (answers read later) and waiting calls alike, in order on one connection.
    pipeline: Option<Mutex<Pipeline>>,
    /// Queued triggers of an https client, sent by a task on the library's runtime:
    /// made on the first `pushbus_client_trigger_queued`.
    queue: OnceLock<Queue>,
}

/// How many queued triggers may wait to be sent before `pushbus_client_trigger_queued`
/// blocks its caller until one is sent (back-pressure rather than unbounded memory).
const QUEUE_CAPACITY: usize = 1024;

/// The triggers a client sends in the background, in order, one at a time, and what
/// became of them.
struct Queue {
    /// To the client's sender task; closing it (dropping the handle) lets the task
    /// send what is queued and end.
    sender: mpsc::Sender<ApiRequest>,
    outcome: Arc<Outcome>,
}

/// Shared by the callers and the sender task: pending count and failures, with a
/// condition variable for `pushbus_client_flush`.
#[derive(Default)]
struct Outcome {
    state: Mutex<OutcomeState>,
    changed: Condvar,
}

#[derive(Default)]
struct OutcomeState {
    /// Queued and not answered yet.
    pending: usize,
    /// Failed since the last report by `pushbus_client_flush`.
    failed: usize,
    /// The first of those failures.
    first_failure: Option<ClientError>,
}

impl Queue {
    /// Starts the sender task of `client` on the library's runtime.
    fn start(client: Client) -> Result<Queue, Failure> {
        let (sender, mut receiver) = mpsc::channel::<ApiRequest>(QUEUE_CAPACITY);
        let outcome = Arc::new(Outcome::default());
        let task_outcome = Arc::clone(&outcome);
        runtime()?.spawn(async move {
            while let Some(request) = receiver.recv().await {
                let result = client.execute(&request).await;
                let mut state = task_outcome.lock();
                state.pending -= 1;
                if let Err(e) = result {
                    state.failed += 1;
                    state.first_failure.get_or_insert(e);
                }
                drop(state);
                task_outcome.changed.notify_all();
            }
        });
        Ok(Queue { sender, outcome })
    }

    /// Hands `request` to the sender task; blocks while the queue is full.
    fn push(&self, request: ApiRequest) -> Result<(), Failure> {
        self.outcome.lock().pending += 1;
        let sent = match self.sender.try_send(request) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(r)) => self.sender.blocking_send(r).map_err(drop),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
        };
        if sent.is_err() {
            self.outcome.lock().pending -= 1;
            return Err(Failure::new(
                pushbus_result::Runtime,
                "the client's sender task has stopped",
            ));
        }
        Ok(())
    }

    /// Waits up to `wait` for every queued request to be answered; what happened.
    fn flush(&self, wait: Duration) -> FlushReport {
        let deadline = Instant::now() + wait;
        let mut state = self.outcome.lock();
        while state.pending > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self
                .outcome
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        FlushReport {
            pending: state.pending,
            failed: std::mem::take(&mut state.failed),
            first_failure: state.first_failure.take(),
        }
    }
}

impl Outcome {
    fn lock(&self) -> std::sync::MutexGuard<'_, OutcomeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Castable for pushbus_client {
    type Ownership = OwnershipBox;
    type RustType = ClientHandle;
}

/// One event of `pushbus_client_trigger_batch`.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pushbus_batch_event {
    /// The channel (one per batch item, as in the Pusher API).
    pub channel: pushbus_str,
    /// The event name.
    pub name: pushbus_str,
    /// The data string, sent verbatim.
    pub data: pushbus_str,
    /// The connection to skip; `data` NULL for none.
    pub socket_id: pushbus_str,
}

/// Borrows a live client handle of this process.
///
/// # Safety
/// `client` is NULL or a live handle from `pushbus_client_new`.
unsafe fn handle_ref<'a>(client: *const pushbus_client) -> Result<&'a ClientHandle, Failure> {
    let handle = try_ref::<pushbus_client>(client, "client")?;
    check_pid(handle.pid, "client")?;
    Ok(handle)
}

impl ClientHandle {
    /// Sends `request` and waits for the server's JSON answer: on this thread (plain
    /// http), or on the library's runtime (https).
    fn execute(&self, request: &ApiRequest) -> Result<Value, Failure> {
        match &self.pipeline {
            Some(pipeline) => Ok(pipeline
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .call(request)?),
            None => Ok(runtime()?.block_on(self.client.execute(request))?),
        }
    }

    /// Queues a trigger: written on this thread (plain http), or handed to the sender
    /// task on the library's runtime (https), started on first use.
    fn queue_trigger(&self, request: ApiRequest) -> Result<(), Failure> {
        if let Some(pipeline) = &self.pipeline {
            pipeline
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .send(&request);
            return Ok(());
        }
        let queue = match self.queue.get() {
            Some(q) => q,
            None => {
                let q = Queue::start(self.client.clone())?;
                // A caller racing on another thread may have set it first: use theirs.
                let _ = self.queue.set(q);
                self.queue.get().expect("just set")
            }
        };
        queue.push(request)
    }

    /// What became of the queued triggers, waiting up to `wait` for their answers.
    fn flush(&self, wait: Duration) -> FlushReport {
        if let Some(pipeline) = &self.pipeline {
            return pipeline
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .flush(wait);
        }
        self.queue
            .get()
            .map_or_else(FlushReport::default, |queue| queue.flush(wait))
    }
}

/// Reads the arguments of `pushbus_client_trigger` and `pushbus_client_trigger_queued`
/// into the request they send (checked: refused arguments fail here).
///
/// # Safety
/// As those functions' arguments.
#[allow(clippy::too_many_arguments)]
unsafe fn trigger_arg(
    handle: &ClientHandle,
    channels: *const pushbus_str,
    channels_len: usize,
    event: *const c_char,
    event_len: usize,
    data: *const c_char,
    data_len: usize,
    socket_id: *const c_char,
    socket_id_len: usize,
) -> Result<ApiRequest, Failure> {
    let channels = str_array_arg(channels, channels_len, "channels")?;
    let event = str_arg(event, event_len, "event")?;
    let data = str_arg(data, data_len, "data")?;
    let socket_id = opt_str_arg(socket_id, socket_id_len, "socket_id")?;
    Ok(handle
        .client
        .trigger_request(&channels, event, data, socket_id)?)
}

/// Creates a client for the app `app_id` of the server at `host`:`port`. No connection
/// is made until the first request.
///
/// `host` (name or IP address), `app_id`, `key` and `secret` are pointer + length,
/// UTF-8, borrowed for the call, not NULL. `tls` selects `https` (certificates checked
/// against the system's roots). `timeout_ms` bounds each whole request, connecting
/// included; 0 means 5000. `encryption_master_key` is NULL or points to 32 bytes
/// (copied), needed to trigger on `private-encrypted-` channels (the client encrypts).
/// On success writes to `*out_client` a client the caller owns and frees with
/// `pushbus_client_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `INVALID_ARGUMENT` (empty credentials, bad host or app id).
/// Threads: any.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_client_new(
    host: *const c_char,
    host_len: usize,
    port: u16,
    tls: bool,
    app_id: *const c_char,
    app_id_len: usize,
    key: *const c_char,
    key_len: usize,
    secret: *const c_char,
    secret_len: usize,
    timeout_ms: u32,
    encryption_master_key: *const u8,
    out_client: *mut *mut pushbus_client,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_client, "out_client")?;
        let host = str_arg(host, host_len, "host")?;
        let app_id = str_arg(app_id, app_id_len, "app_id")?;
        let key = str_arg(key, key_len, "key")?;
        let secret = str_arg(secret, secret_len, "secret")?;
        let encryption_master_key = if encryption_master_key.is_null() {
            None
        } else {
            let bytes = bytes_arg(encryption_master_key, 32, "encryption_master_key")?;
            let mut k = [0u8; 32];
            k.copy_from_slice(bytes);
            Some(k)
        };
        let defaults = ClientOptions::default();
        let timeout = if timeout_ms == 0 {
            defaults.timeout
        } else {
            Duration::from_millis(u64::from(timeout_ms))
        };
        let client = Client::new(ClientOptions {
            host: host.to_owned(),
            port,
            tls,
            app_id: app_id.to_owned(),
            key: key.to_owned(),
            secret: secret.to_owned(),
            timeout,
            encryption_master_key,
        })?;
        let pipeline = if tls {
            None
        } else {
            Some(Mutex::new(Pipeline::new(client.clone())?))
        };
        out.write(to_boxed_ptr::<pushbus_client>(ClientHandle {
            pid: current_pid(),
            client,
            pipeline,
            queue: OnceLock::new(),
        }));
        Ok(())
    })
}

/// Triggers `event` with `data` on `channels` (1 to 100), skipping the connection
/// `socket_id` if given (`POST /apps/{id}/events`).
///
/// `client` is borrowed, not NULL. `channels` points to `channels_len` strings,
/// borrowed. `event` and `data` (sent verbatim, usually JSON) are pointer + length,
/// UTF-8, borrowed, not NULL; `socket_id` is NULL for none. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `INVALID_ARGUMENT` (refused before sending: channel names, event
/// name, socket id, encryption key), `CONNECT`, `TIMEOUT`, `HTTP_STATUS` (the message
/// has the status and body), `FORKED`. Threads: any; blocks until the server answers.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_client_trigger(
    client: *const pushbus_client,
    channels: *const pushbus_str,
    channels_len: usize,
    event: *const c_char,
    event_len: usize,
    data: *const c_char,
    data_len: usize,
    socket_id: *const c_char,
    socket_id_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let request = trigger_arg(
            handle,
            channels,
            channels_len,
            event,
            event_len,
            data,
            data_len,
            socket_id,
            socket_id_len,
        )?;
        handle.execute(&request).map(drop)
    })
}

/// Queues a trigger: checks the arguments now, sends `event` after every trigger queued
/// before it on this client (in order, on the client's kept-open connection), and
/// returns without waiting for the server's answer. This is what makes a broadcast
/// cheap for a caller that cannot wait (a web request). Its outcome is reported by
/// `pushbus_client_flush`.
///
/// On a plain-http client the calling thread writes the signed request itself and the
/// answers are read later, by `pushbus_client_flush` or a later queued trigger (HTTP/1.1
/// pipelining; the connection is made on the calling thread, at the first trigger). To
/// a server that has not shown it keeps connections open (one that closes after every
/// answer, as Reverb does), a trigger is written only once the previous one is
/// answered, so the call may wait for that answer. On an https client the request is
/// handed to the library's threads.
///
/// Arguments as `pushbus_client_trigger` (borrowed for the call only; the request is
/// built before this returns). At most 1024 triggers wait for their answer (https: to
/// be sent); past that, the caller blocks until the server catches up. Freeing the
/// client waits up to its timeout for the answers of triggers already written (https:
/// queued triggers are still sent, in the background); call `pushbus_client_flush`
/// first to know their outcome. Errors (about this call only, nothing is queued then):
/// `NULL_PARAMETER`,
/// `INVALID_UTF8`, `INVALID_ARGUMENT` (channel names, event name, socket id,
/// encryption key), `RUNTIME`, `FORKED`. Threads: any; does not wait for the server.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_client_trigger_queued(
    client: *const pushbus_client,
    channels: *const pushbus_str,
    channels_len: usize,
    event: *const c_char,
    event_len: usize,
    data: *const c_char,
    data_len: usize,
    socket_id: *const c_char,
    socket_id_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let request = trigger_arg(
            handle,
            channels,
            channels_len,
            event,
            event_len,
            data,
            data_len,
            socket_id,
            socket_id_len,
        )?;
        handle.queue_trigger(request)
    })
}

/// Waits up to `timeout_ms` milliseconds until every trigger queued on this client is
/// answered, and reports the failures: `PUSHBUS_RESULT_OK` when none of the triggers
/// answered since the last report failed; otherwise the result code of the first that
/// failed, with its message (and how many failed) as the last error message. Each
/// failure is reported once. `timeout_ms` 0 does not wait: it reports what is known
/// (on a plain-http client, after reading the answers already there). A trigger not
/// answered within the client's timeout fails with `TIMEOUT`.
///
/// `client` is borrowed, not NULL. `out_pending` is NULL or receives, on success only,
/// how many queued triggers are still not answered (0 once all are). Errors:
/// `NULL_PARAMETER`, `FORKED`, and for failed triggers the codes of
/// `pushbus_client_trigger` (`CONNECT`, `TIMEOUT`, `HTTP_STATUS`, `INVALID_RESPONSE`).
/// Threads: any; blocks up to `timeout_ms`.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_flush(
    client: *const pushbus_client,
    timeout_ms: u32,
    out_pending: *mut usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let report = handle.flush(Duration::from_millis(u64::from(timeout_ms)));
        match report.first_failure.map(Failure::from) {
            Some(f) if report.failed > 1 => Err(Failure::new(
                f.code,
                format!(
                    "{} ({} queued triggers failed; this is the first)",
                    f.message, report.failed
                ),
            )),
            Some(f) => Err(f),
            None => {
                if !out_pending.is_null() {
                    *out_pending = report.pending;
                }
                Ok(())
            }
        }
    })
}

/// Triggers several events in one request (`POST /apps/{id}/batch_events`; servers
/// limit the batch size, 10 by default).
///
/// `client` is borrowed, not NULL; `events` points to `events_len` (at least 1)
/// events, borrowed. Errors: as `pushbus_client_trigger`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_trigger_batch(
    client: *const pushbus_client,
    events: *const pushbus_batch_event,
    events_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let items = slice_arg(events, events_len, "events")?;
        let batch = items
            .iter()
            .enumerate()
            .map(|(i, e)| {
                Ok(BatchEvent {
                    channel: str_arg(
                        e.channel.data,
                        e.channel.len,
                        &format!("events[{i}].channel"),
                    )?
                    .to_owned(),
                    name: str_arg(e.name.data, e.name.len, &format!("events[{i}].name"))?
                        .to_owned(),
                    data: str_arg(e.data.data, e.data.len, &format!("events[{i}].data"))?
                        .to_owned(),
                    socket_id: opt_str_arg(
                        e.socket_id.data,
                        e.socket_id.len,
                        &format!("events[{i}].socket_id"),
                    )?
                    .map(str::to_owned),
                })
            })
            .collect::<Result<Vec<_>, Failure>>()?;
        let request = handle.client.batch_request(&batch)?;
        handle.execute(&request).map(drop)
    })
}

/// Sends `event` with `data` to every connection signed in as `user_id` (its
/// `#server-to-user-` channel).
///
/// `client` is borrowed, not NULL; `user_id`, `event` and `data` are pointer + length,
/// UTF-8, borrowed, not NULL. Errors: as `pushbus_client_trigger`. Threads: any; blocks.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_client_send_to_user(
    client: *const pushbus_client,
    user_id: *const c_char,
    user_id_len: usize,
    event: *const c_char,
    event_len: usize,
    data: *const c_char,
    data_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let event = str_arg(event, event_len, "event")?;
        let data = str_arg(data, data_len, "data")?;
        let request = handle.client.user_event_request(user_id, event, data)?;
        handle.execute(&request).map(drop)
    })
}

/// Lists occupied channels (`GET /apps/{id}/channels`): writes the server's JSON
/// answer, e.g. `{"channels":{"orders":{}}}`.
///
/// `client` is borrowed, not NULL. `filter_by_prefix` and `info` (`"user_count"`, with
/// a `presence-` prefix) are NULL or pointer + length, UTF-8, borrowed. On success
/// writes to `*out_json` a string the caller frees with `pushbus_string_free`; on
/// failure leaves it untouched. Errors: as `pushbus_client_trigger`, and
/// `INVALID_RESPONSE`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_channels(
    client: *const pushbus_client,
    filter_by_prefix: *const c_char,
    filter_by_prefix_len: usize,
    info: *const c_char,
    info_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let prefix = opt_str_arg(filter_by_prefix, filter_by_prefix_len, "filter_by_prefix")?;
        let info = opt_str_arg(info, info_len, "info")?;
        let value = handle.execute(&handle.client.channels_request(prefix, info))?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Reports one channel (`GET /apps/{id}/channels/{name}`): writes the server's JSON
/// answer, e.g. `{"occupied":true,"subscription_count":1}`.
///
/// `client` is borrowed, not NULL; `channel` is pointer + length, UTF-8, borrowed, not
/// NULL; `info` is NULL or a comma list (`"subscription_count,user_count"`), borrowed.
/// On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: as
/// `pushbus_client_channels`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_channel(
    client: *const pushbus_client,
    channel: *const c_char,
    channel_len: usize,
    info: *const c_char,
    info_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let info = opt_str_arg(info, info_len, "info")?;
        let value = handle.execute(&handle.client.channel_request(channel, info)?)?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Lists the users of a presence channel (`GET /apps/{id}/channels/{name}/users`):
/// writes the server's JSON answer, e.g. `{"users":[{"id":"1"}]}`.
///
/// `client` is borrowed, not NULL; `channel` is pointer + length, UTF-8, borrowed, not
/// NULL. On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: as
/// `pushbus_client_channels`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_users(
    client: *const pushbus_client,
    channel: *const c_char,
    channel_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let value = handle.execute(&handle.client.users_request(channel)?)?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Closes every connection of `user_id` on the server
/// (`POST /apps/{id}/users/{user_id}/terminate_connections`).
///
/// `client` is borrowed, not NULL; `user_id` is pointer + length, UTF-8, borrowed, not
/// NULL. Errors: as `pushbus_client_trigger`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_terminate_user_connections(
    client: *const pushbus_client,
    user_id: *const c_char,
    user_id_len: usize,
) -> pushbus_result {
    guard(|| {
        let handle = handle_ref(client)?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let request = handle.client.terminate_request(user_id)?;
        handle.execute(&request).map(drop)
    })
}

/// Reports one user's status (pushbus's `GET /apps/{id}/users/{user_id}`): writes the
/// server's JSON answer, in the shape of `pushbus_server_user_status`, e.g.
/// `{"id":"7","online":true,"connections":1,"channels":[],"info":{"name":"Ada"}}`.
///
/// `client` is borrowed, not NULL; `user_id` is pointer + length, UTF-8, borrowed, not
/// NULL (percent-encoded into the path). On success writes to `*out_json` a string the
/// caller frees with `pushbus_string_free`; on failure leaves it untouched. Errors: as
/// `pushbus_client_channels` (`INVALID_ARGUMENT` for an empty user id; `HTTP_STATUS`
/// 400 for one the server refuses). Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_user_status(
    client: *const pushbus_client,
    user_id: *const c_char,
    user_id_len: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let value = handle.execute(&handle.client.user_status_request(user_id)?)?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Lists a page of the app's online users (pushbus's `GET /apps/{id}/users`): writes
/// the server's JSON answer, in the shape of `pushbus_server_online_users`, e.g.
/// `{"users":[{"id":"7","connections":1}],"next":"7"}` (`next`: the `after` of the
/// next page, absent on the last one).
///
/// `client` is borrowed, not NULL; `after` is NULL for the first page, or the id after
/// which to start (pointer + length, UTF-8, borrowed). `limit` is the most users
/// listed, 1 to 1000 (sent as it is: the server refuses others with a 400). On success
/// writes to `*out_json` a string the caller frees with `pushbus_string_free`; on
/// failure leaves it untouched. Errors: as `pushbus_client_channels`. Threads: any;
/// blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_online_users(
    client: *const pushbus_client,
    after: *const c_char,
    after_len: usize,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let after = opt_str_arg(after, after_len, "after")?;
        let value = handle.execute(&handle.client.online_users_request(after, Some(limit)))?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Lists the newest records of the app's delivery log (pushbus's
/// `GET /apps/{id}/delivery_log`): writes the server's JSON answer, in the shape of
/// `pushbus_server_delivery_log`, newest first, e.g.
/// `{"events":[{"channel":"orders","delivered":2,"digest":"9f86…","event":"paid","except":"123.456","id":"1","nodes":1,"size":7,"source":"api","time":1733300000000}]}`.
///
/// `client` is borrowed, not NULL. `limit` is the most records listed, 1 to 1000 (sent
/// as it is: the server refuses others with a 400; a log keeping fewer gives what it
/// keeps), or 0 for the server's default (100). On success writes to
/// `*out_json` a string the caller frees with `pushbus_string_free`; on failure leaves
/// it untouched. Errors: as `pushbus_client_channels`. Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_delivery_log(
    client: *const pushbus_client,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let limit = (limit > 0).then_some(limit);
        let value = handle.execute(&handle.client.delivery_log_request(limit))?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Lists a history channel's kept events (pushbus's
/// `GET /apps/{id}/channels/{name}/events`): writes the server's JSON answer, in the
/// shape of `pushbus_server_history`, oldest first, e.g.
/// `{"channel":"activity","epoch":"b3f1…","serial":7,"events":[{"serial":7,"time":1733300000120,"event":"ActivityFeedUpdated","data":"{\"n\":7}"}]}`.
///
/// `client` is borrowed, not NULL; `channel` is pointer + length, UTF-8, borrowed, not
/// NULL (checked here, as the other channel calls do). `since` is the serial after
/// which to list (0: from the first kept); `limit` the most events listed, 1 to 1000
/// (sent as it is: the server refuses others with a 400), or 0 for the server's
/// default (100). On success writes to `*out_json` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: as
/// `pushbus_client_channels` (a bad channel name is `INVALID_ARGUMENT`; a channel no
/// history rule names, the server's 400: `HTTP_STATUS`). Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_history(
    client: *const pushbus_client,
    channel: *const c_char,
    channel_len: usize,
    since: u64,
    limit: usize,
    out_json: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_json, "out_json")?;
        let handle = handle_ref(client)?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let since = (since > 0).then_some(since);
        let limit = (limit > 0).then_some(limit);
        let value = handle.execute(&handle.client.history_request(channel, since, limit)?)?;
        out.write(to_c_string(value.to_string())?);
        Ok(())
    })
}

/// Sets (or, with `location` NULL, clears) the location of an online user (pushbus's
/// `POST /apps/{id}/users/{user_id}/location`), as `pushbus_server_set_user_location`.
///
/// `client` is borrowed, not NULL; `user_id` is pointer + length, UTF-8, borrowed, not
/// NULL; `location` is NULL to clear, or pointer + length, UTF-8, borrowed.
/// `out_online` is NULL or receives whether the user was online (the answer's
/// `online`), on success only. Errors: as `pushbus_client_channels` (`HTTP_STATUS` 400
/// for a location the server refuses; `INVALID_RESPONSE` for an answer without
/// `online`). Threads: any; blocks.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_set_user_location(
    client: *const pushbus_client,
    user_id: *const c_char,
    user_id_len: usize,
    location: *const c_char,
    location_len: usize,
    out_online: *mut bool,
) -> pushbus_result {
    guard(|| {
        let out = Out::optional(out_online);
        let handle = handle_ref(client)?;
        let user_id = str_arg(user_id, user_id_len, "user_id")?;
        let location = opt_str_arg(location, location_len, "location")?;
        let request = handle.client.user_location_request(user_id, location)?;
        let value = handle.execute(&request)?;
        let online = value["online"].as_bool().ok_or_else(|| {
            Failure::new(
                pushbus_result::InvalidResponse,
                format!("the answer has no boolean \"online\": {value}"),
            )
        })?;
        if let Some(out) = out {
            out.write(online);
        }
        Ok(())
    })
}

/// Frees a client and closes its connections.
///
/// Takes ownership of `client`; NULL is a no-op. No other call may be using `client`
/// at the same time. In a forked child, a client made by the parent is released
/// without being touched (its connections belong to the parent; its memory stays
/// allocated). Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_client_free(client: *mut pushbus_client) {
    guard_void(|| {
        if let Some(handle) = free_box(client) {
            if handle.pid != current_pid() {
                std::mem::forget(handle);
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_errors_keep_status_and_body() {
        let f = Failure::from(ClientError::Status {
            status: 401,
            body: "{\"error\":\"x\"}".into(),
        });
        assert_eq!(f.code, pushbus_result::HttpStatus);
        assert!(f.message.contains("401"));
    }
}
