//! User status in Redis: who is online cluster-wide, their presence channels, info,
//! location and `last_seen`.
//!
//! Keys (see [`Keys`]): `user:{id}` (socket → node), `uch:{id}` (presence channels,
//! kept by JOIN/LEAVE/REAP), `online` (sorted by id, for paging), `uinfo`, `uloc`,
//! `lastseen` (bounded), and `node:{node}:users` for removing a dead node's users.
//! Changes go through the ordered writer (USER_ON / USER_OFF), so one node's changes
//! of a user apply in the order it made them; queries wait for this node's earlier
//! writes first.

use std::sync::Arc;

use ::redis::Value;
use futures_util::future::{self, BoxFuture, FutureExt};
use serde_json::value::RawValue;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::bus::envelope;
use super::scripts::{Keys, SET_LOCATION};
use super::writer::{UserWrite, Write};
use super::{unavailable, RedisBackend};
use crate::cluster::BackendError;
use crate::protocol::socket_id::SocketId;
use crate::views::{OnlineUser, OnlineUsers, UserStatus};

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::BulkString(b)) => Some(String::from_utf8_lossy(b).into_owned()),
        Some(Value::SimpleString(s)) => Some(s.clone()),
        _ => None,
    }
}

fn raw(info: Option<String>) -> Option<Arc<RawValue>> {
    info.filter(|i| !i.is_empty())
        .and_then(|i| RawValue::from_string(i).ok())
        .map(Arc::from)
}

impl RedisBackend {
    /// Queues a USER_ON (`info: Some`) or USER_OFF; resolves to the script's answer.
    fn user_write(
        &self,
        user: &str,
        socket: SocketId,
        on: Option<String>,
    ) -> BoxFuture<'static, Result<i64, BackendError>> {
        let user: Arc<str> = user.into();
        match &on {
            Some(info) => self.ledger.user_on(&user, socket, info),
            None => self.ledger.user_off(&user, socket),
        }
        let (reply, answer) = oneshot::channel();
        let off = on.is_none();
        let write = Write::User(UserWrite {
            user: user.clone(),
            socket,
            on,
            reply,
        });
        if self.queue(write).is_none() {
            if off {
                self.ledger.unrecorded_user(user, socket);
            }
            return future::ready(Err(unavailable("too many writes queued"))).boxed();
        }
        async move {
            answer
                .await
                .map_err(|_| unavailable("the Redis writer stopped"))?
        }
        .boxed()
    }

    pub(super) fn user_connected_now(
        &self,
        user: &str,
        socket: SocketId,
        info: Option<&RawValue>,
    ) -> BoxFuture<'static, Result<bool, BackendError>> {
        let info = info.map_or_else(String::new, |i| i.get().to_string());
        let answer = self.user_write(user, socket, Some(info));
        async move { Ok(answer.await? == 1) }.boxed()
    }

    pub(super) fn user_disconnected_now(
        &self,
        user: &str,
        socket: SocketId,
    ) -> BoxFuture<'static, Result<Option<u64>, BackendError>> {
        let answer = self.user_write(user, socket, None);
        async move {
            let since = answer.await?;
            Ok((since > 0).then_some(since as u64))
        }
        .boxed()
    }

    pub(super) async fn users_online_now(
        &self,
        users: &[Arc<str>],
    ) -> Result<Vec<bool>, BackendError> {
        self.flushed().await?;
        let mut pipe = ::redis::pipe();
        for user in users {
            pipe.exists(self.keys.user(user));
        }
        let mut conn = self.conn.clone();
        pipe.query_async(&mut conn).await.map_err(unavailable)
    }

    pub(super) async fn user_status_now(&self, user: &str) -> Result<UserStatus, BackendError> {
        self.flushed().await?;
        let keys: &Keys = &self.keys;
        let mut pipe = ::redis::pipe();
        pipe.hlen(keys.user(user))
            .smembers(keys.user_channels(user))
            .hget(keys.user_infos(), user)
            .hget(keys.locations(), user)
            .zscore(keys.last_seen(), user);
        let mut conn = self.conn.clone();
        type Reply = (
            usize,
            Vec<String>,
            Option<String>,
            Option<String>,
            Option<f64>,
        );
        let (connections, mut channels, info, location, seen): Reply =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        channels.sort();
        let online = connections > 0;
        let now = crate::cluster::user_book::now_ms();
        let last_seen = seen
            .map(|s| s as u64)
            .filter(|s| !online && now.saturating_sub(*s) < self.last_seen.ttl_ms);
        Ok(UserStatus {
            id: user.into(),
            online,
            connections,
            channels: channels.into_iter().map(Arc::from).collect(),
            last_seen,
            location: location.filter(|_| online).map(Arc::from),
            info: raw(info).filter(|_| online),
        })
    }

    pub(super) async fn online_users_now(
        &self,
        after: &str,
        limit: usize,
    ) -> Result<OnlineUsers, BackendError> {
        self.flushed().await?;
        let mut conn = self.conn.clone();
        let from = if after.is_empty() {
            "-".to_string()
        } else {
            format!("({after}")
        };
        let ids: Vec<String> = ::redis::cmd("ZRANGEBYLEX")
            .arg(self.keys.online())
            .arg(from)
            .arg("+")
            .arg("LIMIT")
            .arg(0)
            .arg(limit + 1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let more = ids.len() > limit;
        let ids = &ids[..ids.len().min(limit)];
        let mut pipe = ::redis::pipe();
        for id in ids {
            pipe.hlen(self.keys.user(id))
                .hget(self.keys.user_infos(), id)
                .hget(self.keys.locations(), id);
        }
        let flat: Vec<Value> = if ids.is_empty() {
            Vec::new()
        } else {
            pipe.query_async(&mut conn).await.map_err(unavailable)?
        };
        let mut users = Vec::with_capacity(ids.len());
        for (id, row) in ids.iter().zip(flat.chunks(3)) {
            let connections = super::int(row.first()).max(0) as usize;
            // Gone offline between the two reads: left out.
            if connections == 0 {
                continue;
            }
            users.push(OnlineUser {
                id: id.as_str().into(),
                connections,
                info: raw(text(row.get(1))),
                location: text(row.get(2)).map(Arc::from),
            });
        }
        let next = if more {
            ids.last().map(|id| Arc::from(id.as_str()))
        } else {
            None
        };
        Ok(OnlineUsers { users, next })
    }

    pub(super) async fn set_location_now(
        &self,
        user: &str,
        location: Option<&str>,
    ) -> Result<bool, BackendError> {
        self.flushed().await?;
        let mut conn = self.conn.clone();
        let online: i64 = ::redis::Script::new(SET_LOCATION)
            .key(self.keys.user(user))
            .key(self.keys.locations())
            .arg(user)
            .arg(location.unwrap_or(""))
            .arg(if location.is_some() { "1" } else { "0" })
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(online == 1)
    }

    /// The newest delivery-log records, with every node's deliveries counted.
    pub(super) async fn delivery_log_now(
        &self,
        limit: usize,
    ) -> Result<Vec<crate::views::DeliveryRecord>, BackendError> {
        self.flushed().await?;
        let mut conn = self.conn.clone();
        let limit = limit.max(1);
        let entries: Vec<String> = ::redis::cmd("LRANGE")
            .arg(self.keys.delivery_log())
            .arg(0)
            .arg(limit - 1)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        let mut records: Vec<crate::views::DeliveryRecord> = entries
            .iter()
            .filter_map(|e| e.split_once('\n'))
            .filter_map(|(_, json)| serde_json::from_str(json).ok())
            .collect();
        if records.is_empty() {
            return Ok(records);
        }
        let mut fields = Vec::with_capacity(records.len() * 2);
        for r in &records {
            fields.push(r.id.to_string());
            fields.push(format!("{}:n", r.id));
        }
        let counts: Vec<Option<usize>> = ::redis::cmd("HMGET")
            .arg(self.keys.delivery_counts())
            .arg(&fields)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        for (r, c) in records.iter_mut().zip(counts.chunks(2)) {
            if let [Some(delivered), Some(nodes)] = c {
                r.delivered = *delivered;
                r.nodes = *nodes;
            }
        }
        Ok(records)
    }

    /// A history channel's kept events younger than `ttl_ms`, with its epoch and last
    /// serial, read in one round trip after this node's earlier writes.
    pub(super) async fn history_read_now(
        &self,
        channel: &str,
        ttl_ms: u64,
    ) -> Result<crate::cluster::HistoryRead, BackendError> {
        self.flushed().await?;
        let mut conn = self.conn.clone();
        let mut pipe = ::redis::pipe();
        pipe.hget(self.keys.history_meta(channel), "epoch")
            .hget(self.keys.history_meta(channel), "last")
            .lrange(self.keys.history_events(channel), 0, -1)
            .cmd("TIME");
        type Reply = (Option<String>, Option<u64>, Vec<String>, (u64, u64));
        let (epoch, last, entries, (secs, micros)): Reply =
            pipe.query_async(&mut conn).await.map_err(unavailable)?;
        let now = secs * 1000 + micros / 1000;
        let events = entries
            .into_iter()
            .filter_map(|e| {
                let (head, frame) = e.split_once('\n')?;
                let (serial, time) = head.split_once(' ')?;
                let (serial, time): (u64, u64) = (serial.parse().ok()?, time.parse().ok()?);
                (now.saturating_sub(time) < ttl_ms).then(|| (serial, time, Utf8Bytes::from(frame)))
            })
            .collect();
        Ok(crate::cluster::HistoryRead {
            epoch: epoch.unwrap_or_default(),
            last: last.unwrap_or(0),
            events,
        })
    }

    pub(super) fn broadcast_status_now(
        &self,
        user: &str,
        online: bool,
    ) -> Result<(), BackendError> {
        let flag = if online { "1" } else { "0" };
        self.queue(Write::Publish(envelope(&self.node, 'S', user, None, flag)))
            .map(|_| ())
            .ok_or_else(|| unavailable("too many writes queued"))
    }
}
