//! The app's pub/sub channel: what one node tells the others.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::cluster::{SharedInbound, Version};
use crate::log;
use crate::protocol::socket_id::SocketId;

/// Messages on the bus queued for delivery to this node at most; past it they are
/// dropped and counted (the node is too slow to keep up with its cluster).
pub(super) const MAX_QUEUED_INBOUND: usize = 65_536;

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

/// Delivers what the other nodes publish on the bus, in the order Redis sent it.
pub(super) async fn receive_bus(
    node: Arc<str>,
    inbound: SharedInbound,
    mut bus: mpsc::Receiver<Vec<u8>>,
) {
    while let Some(payload) = bus.recv().await {
        let Ok(text) = std::str::from_utf8(&payload) else {
            continue;
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
            continue;
        };
        if from == &*node {
            continue;
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
}
