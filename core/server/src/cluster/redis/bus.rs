//! The app's pub/sub channel: what one node tells the others.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::cluster::{Inbound, Version};
use crate::log;
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

/// Delivers one message another node published on the bus. Called by the bus
/// connection for each message as it reads it, in the order Redis sent them: delivery
/// only queues frames (and close requests), so it never holds up the connection, and
/// no queue or task sits between Redis and the subscribers.
pub(super) fn deliver_bus_message(node: &str, inbound: &dyn Inbound, payload: &[u8]) {
    let Ok(text) = std::str::from_utf8(payload) else {
        return;
    };
    let mut parts = text.splitn(5, '\n');
    let (Some(from), Some(kind), Some(subject), Some(except), Some(frame)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        log::warn!("Redis backend: a bus message that is not ours was ignored");
        return;
    };
    if from == node {
        return;
    }
    match kind {
        "D" => {
            inbound.deliver(subject, &Utf8Bytes::from(frame), SocketId::parse(except));
        }
        "M" => {
            let version = except.parse().unwrap_or(0);
            inbound.deliver_membership(subject, &Utf8Bytes::from(frame), version);
        }
        "T" => {
            inbound.terminate_user(subject);
        }
        _ => {}
    }
}
