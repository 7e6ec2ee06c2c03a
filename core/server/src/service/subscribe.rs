//! Joins and leaves: a channel's membership lock is held from the backend's decision
//! until its frames are queued and its lifecycle events emitted, so every node-local
//! observer sees one channel's changes in the order they were decided.

use std::sync::Arc;

use super::AppService;
use crate::app::outbox::Outbox;
use crate::cluster::{BackendError, ClusterChange, JoinError};
use crate::lifecycle::EventKind;
use crate::protocol::features::RECOVERY;
use crate::protocol::identity::{PresenceMember, SignedInUser};
use crate::protocol::names::{channel_type, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::protocol::{self, PresenceEntry};
use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Why a subscription was refused after its checks passed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SubscribeError {
    MemberLimit,
    Unavailable(BackendError),
}

impl AppService {
    /// Joins `outbox` to `channel` and queues its `subscription_succeeded` (then, for
    /// cache channels, the kept event or `pusher:cache_miss`). Subscribing again is
    /// answered again without duplicating membership. Returns whether it was new.
    pub async fn subscribe(
        &self,
        outbox: &Outbox,
        channel: &str,
        member: Option<&PresenceMember>,
    ) -> Result<bool, SubscribeError> {
        self.subscribe_from(outbox, channel, member, None).await
    }

    /// [`AppService::subscribe`], resuming a history channel after (`epoch`,
    /// `serial`) for a client that enabled recovery: it gets the events it missed
    /// (or `pushbus:gap` when they are not all kept) right after
    /// `subscription_succeeded`, then the live ones, none twice.
    pub async fn subscribe_from(
        &self,
        outbox: &Outbox,
        channel: &str,
        member: Option<&PresenceMember>,
        resume: Option<(&str, u64)>,
    ) -> Result<bool, SubscribeError> {
        let socket = outbox.socket_id();
        let guard = self.registry.lock_membership(channel).await;
        let decided = match self.backend() {
            Ok(backend) => {
                backend
                    .join(channel, socket, member, self.app.max_presence_members)
                    .await
            }
            Err(e) => Err(JoinError::Unavailable(e)),
        };
        let joined = match decided {
            Ok(joined) => joined,
            Err(e) => {
                self.registry.release_if_empty(&guard);
                return Err(match e {
                    JoinError::MemberLimit => SubscribeError::MemberLimit,
                    JoinError::Unavailable(e) => SubscribeError::Unavailable(e),
                });
            }
        };
        let succeeded = match &joined.members {
            Some(members) => protocol::presence_subscription_succeeded(
                channel,
                members.iter().map(|m| PresenceEntry {
                    user_id: &m.id,
                    user_info: m.info.as_deref(),
                }),
            ),
            None => protocol::subscription_succeeded(channel),
        };
        let ch = &guard.channel;
        let new = joined.new_subscription;
        let shared = match self.backend() {
            Ok(b) if new && b.shares_history() => {
                self.history.rule(channel).map(|(_, r)| r.clone())
            }
            _ => None,
        };
        let delivered_before = match &shared {
            // The replay comes from the shared store: live history events are held
            // for this subscriber until it is read.
            Some(rule) => {
                let before = ch.add_held(outbox, succeeded, joined.version);
                let (frames, seen) = self.shared_replay(channel, outbox, resume, rule).await;
                ch.release(socket, frames, seen);
                before
            }
            None => ch.add_with(outbox, succeeded, joined.version, || {
                if new {
                    self.replay(channel, outbox, resume)
                } else {
                    (Vec::new(), 0)
                }
            }),
        };
        if joined.new_subscription {
            if let Some(m) = member {
                self.user_added(&m.user_id, socket, m.user_info.as_deref());
            }
        }
        if channel_type(channel).cache {
            let kept = match self.backend() {
                Ok(backend) => backend.last(channel).await,
                Err(e) => Err(e),
            };
            // An event delivered since the join is at least as new as the kept one:
            // the subscriber has it already.
            if ch.delivered() == delivered_before {
                match kept {
                    Ok(Some(frame)) => outbox.send(frame),
                    Ok(None) | Err(_) => {
                        outbox.send(protocol::cache_miss(channel));
                        self.emit(EventKind::CacheMiss {
                            channel: ch.name.clone(),
                        });
                    }
                }
            }
        }
        if joined.member_added {
            if let Some(m) = member {
                let frame = protocol::member_added(channel, &m.user_id, m.user_info.as_deref());
                ch.deliver_membership(&frame, Some(socket), joined.version);
                self.broadcast_membership(channel, &frame, joined.version);
            }
        }
        if joined.channel_occupied {
            let kind = EventKind::ChannelOccupied {
                channel: ch.name.clone(),
            };
            self.emit(kind);
        }
        if let (true, Some(m)) = (joined.member_added, member) {
            let kind = EventKind::MemberAdded {
                channel: ch.name.clone(),
                user_id: m.user_id.clone(),
            };
            self.emit(kind);
        }
        if joined.new_subscription && joined.members.is_none() {
            self.emit_subscription_count(&ch.name, joined.subscriptions);
        }
        Ok(joined.new_subscription)
    }

    /// What a new subscriber of a history channel gets after `subscription_succeeded`
    /// (read under the channel's subscriber lock, see `LocalChannel::add_with`), and
    /// the last serial that holds: the events it missed when resuming, or the gap; else
    /// the rule's rewind; and, for a client that enabled recovery, the serial frame of
    /// each, or the channel's position when there is none.
    fn replay(
        &self,
        channel: &str,
        outbox: &Outbox,
        resume: Option<(&str, u64)>,
    ) -> (Vec<Utf8Bytes>, u64) {
        use crate::app::history::Resume;
        let Some((_, rule)) = self.history.rule(channel) else {
            return (Vec::new(), 0);
        };
        let recovery = outbox.has(RECOVERY);
        if !self.keeps_history() {
            // A cluster keeps no shared history yet: never a replay, and a resume is
            // always a gap, so that the client refetches rather than trusting it.
            return match (recovery, resume) {
                (true, Some(_)) => (vec![protocol::history_gap(channel, "", 0)], 0),
                (true, None) => (vec![protocol::history_position(channel, "", 0)], 0),
                (false, _) => (Vec::new(), 0),
            };
        }
        let frames = |epoch: &str, kept: Vec<crate::app::history::Kept>| {
            let mut out = Vec::with_capacity(kept.len() * 2);
            let mut seen = 0;
            for k in kept {
                if recovery {
                    out.push(protocol::serial(channel, epoch, k.serial));
                }
                seen = k.serial;
                out.push(k.frame);
            }
            (out, seen)
        };
        let (mut out, seen) = match resume {
            Some((epoch, serial)) if recovery => {
                match self.history.resume(channel, epoch, serial) {
                    Resume::Events(kept) => {
                        let (out, seen) = frames(epoch, kept);
                        (out, seen.max(serial))
                    }
                    Resume::Gap { epoch, last } => {
                        let (epoch, last) = if epoch.is_empty() {
                            self.history.position(channel).unwrap_or((epoch, last))
                        } else {
                            (epoch, last)
                        };
                        (vec![protocol::history_gap(channel, &epoch, last)], last)
                    }
                }
            }
            _ if rule.rewind > 0 => match self.history.last(channel, rule.rewind) {
                Some((epoch, kept)) => frames(&epoch, kept),
                None => (Vec::new(), 0),
            },
            _ => (Vec::new(), 0),
        };
        // Where it stands, when nothing above said so: its first serial frame.
        if recovery && out.is_empty() {
            if let Some((epoch, last)) = self.history.position(channel) {
                out.push(protocol::history_position(channel, &epoch, last));
                return (out, last.max(seen));
            }
        }
        (out, seen)
    }

    /// [`AppService::replay`] from a cluster's shared history (read from Redis): the
    /// same answers, decided on what the store keeps.
    async fn shared_replay(
        &self,
        channel: &str,
        outbox: &Outbox,
        resume: Option<(&str, u64)>,
        rule: &crate::config::HistoryRule,
    ) -> (Vec<Utf8Bytes>, u64) {
        let recovery = outbox.has(RECOVERY);
        if !recovery && rule.rewind == 0 {
            return (Vec::new(), 0);
        }
        let read = match self.backend() {
            Ok(b) => b.history_read(channel, rule.ttl.saturating_mul(1000)).await,
            Err(e) => Err(e),
        };
        let h = match read {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(
                    "{channel:?}: history not read for a new subscriber: {}",
                    e.0
                );
                return match (recovery, resume) {
                    (true, Some(_)) => (vec![protocol::history_gap(channel, "", 0)], 0),
                    _ => (Vec::new(), 0),
                };
            }
        };
        let frames = |events: &[(u64, u64, Utf8Bytes)]| {
            let mut out = Vec::with_capacity(events.len() * 2);
            for (serial, _, frame) in events {
                if recovery {
                    out.push(protocol::serial(channel, &h.epoch, *serial));
                }
                out.push(frame.clone());
            }
            out
        };
        match resume {
            Some((epoch, serial)) if recovery => {
                let first = h.events.first().map(|e| e.0);
                if !crate::app::history::continues(&h.epoch, h.last, first, epoch, serial) {
                    return (
                        vec![protocol::history_gap(channel, &h.epoch, h.last)],
                        h.last,
                    );
                }
                let missed: Vec<_> = h.events.iter().filter(|e| e.0 > serial).cloned().collect();
                if missed.is_empty() {
                    return (
                        vec![protocol::history_position(channel, &h.epoch, h.last)],
                        h.last,
                    );
                }
                let seen = missed.last().map_or(serial, |e| e.0);
                (frames(&missed), seen)
            }
            _ => {
                let skip = h.events.len().saturating_sub(rule.rewind);
                let rewind = &h.events[skip..];
                let mut out = frames(rewind);
                let seen = rewind.last().map_or(0, |e| e.0);
                if recovery && out.is_empty() {
                    out.push(protocol::history_position(channel, &h.epoch, h.last));
                    return (out, h.last);
                }
                (out, seen)
            }
        }
    }

    /// Removes `socket` from `channel`, where it was present as `presence_user`.
    pub async fn unsubscribe(&self, socket: SocketId, channel: &str, presence_user: Option<&str>) {
        let guard = self.registry.lock_membership(channel).await;
        let ch = &guard.channel;
        let was_here = ch.remove(socket);
        let decided = match self.backend() {
            Ok(backend) => backend.leave(channel, socket, presence_user).await,
            Err(e) => Err(e),
        };
        let left = match decided {
            Ok(left) => left,
            Err(e) => {
                // This node no longer delivers to the socket; the backend's own expiry
                // (node leases) removes what it could not be told.
                tracing::warn!(
                    "leave of {channel:?} not recorded by the cluster backend: {}",
                    e.0
                );
                Default::default()
            }
        };
        if let (true, Some(user)) = (was_here, presence_user) {
            self.user_removed(user, socket);
        }
        if let (true, Some(user)) = (left.member_removed, presence_user) {
            let frame = protocol::member_removed(channel, user);
            ch.deliver_membership(&frame, None, left.version);
            self.broadcast_membership(channel, &frame, left.version);
            self.emit(EventKind::MemberRemoved {
                channel: ch.name.clone(),
                user_id: user.into(),
            });
        }
        if left.was_subscribed && channel_type(channel).kind != ChannelKind::Presence {
            self.emit_subscription_count(&ch.name, left.subscriptions);
        }
        if left.channel_vacated {
            self.emit(EventKind::ChannelVacated {
                channel: ch.name.clone(),
            });
        }
        self.registry.release_if_empty(&guard);
    }

    /// Pusher's opt-in `subscription_count`: only for apps with a webhook target that
    /// asks for it, since it is an event per subscribe and unsubscribe.
    fn emit_subscription_count(&self, channel: &Arc<str>, subscriptions: usize) {
        let wanted = self
            .app
            .webhooks
            .iter()
            .any(|hook| hook.event_types.iter().any(|t| t == "subscription_count"));
        if wanted {
            self.emit(EventKind::SubscriptionCount {
                channel: channel.clone(),
                subscription_count: subscriptions,
            });
        }
    }

    /// Announces a membership change the backend made on its own (see
    /// [`ClusterChange`]): it handed it to this node alone, so this node tells its own
    /// subscribers and the other nodes, and emits the lifecycle events.
    pub async fn announce(&self, change: ClusterChange) {
        if let Some((user, online)) = &change.status {
            self.announce_status(user, *online);
            return;
        }
        let channel = change.channel.as_str();
        let guard = self.registry.lock_membership(channel).await;
        let ch = &guard.channel;
        if change.channel_occupied {
            let kind = EventKind::ChannelOccupied {
                channel: ch.name.clone(),
            };
            self.emit(kind);
        }
        if let Some(added) = &change.member_added {
            let info = serde_json::value::RawValue::from_string(added.user_info.clone()).ok();
            let frame = protocol::member_added(channel, &added.user_id, info.as_deref());
            ch.deliver_membership(&frame, None, change.version);
            self.broadcast_membership(channel, &frame, change.version);
            let kind = EventKind::MemberAdded {
                channel: ch.name.clone(),
                user_id: added.user_id.as_str().into(),
            };
            self.emit(kind);
        }
        if let Some(user) = &change.member_removed {
            let frame = protocol::member_removed(channel, user);
            ch.deliver_membership(&frame, None, change.version);
            self.broadcast_membership(channel, &frame, change.version);
            self.emit(EventKind::MemberRemoved {
                channel: ch.name.clone(),
                user_id: user.as_str().into(),
            });
        }
        if change.channel_vacated {
            self.emit(EventKind::ChannelVacated {
                channel: ch.name.clone(),
            });
        }
        self.registry.release_if_empty(&guard);
    }

    /// Removes a closed connection from everything it joined. Runs on every exit path
    /// of a session (see `server::session`), including a panic or a cancellation.
    pub async fn disconnect(
        &self,
        socket: SocketId,
        subscriptions: Vec<(Arc<str>, Option<Arc<str>>)>,
        signed_in_as: Option<SignedInUser>,
    ) {
        for (channel, user) in subscriptions {
            self.unsubscribe(socket, &channel, user.as_deref()).await;
        }
        self.forget_connection(socket, signed_in_as.as_ref());
    }

    /// The part of [`AppService::disconnect`] that needs no channel: also what is left
    /// to do when no runtime can run the rest.
    pub fn forget_connection(&self, socket: SocketId, signed_in_as: Option<&SignedInUser>) {
        if let Some(user) = signed_in_as {
            self.unwatch(socket, user);
            self.user_removed(&user.id, socket);
        }
        if self.registry.disconnect(socket) {
            if let Ok(backend) = self.backend() {
                backend.connection_closed(socket);
            }
            self.emit(EventKind::ConnectionClosed {
                socket_id: socket.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::conformance::member;
    use crate::config::AppConfig;
    use crate::lifecycle::stream::Lifecycle;

    fn service(max_members: usize) -> (AppService, crate::EventReceiver) {
        let lifecycle = Lifecycle::new(64);
        let events = lifecycle.subscribe();
        let app = AppConfig {
            id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            max_presence_members: max_members,
            ..AppConfig::default()
        };
        (AppService::local(app, lifecycle), events)
    }

    fn conn(s: &AppService) -> Outbox {
        let o = Outbox::new(SocketId::generate(), 16);
        s.connect(&o).unwrap();
        o.take_all();
        o
    }

    fn drain(o: &Outbox) -> Vec<String> {
        o.take_all().into_iter().map(|f| f.to_string()).collect()
    }

    #[tokio::test]
    async fn presence_frames_and_events_are_per_user() {
        let (s, mut events) = service(100);
        let (a1, a2, b) = (conn(&s), conn(&s), conn(&s));
        let ch = "presence-room";
        s.subscribe(&b, ch, Some(&member("b"))).await.unwrap();
        s.subscribe(&a1, ch, Some(&member("a"))).await.unwrap();
        s.subscribe(&a2, ch, Some(&member("a"))).await.unwrap();
        let seen = drain(&b);
        assert_eq!(
            seen.iter().filter(|f| f.contains("member_added")).count(),
            1,
            "{seen:?}"
        );
        assert!(drain(&a1).iter().all(|f| !f.contains("member_added")));
        let ok = drain(&a2);
        assert!(ok[0].contains("\\\"count\\\":2"), "{ok:?}");

        s.unsubscribe(a1.socket_id(), ch, Some("a")).await;
        assert!(
            drain(&b).is_empty(),
            "first of two sockets leaving is silent"
        );
        s.disconnect(
            a2.socket_id(),
            vec![(Arc::from(ch), Some(Arc::from("a")))],
            None,
        )
        .await;
        let seen = drain(&b);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].contains("member_removed"));
        assert_eq!(s.members(ch).await.unwrap().len(), 1);

        let mut kinds = Vec::new();
        while let Ok(e) = events.try_recv() {
            kinds.push(e.kind.name());
        }
        let count = |k: &str| kinds.iter().filter(|n| **n == k).count();
        assert_eq!(
            (
                count("member_added"),
                count("member_removed"),
                count("channel_occupied")
            ),
            (2, 1, 1),
            "{kinds:?}"
        );
    }

    #[tokio::test]
    async fn member_limit_and_resubscribe() {
        let (s, _e) = service(1);
        let (a, b) = (conn(&s), conn(&s));
        s.subscribe(&a, "presence-x", Some(&member("a")))
            .await
            .unwrap();
        assert_eq!(
            s.subscribe(&b, "presence-x", Some(&member("b"))).await,
            Err(SubscribeError::MemberLimit)
        );
        assert_eq!(
            s.subscribe(&a, "presence-x", Some(&member("a"))).await,
            Ok(false)
        );
        assert_eq!(drain(&a).len(), 2);
        let info = s.channel("presence-x").await.unwrap();
        assert_eq!((info.user_count, info.subscription_count), (Some(1), 1));
        assert_eq!(s.local_channel_count(), 1, "the refused join left nothing");
    }

    #[tokio::test]
    async fn exclusion_and_cache_replay() {
        let (s, _e) = service(100);
        let (a, b) = (conn(&s), conn(&s));
        s.subscribe(&a, "cache-x", None).await.unwrap();
        s.subscribe(&b, "cache-x", None).await.unwrap();
        assert!(drain(&a)[1].contains("cache_miss"));
        drain(&b);
        let channels = ["cache-x".to_string()];
        s.publish(&channels, "e", "d", Some(&a.socket_id().to_string()))
            .unwrap();
        assert!(drain(&a).is_empty());
        let got = drain(&b);
        assert_eq!(got.len(), 1);
        let c = conn(&s);
        s.subscribe(&c, "cache-x", None).await.unwrap();
        assert_eq!(
            drain(&c)[1],
            got[0],
            "the kept event follows subscription_succeeded"
        );
        assert_eq!(
            &*s.channel("cache-x").await.unwrap().cache.unwrap().data,
            "d"
        );
    }

    #[tokio::test]
    async fn vacated_channels_are_removed_everywhere() {
        let (s, _e) = service(100);
        let a = conn(&s);
        s.subscribe(&a, "orders", None).await.unwrap();
        assert_eq!(s.channels("").await.unwrap().len(), 1);
        s.unsubscribe(a.socket_id(), "orders", None).await;
        assert!(s.channels("").await.unwrap().is_empty());
        assert!(!s.channel("orders").await.unwrap().occupied);
        assert_eq!(s.local_channel_count(), 0);
    }
}
