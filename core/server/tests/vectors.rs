//! Checks `pushbus::auth` and `pushbus::names` against every relevant entry of the shared
//! protocol test vectors (spec §12). Each section counts what it checked and asserts the
//! count, so an entry that is renamed or restructured cannot be skipped silently.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pushbus::auth::{self, RestAuthError};
use pushbus::names::{self, ChannelKind, ChannelType};
use serde_json::Value;

// Kept on one line so the fixture location is greppable.
#[rustfmt::skip]
const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/vectors.json");

/// `encryption_master_key_base64` used by the encrypted vectors (bytes 0x00..=0x1f).
const MASTER_KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// Everything except RFC 3986 unreserved characters: encodes `,` as `%2C` like
/// PHP/Guzzle, the stricter of the SDK encodings.
const QUERY_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

struct Fixture {
    key: String,
    secret: String,
    vectors: Vec<Value>,
}

fn load() -> Fixture {
    let text =
        std::fs::read_to_string(VECTORS).unwrap_or_else(|e| panic!("cannot read {VECTORS}: {e}"));
    let root: Value = serde_json::from_str(&text).expect("vectors.json is valid JSON");
    let creds = &root["credentials"];
    Fixture {
        key: str_at(creds, "key").to_owned(),
        secret: str_at(creds, "secret").to_owned(),
        vectors: root["vectors"]
            .as_array()
            .expect("vectors is an array")
            .clone(),
    }
}

fn str_at<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field:?} missing or not a string in {v}"))
}

fn of_kind<'a>(fx: &'a Fixture, kind: &str) -> Vec<&'a Value> {
    fx.vectors
        .iter()
        .filter(|v| v["kind"].as_str() == Some(kind))
        .collect()
}

fn master_key() -> [u8; 32] {
    BASE64
        .decode(MASTER_KEY_B64)
        .expect("master key is base64")
        .try_into()
        .expect("master key is 32 bytes")
}

fn sig_of(auth: &str) -> &str {
    auth.split_once(':')
        .map(|(_, s)| s)
        .expect("auth has a ':'")
}

#[test]
fn fixture_has_expected_shape() {
    let fx = load();
    assert_eq!(fx.key, "278d425bdf160c739803");
    assert_eq!(fx.secret, "7ad3773142a6692b25b8");
    let expected = [
        ("channel_authorization", 9),
        ("user_authentication", 3),
        ("rest_request_signature", 11),
        ("webhook_signature", 2),
        ("encrypted_event_data", 1),
        ("validation", 1),
        ("laravel_echo_mapping", 1),
        ("wire_transcript", 1),
    ];
    for (kind, n) in expected {
        assert_eq!(of_kind(&fx, kind).len(), n, "number of {kind} vectors");
    }
    assert_eq!(
        fx.vectors.len(),
        expected.iter().map(|(_, n)| n).sum::<usize>(),
        "a vector of an unknown kind was added; teach this test about it"
    );
}

#[test]
fn channel_authorization_vectors() {
    let fx = load();
    let (key, secret) = (fx.key.as_str(), fx.secret.as_str());
    let master = master_key();
    let (mut checked, mut presence, mut shared_secrets) = (0, 0, 0);

    for v in of_kind(&fx, "channel_authorization") {
        let id = str_at(v, "id");
        let input = &v["input"];
        let socket_id = str_at(input, "socket_id");
        let channel = str_at(input, "channel_name");
        let channel_data = input["channel_data"].as_str();
        let expected = &v["expected_response"];
        let expected_auth = str_at(expected, "auth");

        assert!(names::is_valid_socket_id(socket_id), "{id}");
        let ty = names::validate_channel_name(channel, names::DEFAULT_MAX_CHANNEL_NAME_LEN)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
        assert!(ty.requires_signature(), "{id}");
        assert_eq!(
            ty.kind == ChannelKind::Presence,
            channel_data.is_some(),
            "{id}: channel_data iff presence"
        );

        let to_sign = auth::channel_string_to_sign(socket_id, channel, channel_data);
        assert_eq!(to_sign, str_at(v, "string_to_sign"), "{id}");
        assert_eq!(
            auth::hmac_hex(secret.as_bytes(), to_sign.as_bytes()),
            sig_of(expected_auth),
            "{id}"
        );
        assert_eq!(
            auth::authorize_channel(key, secret, socket_id, channel, channel_data),
            expected_auth,
            "{id}"
        );
        assert!(
            auth::verify_channel_auth(key, secret, socket_id, channel, channel_data, expected_auth),
            "{id}"
        );
        // Negative controls: every input is covered by the signature.
        assert!(
            !auth::verify_channel_auth(key, secret, "1.1", channel, channel_data, expected_auth),
            "{id}"
        );
        assert!(
            !auth::verify_channel_auth(
                key,
                secret,
                socket_id,
                "private-other",
                channel_data,
                expected_auth
            ),
            "{id}"
        );
        assert!(
            !auth::verify_channel_auth(
                "wrong-key",
                secret,
                socket_id,
                channel,
                channel_data,
                expected_auth
            ),
            "{id}"
        );
        assert!(
            !auth::verify_channel_auth(
                key,
                "wrong-secret",
                socket_id,
                channel,
                channel_data,
                expected_auth
            ),
            "{id}"
        );

        if let Some(data) = channel_data {
            presence += 1;
            // The auth response echoes channel_data byte for byte.
            assert_eq!(str_at(expected, "channel_data"), data, "{id}");
            let altered = format!("{data} ");
            assert!(
                !auth::verify_channel_auth(
                    key,
                    secret,
                    socket_id,
                    channel,
                    Some(&altered),
                    expected_auth
                ),
                "{id}"
            );
            assert!(
                !auth::verify_channel_auth(key, secret, socket_id, channel, None, expected_auth),
                "{id}"
            );
        } else {
            assert!(expected.get("channel_data").is_none(), "{id}");
        }

        if let Some(secret_b64) = expected["shared_secret"].as_str() {
            shared_secrets += 1;
            assert_eq!(ty.kind, ChannelKind::EncryptedPrivate, "{id}");
            assert!(
                str_at(v, "notes").contains(MASTER_KEY_B64),
                "{id}: master key changed"
            );
            assert_eq!(auth::shared_secret(channel, &master), secret_b64, "{id}");
        }
        checked += 1;
    }
    assert_eq!((checked, presence, shared_secrets), (9, 6, 1));
}

#[test]
fn user_authentication_vectors() {
    let fx = load();
    let (key, secret) = (fx.key.as_str(), fx.secret.as_str());
    let mut checked = 0;
    for v in of_kind(&fx, "user_authentication") {
        let id = str_at(v, "id");
        let socket_id = str_at(&v["input"], "socket_id");
        let user_data = str_at(&v["input"], "user_data");
        let expected_auth = str_at(&v["expected_response"], "auth");

        assert_eq!(
            str_at(&v["expected_response"], "user_data"),
            user_data,
            "{id}"
        );
        assert_eq!(
            format!("{socket_id}::user::{user_data}"),
            str_at(v, "string_to_sign"),
            "{id}"
        );
        assert_eq!(
            auth::hmac_hex(secret.as_bytes(), str_at(v, "string_to_sign").as_bytes()),
            sig_of(expected_auth),
            "{id}"
        );
        assert_eq!(
            auth::authenticate_user(key, secret, socket_id, user_data),
            expected_auth,
            "{id}"
        );
        assert!(
            auth::verify_user_auth(key, secret, socket_id, user_data, expected_auth),
            "{id}"
        );
        assert!(
            !auth::verify_user_auth(key, secret, "1.1", user_data, expected_auth),
            "{id}"
        );
        assert!(
            !auth::verify_user_auth(
                key,
                secret,
                socket_id,
                &format!("{user_data} "),
                expected_auth
            ),
            "{id}"
        );
        assert!(
            !auth::verify_user_auth("wrong-key", secret, socket_id, user_data, expected_auth),
            "{id}"
        );
        // The sign-in string equals the presence string of the (invalid) channel ":user:";
        // such a channel auth must not verify.
        assert!(
            !auth::verify_channel_auth(
                key,
                secret,
                socket_id,
                ":user:",
                Some(user_data),
                expected_auth
            ),
            "{id}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// The vector's `query_without_signature` as (key, value) pairs.
fn query_params(input: &Value) -> Vec<(String, String)> {
    input["query_without_signature"]
        .as_object()
        .expect("query_without_signature is an object")
        .iter()
        .map(|(k, v)| {
            let v = v.as_str().expect("query values are strings");
            (k.clone(), v.to_owned())
        })
        .collect()
}

fn encode_query(params: &[(String, String)], encode: bool) -> String {
    params
        .iter()
        .map(|(k, v)| {
            if encode {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY_ENCODE),
                    utf8_percent_encode(v, QUERY_ENCODE)
                )
            } else {
                format!("{k}={v}")
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[test]
fn rest_request_signature_vectors() {
    let fx = load();
    let (key, secret) = (fx.key.as_str(), fx.secret.as_str());
    let (mut checked, mut with_body, mut md5_on_empty_body) = (0, 0, 0);

    for v in of_kind(&fx, "rest_request_signature") {
        let id = str_at(v, "id");
        let input = &v["input"];
        let method = str_at(input, "method");
        let path = str_at(input, "path");
        let body = str_at(input, "body").as_bytes();
        let params = query_params(input);
        let expected_sig = str_at(&v["expected"], "auth_signature");
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let timestamp: u64 = get("auth_timestamp")
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("{id}: auth_timestamp"));
        assert_eq!(get("auth_key"), Some(key), "{id}");
        assert_eq!(get("auth_version"), Some("1.0"), "{id}");

        match get("body_md5") {
            Some(md5) => {
                assert_eq!(auth::md5_hex(body), md5, "{id}");
                if body.is_empty() {
                    md5_on_empty_body += 1;
                } else {
                    with_body += 1;
                }
            }
            None => assert!(body.is_empty(), "{id}: body without body_md5"),
        }

        // String to sign and signature.
        let to_sign = auth::rest_string_to_sign(method, path, &params);
        assert_eq!(to_sign, str_at(v, "string_to_sign"), "{id}");
        assert_eq!(
            auth::hmac_hex(secret.as_bytes(), to_sign.as_bytes()),
            expected_sig,
            "{id}"
        );

        // Our signer reproduces the SDK's full parameter set. Only a body_md5 on an empty
        // body (Python) has to be passed explicitly.
        let extras: Vec<(String, String)> = params
            .iter()
            .filter(|(k, _)| {
                let set_by_signer = match k.as_str() {
                    "auth_key" | "auth_timestamp" | "auth_version" => true,
                    "body_md5" => !body.is_empty(),
                    _ => false,
                };
                !set_by_signer
            })
            .cloned()
            .collect();
        let signed = auth::sign_rest_request(key, secret, method, path, &extras, body, timestamp);
        let mut expected_params = params.clone();
        expected_params.push(("auth_signature".to_owned(), expected_sig.to_owned()));
        let mut got_sorted = signed.clone();
        got_sorted.sort();
        expected_params.sort();
        assert_eq!(got_sorted, expected_params, "{id}");
        assert_eq!(
            signed.last(),
            Some(&("auth_signature".to_owned(), expected_sig.to_owned())),
            "{id}"
        );

        // Verification with the clock pinned to the vector, in both the percent-encoded
        // (PHP/Guzzle) and the raw (Node/Python) form, in SDK and in reversed order.
        let mut full = params.clone();
        full.push(("auth_signature".to_owned(), expected_sig.to_owned()));
        let mut reversed = full.clone();
        reversed.reverse();
        for query in [
            encode_query(&full, true),
            encode_query(&full, false),
            encode_query(&reversed, true),
        ] {
            assert_eq!(
                auth::verify_rest_request(key, secret, method, path, &query, body, timestamp, 600),
                Ok(()),
                "{id}: {query}"
            );
        }
        let query = encode_query(&full, true);
        let verify = |query: &str, body: &[u8], now: u64| {
            auth::verify_rest_request(key, secret, method, path, query, body, now, 600)
        };

        // Tampered body.
        let mut tampered = body.to_vec();
        tampered.push(b' ');
        let err = verify(&query, &tampered, timestamp).expect_err("tampered body");
        if body.is_empty() && get("body_md5").is_none() {
            assert_eq!(err, RestAuthError::MissingParam("body_md5"), "{id}");
        } else {
            assert!(
                matches!(err, RestAuthError::BodyMd5Mismatch { .. }),
                "{id}: {err}"
            );
        }

        // Wrong signature: flip the last hex digit.
        let last = expected_sig.chars().last().expect("non-empty signature");
        let flipped = format!(
            "{}{}",
            &expected_sig[..expected_sig.len() - 1],
            if last == '0' { '1' } else { '0' }
        );
        let mut bad = params.clone();
        bad.push(("auth_signature".to_owned(), flipped.clone()));
        match verify(&encode_query(&bad, true), body, timestamp) {
            Err(RestAuthError::BadSignature {
                string_to_sign,
                got,
            }) => {
                assert_eq!(string_to_sign, to_sign, "{id}");
                assert_eq!(got, flipped, "{id}");
            }
            other => panic!("{id}: expected BadSignature, got {other:?}"),
        }
        // Wrong method / path are signed too.
        let other_method = if method == "GET" { "POST" } else { "GET" };
        assert!(matches!(
            auth::verify_rest_request(
                key,
                secret,
                other_method,
                path,
                &query,
                body,
                timestamp,
                600
            ),
            Err(RestAuthError::BadSignature { .. })
        ));
        assert!(matches!(
            auth::verify_rest_request(
                key,
                secret,
                method,
                "/apps/4/events",
                &query,
                body,
                timestamp,
                600
            ),
            Err(RestAuthError::BadSignature { .. })
        ));

        // Timestamp window: edges pass, one second beyond fails, 0 disables.
        assert_eq!(verify(&query, body, timestamp + 600), Ok(()), "{id}");
        assert_eq!(verify(&query, body, timestamp - 600), Ok(()), "{id}");
        assert_eq!(
            verify(&query, body, timestamp + 601),
            Err(RestAuthError::StaleTimestamp {
                skew_secs: 601,
                window_secs: 600
            }),
            "{id}"
        );
        assert_eq!(
            verify(&query, body, timestamp - 3600),
            Err(RestAuthError::StaleTimestamp {
                skew_secs: 3600,
                window_secs: 600
            }),
            "{id}"
        );
        assert_eq!(
            auth::verify_rest_request(key, secret, method, path, &query, body, 0, 0),
            Ok(()),
            "{id}"
        );
        // Wrong app key.
        assert_eq!(
            auth::verify_rest_request(
                "other-key",
                secret,
                method,
                path,
                &query,
                body,
                timestamp,
                600
            ),
            Err(RestAuthError::WrongKey),
            "{id}"
        );
        checked += 1;
    }
    assert_eq!((checked, with_body, md5_on_empty_body), (11, 7, 1));
}

#[test]
fn rest_error_message_names_the_string_to_sign() {
    let fx = load();
    let v = of_kind(&fx, "rest_request_signature")
        .into_iter()
        .find(|v| v["id"] == "rest_doc_example")
        .expect("rest_doc_example present");
    let input = &v["input"];
    let mut params = query_params(input);
    params.push(("auth_signature".to_owned(), "deadbeef".to_owned()));
    let err = auth::verify_rest_request(
        &fx.key,
        &fx.secret,
        "POST",
        "/apps/3/events",
        &encode_query(&params, true),
        str_at(input, "body").as_bytes(),
        1353088179,
        600,
    )
    .expect_err("bad signature");
    assert_eq!(
        err.to_string(),
        "Invalid signature: you should have sent HmacSHA256Hex(\"POST\\n/apps/3/events\\n\
         auth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&\
         body_md5=ec365a775a4cd0599faeb73354201b6f\", your_secret_key), but you sent \"deadbeef\""
    );
}

#[test]
fn webhook_signature_vectors() {
    let fx = load();
    let (key, secret) = (fx.key.as_str(), fx.secret.as_str());
    let mut checked = 0;
    for v in of_kind(&fx, "webhook_signature") {
        let id = str_at(v, "id");
        let body = str_at(&v["input"], "body").as_bytes();
        let headers = &v["expected_headers"];
        let sig = str_at(headers, "X-Pusher-Signature");
        assert_eq!(str_at(headers, "X-Pusher-Key"), key, "{id}");
        assert_eq!(str_at(headers, "Content-Type"), "application/json", "{id}");

        assert_eq!(auth::sign_webhook(secret, body), sig, "{id}");
        assert!(auth::verify_webhook(key, secret, key, sig, body), "{id}");
        assert!(
            !auth::verify_webhook(key, secret, "other-key", sig, body),
            "{id}"
        );
        assert!(
            !auth::verify_webhook(key, "other-secret", key, sig, body),
            "{id}"
        );
        assert!(
            !auth::verify_webhook(key, secret, key, sig, &body[..body.len() - 1]),
            "{id}"
        );
        assert!(
            !auth::verify_webhook(key, secret, key, &sig.to_ascii_uppercase(), body),
            "{id}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn encrypted_event_data_vectors() {
    let fx = load();
    let mut checked = 0;
    for v in of_kind(&fx, "encrypted_event_data") {
        let id = str_at(v, "id");
        let input = &v["input"];
        let channel = str_at(input, "channel");
        assert_eq!(
            str_at(input, "encryption_master_key_base64"),
            MASTER_KEY_B64,
            "{id}"
        );
        let master = master_key();
        let nonce: [u8; 24] = hex::decode(str_at(input, "nonce_hex"))
            .expect("nonce is hex")
            .try_into()
            .expect("nonce is 24 bytes");
        let data = auth::encrypt_event_data(
            channel,
            &master,
            str_at(input, "plaintext").as_bytes(),
            &nonce,
        );
        assert_eq!(data, str_at(v, "expected_data_field"), "{id}");
        assert_eq!(
            names::channel_type(channel).kind,
            ChannelKind::EncryptedPrivate,
            "{id}"
        );
        checked += 1;
    }
    assert_eq!(checked, 1);
}

#[test]
fn validation_vectors() {
    let fx = load();
    let validation = of_kind(&fx, "validation");
    assert_eq!(validation.len(), 1);
    let v = validation[0];
    let max = names::DEFAULT_MAX_CHANNEL_NAME_LEN;
    assert_eq!(max, 200);

    // Rule: accept exactly what the Python SDK accepts (it has the 200 cap and allows
    // '#server-to-user-*' but no other '#'); PHP is looser, Node stricter.
    let (mut names_checked, mut php_only, mut node_rejects_user_channel) = (0, 0, 0);
    for (name, row) in v["channel_names"]
        .as_object()
        .expect("channel_names object")
    {
        let python = row["python"].as_bool().expect("python column");
        let node = row["node"].as_bool().expect("node column");
        let php = row["php"].as_bool().expect("php column");
        let length = row["length"].as_u64().expect("length column") as usize;
        assert_eq!(name.chars().count(), length, "{name:?}: length column");

        let result = names::validate_channel_name(name, max);
        assert_eq!(result.is_ok(), python, "{name:?}: {result:?}");
        if python {
            assert!(length <= max, "{name:?}");
        }
        if php && !python {
            php_only += 1;
        }
        if python && !node {
            node_rejects_user_channel += 1;
            assert_eq!(result.map(|t| t.kind), Ok(ChannelKind::User), "{name:?}");
        }
        names_checked += 1;
    }
    assert_eq!(
        (names_checked, php_only, node_rejects_user_channel),
        (14, 2, 1)
    );

    let mut ids_checked = 0;
    for (socket_id, row) in v["socket_ids"].as_object().expect("socket_ids object") {
        let python = row["python"].as_bool().expect("python column");
        // The three SDKs agree on every socket id in the vector.
        assert_eq!(row["node"].as_bool(), Some(python), "{socket_id:?}");
        assert_eq!(row["php"].as_bool(), Some(python), "{socket_id:?}");
        assert_eq!(
            names::is_valid_socket_id(socket_id),
            python,
            "{socket_id:?}"
        );
        ids_checked += 1;
    }
    assert_eq!(ids_checked, 9);
}

/// The pusher-js transcript carries real client signatures for socket `123.456`.
#[test]
fn wire_transcript_client_signatures() {
    let fx = load();
    let (key, secret) = (fx.key.as_str(), fx.secret.as_str());
    let transcript = of_kind(&fx, "wire_transcript");
    assert_eq!(transcript.len(), 1);
    let frames = transcript[0]["frames"].as_array().expect("frames array");

    let mut socket_id = None;
    let (mut subscribes, mut signed, mut signins) = (0, 0, 0);
    for f in frames {
        let frame: Value = serde_json::from_str(str_at(f, "frame")).expect("frame is JSON");
        let event = str_at(&frame, "event");
        match (str_at(f, "dir"), event) {
            ("server->client", "pusher:connection_established") => {
                let data: Value = serde_json::from_str(str_at(&frame, "data")).expect("data JSON");
                let id = str_at(&data, "socket_id").to_owned();
                assert!(names::is_valid_socket_id(&id));
                socket_id = Some(id);
            }
            ("client->server", "pusher:subscribe") => {
                let sid = socket_id.as_deref().expect("connection established first");
                let data = &frame["data"];
                let channel = str_at(data, "channel");
                let auth_field = str_at(data, "auth");
                let channel_data = data["channel_data"].as_str();
                let ty = names::validate_channel_name(channel, 200)
                    .unwrap_or_else(|e| panic!("{channel}: {e}"));
                if ty.requires_signature() {
                    assert!(
                        auth::verify_channel_auth(
                            key,
                            secret,
                            sid,
                            channel,
                            channel_data,
                            auth_field
                        ),
                        "{channel}"
                    );
                    signed += 1;
                } else {
                    // pjs sends an empty auth for public and user channels.
                    assert_eq!(auth_field, "", "{channel}");
                }
                if ty.kind == ChannelKind::User {
                    assert_eq!(names::user_channel_id(channel), Some("1"));
                }
                subscribes += 1;
            }
            ("client->server", "pusher:signin") => {
                let sid = socket_id.as_deref().expect("connection established first");
                let data = &frame["data"];
                assert!(auth::verify_user_auth(
                    key,
                    secret,
                    sid,
                    str_at(data, "user_data"),
                    str_at(data, "auth")
                ));
                signins += 1;
            }
            _ => {}
        }
    }
    assert_eq!((subscribes, signed, signins), (5, 2, 1));
}

/// Channel names Laravel Echo puts on the wire get the types the spec assigns them.
#[test]
fn laravel_echo_channel_names() {
    let fx = load();
    let mapping = of_kind(&fx, "laravel_echo_mapping");
    assert_eq!(mapping.len(), 1);
    let subscribed = mapping[0]["raw"]["subscribed"]
        .as_array()
        .expect("raw.subscribed array");
    let expected = [
        ("orders", ChannelKind::Public),
        ("private-orders.1", ChannelKind::Private),
        ("presence-chat.1", ChannelKind::Presence),
        ("private-encrypted-secret", ChannelKind::EncryptedPrivate),
    ];
    assert_eq!(subscribed.len(), expected.len());
    for (name, (expected_name, kind)) in subscribed.iter().zip(expected) {
        let name = name.as_str().expect("channel name string");
        assert_eq!(name, expected_name);
        assert_eq!(
            names::validate_channel_name(name, 200),
            Ok(ChannelType { kind, cache: false }),
            "{name}"
        );
    }
}
