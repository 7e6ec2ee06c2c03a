//! Minimal logging to stderr: `info` always, `debug` when `PUSHBUS_LOG=debug`.
//!
//! A library embedded in PHP or Node must not install a global logger of its own, so
//! this stays a few macros rather than a logging framework.

use std::sync::OnceLock;

pub fn debug_enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("PUSHBUS_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug")))
}

macro_rules! log_warn {
    ($($arg:tt)*) => { eprintln!("pushbus: warning: {}", format_args!($($arg)*)) };
}
macro_rules! log_info {
    ($($arg:tt)*) => { eprintln!("pushbus: {}", format_args!($($arg)*)) };
}
macro_rules! log_debug {
    ($($arg:tt)*) => {
        if $crate::log::debug_enabled() { eprintln!("pushbus: debug: {}", format_args!($($arg)*)) }
    };
}
pub(crate) use {log_debug as debug, log_info as info, log_warn as warn};
