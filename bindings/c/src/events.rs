//! Lifecycle events for C: a poll handle (`pushbus_events`) and a callback thread.
//!
//! Both read the server's bounded broadcast stream. A reader that falls more than
//! `event_buffer` events behind loses the oldest ones; the next event it gets says how
//! many in its `lost` field, so memory never grows with a stalled reader.

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, PoisonError};
use std::thread::{JoinHandle, ThreadId};
use std::time::Duration;

use pushbus_core::EventKind;
use pushbus_core::{EventReceiver, LifecycleEvent};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::oneshot;

use crate::error::{pushbus_result, Failure};
use crate::ffi::{free_box, guard, guard_void, to_boxed_ptr, try_ref, Castable, Out, OwnershipBox};
use crate::runtime::{check_pid, current_pid, runtime};

/// What happened. The numbers are stable.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pushbus_event_kind {
    /// A WebSocket connection was established (`socket_id`).
    ConnectionOpened = 1,
    /// A connection closed (`socket_id`).
    ConnectionClosed = 2,
    /// A channel got its first subscriber (`channel`).
    ChannelOccupied = 3,
    /// A channel lost its last subscriber (`channel`).
    ChannelVacated = 4,
    /// A user's first connection joined a presence channel (`channel`, `user_id`).
    MemberAdded = 5,
    /// A user's last connection left a presence channel (`channel`, `user_id`).
    MemberRemoved = 6,
    /// A client event (whisper) was accepted and relayed (`channel`, `event`, `data`,
    /// `socket_id`, and `user_id` on presence channels).
    ClientEvent = 7,
    /// A subscriber of a cache channel found nothing kept (`channel`).
    CacheMiss = 8,
    /// The subscriptions of a non-presence channel changed (`channel`, `count`); only
    /// for apps with a webhook target that asks for `subscription_count`.
    SubscriptionCount = 9,
    /// A user came online: their first connection signed in or joined a presence
    /// channel as them (`user_id`).
    UserOnline = 10,
    /// A user went offline: their last connection ended and they stayed away for the
    /// app's `user_status.offline_delay` (`user_id`).
    UserOffline = 11,
    /// A published event was recorded in the delivery log, with `delivery_log.events`
    /// (`channel`, `event`, and in `data` the record as JSON: id, time, size, digest or
    /// data, delivered, nodes, except, source).
    EventLogged = 12,
}

impl pushbus_event_kind {
    fn of(kind: &EventKind) -> pushbus_event_kind {
        match kind {
            EventKind::ConnectionOpened { .. } => pushbus_event_kind::ConnectionOpened,
            EventKind::ConnectionClosed { .. } => pushbus_event_kind::ConnectionClosed,
            EventKind::ChannelOccupied { .. } => pushbus_event_kind::ChannelOccupied,
            EventKind::ChannelVacated { .. } => pushbus_event_kind::ChannelVacated,
            EventKind::MemberAdded { .. } => pushbus_event_kind::MemberAdded,
            EventKind::MemberRemoved { .. } => pushbus_event_kind::MemberRemoved,
            EventKind::ClientEvent { .. } => pushbus_event_kind::ClientEvent,
            EventKind::CacheMiss { .. } => pushbus_event_kind::CacheMiss,
            EventKind::SubscriptionCount { .. } => pushbus_event_kind::SubscriptionCount,
            EventKind::UserOnline { .. } => pushbus_event_kind::UserOnline,
            EventKind::UserOffline { .. } => pushbus_event_kind::UserOffline,
            EventKind::EventLogged(_) => pushbus_event_kind::EventLogged,
        }
    }
}

/// One lifecycle event. Every string is NUL-terminated, owned by the library and valid
/// as long as the event: until `pushbus_event_free` for a polled event, until the
/// callback returns for a callback's. Fields that do not apply to the kind are NULL.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct pushbus_event {
    pub kind: pushbus_event_kind,
    /// The kind as text, as in Pusher webhooks: `"member_added"`, `"client_event"`, ...
    pub name: *const c_char,
    /// The app the event belongs to.
    pub app_id: *const c_char,
    /// Every kind except connection events.
    pub channel: *const c_char,
    /// Member events; client events on presence channels.
    pub user_id: *const c_char,
    /// Connection events and client events.
    pub socket_id: *const c_char,
    /// Client events: the event name (`"client-typing"`); `event_logged`: the logged
    /// event's name.
    pub event: *const c_char,
    /// Client events: the data string as sent (it may hold NUL bytes: use `data_len`);
    /// `event_logged`: the record as JSON.
    pub data: *const c_char,
    /// Length of `data` in bytes (0 when `data` is NULL).
    pub data_len: usize,
    /// How many events this reader lost just before this one because it fell behind.
    pub lost: u64,
    /// Subscription-count events: the channel's subscriptions (0 for other kinds).
    pub count: usize,
}

/// A `pushbus_event` with the bytes its pointers point into. `public` comes first so
/// that a pointer to it is a pointer to the whole (`repr(C)`).
#[repr(C)]
pub(crate) struct OwnedEvent {
    public: pushbus_event,
    /// NUL-terminated copies of the strings; moving the vectors does not move their
    /// heap buffers, which the pointers above refer to.
    _strings: Vec<Vec<u8>>,
}

impl OwnedEvent {
    pub(crate) fn new(event: &LifecycleEvent, lost: u64) -> Box<OwnedEvent> {
        let mut strings: Vec<Vec<u8>> = Vec::new();
        let mut keep = |s: &str| -> *const c_char {
            let mut bytes = Vec::with_capacity(s.len() + 1);
            bytes.extend_from_slice(s.as_bytes());
            bytes.push(0);
            let ptr = bytes.as_ptr().cast();
            strings.push(bytes);
            ptr
        };
        // The fields come from core's accessors, so a kind's fields are decided once.
        let kind = pushbus_event_kind::of(&event.kind);
        let mut keep_opt = |s: Option<&str>| s.map_or(std::ptr::null(), &mut keep);
        let channel = keep_opt(event.kind.channel());
        let user_id = keep_opt(event.kind.user_id());
        let socket_id = keep_opt(event.kind.socket_id());
        let record = event.kind.record();
        let record_json = record.and_then(|r| serde_json::to_string(r).ok());
        let client = event
            .kind
            .client_event()
            .or_else(|| Some((&*record?.event, record_json.as_deref()?)));
        let ev = keep_opt(client.map(|(e, _)| e));
        let data = keep_opt(client.map(|(_, d)| d));
        let data_len = client.map_or(0, |(_, d)| d.len());
        let name = keep(event.kind.name());
        let app_id = keep(&event.app_id);
        Box::new(OwnedEvent {
            public: pushbus_event {
                kind,
                name,
                app_id,
                channel,
                user_id,
                socket_id,
                event: ev,
                data,
                data_len,
                lost,
                count: event.kind.subscription_count().unwrap_or(0),
            },
            _strings: strings,
        })
    }

    pub(crate) fn as_ptr(&self) -> *const pushbus_event {
        &self.public
    }
}

/// A reader of one server's lifecycle events, for polling. Opaque.
#[allow(non_camel_case_types)]
pub struct pushbus_events {
    _private: [u8; 0],
}

pub(crate) struct EventsHandle {
    pid: u32,
    state: Mutex<Reader>,
}

struct Reader {
    rx: EventReceiver,
    /// Events lost since the last one returned (a lag noticed by a poll that then
    /// timed out is reported with the next event).
    lost: u64,
}

impl Castable for pushbus_events {
    type Ownership = OwnershipBox;
    type RustType = EventsHandle;
}

impl EventsHandle {
    fn new(rx: EventReceiver) -> EventsHandle {
        EventsHandle {
            pid: current_pid(),
            state: Mutex::new(Reader { rx, lost: 0 }),
        }
    }
}

/// Waits up to `timeout_ms` milliseconds for the next lifecycle event.
///
/// `events` is borrowed, not NULL. `timeout_ms` 0 returns at once. On success writes
/// to `*out_event` an event the caller owns and frees with `pushbus_event_free`; on
/// failure leaves it untouched. Errors: `NULL_PARAMETER`, `TIMEOUT` (no event within
/// the time), `CLOSED` (the server was freed and every event was read), `FORKED`.
/// Threads: any, including an event callback; calls on one handle are serialised (a
/// second poller waits for the first). The calling thread blocks up to `timeout_ms`;
/// the server keeps running meanwhile.
#[no_mangle]
pub unsafe extern "C" fn pushbus_events_poll(
    events: *mut pushbus_events,
    timeout_ms: u32,
    out_event: *mut *mut pushbus_event,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_event, "out_event")?;
        let handle = try_ref::<pushbus_events>(events, "events")?;
        check_pid(handle.pid, "event reader")?;
        let mut reader = handle.state.lock().unwrap_or_else(PoisonError::into_inner);
        let event = if timeout_ms == 0 {
            try_next(&mut reader)?
        } else {
            let rt = runtime()?;
            let wait = Duration::from_millis(u64::from(timeout_ms));
            let reader = &mut *reader;
            rt.block_on(async {
                tokio::time::timeout(wait, next(&mut reader.rx, &mut reader.lost)).await
            })
            .map_err(|_| no_event())??
        };
        let lost = std::mem::take(&mut reader.lost);
        let owned = OwnedEvent::new(&event, lost);
        out.write(Box::into_raw(owned).cast());
        Ok(())
    })
}

fn no_event() -> Failure {
    Failure::new(pushbus_result::Timeout, "no event within the timeout")
}

fn closed() -> Failure {
    Failure::new(
        pushbus_result::Closed,
        "the server was freed: no more events",
    )
}

/// The next event; counts lag into `lost`.
async fn next(rx: &mut EventReceiver, lost: &mut u64) -> Result<LifecycleEvent, Failure> {
    loop {
        match rx.recv().await {
            Ok(event) => return Ok(event),
            Err(RecvError::Lagged(n)) => *lost += n,
            Err(RecvError::Closed) => return Err(closed()),
        }
    }
}

fn try_next(reader: &mut Reader) -> Result<LifecycleEvent, Failure> {
    loop {
        match reader.rx.try_recv() {
            Ok(event) => return Ok(event),
            Err(TryRecvError::Lagged(n)) => reader.lost += n,
            Err(TryRecvError::Empty) => return Err(no_event()),
            Err(TryRecvError::Closed) => return Err(closed()),
        }
    }
}

/// Frees an event returned by `pushbus_events_poll`. Takes ownership; NULL is a no-op.
/// Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_event_free(event: *mut pushbus_event) {
    guard_void(|| {
        if !event.is_null() {
            drop(Box::from_raw(event.cast::<OwnedEvent>()));
        }
    })
}

/// Frees an event reader. Takes ownership; NULL is a no-op. No other call may be using
/// `events` at the same time. In a forked child, a reader made by the parent is
/// released without being touched (its memory stays allocated). Threads: any.
#[no_mangle]
pub unsafe extern "C" fn pushbus_events_free(events: *mut pushbus_events) {
    guard_void(|| {
        if let Some(handle) = free_box(events) {
            if handle.pid != current_pid() {
                std::mem::forget(handle);
            }
        }
    })
}

/// Called with each lifecycle event on the server's callback thread. `event` and its
/// strings are owned by the library and valid until the callback returns: copy what
/// you keep, and do not pass `event` to `pushbus_event_free`.
#[allow(non_camel_case_types)]
pub type pushbus_event_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const pushbus_event)>;

/// Releases the `user_data` given with a callback.
#[allow(non_camel_case_types)]
pub type pushbus_free_callback = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// `user_data` and its finalizer, which runs exactly once, when this is dropped.
pub(crate) struct UserData {
    ptr: *mut c_void,
    free: pushbus_free_callback,
}

// The C caller promises `user_data` may be used from the callback thread (see
// `pushbus_server_set_event_callback`).
unsafe impl Send for UserData {}

impl UserData {
    pub(crate) fn new(ptr: *mut c_void, free: pushbus_free_callback) -> UserData {
        UserData { ptr, free }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the caller gave us `ptr` with this finalizer.
            unsafe { free(self.ptr) };
        }
    }
}

/// The thread that delivers events to a C callback.
pub(crate) struct CallbackThread {
    /// Dropping it tells the thread to stop.
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
    id: ThreadId,
}

impl CallbackThread {
    pub(crate) fn spawn(
        rx: EventReceiver,
        callback: unsafe extern "C" fn(*mut c_void, *const pushbus_event),
        user_data: UserData,
    ) -> Result<CallbackThread, (Failure, UserData)> {
        let rt = match runtime() {
            Ok(rt) => rt,
            Err(f) => return Err((f, user_data)),
        };
        let (stop, mut stopped) = oneshot::channel::<()>();
        // The thread takes `user_data` through this slot so that a failed spawn can
        // hand it back (and its finalizer still runs exactly once).
        let slot = std::sync::Arc::new(Mutex::new(Some(user_data)));
        let thread_slot = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("pushbus-events".into())
            .spawn(move || {
                let taken = thread_slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                let Some(user_data) = taken else { return };
                let mut rx = rx;
                let mut lost = 0u64;
                loop {
                    let next = rt.block_on(async {
                        tokio::select! {
                            biased;
                            _ = &mut stopped => None,
                            r = rx.recv() => Some(r),
                        }
                    });
                    match next {
                        None | Some(Err(RecvError::Closed)) => break,
                        Some(Err(RecvError::Lagged(n))) => lost += n,
                        Some(Ok(event)) => {
                            let owned = OwnedEvent::new(&event, std::mem::take(&mut lost));
                            // SAFETY: the caller registered `callback` for this data.
                            unsafe { callback(user_data.ptr, owned.as_ptr()) };
                        }
                    }
                }
                drop(user_data);
            });
        match spawned {
            Ok(thread) => {
                let id = thread.thread().id();
                Ok(CallbackThread { stop, thread, id })
            }
            Err(e) => {
                let user_data = slot
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take()
                    .expect("the thread never ran");
                Err((
                    Failure::new(
                        pushbus_result::Runtime,
                        format!("cannot start the callback thread: {e}"),
                    ),
                    user_data,
                ))
            }
        }
    }

    /// Stops the thread. Waits for it (so the callback is not running and the
    /// finalizer has run when this returns) unless called from the callback itself,
    /// where it lets the thread finish after the callback returns.
    pub(crate) fn stop(self) {
        drop(self.stop);
        if std::thread::current().id() != self.id {
            let _ = self.thread.join();
        }
    }
}

/// A reader of lifecycle events as a C handle (for `pushbus_server_events`).
pub(crate) fn events_handle_from(rx: EventReceiver) -> *mut pushbus_events {
    to_boxed_ptr::<pushbus_events>(EventsHandle::new(rx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn owned_event_points_into_its_own_strings() {
        let ev = LifecycleEvent {
            app_id: Arc::from("app"),
            kind: EventKind::ClientEvent {
                channel: Arc::from("presence-x"),
                event: "client-typing".into(),
                data: "a\0b".into(),
                socket_id: "1.2".into(),
                user_id: None,
            },
        };
        let owned = OwnedEvent::new(&ev, 3);
        let e = unsafe { &*owned.as_ptr() };
        let s = |p: *const c_char| unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap();
        assert_eq!(e.kind, pushbus_event_kind::ClientEvent);
        assert_eq!(s(e.name), "client_event");
        assert_eq!(s(e.app_id), "app");
        assert_eq!(s(e.channel), "presence-x");
        assert!(e.user_id.is_null());
        assert_eq!(e.data_len, 3);
        assert_eq!(e.lost, 3);
    }
}
