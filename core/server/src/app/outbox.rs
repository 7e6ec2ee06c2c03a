//! The sending side of one connection: a bounded queue of shared, already serialised
//! frames, a way to ask the connection to close, and its liveness timestamps.
//!
//! Fan-out never waits on a client. A frame is queued without blocking; when the queue
//! holds `capacity` frames the client is too slow to keep up and is closed with 4100
//! (pusher-js then reconnects with back-off), so one slow reader can never grow server
//! memory. The queue is a `VecDeque` that is empty (no allocation) while idle, which
//! keeps an idle connection small.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::sync::Notify;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::protocol::socket_id::SocketId;
use crate::protocol::ErrorCode;

/// Why the server is closing a connection; becomes a `pusher:error` and the close code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Kill {
    pub code: ErrorCode,
    pub message: Cow<'static, str>,
}

/// Milliseconds on a process-wide monotonic clock, starting at 1 so that 0 can mean
/// "never".
pub(crate) fn now_ms() -> u64 {
    clock_base().elapsed().as_millis() as u64 + 1
}

/// Microseconds on the same clock, starting at 1.
pub(crate) fn now_us() -> u64 {
    clock_base().elapsed().as_micros() as u64 + 1
}

fn clock_base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

/// Cheap to clone; every channel a connection joins holds one.
#[derive(Clone)]
pub(crate) struct Outbox(Arc<Inner>);

struct Inner {
    socket_id: SocketId,
    capacity: usize,
    state: Mutex<State>,
    /// Wakes the connection task for new frames or a close request. `notify_one` keeps
    /// a permit, so a wake-up sent before the task waits is not lost.
    wake: Notify,
    /// Last inbound frame, for the liveness sweep ([`crate::app::registry::Registry::sweep`]).
    last_seen: AtomicU64,
    /// When the sweep pinged this connection and is waiting for an answer; 0 if not.
    ping_sent: AtomicU64,
    /// When the current write to the socket began; 0 when not writing.
    writing_since: AtomicU64,
    /// The pushbus features the client enabled ([`crate::protocol::features`]).
    features: std::sync::atomic::AtomicU32,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Utf8Bytes>,
    /// The first close request wins; later ones are ignored.
    kill: Option<Kill>,
    /// The connection task has finished: frames are dropped on arrival.
    detached: bool,
    /// When the oldest published frame in `queue` reached this node ([`now_us`]); 0
    /// when the queue holds none.
    oldest_published: u64,
    /// Frames dropped: refused by a full queue or a closing connection, or left
    /// unwritten by a 4100 close. Counted here, reported by the session at its end.
    dropped: u64,
}

impl Outbox {
    pub fn new(socket_id: SocketId, capacity: usize) -> Outbox {
        let now = now_ms();
        Outbox(Arc::new(Inner {
            socket_id,
            capacity: capacity.max(1),
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            last_seen: AtomicU64::new(now),
            ping_sent: AtomicU64::new(0),
            writing_since: AtomicU64::new(0),
            features: std::sync::atomic::AtomicU32::new(0),
        }))
    }

    /// Adds `features` to what the client enabled; returns them all.
    pub fn enable(&self, features: crate::protocol::features::Features) -> u32 {
        self.0.features.fetch_or(features, Ordering::AcqRel) | features
    }

    /// Whether the client enabled `feature`.
    pub fn has(&self, feature: crate::protocol::features::Features) -> bool {
        self.0.features.load(Ordering::Acquire) & feature != 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn socket_id(&self) -> SocketId {
        self.0.socket_id
    }

    /// Queues a frame. A full queue closes the connection with 4100; frames for a
    /// connection that is closing or gone are dropped.
    pub fn send(&self, frame: Utf8Bytes) {
        if self.send_quiet(frame) {
            self.wake();
        }
    }

    /// Queues a frame like [`Outbox::send`] but leaves the wake-up to the caller:
    /// returns true when [`Outbox::wake`] is owed (this frame started a batch, or it
    /// overflowed the queue).
    pub fn send_quiet(&self, frame: Utf8Bytes) -> bool {
        self.push(frame, 0)
    }

    /// Queues a published event's frame like [`Outbox::send`]; `since` ([`now_us`]) is
    /// when it reached this node.
    pub fn send_published(&self, frame: Utf8Bytes, since: u64) {
        if self.push(frame, since) {
            self.wake();
        }
    }

    fn push(&self, frame: Utf8Bytes, since: u64) -> bool {
        let mut state = self.lock();
        if state.kill.is_some() || state.detached {
            // Closing: a detached connection's loss was counted when it ended.
            if !state.detached {
                state.dropped += 1;
            }
            return false;
        }
        if state.queue.len() >= self.0.capacity {
            state.kill = Some(Kill {
                code: ErrorCode::OverCapacity,
                message: "Connection too slow: outbound queue is full".into(),
            });
            state.dropped += 1;
            return true;
        }
        if since != 0 && state.oldest_published == 0 {
            state.oldest_published = since;
        }
        state.queue.push_back(frame);
        state.queue.len() == 1
    }

    /// Frames dropped so far (see `State::dropped`), counted once: the session reads
    /// it as it ends.
    pub fn take_dropped(&self) -> u64 {
        std::mem::take(&mut self.lock().dropped)
    }

    /// Wakes the connection task for what [`Outbox::send_quiet`] queued.
    pub fn wake(&self) {
        self.0.wake.notify_one();
    }

    /// Asks the connection to send `pusher:error` and close with `code`.
    pub fn close(&self, code: ErrorCode, message: impl Into<Cow<'static, str>>) {
        let mut state = self.lock();
        if state.kill.is_none() && !state.detached {
            state.kill = Some(Kill {
                code,
                message: message.into(),
            });
            drop(state);
            self.0.wake.notify_one();
        }
    }

    /// Waits until there is something to do: returns `Some(kill)` when the connection
    /// must close, otherwise moves the queued frames (in order) into `batch`, which must
    /// be empty. Only the connection's own task calls this.
    /// `oldest` gets the time the oldest published frame of the batch reached this node
    /// (see [`Outbox::send_published`]; 0 when none).
    pub async fn next(&self, batch: &mut VecDeque<Utf8Bytes>, oldest: &mut u64) -> Option<Kill> {
        loop {
            {
                let mut state = self.lock();
                if let Some(kill) = &state.kill {
                    return Some(kill.clone());
                }
                if !state.queue.is_empty() {
                    std::mem::swap(&mut state.queue, batch);
                    *oldest = std::mem::take(&mut state.oldest_published);
                    return None;
                }
            }
            self.0.wake.notified().await;
        }
    }

    /// Resolves once a close has been requested.
    pub async fn killed(&self) -> Kill {
        loop {
            if let Some(kill) = self.lock().kill.clone() {
                return kill;
            }
            self.0.wake.notified().await;
        }
    }

    /// Moves frames queued since `next` to the end of `batch`.
    pub fn take_more(&self, batch: &mut VecDeque<Utf8Bytes>, oldest: &mut u64) {
        let mut state = self.lock();
        if state.kill.is_none() {
            batch.append(&mut state.queue);
            let more = std::mem::take(&mut state.oldest_published);
            if *oldest == 0 {
                *oldest = more;
            }
        }
    }

    /// Takes every queued frame (used when closing).
    pub fn take_all(&self) -> VecDeque<Utf8Bytes> {
        let mut state = self.lock();
        state.oldest_published = 0;
        std::mem::take(&mut state.queue)
    }

    /// Drops every queued frame, counting them (a 4100 close does not write them).
    pub fn drop_queued(&self) {
        let mut state = self.lock();
        let n = state.queue.len() as u64;
        state.queue = VecDeque::new();
        state.oldest_published = 0;
        state.dropped += n;
    }

    /// The connection task is done: drop queued frames and refuse new ones.
    pub fn detach(&self) {
        let mut state = self.lock();
        state.detached = true;
        state.queue = VecDeque::new();
    }

    /// Records inbound activity.
    pub fn touch(&self) {
        self.0.last_seen.store(now_ms(), Ordering::Relaxed);
    }

    pub fn set_writing(&self, writing: bool) {
        let v = if writing { now_ms() } else { 0 };
        self.0.writing_since.store(v, Ordering::Relaxed);
    }

    /// One liveness check (PROTOCOL.md §1.6): ping a connection silent for
    /// `ping_interval_ms`, close with 4201 one silent for `pong_timeout_ms` after the
    /// ping, and close one whose socket has not taken bytes for `write_timeout_ms`.
    pub fn check_liveness(
        &self,
        now: u64,
        ping_interval_ms: u64,
        pong_timeout_ms: u64,
        write_timeout_ms: u64,
    ) {
        let i = &self.0;
        let writing = i.writing_since.load(Ordering::Relaxed);
        if writing != 0 && now.saturating_sub(writing) >= write_timeout_ms {
            self.close(
                ErrorCode::OverCapacity,
                "Connection too slow: socket not writable",
            );
            return;
        }
        let last = i.last_seen.load(Ordering::Relaxed);
        let ping = i.ping_sent.load(Ordering::Relaxed);
        if ping != 0 && last >= ping {
            // Answered: any frame after the ping counts.
            i.ping_sent.store(0, Ordering::Relaxed);
        } else if ping != 0 {
            if now.saturating_sub(ping) >= pong_timeout_ms {
                self.close(ErrorCode::PongTimeout, "Pong reply not received in time");
            }
            return;
        }
        if now.saturating_sub(last) >= ping_interval_ms {
            i.ping_sent.store(now, Ordering::Relaxed);
            self.send(crate::protocol::frames::ping());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn overflow_closes_with_4100_and_keeps_what_was_queued() {
        let outbox = Outbox::new(SocketId::generate(), 2);
        outbox.send("a".into());
        outbox.send("b".into());
        outbox.send("c".into());
        let mut batch = VecDeque::new();
        let kill = outbox.next(&mut batch, &mut 0).await.unwrap();
        assert_eq!(kill.code, ErrorCode::OverCapacity);
        let queued: Vec<_> = outbox
            .take_all()
            .into_iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(queued, ["a", "b"]);
    }

    #[tokio::test]
    async fn frames_arrive_in_order_and_first_close_wins() {
        let outbox = Outbox::new(SocketId::generate(), 8);
        outbox.send("a".into());
        outbox.send("b".into());
        let mut batch = VecDeque::new();
        assert!(outbox.next(&mut batch, &mut 0).await.is_none());
        assert_eq!(batch.len(), 2);
        outbox.close(ErrorCode::Unauthorized, "terminated");
        outbox.close(ErrorCode::Reconnect, "shutdown");
        assert_eq!(outbox.killed().await.code, ErrorCode::Unauthorized);
    }

    #[test]
    fn liveness_pings_then_times_out() {
        let outbox = Outbox::new(SocketId::generate(), 8);
        let t0 = now_ms();
        outbox.check_liveness(t0 + 500, 1000, 1000, 20_000);
        assert!(outbox.take_all().is_empty(), "not idle long enough");
        outbox.check_liveness(t0 + 1000, 1000, 1000, 20_000);
        assert_eq!(outbox.take_all().len(), 1, "pinged");
        outbox.check_liveness(t0 + 1500, 1000, 1000, 20_000);
        assert!(outbox.lock().kill.is_none());
        outbox.check_liveness(t0 + 2000, 1000, 1000, 20_000);
        assert_eq!(
            outbox.lock().kill.as_ref().unwrap().code,
            ErrorCode::PongTimeout
        );
    }

    #[test]
    fn an_answer_resets_the_ping() {
        let outbox = Outbox::new(SocketId::generate(), 8);
        let t0 = now_ms();
        outbox.check_liveness(t0 + 1000, 1000, 1000, 20_000);
        outbox.0.last_seen.store(t0 + 1200, Ordering::Relaxed);
        outbox.check_liveness(t0 + 2100, 1000, 1000, 20_000);
        assert!(outbox.lock().kill.is_none());
        assert_eq!(outbox.0.ping_sent.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn stuck_writes_are_closed() {
        let outbox = Outbox::new(SocketId::generate(), 8);
        outbox.set_writing(true);
        outbox.check_liveness(now_ms() + 20_000, 1000, 1000, 20_000);
        assert_eq!(
            outbox.lock().kill.as_ref().unwrap().code,
            ErrorCode::OverCapacity
        );
    }
}
