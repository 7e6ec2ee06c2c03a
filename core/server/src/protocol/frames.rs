//! The Pusher v7 wire format: parsing what clients send and building what the server
//! sends.
//!
//! Server frames follow hosted Pusher's exact forms (PROTOCOL.md §1.5) because some client
//! libraries depend on them; pusher-js accepts them all.

use std::fmt::Write as _;

use serde_json::value::RawValue;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::ErrorCode;

/// A frame from a client, after envelope checks.
#[derive(Debug)]
pub struct ClientFrame {
    pub event: String,
    pub channel: Option<String>,
    /// `data` as sent: pjs sends an object, older clients a JSON string.
    pub data: Option<Value>,
}

/// Why a text frame could not be read as an envelope; answered with 4200 "Invalid
/// message format" and the connection stays open (PROTOCOL.md §1.2).
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidFrame;

pub fn parse_client_frame(text: &str) -> Result<ClientFrame, InvalidFrame> {
    let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(text) else {
        return Err(InvalidFrame);
    };
    let event = match map.remove("event") {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => return Err(InvalidFrame),
    };
    let channel = match map.remove("channel") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s),
        Some(_) => return Err(InvalidFrame),
    };
    Ok(ClientFrame {
        event,
        channel,
        data: map.remove("data"),
    })
}

impl ClientFrame {
    /// `data` as an object, decoding the legacy JSON-string form.
    pub fn data_object(&self) -> Option<serde_json::Map<String, Value>> {
        match &self.data {
            Some(Value::Object(m)) => Some(m.clone()),
            Some(Value::String(s)) => match serde_json::from_str(s) {
                Ok(Value::Object(m)) => Some(m),
                _ => None,
            },
            _ => None,
        }
    }

    /// `data` as the string to forward for a client event: a string verbatim, anything
    /// else serialised compactly (PROTOCOL.md §3.2 rule 7).
    pub fn data_string(&self) -> String {
        match &self.data {
            None => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(v) => v.to_string(),
        }
    }
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json's escaping of a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// `{"event":E,"channel":C,"data":"<data>"}`, plus `user_id` for presence client events.
/// Built once per (event, channel) and shared by every subscriber.
pub fn channel_event(event: &str, channel: &str, data: &str, user_id: Option<&str>) -> Utf8Bytes {
    let mut out = String::with_capacity(event.len() + channel.len() + data.len() + 48);
    out.push_str("{\"event\":");
    push_json_str(&mut out, event);
    out.push_str(",\"channel\":");
    push_json_str(&mut out, channel);
    out.push_str(",\"data\":");
    push_json_str(&mut out, data);
    if let Some(uid) = user_id {
        out.push_str(",\"user_id\":");
        push_json_str(&mut out, uid);
    }
    out.push('}');
    out.into()
}

/// The `data` string of a frame built by [`channel_event`] (for channel queries, which
/// report a cache channel's kept data).
pub fn event_data(frame: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Event {
        data: String,
    }
    serde_json::from_str::<Event>(frame).ok().map(|e| e.data)
}

/// `{"event":E,"data":"<json>"}` or with a channel; `data` is the JSON string form.
fn internal(event: &str, channel: Option<&str>, data_json: &str) -> Utf8Bytes {
    let mut out = String::with_capacity(data_json.len() + 64);
    out.push_str("{\"event\":");
    push_json_str(&mut out, event);
    if let Some(c) = channel {
        out.push_str(",\"channel\":");
        push_json_str(&mut out, c);
    }
    out.push_str(",\"data\":");
    push_json_str(&mut out, data_json);
    out.push('}');
    out.into()
}

pub fn connection_established(socket_id: &str, activity_timeout: u64) -> Utf8Bytes {
    let data = format!("{{\"socket_id\":\"{socket_id}\",\"activity_timeout\":{activity_timeout}}}");
    internal("pusher:connection_established", None, &data)
}

/// `pusher:error` with an object `data` (hosted Pusher's form; Reverb's string form is
/// accepted by pjs too, others may not).
pub fn error(code: Option<ErrorCode>, message: &str) -> Utf8Bytes {
    let data = serde_json::json!({"code": code.map(ErrorCode::code), "message": message});
    serde_json::json!({"event": "pusher:error", "data": data})
        .to_string()
        .into()
}

pub fn pong() -> Utf8Bytes {
    Utf8Bytes::from_static("{\"event\":\"pusher:pong\",\"data\":\"{}\"}")
}

pub fn ping() -> Utf8Bytes {
    Utf8Bytes::from_static("{\"event\":\"pusher:ping\",\"data\":\"{}\"}")
}

pub fn subscription_succeeded(channel: &str) -> Utf8Bytes {
    internal(
        "pusher_internal:subscription_succeeded",
        Some(channel),
        "{}",
    )
}

/// One presence member as listed in `subscription_succeeded`.
pub(crate) struct PresenceEntry<'a> {
    pub user_id: &'a str,
    pub user_info: Option<&'a RawValue>,
}

pub fn presence_subscription_succeeded<'a>(
    channel: &str,
    members: impl Iterator<Item = PresenceEntry<'a>> + Clone,
) -> Utf8Bytes {
    let mut data = String::from("{\"presence\":{\"ids\":[");
    let mut count = 0usize;
    for (i, m) in members.clone().enumerate() {
        if i > 0 {
            data.push(',');
        }
        push_json_str(&mut data, m.user_id);
        count += 1;
    }
    data.push_str("],\"hash\":{");
    for (i, m) in members.enumerate() {
        if i > 0 {
            data.push(',');
        }
        push_json_str(&mut data, m.user_id);
        data.push(':');
        data.push_str(m.user_info.map_or("null", RawValue::get));
    }
    let _ = write!(data, "}},\"count\":{count}}}}}");
    internal(
        "pusher_internal:subscription_succeeded",
        Some(channel),
        &data,
    )
}

pub fn member_added(channel: &str, user_id: &str, user_info: Option<&RawValue>) -> Utf8Bytes {
    let mut data = String::from("{\"user_id\":");
    push_json_str(&mut data, user_id);
    if let Some(info) = user_info {
        data.push_str(",\"user_info\":");
        data.push_str(info.get());
    }
    data.push('}');
    internal("pusher_internal:member_added", Some(channel), &data)
}

pub fn member_removed(channel: &str, user_id: &str) -> Utf8Bytes {
    let mut data = String::from("{\"user_id\":");
    push_json_str(&mut data, user_id);
    data.push('}');
    internal("pusher_internal:member_removed", Some(channel), &data)
}

/// The `type` of a `pusher:subscription_error` (PROTOCOL.md §2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubscriptionErrorType {
    AuthError,
    InvalidChannel,
    LimitReached,
    /// The server could not decide now (its cluster backend did not answer).
    ServerError,
}

pub fn subscription_error(
    channel: &str,
    kind: SubscriptionErrorType,
    message: &str,
    status: u16,
) -> Utf8Bytes {
    let kind = match kind {
        SubscriptionErrorType::AuthError => "AuthError",
        SubscriptionErrorType::InvalidChannel => "InvalidChannel",
        SubscriptionErrorType::LimitReached => "LimitReached",
        SubscriptionErrorType::ServerError => "ServerError",
    };
    serde_json::json!({
        "event": "pusher:subscription_error",
        "channel": channel,
        "data": {"type": kind, "error": message, "status": status},
    })
    .to_string()
    .into()
}

pub fn cache_miss(channel: &str) -> Utf8Bytes {
    serde_json::json!({"event": "pusher:cache_miss", "channel": channel})
        .to_string()
        .into()
}

/// `pusher_internal:watchlist_events` (no channel): the watched users that came online
/// and went offline, one group each, empty groups left out. pusher-js emits each group
/// on `pusher.user.watchlist` as `{name, user_ids}`.
pub fn watchlist_events<S: AsRef<str>>(online: &[S], offline: &[S]) -> Utf8Bytes {
    let mut data = String::from("{\"events\":[");
    for (name, ids) in [("online", online), ("offline", offline)] {
        if ids.is_empty() {
            continue;
        }
        if !data.ends_with('[') {
            data.push(',');
        }
        data.push_str("{\"name\":\"");
        data.push_str(name);
        data.push_str("\",\"user_ids\":[");
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                data.push(',');
            }
            push_json_str(&mut data, id.as_ref());
        }
        data.push_str("]}");
    }
    data.push_str("]}");
    internal("pusher_internal:watchlist_events", None, &data)
}

/// The answer to `pushbus:enable`: the features the connection now has.
pub fn features_enabled(names: &[&str]) -> Utf8Bytes {
    serde_json::json!({"event": "pushbus:enabled", "data": {"features": names}})
        .to_string()
        .into()
}

/// A presence member's app-set location changed (`None`: cleared), for the
/// subscribers of `channel` that enabled `locations`.
pub fn location(channel: &str, user_id: &str, location: Option<&str>) -> Utf8Bytes {
    let data = serde_json::json!({"user_id": user_id, "location": location}).to_string();
    channel_event("pushbus:location", channel, &data, None)
}

/// Before each event of a history channel, for clients that enabled `recovery`: the
/// event's place in the channel's history.
pub fn serial(channel: &str, epoch: &str, serial: u64) -> Utf8Bytes {
    let mut data = String::from("{\"epoch\":");
    push_json_str(&mut data, epoch);
    data.push_str(",\"serial\":");
    data.push_str(&serial.to_string());
    data.push('}');
    channel_event("pushbus:serial", channel, &data, None)
}

/// Where a client that enabled `recovery` stands in a history channel when no event
/// told it (a new subscription; a resume that missed nothing): it has everything up to
/// `serial` of `epoch`.
pub fn history_position(channel: &str, epoch: &str, serial: u64) -> Utf8Bytes {
    let data = serde_json::json!({"epoch": epoch, "serial": serial}).to_string();
    channel_event("pushbus:position", channel, &data, None)
}

/// A resumed subscription whose missed events are not all kept any more: the
/// channel's current epoch and last serial (the client refetches what it shows).
pub fn history_gap(channel: &str, epoch: &str, last: u64) -> Utf8Bytes {
    let data = serde_json::json!({"epoch": epoch, "serial": last}).to_string();
    channel_event("pushbus:gap", channel, &data, None)
}

pub fn signin_success(user_data: &str) -> Utf8Bytes {
    serde_json::json!({"event": "pusher:signin_success", "data": {"user_data": user_data}})
        .to_string()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: &Utf8Bytes) -> Value {
        serde_json::from_str(b.as_str()).unwrap()
    }

    #[test]
    fn watchlist_events_have_pushers_shape() {
        let f = watchlist_events(&["2", "a\"b"], &[] as &[&str]);
        assert_eq!(
            f.as_str(),
            r#"{"event":"pusher_internal:watchlist_events","data":"{\"events\":[{\"name\":\"online\",\"user_ids\":[\"2\",\"a\\\"b\"]}]}"}"#
        );
        let v = json(&watchlist_events(&["1"], &["3"]));
        let data: Value = serde_json::from_str(v["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            serde_json::json!({"events":[{"name":"online","user_ids":["1"]},{"name":"offline","user_ids":["3"]}]})
        );
        assert!(v.get("channel").is_none());
    }

    #[test]
    fn parses_object_and_string_data() {
        let f = parse_client_frame(
            r#"{"event":"pusher:subscribe","data":{"auth":"","channel":"orders"}}"#,
        )
        .unwrap();
        assert_eq!(f.event, "pusher:subscribe");
        assert_eq!(f.data_object().unwrap()["channel"], "orders");
        let f = parse_client_frame(
            r#"{"event":"pusher:subscribe","data":"{\"channel\":\"orders\",\"auth\":\"\"}"}"#,
        )
        .unwrap();
        assert_eq!(f.data_object().unwrap()["channel"], "orders");
    }

    #[test]
    fn rejects_bad_envelopes() {
        for bad in [
            "",
            "nope",
            "[]",
            "42",
            "{}",
            r#"{"event":1}"#,
            r#"{"event":""}"#,
            r#"{"event":"x","channel":5}"#,
            r#"{"event":"x""#,
        ] {
            assert_eq!(parse_client_frame(bad).unwrap_err(), InvalidFrame, "{bad}");
        }
    }

    #[test]
    fn client_event_data_forwarding() {
        let f = parse_client_frame(
            r#"{"event":"client-typing","channel":"private-a","data":{"typing":true}}"#,
        )
        .unwrap();
        assert_eq!(f.data_string(), r#"{"typing":true}"#);
        let f = parse_client_frame(
            r#"{"event":"client-x","channel":"private-a","data":"raw \"text\""}"#,
        )
        .unwrap();
        assert_eq!(f.data_string(), "raw \"text\"");
    }

    #[test]
    fn channel_event_keeps_data_verbatim() {
        let data = r#"{"url":"https:\/\/x.test","n":"Zo\u00eb"}"#;
        let f = channel_event("App\\Events\\OrderShipped", "private-orders.1", data, None);
        assert_eq!(
            f.as_str(),
            r#"{"event":"App\\Events\\OrderShipped","channel":"private-orders.1","data":"{\"url\":\"https:\\/\\/x.test\",\"n\":\"Zo\\u00eb\"}"}"#
        );
        assert_eq!(json(&f)["data"].as_str().unwrap(), data);
        let f = channel_event("client-typing", "presence-a", "{}", Some("7"));
        assert_eq!(json(&f)["user_id"], "7");
    }

    #[test]
    fn transcript_server_frames() {
        assert_eq!(
            connection_established("123.456", 1).as_str(),
            r#"{"event":"pusher:connection_established","data":"{\"socket_id\":\"123.456\",\"activity_timeout\":1}"}"#
        );
        assert_eq!(
            subscription_succeeded("orders").as_str(),
            r#"{"event":"pusher_internal:subscription_succeeded","channel":"orders","data":"{}"}"#
        );
        assert_eq!(
            json(&cache_miss("cache-prices")),
            serde_json::json!({"event":"pusher:cache_miss","channel":"cache-prices"})
        );
        let e = json(&error(
            Some(ErrorCode::AppNotFound),
            "Application does not exist",
        ));
        assert_eq!(e["data"]["code"], 4001);
        assert_eq!(json(&error(None, "x"))["data"]["code"], Value::Null);
    }

    #[test]
    fn presence_payloads() {
        let info = RawValue::from_string(r#"{"name":"Taylor"}"#.into()).unwrap();
        let members = [
            PresenceEntry {
                user_id: "1",
                user_info: Some(&info),
            },
            PresenceEntry {
                user_id: "2",
                user_info: None,
            },
        ];
        let f = presence_subscription_succeeded(
            "presence-chat.1",
            members.iter().map(|m| PresenceEntry {
                user_id: m.user_id,
                user_info: m.user_info,
            }),
        );
        let data: Value = serde_json::from_str(json(&f)["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            serde_json::json!({"presence":{"ids":["1","2"],"hash":{"1":{"name":"Taylor"},"2":null},"count":2}})
        );
        let f = member_added("presence-chat.1", "3", Some(&info));
        let data: Value = serde_json::from_str(json(&f)["data"].as_str().unwrap()).unwrap();
        assert_eq!(
            data,
            serde_json::json!({"user_id":"3","user_info":{"name":"Taylor"}})
        );
        let f = member_removed("presence-chat.1", "3");
        assert_eq!(json(&f)["data"], r#"{"user_id":"3"}"#);
    }
}
