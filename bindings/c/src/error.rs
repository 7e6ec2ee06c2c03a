//! Result codes, their text, and the per-thread message of the last failure.

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};

use ::pushbus_client::ClientError;
use pushbus_core::auth::SignError;
use pushbus_core::error::Code;
use pushbus_core::Error as CoreError;

/// What a fallible `pushbus_*` function returns. The numbers are stable: new codes
/// are added, existing ones never change meaning. 0 is success; `pushbus_result_text`
/// names any code and `pushbus_last_error_message` gives the details of a failure.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum pushbus_result {
    /// Success.
    Ok = 0,
    /// A bug in pushbus: a panic was caught at the API boundary. The handle involved
    /// may be in an inconsistent state; please report it.
    Panic = 1,
    /// A required pointer argument was NULL.
    NullParameter = 2,
    /// A string argument was not valid UTF-8.
    InvalidUtf8 = 3,
    /// An argument was refused before anything happened (empty key, bad length, ...).
    InvalidArgument = 4,
    /// The background threads of the library could not be started.
    Runtime = 5,
    /// The handle was created by another process: this is a forked child, where the
    /// parent's threads do not exist. Create a new handle in this process.
    Forked = 6,
    /// Nothing happened within the time allowed (no event to poll, or a client
    /// request that timed out).
    Timeout = 7,
    /// The event stream has ended: its server was freed.
    Closed = 8,
    /// A signature did not verify.
    InvalidSignature = 9,
    /// The server configuration is invalid (bad JSON, missing app, bad value).
    Config = 100,
    /// No app with this id.
    UnknownApp = 101,
    /// The app is disabled.
    AppDisabled = 102,
    /// A channel name is invalid (characters, length, or the wrong kind of channel).
    InvalidChannel = 103,
    /// A publish named no channel.
    NoChannels = 104,
    /// A publish named more channels than the app allows.
    TooManyChannels = 105,
    /// An event for a `private-encrypted-` channel also named other channels.
    EncryptedWithOthers = 106,
    /// The event name is empty, too long or reserved (`pusher:`).
    InvalidEventName = 107,
    /// The event data is larger than the app allows.
    DataTooLarge = 108,
    /// A socket id is not two integers joined by a dot.
    InvalidSocketId = 109,
    /// A batch holds more events than allowed.
    BatchTooLarge = 110,
    /// A presence query named a channel that is not a presence channel.
    NotPresenceChannel = 111,
    /// The server could not listen on the address (in use, not local, no permission).
    Bind = 112,
    /// The server was already started (a stopped server cannot be started again).
    AlreadyStarted = 113,
    /// The server is not running.
    NotRunning = 114,
    /// The client could not connect, or the connection broke mid-request.
    Connect = 200,
    /// The server answered with an HTTP status other than 200; the message has the
    /// status and body.
    HttpStatus = 201,
    /// The server answered 200 with a body that is not JSON.
    InvalidResponse = 202,
}

impl pushbus_result {
    /// Every code, for lookups by number (the test checks they are distinct).
    pub(crate) const ALL: [pushbus_result; 28] = [
        Self::Ok,
        Self::Panic,
        Self::NullParameter,
        Self::InvalidUtf8,
        Self::InvalidArgument,
        Self::Runtime,
        Self::Forked,
        Self::Timeout,
        Self::Closed,
        Self::InvalidSignature,
        Self::Config,
        Self::UnknownApp,
        Self::AppDisabled,
        Self::InvalidChannel,
        Self::NoChannels,
        Self::TooManyChannels,
        Self::EncryptedWithOthers,
        Self::InvalidEventName,
        Self::DataTooLarge,
        Self::InvalidSocketId,
        Self::BatchTooLarge,
        Self::NotPresenceChannel,
        Self::Bind,
        Self::AlreadyStarted,
        Self::NotRunning,
        Self::Connect,
        Self::HttpStatus,
        Self::InvalidResponse,
    ];

    pub(crate) fn from_u32(code: u32) -> Option<pushbus_result> {
        Self::ALL.iter().copied().find(|r| *r as u32 == code)
    }

    pub(crate) fn text(self) -> &'static CStr {
        match self {
            Self::Ok => c"ok",
            Self::Panic => c"internal error (a bug in pushbus)",
            Self::NullParameter => c"a required argument is NULL",
            Self::InvalidUtf8 => c"a string argument is not valid UTF-8",
            Self::InvalidArgument => c"invalid argument",
            Self::Runtime => c"cannot start the library's background threads",
            Self::Forked => c"the handle belongs to the parent process (forked)",
            Self::Timeout => c"timed out",
            Self::Closed => c"the event stream has ended",
            Self::InvalidSignature => c"invalid signature",
            Self::Config => c"invalid configuration",
            Self::UnknownApp => c"unknown app",
            Self::AppDisabled => c"app disabled",
            Self::InvalidChannel => c"invalid channel name",
            Self::NoChannels => c"no channels given",
            Self::TooManyChannels => c"too many channels",
            Self::EncryptedWithOthers => {
                c"an encrypted channel cannot be published to with other channels"
            }
            Self::InvalidEventName => c"invalid event name",
            Self::DataTooLarge => c"event data too large",
            Self::InvalidSocketId => c"invalid socket id",
            Self::BatchTooLarge => c"batch too large",
            Self::NotPresenceChannel => c"not a presence channel",
            Self::Bind => c"cannot listen on the address",
            Self::AlreadyStarted => c"server already started",
            Self::NotRunning => c"server not running",
            Self::Connect => c"cannot connect to the server",
            Self::HttpStatus => c"the server answered with an error status",
            Self::InvalidResponse => c"invalid response from the server",
        }
    }
}

/// A failed call: its code and a message for `pushbus_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub code: pushbus_result,
    pub message: String,
}

impl Failure {
    pub fn new(code: pushbus_result, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<Code> for pushbus_result {
    fn from(code: Code) -> pushbus_result {
        use pushbus_result as R;
        match code {
            Code::InvalidArgument => R::InvalidArgument,
            Code::Timeout => R::Timeout,
            Code::InvalidSignature => R::InvalidSignature,
            Code::Config => R::Config,
            Code::UnknownApp => R::UnknownApp,
            Code::AppDisabled => R::AppDisabled,
            Code::InvalidChannel => R::InvalidChannel,
            Code::NoChannels => R::NoChannels,
            Code::TooManyChannels => R::TooManyChannels,
            Code::EncryptedWithOthers => R::EncryptedWithOthers,
            Code::InvalidEventName => R::InvalidEventName,
            Code::DataTooLarge => R::DataTooLarge,
            Code::InvalidSocketId => R::InvalidSocketId,
            Code::BatchTooLarge => R::BatchTooLarge,
            Code::NotPresenceChannel => R::NotPresenceChannel,
            Code::Bind => R::Bind,
            Code::AlreadyStarted => R::AlreadyStarted,
            Code::NotRunning => R::NotRunning,
            Code::Connect => R::Connect,
            Code::HttpStatus => R::HttpStatus,
            Code::InvalidResponse => R::InvalidResponse,
        }
    }
}

impl From<CoreError> for Failure {
    fn from(e: CoreError) -> Failure {
        Failure::new(e.code().into(), e.to_string())
    }
}

impl From<SignError> for Failure {
    fn from(e: SignError) -> Failure {
        Failure::new(Code::from(&e).into(), e.to_string())
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure::new(e.code().into(), e.to_string())
    }
}

thread_local! {
    /// The message of the last failed call on this thread (empty before any failure).
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    // A message never holds NUL in practice; if one does, cut it there.
    let bytes = message.as_bytes();
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text = CString::new(&bytes[..end]).unwrap_or_default();
    // `try_with` fails only while the thread is exiting; the message is then lost.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = text);
}

fn last_error_ptr() -> *const c_char {
    LAST_ERROR
        .try_with(|slot| slot.borrow().as_ptr())
        .unwrap_or(c"".as_ptr())
}

/// The library version, e.g. `"0.1.0"`.
///
/// Returns a static NUL-terminated string owned by the library: do not free it.
/// Threads: any.
#[no_mangle]
pub extern "C" fn pushbus_version() -> *const c_char {
    // A constant: nothing here can panic.
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A short English description of a result code, e.g. `"invalid channel name"`.
///
/// `code` may be any number: unknown codes give `"unknown result code"`. Returns a
/// static NUL-terminated string owned by the library: do not free it. Threads: any.
#[no_mangle]
pub extern "C" fn pushbus_result_text(code: u32) -> *const c_char {
    let text = || match pushbus_result::from_u32(code) {
        Some(r) => r.text().as_ptr(),
        None => c"unknown result code".as_ptr(),
    };
    std::panic::catch_unwind(text).unwrap_or(c"unknown result code".as_ptr())
}

/// The detailed message of the most recent failed `pushbus_*` call on the calling
/// thread, e.g. `"Cannot listen on 127.0.0.1:8080: Address already in use (os error
/// 98)"`; `""` when no call has failed on this thread yet.
///
/// Returns a NUL-terminated string owned by the library, valid on this thread until
/// the next failing `pushbus_*` call on it: copy it to keep it; do not free it.
/// Successful calls leave it unchanged. Threads: any; each thread has its own message.
#[no_mangle]
pub extern "C" fn pushbus_last_error_message() -> *const c_char {
    std::panic::catch_unwind(last_error_ptr).unwrap_or(c"".as_ptr())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_named() {
        let mut seen = std::collections::HashSet::new();
        for r in pushbus_result::ALL {
            seen.insert(r as u32);
            assert_eq!(pushbus_result::from_u32(r as u32), Some(r));
            assert!(!r.text().to_bytes().is_empty());
        }
        assert_eq!(seen.len(), pushbus_result::ALL.len());
        assert_eq!(pushbus_result::from_u32(99), None);
    }

    /// `PUSHBUS_RESULT_<NAME>` (cbindgen's name for the variant) is the core's name of
    /// the code, the word Node and PHP use too.
    #[test]
    fn result_names_are_the_core_code_names() {
        let header = include_str!("../../../include/pushbus.h");
        for code in Code::ALL {
            let variant = format!("{:?}", pushbus_result::from(code));
            let mut screaming = String::new();
            for (i, ch) in variant.chars().enumerate() {
                if ch.is_ascii_uppercase() && i > 0 {
                    screaming.push('_');
                }
                screaming.push(ch.to_ascii_uppercase());
            }
            assert_eq!(screaming, code.name());
            let declared = format!("PUSHBUS_RESULT_{} =", code.name());
            assert!(header.contains(&declared), "{declared} not in pushbus.h");
        }
    }
}
