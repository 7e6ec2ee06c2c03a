//! pushbus: an embeddable realtime event bus that speaks the Pusher Channels protocol
//! (v7), so pusher-js and Laravel Echo clients connect to it unchanged.
//!
//! Where things live: frames are parsed and built in [`protocol`], signatures in
//! [`auth`], channel names in [`names`], one connection's life in `connection`, an app's
//! channels and presence in [`hub`], fan-out in [`fanout`], the HTTP API in `http_api`,
//! and the listener plus the embedding API in [`server`]. The HTTP API client is in
//! [`client`] (async, on a runtime) and `pipeline` (on the caller's thread, pipelined).
//!
//! ```no_run
//! # async fn demo() -> Result<(), pushbus::Error> {
//! let server = pushbus::Server::new(pushbus::Config::development())?;
//! let addr = server.start().await?;
//! server.publish("pushbus-dev", &["portal".into()], "Announcement", r#"{"text":"hi"}"#, None)?;
//! server.shutdown().await?;
//! # let _ = addr; Ok(()) }
//! ```

pub mod auth;
pub mod client;
pub mod config;
mod connection;
pub mod error;
pub mod events;
pub mod fanout;
mod http_api;
pub mod hub;
mod log;
pub mod names;
pub mod outbox;
#[cfg(unix)]
pub mod pipeline;
pub mod protocol;
pub mod server;
pub mod socket_id;

pub use config::{AppConfig, Config};
pub use error::Error;
pub use events::{EventKind, LifecycleEvent};
pub use server::Server;
