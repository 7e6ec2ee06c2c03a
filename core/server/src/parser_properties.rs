//! Property tests for every parser that takes outside input: client frames, presence
//! `channel_data` and sign-in `user_data`, HTTP API query strings and signatures, the
//! JSON config and dotenv files. Each must refuse what it cannot read with an error,
//! never panic, and give back exactly what a well-formed input carries.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{json, Value};

use crate::auth;
use crate::config::{parse_dotenv, Config};
use crate::limits::{MAX_USER_ID_LENGTH, MAX_USER_INFO_DEPTH};
use crate::protocol::frames::parse_client_frame;
use crate::protocol::identity::{PresenceMember, SignedInUser};
use crate::protocol::names::validate_channel_name;

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A user id a client may legitimately send as a string.
fn user_id() -> impl Strategy<Value = String> {
    prop::collection::vec(
        any::<char>().prop_filter("printable", |c| !c.is_control()),
        1..40,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_frames_never_panic(text in ".{0,200}") {
        let _ = parse_client_frame(&text);
    }

    #[test]
    fn client_frames_keep_event_channel_and_data(
        event in ".{1,40}",
        channel in proptest::option::of(".{0,40}"),
        data in json_value(),
    ) {
        let mut frame = json!({"event": event, "data": data});
        if let Some(c) = &channel {
            frame["channel"] = json!(c);
        }
        let parsed = parse_client_frame(&frame.to_string()).unwrap();
        prop_assert_eq!(parsed.event, event);
        prop_assert_eq!(parsed.channel, channel);
        prop_assert_eq!(parsed.data, Some(data));
    }

    #[test]
    fn channel_data_never_panics(text in ".{0,200}") {
        let _ = PresenceMember::from_channel_data(&text);
        let _ = SignedInUser::from_user_data(&text);
    }

    #[test]
    fn string_user_ids_come_back_as_sent(id in user_id(), info in json_value()) {
        let data = json!({"user_id": id, "user_info": info}).to_string();
        let m = PresenceMember::from_channel_data(&data).unwrap();
        prop_assert_eq!(&*m.user_id, id.as_str());
        // Kept as the text sent, byte for byte; `null` is no info.
        match m.user_info {
            Some(kept) => prop_assert_eq!(kept.get(), info.to_string()),
            None => prop_assert_eq!(info, Value::Null),
        }
    }

    #[test]
    fn numeric_user_ids_keep_their_digits(digits in "[1-9][0-9]{0,60}", minus in any::<bool>()) {
        let text = if minus { format!("-{digits}") } else { digits };
        let m = PresenceMember::from_channel_data(&format!(r#"{{"user_id":{text}}}"#)).unwrap();
        prop_assert_eq!(&*m.user_id, text.as_str());
    }

    #[test]
    fn user_ids_with_control_characters_are_refused(
        before in user_id(),
        control in any::<char>().prop_filter("control", |c| c.is_control()),
    ) {
        let id = format!("{before}{control}");
        prop_assume!(id.chars().count() <= MAX_USER_ID_LENGTH);
        let data = json!({"user_id": id}).to_string();
        prop_assert!(PresenceMember::from_channel_data(&data).is_err());
        let data = json!({"id": id}).to_string();
        prop_assert!(SignedInUser::from_user_data(&data).is_err());
    }

    #[test]
    fn user_info_depth_is_bounded_exactly(depth in 0usize..80) {
        let info = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let info = if depth == 0 { "1".to_string() } else { info };
        let data = format!(r#"{{"user_id":"u","user_info":{info}}}"#);
        let ok = PresenceMember::from_channel_data(&data).is_ok();
        prop_assert_eq!(ok, depth <= MAX_USER_INFO_DEPTH);
    }

    #[test]
    fn query_strings_never_panic(raw in ".{0,120}") {
        let _ = auth::parse_rest_query(&raw);
    }

    #[test]
    fn signed_requests_verify_and_any_change_breaks_them(
        path in "/apps/[a-z0-9]{1,8}/[a-z_/]{0,20}",
        body in prop::collection::vec(any::<u8>(), 0..200),
        extra in prop::collection::btree_map("[a-z][a-z_]{0,8}", ".{0,16}", 0..4),
        flip in any::<prop::sample::Index>(),
    ) {
        let extra: Vec<(String, String)> = extra
            .into_iter()
            .filter(|(k, _)| !k.starts_with("auth_") && k != "body_md5")
            .collect();
        let now = 1_700_000_000;
        let params = auth::sign_rest_request("key", "secret", "POST", &path, &extra, &body, now);
        let query = encode_query(&params);
        prop_assert!(
            auth::verify_rest_request("key", "secret", "POST", &path, &query, &body, now, 600).is_ok(),
            "query {}", query
        );
        if !body.is_empty() {
            let mut changed = body.clone();
            changed[flip.index(body.len())] ^= 1;
            prop_assert!(
                auth::verify_rest_request("key", "secret", "POST", &path, &query, &changed, now, 600).is_err()
            );
        }
        prop_assert!(
            auth::verify_rest_request("key", "other", "POST", &path, &query, &body, now, 600).is_err()
        );
    }

    #[test]
    fn channel_auth_never_panics_and_accepts_only_its_signature(
        channel in "private-[A-Za-z0-9_\\-=@,.;]{1,40}",
        auth_text in ".{0,120}",
    ) {
        let socket = "123.456";
        prop_assert!(!auth::verify_channel_auth("key", "secret", socket, &channel, None, &auth_text)
            || auth_text == auth::authorize_channel("key", "secret", socket, &channel, None));
        let good = auth::authorize_channel("key", "secret", socket, &channel, None);
        prop_assert!(auth::verify_channel_auth("key", "secret", socket, &channel, None, &good));
    }

    #[test]
    fn channel_names_never_panic(name in ".{0,250}") {
        let _ = validate_channel_name(&name, 200);
    }

    #[test]
    fn configs_never_panic(text in ".{0,200}", value in json_value()) {
        let _ = Config::from_json(&text);
        let _ = Config::from_json(&value.to_string());
        let _ = Config::from_json(&json!({"apps": [value]}).to_string());
    }

    #[test]
    fn dotenv_never_panics_and_reads_plain_pairs(
        text in "(.{0,30}\n){0,8}",
        pairs in prop::collection::btree_map("[A-Z][A-Z0-9_]{0,10}", "[A-Za-z0-9_./:-]{0,20}", 0..6),
    ) {
        let _ = parse_dotenv(&text);
        let mut file = String::new();
        for (k, v) in &pairs {
            file.push_str(&format!("{k}={v}\n"));
        }
        let read = parse_dotenv(&file);
        let want: HashMap<String, String> = pairs.into_iter().collect();
        prop_assert_eq!(read, want);
    }
}

/// Encodes signed params as an SDK does (percent-encoding every reserved byte).
fn encode_query(params: &[(String, String)]) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    params
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}
