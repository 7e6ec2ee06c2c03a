//! Errors of the server-side API (HTTP API and embedding API), each mapped once to its
//! HTTP status. WebSocket-side errors are protocol codes ([`crate::protocol::ErrorCode`]).

use std::fmt;

use crate::auth::{RestAuthError, SignError};
use crate::config::ConfigError;
use crate::protocol::names::NameError;

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
    /// A query parameter or argument out of its range (a user id, a page size).
    InvalidParameter(String),
    NotPresenceChannel(String),
    Unauthorized(RestAuthError),
    RouteNotFound,
    MethodNotAllowed,
    RequestTooLarge {
        max: usize,
    },
    /// The request body did not arrive in time.
    RequestTimeout {
        secs: u64,
    },
    /// Too many request bodies are being received at once.
    Busy,
    Config(ConfigError),
    Bind {
        addr: String,
        source: std::io::Error,
    },
    AlreadyStarted,
    NotRunning,
    /// The cluster backend did not answer (in time); nothing was decided.
    Backend(String),
}

/// The stable name of a failure, the same word in every face of the library: the C
/// result code `PUSHBUS_RESULT_<NAME>`, the `code` of a Node error, the PHP constant
/// `Pushbus\Exception::<NAME>`. Failures of the bindings themselves (a NULL pointer, a
/// panic, a forked handle, …) have codes of their own there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    InvalidArgument,
    Timeout,
    InvalidSignature,
    Config,
    UnknownApp,
    AppDisabled,
    InvalidChannel,
    NoChannels,
    TooManyChannels,
    EncryptedWithOthers,
    InvalidEventName,
    DataTooLarge,
    InvalidSocketId,
    BatchTooLarge,
    NotPresenceChannel,
    Bind,
    AlreadyStarted,
    NotRunning,
    Connect,
    HttpStatus,
    InvalidResponse,
}

impl Code {
    pub const ALL: [Code; 21] = [
        Code::InvalidArgument,
        Code::Timeout,
        Code::InvalidSignature,
        Code::Config,
        Code::UnknownApp,
        Code::AppDisabled,
        Code::InvalidChannel,
        Code::NoChannels,
        Code::TooManyChannels,
        Code::EncryptedWithOthers,
        Code::InvalidEventName,
        Code::DataTooLarge,
        Code::InvalidSocketId,
        Code::BatchTooLarge,
        Code::NotPresenceChannel,
        Code::Bind,
        Code::AlreadyStarted,
        Code::NotRunning,
        Code::Connect,
        Code::HttpStatus,
        Code::InvalidResponse,
    ];

    /// `INVALID_CHANNEL`, `HTTP_STATUS`, …
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::Timeout => "TIMEOUT",
            Code::InvalidSignature => "INVALID_SIGNATURE",
            Code::Config => "CONFIG",
            Code::UnknownApp => "UNKNOWN_APP",
            Code::AppDisabled => "APP_DISABLED",
            Code::InvalidChannel => "INVALID_CHANNEL",
            Code::NoChannels => "NO_CHANNELS",
            Code::TooManyChannels => "TOO_MANY_CHANNELS",
            Code::EncryptedWithOthers => "ENCRYPTED_WITH_OTHERS",
            Code::InvalidEventName => "INVALID_EVENT_NAME",
            Code::DataTooLarge => "DATA_TOO_LARGE",
            Code::InvalidSocketId => "INVALID_SOCKET_ID",
            Code::BatchTooLarge => "BATCH_TOO_LARGE",
            Code::NotPresenceChannel => "NOT_PRESENCE_CHANNEL",
            Code::Bind => "BIND",
            Code::AlreadyStarted => "ALREADY_STARTED",
            Code::NotRunning => "NOT_RUNNING",
            Code::Connect => "CONNECT",
            Code::HttpStatus => "HTTP_STATUS",
            Code::InvalidResponse => "INVALID_RESPONSE",
        }
    }
}

impl Error {
    /// The code of this error in the bindings.
    pub fn code(&self) -> Code {
        match self {
            Error::UnknownApp(_) => Code::UnknownApp,
            Error::AppDisabled(_) => Code::AppDisabled,
            Error::InvalidChannel { .. } => Code::InvalidChannel,
            Error::NoChannels => Code::NoChannels,
            Error::TooManyChannels { .. } => Code::TooManyChannels,
            Error::EncryptedWithOthers => Code::EncryptedWithOthers,
            Error::InvalidEventName { .. } => Code::InvalidEventName,
            Error::DataTooLarge { .. } => Code::DataTooLarge,
            Error::InvalidSocketId(_) => Code::InvalidSocketId,
            Error::BatchTooLarge { .. } => Code::BatchTooLarge,
            Error::NotPresenceChannel(_) => Code::NotPresenceChannel,
            Error::Config(_) => Code::Config,
            Error::Bind { .. } => Code::Bind,
            Error::AlreadyStarted => Code::AlreadyStarted,
            Error::NotRunning => Code::NotRunning,
            Error::Backend(_) => Code::Timeout,
            // Only the HTTP API produces these; the embedding API never does.
            Error::Unauthorized(_) => Code::InvalidSignature,
            Error::MalformedJson(_)
            | Error::MissingField(_)
            | Error::InvalidInfo(_)
            | Error::InvalidParameter(_)
            | Error::RouteNotFound
            | Error::MethodNotAllowed
            | Error::RequestTooLarge { .. }
            | Error::RequestTimeout { .. } => Code::InvalidArgument,
            Error::Busy => Code::Timeout,
        }
    }

    /// The HTTP status of this error (PROTOCOL.md §6.3).
    pub fn http_status(&self) -> u16 {
        match self {
            Error::UnknownApp(_) | Error::RouteNotFound => 404,
            Error::AppDisabled(_) => 403,
            Error::Unauthorized(_) => 401,
            Error::DataTooLarge { .. } | Error::RequestTooLarge { .. } => 413,
            Error::MethodNotAllowed => 405,
            Error::RequestTimeout { .. } => 408,
            Error::Backend(_) | Error::Busy => 503,
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
            Error::InvalidParameter(msg) => f.write_str(msg),
            Error::NotPresenceChannel(c) => write!(f, "Channel {c:?} is not a presence channel"),
            Error::Unauthorized(e) => write!(f, "{e}"),
            Error::RouteNotFound => f.write_str("Not found"),
            Error::MethodNotAllowed => f.write_str("Method not allowed"),
            Error::RequestTooLarge { max } => {
                write!(f, "Request body too large (at most {max} bytes)")
            }
            Error::RequestTimeout { secs } => {
                write!(f, "Request body not received within {secs} s")
            }
            Error::Busy => f.write_str("Server busy: too many request bodies in flight"),
            Error::Config(e) => write!(f, "Invalid configuration: {e}"),
            Error::Bind { addr, source } => write!(f, "Cannot listen on {addr}: {source}"),
            Error::AlreadyStarted => f.write_str("Server already started"),
            Error::NotRunning => f.write_str("Server is not running"),
            Error::Backend(why) => write!(f, "Cluster backend unavailable: {why}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<&SignError> for Code {
    fn from(e: &SignError) -> Code {
        match e {
            SignError::Credentials | SignError::ChannelData(_) | SignError::UserData(_) => {
                Code::InvalidArgument
            }
            SignError::InvalidSocketId(_) => Code::InvalidSocketId,
            SignError::InvalidChannel { .. }
            | SignError::NoSignatureNeeded(_)
            | SignError::NotEncrypted(_) => Code::InvalidChannel,
        }
    }
}
