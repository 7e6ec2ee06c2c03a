//! The Pusher protocol: frames on the wire, error codes, channel names, socket ids, and
//! the identities a client claims (presence `channel_data`, sign-in `user_data`).
//!
//! Nothing here knows about connections or state: these are pure functions and values.

mod codes;
pub(crate) mod features;
pub(crate) mod frames;
pub(crate) mod identity;
pub mod names;
pub(crate) mod socket_id;

pub use codes::ErrorCode;
pub(crate) use frames::*;
