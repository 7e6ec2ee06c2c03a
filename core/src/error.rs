//! Errors of the server-side API (HTTP API and embedding API), each mapped once to its
//! HTTP status. WebSocket-side errors are protocol codes ([`crate::protocol::ErrorCode`]).

use std::fmt;

use crate::auth::RestAuthError;
use crate::config::ConfigError;
use crate::names::NameError;

#[derive(Debug)]
pub enum Error {
    /// No app with this id (HTTP) or key (WebSocket).
    UnknownApp(String),
    AppDisabled(String),
    InvalidChannel {
        channel: String,
        reason: NameError,
    },
    NoChannels,
    TooManyChannels {
        count: usize,
        max: usize,
    },
    /// Published events on encrypted channels must target that channel alone, as the
    /// SDKs require, because each carries its own ciphertext.
    EncryptedWithOthers,
    InvalidEventName {
        name: String,
        reason: &'static str,
    },
    DataTooLarge {
        size: usize,
        max: usize,
    },
    InvalidSocketId(String),
    BatchTooLarge {
        count: usize,
        max: usize,
    },
    MalformedJson(String),
    MissingField(&'static str),
    /// An `info` attribute that does not apply to the channel, or is unknown.
    InvalidInfo(String),
    NotPresenceChannel(String),
    Unauthorized(RestAuthError),
    RouteNotFound,
    MethodNotAllowed,
    RequestTooLarge {
        max: usize,
    },
    Config(ConfigError),
    Bind {
        addr: String,
        source: std::io::Error,
    },
    AlreadyStarted,
    NotRunning,
}

impl Error {
    /// The HTTP status of this error (PROTOCOL.md §6.3).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::UnknownApp(_) | Error::RouteNotFound => 404,
            Error::AppDisabled(_) => 403,
            Error::Unauthorized(_) => 401,
            Error::DataTooLarge { .. } | Error::RequestTooLarge { .. } => 413,
            Error::MethodNotAllowed => 405,
            Error::Config(_) | Error::Bind { .. } | Error::AlreadyStarted | Error::NotRunning => {
                500
            }
            _ => 400,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::UnknownApp(id) => write!(f, "Unknown app {id:?}"),
            Error::AppDisabled(id) => write!(f, "App {id:?} is disabled"),
            Error::InvalidChannel { channel, reason } => {
                write!(f, "Invalid channel name {channel:?}: {reason}")
            }
            Error::NoChannels => f.write_str("No channels given"),
            Error::TooManyChannels { count, max } => {
                write!(f, "Too many channels: {count} (at most {max} per event)")
            }
            Error::EncryptedWithOthers => f.write_str(
                "An event on an encrypted channel cannot be sent to other channels at once",
            ),
            Error::InvalidEventName { name, reason } => {
                write!(f, "Invalid event name {name:?}: {reason}")
            }
            Error::DataTooLarge { size, max } => {
                write!(f, "Event data too large: {size} bytes (at most {max})")
            }
            Error::InvalidSocketId(s) => {
                write!(
                    f,
                    "Invalid socket_id {s:?}: expected two integers joined by a dot"
                )
            }
            Error::BatchTooLarge { count, max } => {
                write!(f, "Batch too large: {count} events (at most {max})")
            }
            Error::MalformedJson(e) => write!(f, "Malformed JSON body: {e}"),
            Error::MissingField(name) => write!(f, "Missing or invalid field {name:?}"),
            Error::InvalidInfo(msg) => write!(f, "Invalid info attribute: {msg}"),
            Error::NotPresenceChannel(c) => write!(f, "Channel {c:?} is not a presence channel"),
            Error::Unauthorized(e) => write!(f, "{e}"),
            Error::RouteNotFound => f.write_str("Not found"),
            Error::MethodNotAllowed => f.write_str("Method not allowed"),
            Error::RequestTooLarge { max } => {
                write!(f, "Request body too large (at most {max} bytes)")
            }
            Error::Config(e) => write!(f, "Invalid configuration: {e}"),
            Error::Bind { addr, source } => write!(f, "Cannot listen on {addr}: {source}"),
            Error::AlreadyStarted => f.write_str("Server already started"),
            Error::NotRunning => f.write_str("Server is not running"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}
