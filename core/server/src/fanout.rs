//! Fan-out: how a serialised event reaches the subscribers of a channel.
//!
//! Every published and client event goes through one `Fanout`. The local one hands the
//! frame to this node's hub; a cross-node adapter (Redis pub/sub, a later issue) also
//! forwards the frame to the other nodes, which call [`Hub::deliver`] on arrival. Protocol
//! code never knows which one it talks to.

use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::hub::Hub;
use crate::socket_id::SocketId;

pub trait Fanout: Send + Sync + 'static {
    /// Delivers `frame` (already serialised, shared by all receivers) to every
    /// subscriber of `channel` in `hub`'s app except the socket `except`. Must not block:
    /// it is called from publishers and from connection tasks. Returns the number of
    /// local subscribers it was queued for.
    fn publish(
        &self,
        hub: &Hub,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
    ) -> usize;
}

/// Single-node fan-out: straight into the local hub.
#[derive(Debug, Default, Clone, Copy)]
pub struct LocalFanout;

impl Fanout for LocalFanout {
    fn publish(
        &self,
        hub: &Hub,
        channel: &str,
        frame: &Utf8Bytes,
        except: Option<SocketId>,
    ) -> usize {
        hub.deliver(channel, frame, except)
    }
}
