//! Writes nobody waits for (connection counts, cache stores, bus publishes), applied
//! by one task in the order this node made them.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ::redis::aio::ConnectionManager;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::ledger::Ledger;
use super::scripts::{user_off_call, user_on_call, Keys, LastSeenBounds};
use crate::shards::lock;

/// Writes queued for the writer task at most; past it they are dropped and counted.
pub(super) const MAX_QUEUED_WRITES: usize = 65_536;

/// A write nobody waits for, applied in order by the writer task.
pub(super) enum Write {
    /// This node's live connections, as the ledger counts them when it is applied.
    Connections,
    StoreLast {
        channel: String,
        frame: Utf8Bytes,
    },
    Publish(String),
    /// A user-status change, whose answer the caller waits for.
    User(UserWrite),
    /// An event of a history channel, serialised and published to every node by Redis.
    History {
        channel: String,
        frame: Utf8Bytes,
        events: usize,
        ttl_ms: u64,
        log_id: Option<Arc<str>>,
        except: Option<crate::protocol::socket_id::SocketId>,
    },
    /// A delivery-log record, with this node's deliveries.
    Log {
        id: Arc<str>,
        record: String,
        delivered: usize,
    },
}

/// A connection became, or stopped being, known as a user; `reply` gets the script's
/// answer (see USER_ON and USER_OFF in [`super::scripts`]).
pub(super) struct UserWrite {
    pub user: Arc<str>,
    pub socket: crate::protocol::socket_id::SocketId,
    /// `Some(info)` (empty for none) for USER_ON, `None` for USER_OFF.
    pub on: Option<String>,
    pub reply: tokio::sync::oneshot::Sender<Result<i64, crate::cluster::BackendError>>,
}

/// The scripts the writer runs, and the bounds they keep.
pub(super) struct WriterScripts {
    pub on: ::redis::Script,
    pub off: ::redis::Script,
    pub last_seen: LastSeenBounds,
    pub log_add: ::redis::Script,
    pub history_add: ::redis::Script,
    /// Bytes the app's channel histories keep at most.
    pub history_max_bytes: usize,
    /// Delivery-log records kept at most.
    pub log_size: usize,
}

/// Writes sent to Redis in one pipeline at most: under load the writer sends what has
/// queued meanwhile in one round trip, in order.
const MAX_BATCH: usize = 256;

/// Failed batches remembered for [`Applied::failed`]; a caller asks about its write
/// right after queueing it, so only recent ones matter.
const REMEMBERED_FAILURES: usize = 64;

/// How far the writer got: writes are numbered from 1 in queueing order.
pub(super) struct Applied {
    /// The number of the last write applied (or failed).
    pub count: AtomicU64,
    pub notify: tokio::sync::Notify,
    /// Whether the last write (or lease renewal) reached Redis: while it did not,
    /// broadcasts are refused at once rather than queued and claimed sent.
    pub reachable: AtomicBool,
    /// The last lease renewal's PING round trip in microseconds (0: none answered yet,
    /// or the last did not).
    pub rtt_us: AtomicU64,
    /// Ranges of write numbers whose batch failed, newest last.
    failures: Mutex<VecDeque<(u64, u64)>>,
}

impl Default for Applied {
    fn default() -> Self {
        Applied {
            count: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            reachable: AtomicBool::new(true),
            rtt_us: AtomicU64::new(0),
            failures: Mutex::new(VecDeque::new()),
        }
    }
}

impl Applied {
    /// Whether write `n` (applied already) failed.
    pub fn failed(&self, n: u64) -> bool {
        lock(&self.failures)
            .iter()
            .any(|&(first, last)| (first..=last).contains(&n))
    }

    fn done(&self, first: u64, last: u64, ok: bool) {
        if !ok {
            let mut failures = lock(&self.failures);
            if failures.len() == REMEMBERED_FAILURES {
                failures.pop_front();
            }
            failures.push_back((first, last));
        }
        self.reachable.store(ok, Ordering::Release);
        self.count.store(last, Ordering::Release);
        self.notify.notify_waiters();
    }
}

/// Applies queued writes in order, as many as have queued (up to [`MAX_BATCH`]) in
/// one pipeline; a failed batch is logged and remembered, and the rest go on.
#[allow(clippy::too_many_arguments)]
pub(super) async fn write_in_order(
    mut conn: ConnectionManager,
    keys: Arc<Keys>,
    node: Arc<str>,
    cache_ttl: Duration,
    mut queue: mpsc::Receiver<(u64, Write)>,
    applied: Arc<Applied>,
    ledger: Arc<Ledger>,
    users: WriterScripts,
) {
    let ttl_ms = cache_ttl.as_millis().max(1) as u64;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut waiting = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let first = batch.first().map_or(0, |(n, _)| *n);
        let last = batch.last().map_or(0, |(n, _)| *n);
        let mut pipe = ::redis::pipe();
        if batch.iter().any(|(_, w)| matches!(w, Write::User(_))) {
            // EVALSHA needs the scripts loaded (Redis may have restarted meanwhile).
            pipe.load_script(&users.on).ignore();
            pipe.load_script(&users.off).ignore();
        }
        if batch.iter().any(|(_, w)| matches!(w, Write::Log { .. })) {
            pipe.load_script(&users.log_add).ignore();
        }
        if batch
            .iter()
            .any(|(_, w)| matches!(w, Write::History { .. }))
        {
            pipe.load_script(&users.history_add).ignore();
        }
        for (_, write) in batch.drain(..) {
            match write {
                Write::Connections => pipe.hset(keys.conns(), &*node, ledger.connections()),
                Write::Publish(payload) => pipe.publish(keys.bus(), payload),
                Write::StoreLast { channel, frame } => {
                    pipe.pset_ex(keys.cache(&channel), frame.as_str(), ttl_ms)
                }
                Write::History {
                    channel,
                    frame,
                    events,
                    ttl_ms,
                    log_id,
                    except,
                } => {
                    let mut call = users.history_add.prepare_invoke();
                    call.key(keys.history_events(&channel))
                        .key(keys.history_meta(&channel))
                        .key(keys.bus())
                        .key(keys.history_bytes())
                        .key(keys.history_order())
                        .arg(&*node)
                        .arg(&channel)
                        .arg(frame.as_str())
                        .arg(events)
                        .arg(ttl_ms)
                        .arg(log_id.as_deref().unwrap_or(""))
                        .arg(except.map(|s| s.to_string()).unwrap_or_default())
                        .arg(users.history_max_bytes)
                        .arg(&keys.base);
                    pipe.invoke_script(&call).ignore();
                    continue;
                }
                Write::Log {
                    id,
                    record,
                    delivered,
                } => {
                    let mut call = users.log_add.prepare_invoke();
                    call.key(keys.delivery_log())
                        .key(keys.delivery_counts())
                        .arg(&*id)
                        .arg(record)
                        .arg(delivered)
                        .arg(users.log_size);
                    pipe.invoke_script(&call).ignore();
                    continue;
                }
                Write::User(w) => {
                    let call = match &w.on {
                        Some(info) => {
                            user_on_call(&users.on, &keys, &node, &w.user, w.socket, info)
                        }
                        None => user_off_call(
                            &users.off,
                            &keys,
                            &node,
                            &w.user,
                            w.socket,
                            &users.last_seen,
                        ),
                    };
                    pipe.invoke_script(&call);
                    waiting.push(w);
                    continue;
                }
            }
            .ignore();
        }
        let sent = tokio::time::timeout(
            super::COMMAND_TIMEOUT,
            pipe.query_async::<Vec<i64>>(&mut conn),
        )
        .await;
        let answers = match &sent {
            Ok(Ok(answers)) if answers.len() == waiting.len() => Some(answers.clone()),
            _ => None,
        };
        for (i, w) in waiting.drain(..).enumerate() {
            let answer = match &answers {
                Some(a) => Ok(a[i]),
                None => {
                    if w.on.is_none() {
                        // Settled by the lease keeper once Redis answers again.
                        ledger.unrecorded_user(w.user.clone(), w.socket);
                    }
                    Err(super::unavailable("user status not recorded by Redis"))
                }
            };
            let _ = w.reply.send(answer);
        }
        let ok = match sent {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                tracing::warn!(
                    "Redis backend: {} writes not applied: {e}",
                    last + 1 - first
                );
                false
            }
            Err(_) => {
                tracing::warn!(
                    "Redis backend: {} writes not applied in time",
                    last + 1 - first
                );
                false
            }
        };
        applied.done(first, last, ok);
    }
}
