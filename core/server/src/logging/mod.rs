//! Where the server's `tracing` events go when the embedding process has no subscriber
//! of its own.
//!
//! The server only emits `tracing` events (and spans: `conn` with `app` and `socket`,
//! `http` with `req`). A Rust program that embeds it installs its own subscriber.
//! `pushbus serve` installs `tracing-subscriber`'s ([`subscriber`], text or JSON, with
//! env-filter directives). The C, Node and PHP bindings install [`plain`]: text lines on
//! stderr filtered by level, with no per-thread state, because a PHP-FPM master forks
//! its workers at any moment and a child must never inherit a lock or a half-built
//! registry from a thread it does not have.

pub mod plain;
#[cfg(feature = "subscriber")]
pub mod subscriber;

#[cfg(feature = "subscriber")]
pub use subscriber::{init, LogFormat};
