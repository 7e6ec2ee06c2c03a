//! The protocol's error and close codes.

/// Protocol error and close codes (PROTOCOL.md §1.4). The ranges drive pusher-js's
/// reconnect policy: 40xx stop, 41xx back off, 42xx reconnect at once, 43xx never as a
/// close code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum ErrorCode {
    AppNotFound = 4001,
    AppDisabled = 4003,
    OverConnectionQuota = 4004,
    PathNotFound = 4005,
    InvalidVersion = 4006,
    UnsupportedProtocol = 4007,
    Unauthorized = 4009,
    OverCapacity = 4100,
    Reconnect = 4200,
    PongTimeout = 4201,
    ClientEventRejected = 4301,
    WatchlistLimit = 4302,
}

impl ErrorCode {
    pub fn code(self) -> u16 {
        self as u16
    }
}
