//! Errors on their way to JavaScript.
//!
//! Every error thrown (or used to reject a promise) by this addon is a plain JS `Error`
//! with a stable `code` string, the message of the Rust error, and — when there is one —
//! a `cause` with the lower-level error (an OS error for a failed bind). HTTP errors of
//! the REST client also carry `status` and `body`.
//!
//! The codes are mapped once, here. They are part of the public API (documented in
//! `npm/README.md` and `npm/index.d.ts`): change them only with a major version.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;
use napi::bindgen_prelude::{JsObjectValue, JsValue, Object, PromiseRaw, ToNapiValue};
use napi::{Env, Status};

/// An error, still as Rust data, so that it can cross threads; it becomes a JS object
/// in [`JsErr::into_napi`], on the JavaScript thread.
#[derive(Debug)]
pub struct JsErr {
    pub code: &'static str,
    pub message: String,
    /// A lower-level error, reported as the JS `cause`.
    pub cause: Option<Box<JsErr>>,
    /// HTTP status and body of a REST error response (`status`, `body` in JS).
    pub http: Option<(u16, String)>,
}

/// Codes of errors raised by the binding itself rather than by `pushbus` (the same words
/// as the C library's result codes).
pub const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
/// A bug in pushbus: a Rust panic caught before it could unwind into Node, or a state
/// that cannot happen.
pub const PANIC: &str = "PANIC";

impl JsErr {
    pub fn new(code: &'static str, message: impl Into<String>) -> JsErr {
        JsErr {
            code,
            message: message.into(),
            cause: None,
            http: None,
        }
    }

    pub fn invalid_argument(message: impl Into<String>) -> JsErr {
        JsErr::new(INVALID_ARGUMENT, message)
    }

    fn panic(payload: Box<dyn Any + Send>) -> JsErr {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        JsErr::new(PANIC, format!("pushbus panicked: {what}"))
    }

    /// Builds the JS `Error` object and wraps it so napi-rs throws (or rejects with) that
    /// very object. Must run on the JavaScript thread.
    pub fn into_napi(self, env: &Env) -> napi::Error {
        match self.into_object(env) {
            Ok(obj) => napi::Error::from(obj.to_unknown()),
            // Only when the environment is tearing down; nobody will see it anyway.
            Err(e) => e,
        }
    }

    fn into_object<'env>(self, env: &'env Env) -> napi::Result<Object<'env>> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, self.message))?;
        obj.set_named_property("code", self.code)?;
        if let Some((status, body)) = self.http {
            obj.set_named_property("status", status)?;
            obj.set_named_property("body", body)?;
        }
        if let Some(cause) = self.cause {
            obj.set_named_property("cause", cause.into_object(env)?)?;
        }
        Ok(obj)
    }
}

/// `pushbus::Error` to a coded JS error: the code is the core's name for it (the word
/// of the C and PHP faces too); a failed bind carries the OS error as `cause`
/// (`cause.code` is `EADDRINUSE` for an address in use).
impl From<pushbus::Error> for JsErr {
    fn from(e: pushbus::Error) -> JsErr {
        let cause = match &e {
            pushbus::Error::Bind { source, .. } => Some(Box::new(JsErr::new(
                io_code(source.kind()),
                source.to_string(),
            ))),
            _ => None,
        };
        JsErr {
            cause,
            ..JsErr::new(e.code().name(), e.to_string())
        }
    }
}

impl From<pushbus::auth::SignError> for JsErr {
    fn from(e: pushbus::auth::SignError) -> JsErr {
        JsErr::new(pushbus::error::Code::from(&e).name(), e.to_string())
    }
}

/// errno-style names for the OS errors a bind can fail with.
fn io_code(kind: std::io::ErrorKind) -> &'static str {
    use std::io::ErrorKind as K;
    match kind {
        K::AddrInUse => "EADDRINUSE",
        K::AddrNotAvailable => "EADDRNOTAVAIL",
        K::PermissionDenied => "EACCES",
        _ => "EIO",
    }
}

/// Runs `f` on the JavaScript thread, turning its error — or a panic — into a JS
/// exception.
pub fn guard<T>(env: &Env, f: impl FnOnce() -> Result<T, JsErr>) -> napi::Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|payload| Err(JsErr::panic(payload)))
        .map_err(|e| e.into_napi(env))
}

/// Runs `fut` on napi-rs's tokio runtime and returns a promise of its output, mapped by
/// `convert` on the JavaScript thread. Errors and panics reject the promise.
pub fn promise<'env, T, V, F>(
    env: &'env Env,
    fut: F,
    convert: fn(T) -> V,
) -> napi::Result<PromiseRaw<'env, V>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = Result<T, JsErr>> + Send + 'static,
{
    let fut = async move {
        Ok(AssertUnwindSafe(fut)
            .catch_unwind()
            .await
            .unwrap_or_else(|payload| Err(JsErr::panic(payload))))
    };
    env.spawn_future_with_callback(fut, move |env, result| {
        result.map(convert).map_err(|e| e.into_napi(env))
    })
}
