//! The semantics every [`Backend`] must have, written against the trait so that each
//! backend (the local one here, the Redis one later) runs the same suite.

use std::sync::{Arc, Mutex};

use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::{Backend, Inbound, JoinError, Version};
use crate::protocol::identity::PresenceMember;
use crate::protocol::socket_id::SocketId;
use crate::shards::lock;

/// An [`Inbound`] that records what reaches the node.
#[derive(Default)]
pub(crate) struct RecordingInbound {
    pub terminated: Mutex<Vec<String>>,
    pub delivered: Mutex<Vec<(String, String)>>,
    pub statuses: Mutex<Vec<(String, bool)>>,
}

impl Inbound for RecordingInbound {
    fn deliver(&self, channel: &str, frame: &Utf8Bytes, _except: Option<SocketId>) -> usize {
        lock(&self.delivered).push((channel.into(), frame.to_string()));
        1
    }
    fn deliver_membership(&self, channel: &str, frame: &Utf8Bytes, _version: Version) {
        lock(&self.delivered).push((channel.into(), frame.to_string()));
    }
    fn terminate_user(&self, user_id: &str) -> usize {
        lock(&self.terminated).push(user_id.into());
        1
    }
    fn deliver_status(&self, user_id: &str, online: bool) {
        lock(&self.statuses).push((user_id.into(), online));
    }
    fn deliver_featured(&self, channel: &str, frame: &Utf8Bytes, _feature: u32) -> usize {
        lock(&self.delivered).push((channel.into(), frame.to_string()));
        1
    }
    fn deliver_history(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        _except: Option<SocketId>,
        _serial: u64,
        _epoch: &str,
    ) -> usize {
        lock(&self.delivered).push((channel.into(), frame.to_string()));
        1
    }
}

/// A presence member `id` with `user_info` `{"name":"u<id>"}`; shared with other tests.
pub(crate) fn member(id: &str) -> PresenceMember {
    PresenceMember {
        user_id: id.into(),
        user_info: Some(
            RawValue::from_string(format!("{{\"name\":\"u{id}\"}}"))
                .unwrap()
                .into(),
        ),
    }
}

/// The member ids, sorted: a join's member list has no order.
fn ids(members: &Option<Vec<crate::views::Member>>) -> Vec<String> {
    let mut ids: Vec<String> = members
        .as_ref()
        .expect("presence joins list members")
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    ids.sort();
    ids
}

/// Runs every check against backends made by `make` (a fresh one per check).
pub(crate) async fn run_all(make: impl Fn(Arc<RecordingInbound>) -> Arc<dyn Backend>) {
    presence_is_per_user(&*make(Default::default())).await;
    occupied_and_vacated(&*make(Default::default())).await;
    member_limit(&*make(Default::default())).await;
    queries(&*make(Default::default())).await;
    let inbound = Arc::new(RecordingInbound::default());
    terminate_reaches_the_node(&*make(inbound.clone()), &inbound).await;
    channel_store(&*make(Default::default())).await;
    user_status(&*make(Default::default())).await;
}

/// Online is per user across connections; presence channels, info and location are
/// reported while online, `last_seen` after.
async fn user_status(b: &dyn Backend) {
    let (s1, s2) = (SocketId::generate(), SocketId::generate());
    let info = RawValue::from_string(r#"{"name":"Ann"}"#.into()).unwrap();
    assert!(!b.user_status("ann").await.unwrap().online);
    assert!(b.user_connected("ann", s1, Some(&info)).await.unwrap());
    assert!(
        !b.user_connected("ann", s2, None).await.unwrap(),
        "second one"
    );
    let a = member("ann");
    b.join("presence-p", s2, Some(&a), 100).await.unwrap();
    b.join("presence-a", s2, Some(&a), 100).await.unwrap();
    assert!(b.set_location("ann", Some("Projects")).await.unwrap());
    assert!(!b.set_location("bob", Some("Projects")).await.unwrap());
    let s = b.user_status("ann").await.unwrap();
    assert!(s.online && s.connections == 2 && s.last_seen.is_none());
    assert_eq!(
        s.channels.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["presence-a", "presence-p"]
    );
    assert_eq!(s.location.as_deref(), Some("Projects"));
    assert_eq!(s.info.unwrap().get(), r#"{"name":"Ann"}"#);
    assert!(b
        .user_connected("bob", SocketId::generate(), None)
        .await
        .unwrap());
    let names: Vec<Arc<str>> = vec!["bob".into(), "ann".into(), "eve".into()];
    assert_eq!(b.users_online(&names).await.unwrap(), [true, true, false]);
    let page = b.online_users("", 1).await.unwrap();
    assert_eq!(&*page.users[0].id, "ann");
    assert_eq!(page.users[0].connections, 2);
    let page = b
        .online_users(page.next.as_deref().unwrap(), 1)
        .await
        .unwrap();
    assert_eq!(&*page.users[0].id, "bob");
    assert!(page.next.is_none());

    b.leave("presence-p", s2, Some("ann")).await.unwrap();
    assert!(b.user_disconnected("ann", s1).await.unwrap().is_none());
    let s = b.user_status("ann").await.unwrap();
    assert_eq!(
        s.channels.iter().map(|c| &**c).collect::<Vec<_>>(),
        ["presence-a"]
    );
    assert_eq!(s.connections, 1);
    let when = b.user_disconnected("ann", s2).await.unwrap();
    assert!(when.is_some(), "last one");
    assert!(
        b.user_disconnected("ann", s2).await.unwrap().is_none(),
        "told twice"
    );
    b.leave("presence-a", s2, Some("ann")).await.unwrap();
    let s = b.user_status("ann").await.unwrap();
    assert!(!s.online && s.connections == 0 && s.channels.is_empty());
    assert!(s.location.is_none() && s.info.is_none());
    let seen = s.last_seen.expect("last_seen after the last connection");
    assert_eq!(Some(seen), when);
    assert!(seen.abs_diff(super::user_book::now_ms()) < 60_000);
    assert!(
        b.user_connected("ann", s1, None).await.unwrap(),
        "online again"
    );
    assert!(b.user_status("ann").await.unwrap().last_seen.is_none());
}

async fn presence_is_per_user(b: &dyn Backend) {
    let ch = "presence-room";
    let (s1, s2, s3) = (
        SocketId::generate(),
        SocketId::generate(),
        SocketId::generate(),
    );
    let (a, z) = (member("a"), member("z"));
    let j = b.join(ch, s1, Some(&a), 100).await.unwrap();
    assert!(j.new_subscription && j.channel_occupied && j.member_added);
    assert_eq!(ids(&j.members), ["a"]);
    // Every presence decision gets a later version than the one before.
    let mut version = j.version;
    assert!(version > 0);
    let mut later = |v: u64| {
        assert!(v > version, "version {v} after {version}");
        version = v;
    };
    let j = b.join(ch, s2, Some(&a), 100).await.unwrap();
    assert!(j.new_subscription && !j.channel_occupied && !j.member_added);
    later(j.version);
    assert_eq!(
        ids(&j.members),
        ["a"],
        "a user's second connection is the same member"
    );
    let j = b.join(ch, s3, Some(&z), 100).await.unwrap();
    assert!(j.member_added);
    later(j.version);
    assert_eq!(ids(&j.members), ["a", "z"]);
    let members = j.members.unwrap();
    let a_info = members
        .iter()
        .find(|m| &*m.id == "a")
        .unwrap()
        .info
        .as_ref();
    assert_eq!(a_info.unwrap().get(), r#"{"name":"ua"}"#);

    let l = b.leave(ch, s1, Some("a")).await.unwrap();
    assert!(l.was_subscribed && !l.member_removed && !l.channel_vacated);
    let l = b.leave(ch, s2, Some("a")).await.unwrap();
    assert!(
        l.member_removed && !l.channel_vacated,
        "last connection of a"
    );
    later(l.version);
    let members = b.members(ch).await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(&*members[0].id, "z");
    let l = b.leave(ch, s3, Some("z")).await.unwrap();
    assert!(l.member_removed && l.channel_vacated);
    later(l.version);
    assert!(b.members(ch).await.unwrap().is_empty());
}

async fn occupied_and_vacated(b: &dyn Backend) {
    let (s1, s2) = (SocketId::generate(), SocketId::generate());
    assert!(
        b.join("orders", s1, None, 100)
            .await
            .unwrap()
            .channel_occupied
    );
    let again = b.join("orders", s1, None, 100).await.unwrap();
    assert!(
        !again.new_subscription && !again.channel_occupied,
        "repeated join"
    );
    assert!(again.members.is_none(), "no member list outside presence");
    assert!(
        !b.join("orders", s2, None, 100)
            .await
            .unwrap()
            .channel_occupied
    );
    assert!(!b.leave("orders", s1, None).await.unwrap().channel_vacated);
    let never = b.leave("orders", s1, None).await.unwrap();
    assert!(
        !never.was_subscribed && !never.channel_vacated,
        "second leave decides nothing"
    );
    assert!(b.leave("orders", s2, None).await.unwrap().channel_vacated);
    assert!(!b.channel("orders").await.unwrap().occupied);
    assert!(!b.leave("unknown", s2, None).await.unwrap().was_subscribed);
}

async fn member_limit(b: &dyn Backend) {
    let (s1, s2, s3) = (
        SocketId::generate(),
        SocketId::generate(),
        SocketId::generate(),
    );
    b.join("presence-x", s1, Some(&member("a")), 1)
        .await
        .unwrap();
    let refused = b.join("presence-x", s2, Some(&member("b")), 1).await;
    assert_eq!(refused.unwrap_err(), JoinError::MemberLimit);
    assert!(
        b.join("presence-x", s3, Some(&member("a")), 1)
            .await
            .is_ok(),
        "a present user's next connection is not a new member"
    );
    let info = b.channel("presence-x").await.unwrap();
    assert_eq!((info.user_count, info.subscription_count), (Some(1), 2));
    // A refused first join leaves no empty channel behind.
    let refused = b.join("presence-y", s2, Some(&member("b")), 0).await;
    assert_eq!(refused.unwrap_err(), JoinError::MemberLimit);
    assert!(!b.channel("presence-y").await.unwrap().occupied);
}

async fn queries(b: &dyn Backend) {
    let sockets: Vec<SocketId> = (0..3).map(|_| SocketId::generate()).collect();
    for s in &sockets {
        b.connection_opened(*s);
    }
    b.join("b-orders", sockets[0], None, 100).await.unwrap();
    b.join("a-orders", sockets[0], None, 100).await.unwrap();
    b.join("a-orders", sockets[1], None, 100).await.unwrap();
    b.join("presence-p", sockets[2], Some(&member("7")), 100)
        .await
        .unwrap();
    let all = b.channels("").await.unwrap();
    let names: Vec<&str> = all.iter().map(|c| &*c.name).collect();
    assert_eq!(
        names,
        ["a-orders", "b-orders", "presence-p"],
        "sorted by name"
    );
    assert_eq!(all[0].subscription_count, 2);
    assert_eq!(all[0].user_count, None);
    assert_eq!(all[2].user_count, Some(1));
    assert_eq!(b.channels("a-").await.unwrap().len(), 1);
    assert!(!b.channel("c-orders").await.unwrap().occupied);
    assert_eq!(b.connection_count().await.unwrap(), 3);
    b.connection_closed(sockets[1]);
    assert_eq!(b.connection_count().await.unwrap(), 2);
}

async fn terminate_reaches_the_node(b: &dyn Backend, inbound: &RecordingInbound) {
    b.terminate_user("42").await.unwrap();
    assert_eq!(*lock(&inbound.terminated), ["42"]);
}

async fn channel_store(b: &dyn Backend) {
    assert!(b.last("cache-a").await.unwrap().is_none());
    let frame = crate::protocol::channel_event("e", "cache-a", "{\"v\":1}", None);
    b.store_last("cache-a", &frame);
    assert_eq!(b.last("cache-a").await.unwrap().unwrap(), frame);
    let s = SocketId::generate();
    b.join("cache-a", s, None, 100).await.unwrap();
    let info = b.channel("cache-a").await.unwrap();
    assert_eq!(&*info.cache.expect("kept event reported").data, "{\"v\":1}");
}
