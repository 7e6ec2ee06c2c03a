//! pushbus: an embeddable realtime event bus that speaks the Pusher Channels protocol
//! (v7), so pusher-js and Laravel Echo clients connect to it unchanged.
//!
//! Where things live:
//! - [`protocol`](crate::names): frames on the wire, error codes, channel names, socket
//!   ids, presence and sign-in identities (pure functions);
//! - [`auth`]: every signature (channel auth, user auth, HTTP API, webhooks);
//! - `server`: the listener, routes, one WebSocket session per connection (where a
//!   client's frames are checked), the HTTP API, shutdown, and the embedding API
//!   [`Server`];
//! - `service`: one app service per app, the only door to an app's state: subscribe,
//!   publish (where an event fans out), client events, queries; it alone emits
//!   lifecycle events;
//! - `cluster`: the backend seam, where cluster decisions are made (presence,
//!   occupancy, queries, broadcast to other nodes), and the single-node backend;
//! - `app`: this node's connections and subscribers of an app, outbound queues, and
//!   the channel store (cache channels);
//! - [`config`], [`error`], [`limits`], [`views`] (what every face reports),
//!   `lifecycle` (events for embedders and webhooks).
//!
//! ```no_run
//! # async fn demo() -> Result<(), pushbus::Error> {
//! let server = pushbus::Server::new(pushbus::Config::development())?;
//! let addr = server.start().await?;
//! server.publish("pushbus-dev", &["portal".into()], "Announcement", r#"{"text":"hi"}"#, None)?;
//! let members = server.members("pushbus-dev", "presence-project.3").await?;
//! server.shutdown().await?;
//! # let _ = (addr, members); Ok(()) }
//! ```

mod app;
pub mod auth;
pub mod blocking;
mod cluster;
pub mod config;
mod console;
pub mod error;
mod lifecycle;
pub mod limits;
pub mod logging;
mod metrics;
#[cfg(test)]
mod parser_properties;
mod protocol;
mod server;
mod service;
mod shards;
pub mod views;
mod webhooks;

pub use config::{AppConfig, ClusterConfig, Config};
pub use error::Error;
pub use lifecycle::{EventKind, EventReceiver, LifecycleEvent};
pub use protocol::names;
pub use protocol::ErrorCode;
pub use server::Server;
pub use views::{
    CachedEvent, ChannelHistory, ChannelInfo, DeliveryRecord, HistoryEvent, Member, OnlineUser,
    OnlineUsers, UserStatus,
};
pub use webhooks::WebhookStats;

/// The parsers of outside input, for the fuzzer (`core/fuzz`); not part of the API.
#[doc(hidden)]
pub mod fuzz_support {
    pub use crate::protocol::frames::parse_client_frame;

    /// Parses presence `channel_data`; whether it was accepted.
    pub fn channel_data(text: &str) -> bool {
        crate::protocol::identity::PresenceMember::from_channel_data(text).is_ok()
    }

    /// Parses sign-in `user_data`; whether it was accepted.
    pub fn user_data(text: &str) -> bool {
        crate::protocol::identity::SignedInUser::from_user_data(text).is_ok()
    }
}

/// Internals for the crate's own benchmarks (`benches/`); not part of the API.
#[doc(hidden)]
pub mod bench_support {
    use crate::app::outbox::Outbox;
    use crate::lifecycle::stream::Lifecycle;
    pub use crate::protocol::frames::{channel_event, parse_client_frame};
    use crate::protocol::socket_id::SocketId;
    use crate::service::AppService;

    /// One app with `n` subscribers of `channel`, whose queues the bench drains.
    pub struct Fanout {
        service: AppService,
        outboxes: Vec<Outbox>,
    }

    impl Fanout {
        pub fn new(app: crate::AppConfig, channel: &str, n: usize) -> Fanout {
            let service = AppService::local(app, Lifecycle::new(16));
            let outboxes = (0..n)
                .map(|_| {
                    let o = Outbox::new(SocketId::generate(), 64);
                    service.connect(&o).expect("no quota");
                    let joined =
                        futures_util::FutureExt::now_or_never(service.subscribe(&o, channel, None));
                    assert!(matches!(joined, Some(Ok(true))));
                    o.take_all();
                    o
                })
                .collect();
            Fanout { service, outboxes }
        }

        /// Publishes one event to `channels` and drains every queue, as connection
        /// tasks would.
        pub fn publish_and_drain(&self, channels: &[String], data: &str) -> usize {
            self.service
                .publish(channels, "Announcement", data, None)
                .expect("valid event");
            self.outboxes.iter().map(|o| o.take_all().len()).sum()
        }
    }
}
