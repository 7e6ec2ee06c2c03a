//! Who a client says it is: presence `channel_data` and sign-in `user_data`, parsed
//! once the signature over them has been checked (and by auth endpoints about to sign).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::limits::MAX_USER_ID_LENGTH;

/// Who a socket is in a presence channel, from its verified `channel_data`.
#[derive(Clone, Debug)]
pub struct PresenceMember {
    pub user_id: Arc<str>,
    pub user_info: Option<Arc<RawValue>>,
}

impl PresenceMember {
    /// Parses presence `channel_data`: `user_id` (a string, or a number as Pusher
    /// allows, kept as a string; 1 to 128 characters) and optional `user_info`. The
    /// error says why, for the client (and for an auth endpoint about to sign it).
    pub fn from_channel_data(channel_data: &str) -> Result<PresenceMember, String> {
        #[derive(Deserialize)]
        struct ChannelData {
            user_id: Value,
            user_info: Option<Box<RawValue>>,
        }
        let parsed: ChannelData = serde_json::from_str(channel_data)
            .map_err(|e| format!("channel_data is not valid JSON with a user_id: {e}"))?;
        let user_id = match parsed.user_id {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            _ => return Err("channel_data user_id must be a string or a number".into()),
        };
        if user_id.is_empty() || user_id.len() > MAX_USER_ID_LENGTH {
            return Err(format!(
                "channel_data user_id must be 1 to {MAX_USER_ID_LENGTH} characters"
            ));
        }
        Ok(PresenceMember {
            user_id: user_id.into(),
            user_info: parsed.user_info.map(Arc::from),
        })
    }
}

/// A signed-in user, from the verified `user_data` of its sign-in.
#[derive(Clone, Debug)]
pub struct SignedInUser {
    pub id: Arc<str>,
    /// Shared as presence `user_info` when the socket joins a presence channel without
    /// `channel_data`.
    pub info: Option<Arc<RawValue>>,
}

impl SignedInUser {
    /// Parses sign-in `user_data`: a non-empty string `id` (pusher-js rejects a number)
    /// and optional `user_info`.
    pub fn from_user_data(user_data: &str) -> Result<SignedInUser, &'static str> {
        #[derive(Deserialize)]
        struct UserData {
            id: Value,
            user_info: Option<Box<RawValue>>,
        }
        match serde_json::from_str::<UserData>(user_data) {
            Ok(UserData {
                id: Value::String(id),
                user_info,
            }) if !id.is_empty() => Ok(SignedInUser {
                id: id.into(),
                info: user_info.map(Arc::from),
            }),
            _ => Err("user_data must be JSON with a non-empty string id"),
        }
    }
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
}
