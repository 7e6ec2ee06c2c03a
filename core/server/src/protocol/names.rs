//! Channel-name and socket-id validation (spec §1.3, §2.1).

use std::fmt;

/// Default maximum channel-name length: what S/K enforce and what the Node and Python
/// SDKs accept (§2.1, §9). Hosted Pusher documents 164.
pub const DEFAULT_MAX_CHANNEL_NAME_LEN: usize = crate::limits::MAX_CHANNEL_NAME_LENGTH;

/// Prefix of the per-user channel (§4.3). It is the only legal name starting with `#`.
pub const USER_CHANNEL_PREFIX: &str = "#server-to-user-";

/// What a channel is, independent of whether it caches its last event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// No authorization.
    Public,
    /// `private-`: private signature.
    Private,
    /// `presence-`: presence signature (with `channel_data`).
    Presence,
    /// `private-encrypted-`: private signature; payloads are opaque ciphertext.
    EncryptedPrivate,
    /// `#server-to-user-{id}`: only sockets signed in as `{id}`.
    User,
}

/// The type of a channel as decided by its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChannelType {
    pub kind: ChannelKind,
    /// `cache-`-style channel: the last published event is replayed to new subscribers
    /// (§2.7).
    pub cache: bool,
}

impl ChannelType {
    /// Whether subscribing needs a `key:signature` `auth` (private, presence, encrypted).
    /// User channels are authorized by sign-in instead, public ones not at all.
    pub fn requires_signature(self) -> bool {
        matches!(
            self.kind,
            ChannelKind::Private | ChannelKind::Presence | ChannelKind::EncryptedPrivate
        )
    }

    /// Whether `client-` events may be sent on it under P's rule (§3.2).
    pub fn allows_client_events(self) -> bool {
        self.requires_signature()
    }
}

/// Prefixes in match order: the longest, most specific ones must come first because
/// `private-encrypted-cache-x` also starts with `private-`.
const PREFIXES: [(&str, ChannelKind, bool); 8] = [
    (
        "private-encrypted-cache-",
        ChannelKind::EncryptedPrivate,
        true,
    ),
    ("private-encrypted-", ChannelKind::EncryptedPrivate, false),
    ("private-cache-", ChannelKind::Private, true),
    ("private-", ChannelKind::Private, false),
    ("presence-cache-", ChannelKind::Presence, true),
    ("presence-", ChannelKind::Presence, false),
    ("cache-", ChannelKind::Public, true),
    (USER_CHANNEL_PREFIX, ChannelKind::User, false),
];

/// Type by prefix, first match wins: `private-encrypted-cache-`, `private-encrypted-`,
/// `private-cache-`, `private-`, `presence-cache-`, `presence-`, `cache-`,
/// `#server-to-user-`, else public. Does not validate the name.
pub fn channel_type(name: &str) -> ChannelType {
    PREFIXES
        .iter()
        .find(|(prefix, _, _)| name.starts_with(prefix))
        .map_or(
            ChannelType {
                kind: ChannelKind::Public,
                cache: false,
            },
            |&(_, kind, cache)| ChannelType { kind, cache },
        )
}

/// Why a channel name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// Length in bytes (valid names are ASCII, so bytes = characters).
    TooLong {
        len: usize,
        max: usize,
    },
    /// A character outside `[A-Za-z0-9_\-=@,.;]`; `at` is its byte offset.
    BadCharacter {
        ch: char,
        at: usize,
    },
    /// Starts with `#` but is not `#server-to-user-{id}` with a non-empty id.
    ReservedHash,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Channel name must not be empty"),
            Self::TooLong { len, max } => write!(
                f,
                "Channel name is too long ({len} characters, maximum is {max})"
            ),
            Self::BadCharacter { ch, at } => write!(
                f,
                "Channel name contains an invalid character {ch:?} at position {at}; \
                 allowed are A-Z, a-z, 0-9 and _ - = @ , . ;"
            ),
            Self::ReservedHash => f.write_str(
                "Channel names starting with '#' are reserved; the only one allowed is \
                 #server-to-user-{user_id}",
            ),
        }
    }
}

impl std::error::Error for NameError {}

/// `[A-Za-z0-9_\-=@,.;]`
pub fn is_valid_channel_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'=' | b'@' | b',' | b'.' | b';')
}

fn first_bad_char(s: &str, offset: usize) -> Option<NameError> {
    s.char_indices()
        .find(|&(_, c)| !(c.is_ascii() && is_valid_channel_char(c as u8)))
        .map(|(i, ch)| NameError::BadCharacter { ch, at: offset + i })
}

/// Valid when 1..=`max_len` bytes of `[A-Za-z0-9_\-=@,.;]`, or exactly
/// `#server-to-user-{id}` (length limit included) where `id` is non-empty and made of
/// those characters. Any other name starting with `#` is invalid: pjs refuses them and
/// the Python SDK rejects them, and PHP's looser rule would let publishers reach names no
/// client can subscribe to.
pub fn validate_channel_name(name: &str, max_len: usize) -> Result<ChannelType, NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > max_len {
        return Err(NameError::TooLong {
            len: name.len(),
            max: max_len,
        });
    }
    if name.starts_with('#') {
        let Some(id) = name.strip_prefix(USER_CHANNEL_PREFIX) else {
            return Err(NameError::ReservedHash);
        };
        if id.is_empty() {
            return Err(NameError::ReservedHash);
        }
        // Offsets are reported relative to the whole name.
        if let Some(err) = first_bad_char(id, name.len() - id.len()) {
            return Err(err);
        }
        return Ok(ChannelType {
            kind: ChannelKind::User,
            cache: false,
        });
    }
    if let Some(err) = first_bad_char(name, 0) {
        return Err(err);
    }
    Ok(channel_type(name))
}

/// `^\d+\.\d+$` with ASCII digits only: the format every server SDK enforces (§1.3).
/// Unicode digits, signs, whitespace and a trailing newline (which Python's `$` would
/// tolerate) are all rejected.
pub fn is_valid_socket_id(s: &str) -> bool {
    let all_digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    s.split_once('.')
        .is_some_and(|(a, b)| all_digits(a) && all_digits(b))
}

/// For a well-formed `#server-to-user-{id}` returns `Some(id)`; `None` for any other name,
/// including an empty id or one with characters outside the channel-name set. (The length
/// limit is not checked here; use [`validate_channel_name`] for that.)
pub fn user_channel_id(name: &str) -> Option<&str> {
    let id = name.strip_prefix(USER_CHANNEL_PREFIX)?;
    (!id.is_empty() && id.bytes().all(is_valid_channel_char)).then_some(id)
}

/// The user channel name for `user_id`, e.g. `#server-to-user-1`.
pub fn user_channel_name(user_id: &str) -> String {
    format!("{USER_CHANNEL_PREFIX}{user_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = DEFAULT_MAX_CHANNEL_NAME_LEN;

    fn ct(kind: ChannelKind, cache: bool) -> ChannelType {
        ChannelType { kind, cache }
    }

    #[test]
    fn types_by_prefix() {
        use ChannelKind::*;
        let cases = [
            ("private-encrypted-cache-x", ct(EncryptedPrivate, true)),
            ("private-encrypted-x", ct(EncryptedPrivate, false)),
            ("private-cache-x", ct(Private, true)),
            ("private-x", ct(Private, false)),
            ("presence-cache-x", ct(Presence, true)),
            ("presence-x", ct(Presence, false)),
            ("cache-x", ct(Public, true)),
            ("#server-to-user-1", ct(User, false)),
            ("orders", ct(Public, false)),
            // Hyphen is part of the prefix (R's hyphen-less matching is not ours).
            ("private", ct(Public, false)),
            ("privatefoo", ct(Public, false)),
            ("presence", ct(Public, false)),
            ("cache", ct(Public, false)),
            ("cachefoo", ct(Public, false)),
            // Prefixes only count at the start, and are case-sensitive.
            ("x-private-foo", ct(Public, false)),
            ("Private-foo", ct(Public, false)),
            // Bare prefixes still get their type (the rest may be empty).
            ("private-", ct(Private, false)),
            ("private-encrypted-", ct(EncryptedPrivate, false)),
            ("private-cache-", ct(Private, true)),
            ("presence-cache-", ct(Presence, true)),
            ("cache-", ct(Public, true)),
            // Order matters: encrypted before cache before plain private.
            ("private-cache-encrypted-x", ct(Private, true)),
            ("presence-encrypted-x", ct(Presence, false)),
        ];
        for (name, expected) in cases {
            assert_eq!(channel_type(name), expected, "{name}");
            assert_eq!(validate_channel_name(name, MAX), Ok(expected), "{name}");
        }
    }

    #[test]
    fn requires_signature() {
        assert!(channel_type("private-a").requires_signature());
        assert!(channel_type("private-encrypted-cache-a").requires_signature());
        assert!(channel_type("presence-a").requires_signature());
        assert!(!channel_type("a").requires_signature());
        assert!(!channel_type("cache-a").requires_signature());
        assert!(!channel_type("#server-to-user-1").requires_signature());
        assert!(channel_type("presence-cache-a").allows_client_events());
        assert!(!channel_type("cache-a").allows_client_events());
    }

    #[test]
    fn allowed_characters() {
        assert!(validate_channel_name("AZaz09_-=@,.;", MAX).is_ok());
        assert!(validate_channel_name("a", MAX).is_ok());
        assert!(validate_channel_name(";", MAX).is_ok());
        for (name, ch, at) in [
            ("bad name", ' ', 3),
            ("foo:bar", ':', 3),
            ("foo/bar", '/', 3),
            ("foo#bar", '#', 3),
            ("über", 'ü', 0),
            ("a\u{0}", '\u{0}', 1),
            ("a\n", '\n', 1),
            ("a*", '*', 1),
            ("a+b", '+', 1),
            ("a%20b", '%', 1),
            ("a|b", '|', 1),
            ("٣", '٣', 0),
        ] {
            assert_eq!(
                validate_channel_name(name, MAX),
                Err(NameError::BadCharacter { ch, at }),
                "{name:?}"
            );
        }
    }

    #[test]
    fn empty_and_length_limits() {
        assert_eq!(validate_channel_name("", MAX), Err(NameError::Empty));
        assert_eq!(validate_channel_name("", 0), Err(NameError::Empty));
        let n200 = "a".repeat(200);
        let n201 = "a".repeat(201);
        assert!(validate_channel_name(&n200, MAX).is_ok());
        assert_eq!(
            validate_channel_name(&n201, MAX),
            Err(NameError::TooLong { len: 201, max: 200 })
        );
        assert!(validate_channel_name(&"a".repeat(164), 164).is_ok());
        assert!(validate_channel_name(&"a".repeat(165), 164).is_err());
        assert!(validate_channel_name("a", 0).is_err());
        // The limit counts the whole name, prefixes included.
        let p = format!("private-{}", "a".repeat(192));
        assert_eq!(p.len(), 200);
        assert!(validate_channel_name(&p, MAX).is_ok());
        assert!(validate_channel_name(&format!("{p}a"), MAX).is_err());
        // Length is in bytes; non-ASCII is rejected either way.
        assert!(validate_channel_name("ü", 1).is_err());
    }

    #[test]
    fn hash_names() {
        assert_eq!(
            validate_channel_name("#server-to-user-1", MAX),
            Ok(ct(ChannelKind::User, false))
        );
        assert!(validate_channel_name("#server-to-user-a.b@c=d", MAX).is_ok());
        for name in [
            "#",
            "#foo",
            "#server-to-user-",
            "#server-to-user",
            "#Server-to-user-1",
            "##server-to-user-1",
            "#private-foo",
            "#server-to-users-1",
        ] {
            assert_eq!(
                validate_channel_name(name, MAX),
                Err(NameError::ReservedHash),
                "{name}"
            );
        }
        assert_eq!(
            validate_channel_name("#server-to-user-a b", MAX),
            Err(NameError::BadCharacter { ch: ' ', at: 17 })
        );
        assert_eq!(
            validate_channel_name("#server-to-user-#", MAX),
            Err(NameError::BadCharacter { ch: '#', at: 16 })
        );
        // The user-channel name obeys the same length cap as any other.
        let long = user_channel_name(&"1".repeat(200 - USER_CHANNEL_PREFIX.len()));
        assert_eq!(long.len(), 200);
        assert!(validate_channel_name(&long, MAX).is_ok());
        assert!(validate_channel_name(&format!("{long}1"), MAX).is_err());
    }

    #[test]
    fn user_channel_ids() {
        assert_eq!(user_channel_id("#server-to-user-1"), Some("1"));
        assert_eq!(user_channel_id("#server-to-user-abc.def"), Some("abc.def"));
        assert_eq!(user_channel_id("#server-to-user-"), None);
        assert_eq!(user_channel_id("#server-to-user-a b"), None);
        assert_eq!(user_channel_id("server-to-user-1"), None);
        assert_eq!(user_channel_id("private-1"), None);
        assert_eq!(user_channel_id(""), None);
        assert_eq!(user_channel_name("42"), "#server-to-user-42");
        assert_eq!(user_channel_id(&user_channel_name("42")), Some("42"));
    }

    #[test]
    fn socket_ids() {
        for ok in [
            "1.2",
            "0.0",
            "1234.1234",
            "123456789.987654321",
            "00.00",
            "99999999999999999999999.1",
        ] {
            assert!(is_valid_socket_id(ok), "{ok:?}");
        }
        for bad in [
            "", ".", "1", "1234", "1.", ".1", "-1.2", "1.-2", "+1.2", "1.2.3", " 1.2", "1.2 ",
            "1 .2", "1.2\n", "\n1.2", "a.b", "1.b", "1,2", "1..2", "١.٢", "1.٢", "１.２", "1.2\0",
        ] {
            assert!(!is_valid_socket_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn error_messages_are_readable() {
        assert_eq!(
            NameError::Empty.to_string(),
            "Channel name must not be empty"
        );
        assert_eq!(
            NameError::TooLong { len: 201, max: 200 }.to_string(),
            "Channel name is too long (201 characters, maximum is 200)"
        );
        let bad = NameError::BadCharacter { ch: ' ', at: 3 }.to_string();
        assert!(bad.contains("' '") && bad.contains('3'), "{bad}");
        assert!(NameError::ReservedHash
            .to_string()
            .contains("#server-to-user-"));
    }
}
