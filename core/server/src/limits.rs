//! The protocol's limits, in one place: the server's defaults, and what the HTTP client
//! and the bindings check before sending so that a request the server would refuse is
//! refused locally with the same words.

/// Channels one published event may name (Pusher's limit).
pub const MAX_CHANNELS_PER_EVENT: usize = 100;
/// Events in one `batch_events` request (Pusher's limit).
pub const MAX_BATCH_SIZE: usize = 10;
/// Bytes of a channel name (Pusher's limit).
pub const MAX_CHANNEL_NAME_LENGTH: usize = 200;
/// Bytes of an event name (Pusher's limit).
pub const MAX_EVENT_NAME_LENGTH: usize = 200;
/// Bytes of a published event's `data` (Pusher's 10 KB).
pub const MAX_EVENT_DATA: usize = 10 * 1024;
/// Largest inbound WebSocket message (Reverb's default).
pub const MAX_MESSAGE_SIZE: usize = 10_000;
/// Distinct users per presence channel (Pusher's limit).
pub const MAX_PRESENCE_MEMBERS: usize = 100;
/// Bytes of a presence member's `user_info` (Pusher's 1 KB is too small for avatars;
/// Reverb and Soketi allow more).
pub const MAX_USER_INFO_SIZE: usize = 10_000;
/// Nesting depth of a presence member's `user_info` (or a sign-in's): it is sent to
/// every member of the channel, and deep nesting breaks browsers' JSON parsers.
pub const MAX_USER_INFO_DEPTH: usize = 32;
/// Characters of a presence `user_id` (Pusher's limit).
pub const MAX_USER_ID_LENGTH: usize = 128;
/// Channels one connection may join.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: usize = 1000;
/// Client events per second per connection (Pusher's limit).
pub const CLIENT_EVENT_RATE: u32 = 10;
/// How long an HTTP API request may take to send its body.
pub const BODY_READ_TIMEOUT_SECS: u64 = 10;
/// Bytes of HTTP API request bodies being received at once, across all requests (they
/// are buffered before their signature can be checked, so anyone can send them).
pub const MAX_BODY_BYTES_IN_FLIGHT: usize = 64 << 20;
