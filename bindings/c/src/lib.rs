//! The C library of pushbus: `libpushbus.so` / `libpushbus.a`, declared by
//! `include/pushbus.h` (generated from this crate by cbindgen).
//!
//! Only translation lives here (types, errors, ownership); behaviour is in the
//! `pushbus` crate. Conventions, as in rustls-ffi:
//! - `pushbus_<type>_<verb>` names; handles are opaque boxes created by `_new` and
//!   released by `_free`, where NULL is a no-op.
//! - Fallible functions return `pushbus_result` (stable explicit numbers); other results
//!   go through out-params written only on success. `pushbus_last_error_message` has
//!   the details of the last failure on the calling thread.
//! - Strings come in as pointer + length and are checked to be UTF-8; strings go out
//!   NUL-terminated, owned by the caller, freed with `pushbus_string_free`.
//! - Every entry point runs inside a panic boundary: a bug becomes
//!   `PUSHBUS_RESULT_PANIC`, never an abort of the host process.
//! - One tokio runtime per process, built on first use and rebuilt in a forked child
//!   (see `runtime.rs`); nothing runs at load time.
//!
//! Every `extern "C"` function documents, in its doc comment (copied into the header),
//! who owns each argument and result, what NULL does, which threads may call it and
//! when its out-params are written. Those comments are the safety contract of these
//! `unsafe` functions, in C terms, hence no separate `# Safety` sections.
#![allow(clippy::missing_safety_doc)]

// The header follows this order (blank lines keep rustfmt from sorting it).

// Result codes, their text, the last error message, the version.
mod error;

// Plumbing: panic boundary, handle casts, strings in and out.
mod ffi;

// Signatures (pure functions).
mod auth;

// The embedded server.
mod server;

// Lifecycle events: poll handle and callback thread.
mod events;

// The HTTP API client.
mod client;

// The process's tokio runtime and fork detection.
mod runtime;
