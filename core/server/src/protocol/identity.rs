//! Who a client says it is: presence `channel_data` and sign-in `user_data`, parsed
//! once the signature over them has been checked (and by auth endpoints about to sign).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::limits::{MAX_USER_ID_LENGTH, MAX_USER_INFO_DEPTH};

/// Who a socket is in a presence channel, from its verified `channel_data`.
#[derive(Clone, Debug)]
pub struct PresenceMember {
    pub user_id: Arc<str>,
    pub user_info: Option<Arc<RawValue>>,
}

impl PresenceMember {
    /// Parses presence `channel_data`: `user_id` (a string, or a number as Pusher
    /// allows, kept as the decimal text sent so that large ids stay distinct; 1 to 128
    /// characters, no control characters) and optional `user_info` (nested at most
    /// [`MAX_USER_INFO_DEPTH`] deep). The error says why, for the client (and for an
    /// auth endpoint about to sign it).
    pub fn from_channel_data(channel_data: &str) -> Result<PresenceMember, String> {
        #[derive(Deserialize)]
        struct ChannelData<'a> {
            #[serde(borrow)]
            user_id: &'a RawValue,
            user_info: Option<Box<RawValue>>,
        }
        let parsed: ChannelData = serde_json::from_str(channel_data)
            .map_err(|e| format!("channel_data is not valid JSON with a user_id: {e}"))?;
        let raw = parsed.user_id.get();
        let user_id = match raw.as_bytes().first() {
            Some(b'"') => serde_json::from_str::<String>(raw).map_err(|e| e.to_string())?,
            Some(b'-' | b'0'..=b'9') => raw.to_string(),
            _ => return Err("channel_data user_id must be a string or a number".into()),
        };
        if user_id.is_empty() || user_id.chars().count() > MAX_USER_ID_LENGTH {
            return Err(format!(
                "channel_data user_id must be 1 to {MAX_USER_ID_LENGTH} characters"
            ));
        }
        check_user_id(&user_id).map_err(|e| format!("channel_data {e}"))?;
        check_depth(parsed.user_info.as_deref()).map_err(|e| format!("channel_data {e}"))?;
        Ok(PresenceMember {
            user_id: user_id.into(),
            user_info: parsed.user_info.map(Arc::from),
        })
    }
}

/// Refuses control characters (NUL, newlines …): ids end up in logs, headers of
/// webhooks and other clients' member lists.
fn check_user_id(id: &str) -> Result<(), &'static str> {
    if id.chars().any(char::is_control) {
        return Err("user id must not contain control characters");
    }
    Ok(())
}

/// Refuses `user_info` nested deeper than [`MAX_USER_INFO_DEPTH`].
fn check_depth(info: Option<&RawValue>) -> Result<(), String> {
    match info {
        Some(info) if json_depth(info.get()) > MAX_USER_INFO_DEPTH => Err(format!(
            "user_info must not be nested more than {MAX_USER_INFO_DEPTH} levels deep"
        )),
        _ => Ok(()),
    }
}

/// The deepest nesting of arrays and objects in valid JSON text.
fn json_depth(json: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for b in json.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// A signed-in user, from the verified `user_data` of its sign-in.
#[derive(Clone, Debug)]
pub struct SignedInUser {
    pub id: Arc<str>,
    /// Shared as presence `user_info` when the socket joins a presence channel without
    /// `channel_data`.
    pub info: Option<Arc<RawValue>>,
    /// The user ids whose online status this connection follows (Pusher's watchlist),
    /// deduplicated, in the order given, at most [`MAX_WATCHLIST`].
    pub watchlist: Vec<Arc<str>>,
    /// The watchlist had more than [`MAX_WATCHLIST`] ids: the rest were dropped, which
    /// the client is told (4302).
    pub watchlist_truncated: bool,
}

/// Pusher's bound on a watchlist; ids past it are dropped with a 4302 error.
pub const MAX_WATCHLIST: usize = 100;

impl SignedInUser {
    /// Parses sign-in `user_data`: a non-empty string `id` (pusher-js rejects a number),
    /// optional `user_info` and optional `watchlist` (an array of user ids, strings or
    /// numbers kept as their decimal text, like presence `user_id`).
    pub fn from_user_data(user_data: &str) -> Result<SignedInUser, &'static str> {
        #[derive(Deserialize)]
        struct UserData {
            id: Value,
            user_info: Option<Box<RawValue>>,
            watchlist: Option<Vec<Value>>,
        }
        const BAD: &str = "user_data must be JSON with a non-empty string id";
        let Ok(UserData {
            id: Value::String(id),
            user_info,
            watchlist,
        }) = serde_json::from_str::<UserData>(user_data)
        else {
            return Err(BAD);
        };
        if id.is_empty() {
            return Err(BAD);
        }
        check_user_id(&id).map_err(|_| "user_data id must not contain control characters")?;
        check_depth(user_info.as_deref())
            .map_err(|_| "user_data user_info must not be nested more than 32 levels deep")?;
        let (watchlist, watchlist_truncated) = parse_watchlist(watchlist.unwrap_or_default())?;
        Ok(SignedInUser {
            id: id.into(),
            info: user_info.map(Arc::from),
            watchlist,
            watchlist_truncated,
        })
    }
}

/// The first [`MAX_WATCHLIST`] distinct ids of a watchlist, and whether any were
/// dropped. A duplicate does not count against the bound.
fn parse_watchlist(entries: Vec<Value>) -> Result<(Vec<Arc<str>>, bool), &'static str> {
    const BAD: &str = "user_data watchlist entries must be user ids (non-empty strings or \
                       numbers of at most 128 characters, no control characters)";
    let mut seen = std::collections::HashSet::new();
    let mut ids: Vec<Arc<str>> = Vec::new();
    let mut truncated = false;
    for entry in entries {
        let id = match entry {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return Err(BAD),
        };
        if id.is_empty() || id.chars().count() > MAX_USER_ID_LENGTH || check_user_id(&id).is_err() {
            return Err(BAD);
        }
        if seen.contains(id.as_str()) {
            continue;
        }
        if ids.len() == MAX_WATCHLIST {
            truncated = true;
            continue;
        }
        let id: Arc<str> = id.into();
        seen.insert(id.clone());
        ids.push(id);
    }
    Ok((ids, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_data_user_ids_become_strings() {
        let m = PresenceMember::from_channel_data(
            r#"{"user_id":10,"user_info":{"name":"Mr. Pusher"}}"#,
        )
        .unwrap();
        assert_eq!(&*m.user_id, "10");
        assert_eq!(m.user_info.unwrap().get(), r#"{"name":"Mr. Pusher"}"#);
        let m = PresenceMember::from_channel_data(r#"{"user_id": "1", "user_info": {"id": 1}}"#)
            .unwrap();
        assert_eq!(&*m.user_id, "1");
        assert!(PresenceMember::from_channel_data(r#"{"user_id":"42"}"#)
            .unwrap()
            .user_info
            .is_none());
        assert!(PresenceMember::from_channel_data(r#"{"user_id":true}"#).is_err());
        assert!(PresenceMember::from_channel_data(r#"{"user_id":""}"#).is_err());
        assert!(PresenceMember::from_channel_data("nope").is_err());
    }

    #[test]
    fn numeric_user_ids_keep_their_text() {
        let a = PresenceMember::from_channel_data(r#"{"user_id":123456789012345678901234567890}"#)
            .unwrap();
        let b = PresenceMember::from_channel_data(r#"{"user_id":123456789012345678901234567891}"#)
            .unwrap();
        assert_eq!(&*a.user_id, "123456789012345678901234567890");
        assert_ne!(a.user_id, b.user_id);
        assert_eq!(
            &*PresenceMember::from_channel_data(r#"{"user_id":-7}"#)
                .unwrap()
                .user_id,
            "-7"
        );
        assert!(PresenceMember::from_channel_data(r#"{"user_id":null}"#).is_err());
        assert!(PresenceMember::from_channel_data(r#"{"user_id":[1]}"#).is_err());
    }

    #[test]
    fn control_characters_and_deep_user_info_are_refused() {
        for id in [r#""a\u0000b""#, r#""a\nb""#, r#""\u007f""#] {
            let err =
                PresenceMember::from_channel_data(&format!(r#"{{"user_id":{id}}}"#)).unwrap_err();
            assert!(err.contains("control characters"), "{err}");
        }
        let deep = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
        let err =
            PresenceMember::from_channel_data(&format!(r#"{{"user_id":"1","user_info":{deep}}}"#))
                .unwrap_err();
        assert!(err.contains("nested"), "{err}");
        let ok = format!(
            "{}{}",
            "[".repeat(MAX_USER_INFO_DEPTH),
            "]".repeat(MAX_USER_INFO_DEPTH)
        );
        assert!(PresenceMember::from_channel_data(&format!(
            r#"{{"user_id":"1","user_info":{ok}}}"#
        ))
        .is_ok());
        // Brackets inside strings are not nesting.
        let text = format!(
            r#"{{"user_id":"1","user_info":{{"s":"{}"}}}}"#,
            "[".repeat(100)
        );
        assert!(PresenceMember::from_channel_data(&text).is_ok());
        assert!(SignedInUser::from_user_data(r#"{"id":"a\nb"}"#).is_err());
        assert!(
            SignedInUser::from_user_data(&format!(r#"{{"id":"a","user_info":{deep}}}"#)).is_err()
        );
    }

    #[test]
    fn watchlists_are_deduplicated_and_bounded() {
        let u = SignedInUser::from_user_data(r#"{"id":"1"}"#).unwrap();
        assert!(u.watchlist.is_empty() && !u.watchlist_truncated);
        let u = SignedInUser::from_user_data(r#"{"id":"1","watchlist":["2",3,"2","x"]}"#).unwrap();
        let ids: Vec<&str> = u.watchlist.iter().map(|s| &**s).collect();
        assert_eq!(ids, ["2", "3", "x"]);
        assert!(!u.watchlist_truncated);
        let many: Vec<String> = (0..101).map(|i| format!("\"{i}\"")).collect();
        let u = SignedInUser::from_user_data(&format!(
            r#"{{"id":"1","watchlist":[{}]}}"#,
            many.join(",")
        ))
        .unwrap();
        assert_eq!(u.watchlist.len(), MAX_WATCHLIST);
        assert_eq!(&*u.watchlist[99], "99");
        assert!(u.watchlist_truncated);
        // Exactly 100 distinct ids, with repeats, is not truncated.
        let hundred: Vec<String> = (0..100).chain(0..5).map(|i| i.to_string()).collect();
        let u = SignedInUser::from_user_data(&format!(
            r#"{{"id":"1","watchlist":[{}]}}"#,
            hundred.join(",")
        ))
        .unwrap();
        assert!(!u.watchlist_truncated);
        for bad in [r#"[true]"#, r#"[""]"#, r#"["a\nb"]"#, r#""2""#] {
            assert!(
                SignedInUser::from_user_data(&format!(r#"{{"id":"1","watchlist":{bad}}}"#))
                    .is_err(),
                "{bad}"
            );
        }
    }
}
