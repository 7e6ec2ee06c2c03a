//! Socket ids: the `"<u32>.<u32>"` name of one connection.
//!
//! Every SDK validates socket ids with `^\d+\.\d+$` and Laravel forwards them from the
//! `X-Socket-ID` header, so the textual form must stay two plain decimal integers. The
//! first half names the process: drawn at random once per process, so ids differ
//! across restarts and across the nodes of a cluster; the second is a process-wide
//! counter, so ids of one process never repeat among live connections. Two nodes
//! collide only if they draw the same first half (for 10 nodes, about one chance in
//! 100 million), instead of whenever two connections drew the same 32 random bits
//! and counter value.

use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// One connection's id, packed in a `u64` so that hub maps hash and compare it cheaply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(u64);

static COUNTER: AtomicU32 = AtomicU32::new(1);

impl SocketId {
    pub fn generate() -> SocketId {
        let high = node_prefix();
        let low = COUNTER.fetch_add(1, Ordering::Relaxed);
        SocketId((u64::from(high) << 32) | u64::from(low))
    }

    /// Parses the textual form. A well-formed id whose halves do not fit in `u32` is
    /// not one we issued: `None`, like any malformed one.
    pub fn parse(s: &str) -> Option<SocketId> {
        let (a, b) = s.split_once('.')?;
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit());
        if !digits(a) || !digits(b) {
            return None;
        }
        let a: u32 = a.parse().ok()?;
        let b: u32 = b.parse().ok()?;
        Some(SocketId((u64::from(a) << 32) | u64::from(b)))
    }
}

/// This process's half of every socket id; never 0, so no id is `0.n`.
fn node_prefix() -> u32 {
    static NODE: OnceLock<u32> = OnceLock::new();
    *NODE.get_or_init(|| rand::random::<u32>().max(1))
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0 >> 32, self.0 & 0xffff_ffff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_uniqueness() {
        let a = SocketId::generate();
        let b = SocketId::generate();
        assert_ne!(a, b);
        assert_eq!(a.0 >> 32, b.0 >> 32, "one process, one prefix");
        let text = a.to_string();
        assert!(crate::names::is_valid_socket_id(&text), "{text}");
        assert_eq!(SocketId::parse(&text), Some(a));
    }

    #[test]
    fn parse_rejects_what_sdks_reject() {
        for bad in [
            "",
            "1",
            "1.",
            ".1",
            "-1.2",
            "1.2.3",
            " 1.2",
            "1.2 ",
            "a.b",
            "99999999999.1",
        ] {
            assert_eq!(SocketId::parse(bad), None, "{bad:?}");
        }
        assert_eq!(SocketId::parse("123.456").unwrap().to_string(), "123.456");
    }
}
