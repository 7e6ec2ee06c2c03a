//! Node.js bindings of pushbus, built with napi-rs. The npm package `pushbus` (in
//! `npm/`) loads this addon and puts a small JavaScript layer on top of it.
//!
//! This crate only translates: JavaScript values to `pushbus` types and back, and
//! `pushbus` errors (and panics) to JavaScript `Error`s with a stable `code` ([`error`]).
//! Nothing here decides behaviour; that lives in the `pushbus` crate.
//!
//! Threads: every exported function runs on the JavaScript thread and returns without
//! blocking on I/O. Work that waits (binding a port, shutting down, HTTP requests) runs
//! on napi-rs's tokio runtime and settles a promise. Lifecycle events reach JavaScript
//! through one thread-safe function per server with a bounded queue ([`server`]); no
//! thread ever waits for JavaScript.

mod auth;
mod client;
mod error;
mod server;

pub use auth::*;
pub use client::*;
pub use server::*;

/// Panics on purpose, so that the tests can check that a panic becomes a JavaScript
/// exception instead of aborting the process. `asynchronous` panics inside a future on
/// the tokio runtime instead of on the JavaScript thread. Debug builds only, and left
/// out of the TypeScript definitions.
#[cfg(debug_assertions)]
#[napi_derive::napi(js_name = "__panicForTesting", skip_typescript)]
pub fn panic_for_testing<'env>(
    env: &'env napi::Env,
    asynchronous: bool,
) -> napi::Result<napi::bindgen_prelude::PromiseRaw<'env, ()>> {
    if asynchronous {
        error::promise(env, async { panic!("deliberate panic (async)") }, |()| ())
    } else {
        error::guard(env, || panic!("deliberate panic (sync)"))
    }
}

/// The version of pushbus: the Cargo workspace version, the one every face of pushbus
/// (the binary, the C library, the PHP extension, this package) reports.
#[napi_derive::napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}
