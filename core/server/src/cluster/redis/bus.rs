//! The app's pub/sub channel: what one node tells the others.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use std::sync::Arc;

use crate::cluster::{Inbound, Version};
use crate::lifecycle::{EventKind, LifecycleEvent};
use crate::protocol::socket_id::SocketId;

/// What one node tells the others: `{node}\n{kind}\n{channel or user}\n{except}\n{frame}`.
/// The frame is the rest, whatever it holds.
pub(super) fn envelope(
    node: &str,
    kind: char,
    subject: &str,
    except: Option<SocketId>,
    frame: &str,
) -> String {
    let except = except.map(|s| s.to_string()).unwrap_or_default();
    format!("{node}\n{kind}\n{subject}\n{except}\n{frame}")
}

/// A presence change decided at `version`: `{node}\nM\n{channel}\n{version}\n{frame}`.
pub(super) fn membership_envelope(
    node: &str,
    channel: &str,
    version: Version,
    frame: &str,
) -> String {
    format!("{node}\nM\n{channel}\n{version}\n{frame}")
}

/// A logged event (see [`crate::cluster::Backend::broadcast_logged`]):
/// `{node}\nL\n{channel}\n{log id} {except}\n{frame}`.
pub(super) fn logged_envelope(
    node: &str,
    channel: &str,
    except: Option<SocketId>,
    log_id: &str,
    frame: &str,
) -> String {
    let except = except.map(|s| s.to_string()).unwrap_or_default();
    format!("{node}\nL\n{channel}\n{log_id} {except}\n{frame}")
}

/// Delivers one message another node published on the bus. Called by the bus
/// connection for each message as it reads it, in the order Redis sent them: delivery
/// only queues frames (and close requests), so it never holds up the connection, and
/// no queue or task sits between Redis and the subscribers. Returns, for a logged
/// event, its log id and how many connections here it reached.
pub(super) fn deliver_bus_message<'p>(
    node: &str,
    inbound: &dyn Inbound,
    payload: &'p [u8],
) -> Option<(&'p str, usize)> {
    let Ok(text) = std::str::from_utf8(payload) else {
        return None;
    };
    let mut parts = text.splitn(5, '\n');
    let (Some(from), Some(kind), Some(subject), Some(except), Some(frame)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        tracing::warn!("Redis backend: a bus message that is not ours was ignored");
        return None;
    };
    // History events come back to the node that published them: Redis gave them
    // their serials, and every node delivers them in that order.
    if from == node && kind != "H" {
        return None;
    }
    match kind {
        "H" => {
            let mut head = except.splitn(4, ' ');
            let serial = head.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let epoch = head.next().unwrap_or("");
            let id = head.next().unwrap_or("");
            let except = head.next().and_then(SocketId::parse);
            let n =
                inbound.deliver_history(subject, &Utf8Bytes::from(frame), except, serial, epoch);
            return (!id.is_empty()).then_some((id, n));
        }
        "D" => {
            inbound.deliver(subject, &Utf8Bytes::from(frame), SocketId::parse(except));
        }
        "L" => {
            let (id, except) = except.split_once(' ').unwrap_or((except, ""));
            let n = inbound.deliver(subject, &Utf8Bytes::from(frame), SocketId::parse(except));
            return Some((id, n));
        }
        "M" => {
            let version = except.parse().unwrap_or(0);
            inbound.deliver_membership(subject, &Utf8Bytes::from(frame), version);
        }
        "T" => {
            inbound.terminate_user(subject);
        }
        "S" => inbound.deliver_status(subject, frame == "1"),
        "F" => {
            inbound.deliver_featured(
                subject,
                &Utf8Bytes::from(frame),
                except.parse().unwrap_or(0),
            );
        }
        _ => {}
    }
    None
}

/// Takes the webhook events the scripts publish (`name\nchannel\nuser\ntime_ms\nowner`)
/// and keeps those this node owns (the script chose the owner: see `hook` in
/// [`super::scripts`]), for its webhook dispatcher: each event is sent by one node,
/// and all of a channel's by the same node while the live nodes stay the same.
pub(super) struct HookReceiver {
    pub node: Arc<str>,
    pub app_id: Arc<str>,
    /// The pub/sub channel they come on.
    pub channel: String,
    pub feed: tokio::sync::mpsc::Sender<LifecycleEvent>,
    pub dropped: std::sync::atomic::AtomicU64,
}

impl HookReceiver {
    pub fn take(&self, payload: &[u8]) {
        let Ok(text) = std::str::from_utf8(payload) else {
            return;
        };
        let mut head = text.splitn(3, '\n');
        let (Some(name), Some(channel), Some(rest)) = (head.next(), head.next(), head.next())
        else {
            return;
        };
        // The user id may hold anything: the time and owner are after its last newlines.
        let mut tail = rest.rsplitn(3, '\n');
        let (Some(owner), Some(_time), Some(user)) = (tail.next(), tail.next(), tail.next()) else {
            return;
        };
        if owner != &*self.node {
            return;
        }
        let channel: Arc<str> = channel.into();
        let kind = match name {
            "channel_occupied" => EventKind::ChannelOccupied { channel },
            "channel_vacated" => EventKind::ChannelVacated { channel },
            "member_added" => EventKind::MemberAdded {
                channel,
                user_id: user.into(),
            },
            "member_removed" => EventKind::MemberRemoved {
                channel,
                user_id: user.into(),
            },
            _ => return,
        };
        let event = LifecycleEvent {
            app_id: self.app_id.clone(),
            kind,
        };
        if self.feed.try_send(event).is_err() {
            let n = self
                .dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            if n.is_power_of_two() {
                tracing::warn!(
                    "Redis backend: {n} webhook events dropped (the webhook dispatcher is behind)"
                );
            }
        }
    }
}
