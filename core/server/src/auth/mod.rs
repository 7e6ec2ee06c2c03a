//! Every signature of the Pusher Channels protocol (spec §2.6, §5, §6.1, §7).
//!
//! All functions are pure: no clock, no randomness, no I/O. Callers pass the current
//! time and nonces in, which keeps the code deterministic and testable against the
//! reference vectors.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use hmac::{Hmac, Mac};
use md5::Md5;
use percent_encoding::percent_decode;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::protocol::identity::{PresenceMember, SignedInUser};
use crate::protocol::names::{self, ChannelKind};

type HmacSha256 = Hmac<Sha256>;

/// The only `auth_version` any SDK has ever sent.
pub const REST_AUTH_VERSION: &str = "1.0";

/// Window recommended by §6.1 (and enforced by hosted Pusher).
pub const DEFAULT_REST_TIMESTAMP_WINDOW_SECS: u64 = 600;

/// hex(lowercase) HMAC-SHA256(secret, message)
pub fn hmac_hex(secret: &[u8], message: &[u8]) -> String {
    // `new_from_slice` can only fail for MACs with a fixed key size; HMAC hashes or pads
    // keys of any length, so this never fires whatever the secret is.
    let mut mac =
        <HmacSha256 as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison of two byte strings.
///
/// Only the length may leak: every signature we compare is a fixed-length hex digest, so
/// the length carries no secret.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// Splits `"<key>:<signature>"` at the first `:` and checks both halves.
///
/// The key half is public, but checking it lets a server tell "signed for another app"
/// apart from garbage; R ignores it, S compares the whole string (§5).
fn verify_key_and_signature(key: &str, expected_sig: &str, auth: &str) -> bool {
    let Some((given_key, given_sig)) = auth.split_once(':') else {
        return false;
    };
    // Evaluate both comparisons so the timing does not reveal which half was wrong.
    let key_ok = constant_time_eq(given_key.as_bytes(), key.as_bytes());
    let sig_ok = constant_time_eq(given_sig.as_bytes(), expected_sig.as_bytes());
    key_ok & sig_ok
}

// ---------------------------------------------------------------------------------------
// Channel authorization (private, presence, encrypted)
// ---------------------------------------------------------------------------------------

/// `socket_id:channel` or, for presence, `socket_id:channel:channel_data`.
///
/// `channel_data` must be the exact string the client sent: PHP escapes `/` and
/// non-ASCII, Python adds spaces, and the signature covers those bytes (§5).
pub fn channel_string_to_sign(
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    match channel_data {
        Some(data) => format!("{socket_id}:{channel}:{data}"),
        None => format!("{socket_id}:{channel}"),
    }
}

/// The `auth` field an auth endpoint returns: `"<key>:<hex signature>"`.
pub fn authorize_channel(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> String {
    let to_sign = channel_string_to_sign(socket_id, channel, channel_data);
    format!("{key}:{}", hmac_hex(secret.as_bytes(), to_sign.as_bytes()))
}

/// Checks the `auth` of a `pusher:subscribe`.
///
/// Splits `auth` at the FIRST `:`; the prefix must equal `key` and the signature is
/// compared in constant time.
pub fn verify_channel_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
    auth: &str,
) -> bool {
    // All auth strings share one secret and differ only by layout, so fields can be
    // shifted across the `:` joints: channel `:user:` with data `U` signs exactly the
    // sign-in string `S::user::U`, and private channel `a:b` signs what presence channel
    // `a` with data `b` does. Every such overlap needs an empty field or one containing
    // `:` (invalid per §1.3/§2.1), so refuse those here instead of trusting every caller
    // to validate names first.
    if !is_separator_free(socket_id) || !is_separator_free(channel) {
        return false;
    }
    let to_sign = channel_string_to_sign(socket_id, channel, channel_data);
    let expected = hmac_hex(secret.as_bytes(), to_sign.as_bytes());
    verify_key_and_signature(key, &expected, auth)
}

/// Non-empty and free of the `:` that joins the fields of a string to sign.
fn is_separator_free(field: &str) -> bool {
    !field.is_empty() && !field.contains(':')
}

/// Raw 32-byte key of an encrypted channel: SHA-256(channel_name_bytes || master_key).
pub fn shared_secret_bytes(channel: &str, master_key: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(channel.as_bytes());
    hasher.update(master_key);
    hasher.finalize().into()
}

/// base64(SHA-256(channel_name_bytes || master_key)) — the `shared_secret` field of the
/// auth response for `private-encrypted-` channels. It is not covered by the signature.
pub fn shared_secret(channel: &str, master_key: &[u8; 32]) -> String {
    BASE64.encode(shared_secret_bytes(channel, master_key))
}

/// The `data` field for an event on a `private-encrypted-` channel:
/// `{"nonce":"<b64>","ciphertext":"<b64>"}`, NaCl secretbox (XSalsa20-Poly1305) keyed
/// with the channel's shared secret.
///
/// The nonce is a parameter so that output is reproducible; callers publishing real
/// events MUST pass a fresh random nonce each time (nonce reuse breaks secretbox).
pub fn encrypt_event_data(
    channel: &str,
    master_key: &[u8; 32],
    plaintext: &[u8],
    nonce: &[u8; 24],
) -> String {
    let key = shared_secret_bytes(channel, master_key);
    let cipher = XSalsa20Poly1305::new(&key.into());

    // NaCl's wire format (what tweetnacl and libsodium's crypto_secretbox_easy emit and
    // pusher-js expects) is tag || ciphertext.
    let mut boxed = Vec::with_capacity(XSalsa20Poly1305::TAG_SIZE + plaintext.len());
    boxed.extend_from_slice(&[0u8; XSalsa20Poly1305::TAG_SIZE]);
    boxed.extend_from_slice(plaintext);
    // The only error path of secretbox is non-empty associated data, and we pass none.
    let tag = cipher
        .encrypt_in_place_detached(nonce.into(), b"", &mut boxed[XSalsa20Poly1305::TAG_SIZE..])
        .expect("secretbox only fails on associated data, which is empty here");
    boxed[..XSalsa20Poly1305::TAG_SIZE].copy_from_slice(&tag);

    // Base64 output never contains characters that need JSON escaping.
    format!(
        r#"{{"nonce":"{}","ciphertext":"{}"}}"#,
        BASE64.encode(nonce),
        BASE64.encode(&boxed)
    )
}

// ---------------------------------------------------------------------------------------
// User authentication (pusher:signin)
// ---------------------------------------------------------------------------------------

fn user_string_to_sign(socket_id: &str, user_data: &str) -> String {
    format!("{socket_id}::user::{user_data}")
}

/// The `auth` field for `pusher:signin`: `"<key>:<hex HMAC of socket_id::user::user_data>"`.
pub fn authenticate_user(key: &str, secret: &str, socket_id: &str, user_data: &str) -> String {
    let to_sign = user_string_to_sign(socket_id, user_data);
    format!("{key}:{}", hmac_hex(secret.as_bytes(), to_sign.as_bytes()))
}

/// Checks the `auth` of a `pusher:signin`; `user_data` is hashed exactly as received.
pub fn verify_user_auth(
    key: &str,
    secret: &str,
    socket_id: &str,
    user_data: &str,
    auth: &str,
) -> bool {
    // A `:` in the socket id could shift fields and collide with a channel string.
    if !is_separator_free(socket_id) {
        return false;
    }
    let to_sign = user_string_to_sign(socket_id, user_data);
    let expected = hmac_hex(secret.as_bytes(), to_sign.as_bytes());
    verify_key_and_signature(key, &expected, auth)
}

// ---------------------------------------------------------------------------------------
// Checked signing, for auth endpoints (what the C, Node and PHP faces expose)
// ---------------------------------------------------------------------------------------

/// Why an auth endpoint's request to sign is refused: what the server would refuse on
/// receipt, said when signing instead, where the mistake is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignError {
    /// An empty key or secret.
    Credentials,
    InvalidSocketId(String),
    InvalidChannel {
        channel: String,
        reason: String,
    },
    /// Public and `#server-to-user-` channels take no signature.
    NoSignatureNeeded(String),
    /// Presence `channel_data` missing, invalid, or given for another kind of channel.
    ChannelData(String),
    /// Sign-in `user_data` without a non-empty string `id`.
    UserData(&'static str),
    /// A shared secret or an encryption asked for a channel that is not
    /// `private-encrypted-`.
    NotEncrypted(String),
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignError::Credentials => f.write_str("key and secret must not be empty"),
            SignError::InvalidSocketId(s) => write!(
                f,
                "Invalid socket_id {s:?}: expected two integers joined by a dot"
            ),
            SignError::InvalidChannel { channel, reason } => {
                write!(f, "Invalid channel name {channel:?}: {reason}")
            }
            SignError::NoSignatureNeeded(c) => {
                write!(f, "channel {c:?} needs no authorization signature")
            }
            SignError::ChannelData(why) => f.write_str(why),
            SignError::UserData(why) => f.write_str(why),
            SignError::NotEncrypted(c) => write!(f, "{c:?} is not a private-encrypted- channel"),
        }
    }
}

impl std::error::Error for SignError {}

/// Refuses an empty key or secret, which can only sign what anybody could sign.
pub fn check_credentials(key: &str, secret: &str) -> Result<(), SignError> {
    if key.is_empty() || secret.is_empty() {
        return Err(SignError::Credentials);
    }
    Ok(())
}

fn check_signer(key: &str, secret: &str, socket_id: &str) -> Result<(), SignError> {
    check_credentials(key, secret)?;
    if !names::is_valid_socket_id(socket_id) {
        return Err(SignError::InvalidSocketId(socket_id.into()));
    }
    Ok(())
}

fn channel_kind(channel: &str) -> Result<ChannelKind, SignError> {
    names::validate_channel_name(channel, names::DEFAULT_MAX_CHANNEL_NAME_LEN)
        .map(|t| t.kind)
        .map_err(|reason| SignError::InvalidChannel {
            channel: channel.into(),
            reason: reason.to_string(),
        })
}

/// [`authorize_channel`] for an auth endpoint, refusing what the server would refuse:
/// empty credentials, a bad socket id or channel name, a channel that takes no
/// signature, presence `channel_data` missing or invalid (it needs a `user_id`, a
/// string or number of 1 to 128 characters), or `channel_data` for another kind.
pub fn checked_authorize_channel(
    key: &str,
    secret: &str,
    socket_id: &str,
    channel: &str,
    channel_data: Option<&str>,
) -> Result<String, SignError> {
    check_signer(key, secret, socket_id)?;
    match (channel_kind(channel)?, channel_data) {
        (ChannelKind::Presence, None) => {
            return Err(SignError::ChannelData(format!(
                "presence channel {channel:?} needs channel_data"
            )))
        }
        (ChannelKind::Presence, Some(cd)) => {
            PresenceMember::from_channel_data(cd).map_err(SignError::ChannelData)?;
        }
        (ChannelKind::Private | ChannelKind::EncryptedPrivate, None) => {}
        (ChannelKind::Private | ChannelKind::EncryptedPrivate, Some(_)) => {
            return Err(SignError::ChannelData(format!(
                "channel_data is only for presence channels, not {channel:?}"
            )))
        }
        (ChannelKind::Public | ChannelKind::User, _) => {
            return Err(SignError::NoSignatureNeeded(channel.into()))
        }
    }
    Ok(authorize_channel(
        key,
        secret,
        socket_id,
        channel,
        channel_data,
    ))
}

/// [`authenticate_user`] for an auth endpoint: also refuses empty credentials, a bad
/// socket id, and `user_data` the server would refuse (no non-empty string `id`).
pub fn checked_authenticate_user(
    key: &str,
    secret: &str,
    socket_id: &str,
    user_data: &str,
) -> Result<String, SignError> {
    check_signer(key, secret, socket_id)?;
    SignedInUser::from_user_data(user_data).map_err(SignError::UserData)?;
    Ok(authenticate_user(key, secret, socket_id, user_data))
}

/// [`shared_secret`], for `private-encrypted-` channels only.
pub fn checked_shared_secret(channel: &str, master_key: &[u8; 32]) -> Result<String, SignError> {
    check_encrypted(channel)?;
    Ok(shared_secret(channel, master_key))
}

/// [`encrypt_event_data`], for `private-encrypted-` channels only.
pub fn checked_encrypt_event_data(
    channel: &str,
    master_key: &[u8; 32],
    plaintext: &[u8],
    nonce: &[u8; 24],
) -> Result<String, SignError> {
    check_encrypted(channel)?;
    Ok(encrypt_event_data(channel, master_key, plaintext, nonce))
}

fn check_encrypted(channel: &str) -> Result<(), SignError> {
    if channel_kind(channel)? != ChannelKind::EncryptedPrivate {
        return Err(SignError::NotEncrypted(channel.into()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Webhooks (§7)
// ---------------------------------------------------------------------------------------

/// Value of the `X-Pusher-Signature` header for a webhook body.
pub fn sign_webhook(secret: &str, body: &[u8]) -> String {
    hmac_hex(secret.as_bytes(), body)
}

/// Receiver-side check of a webhook: `X-Pusher-Key` must equal `key` and
/// `X-Pusher-Signature` must be the HMAC of the raw body (constant-time).
pub fn verify_webhook(
    key: &str,
    secret: &str,
    key_header: &str,
    signature_header: &str,
    body: &[u8],
) -> bool {
    let expected = sign_webhook(secret, body);
    let key_ok = constant_time_eq(key_header.as_bytes(), key.as_bytes());
    let sig_ok = constant_time_eq(signature_header.as_bytes(), expected.as_bytes());
    key_ok & sig_ok
}

// ---------------------------------------------------------------------------------------
// HTTP API request signing (§6.1)
// ---------------------------------------------------------------------------------------

/// Lowercase hex MD5, as sent in `body_md5`.
pub fn md5_hex(body: &[u8]) -> String {
    hex::encode(Md5::digest(body))
}

/// `METHOD\npath\nk1=v1&k2=v2...` with no trailing newline.
///
/// `params` must already be percent-decoded. This function itself lowercases the keys,
/// drops `auth_signature` and sorts by key bytes, so signer and verifier cannot disagree
/// on those rules. Values are joined unescaped, exactly like the SDKs do.
pub fn rest_string_to_sign(method: &str, path: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, &str)> = params
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k != "auth_signature")
        .collect();
    // Sorting by value as well only matters for duplicate keys (which the verifier
    // rejects anyway); it keeps the output independent of the input order.
    pairs.sort_unstable();
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    format!("{}\n{path}\n{query}", method.to_ascii_uppercase())
}

/// Every query parameter a client sends for an HTTP API request, `auth_signature` last.
///
/// `body_md5` is added when `body` is non-empty. Extra params that collide with a key this
/// function sets itself are dropped (a duplicate would make the server reject the
/// request); an explicit `body_md5` extra with an empty body is kept, which reproduces
/// pusher-http-python's requests.
pub fn sign_rest_request(
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    extra_params: &[(String, String)],
    body: &[u8],
    timestamp: u64,
) -> Vec<(String, String)> {
    let mut params = vec![
        ("auth_key".to_owned(), key.to_owned()),
        ("auth_timestamp".to_owned(), timestamp.to_string()),
        ("auth_version".to_owned(), REST_AUTH_VERSION.to_owned()),
    ];
    if !body.is_empty() {
        params.push(("body_md5".to_owned(), md5_hex(body)));
    }
    for (k, v) in extra_params {
        let lower = k.to_ascii_lowercase();
        let taken = lower == "auth_signature" || params.iter().any(|(pk, _)| *pk == lower);
        if !taken {
            params.push((k.clone(), v.clone()));
        }
    }
    let to_sign = rest_string_to_sign(method, path, &params);
    let signature = hmac_hex(secret.as_bytes(), to_sign.as_bytes());
    params.push(("auth_signature".to_owned(), signature));
    params
}

/// Why an HTTP API request failed authentication. Every variant maps to HTTP 401.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestAuthError {
    /// The query string is not valid `application/x-www-form-urlencoded` UTF-8.
    MalformedQuery,
    /// A parameter appears twice (keys compared case-insensitively). Rejected because the
    /// SDKs never do it and it would make the signed set ambiguous.
    DuplicateParam(String),
    /// A required parameter is absent (`auth_key`, `auth_timestamp`, `auth_version`,
    /// `auth_signature`, or `body_md5` for a non-empty body).
    MissingParam(&'static str),
    /// `auth_key` is not this app's key.
    WrongKey,
    /// `auth_version` is not `1.0`; carries the value received.
    UnsupportedVersion(String),
    /// `body_md5` does not match the body (or, with an empty body, is not MD5 of "").
    BodyMd5Mismatch { expected: String, got: String },
    /// `auth_timestamp` is not an unsigned decimal integer.
    BadTimestamp,
    /// `auth_timestamp` is further from the server clock than the window allows.
    StaleTimestamp { skew_secs: u64, window_secs: u64 },
    /// The signature does not match; carries what the client should have signed.
    BadSignature { string_to_sign: String, got: String },
}

impl fmt::Display for RestAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedQuery => f.write_str("Malformed query string"),
            Self::DuplicateParam(name) => {
                write!(f, "Query parameter {name:?} was sent more than once")
            }
            Self::MissingParam(name) => write!(f, "Missing query parameter {name}"),
            Self::WrongKey => f.write_str("Invalid auth_key: it does not match this app's key"),
            Self::UnsupportedVersion(got) => {
                write!(f, "Unsupported auth_version {got:?} (expected \"1.0\")")
            }
            Self::BodyMd5Mismatch { expected, got } => write!(
                f,
                "Invalid body_md5: the body hashes to {expected:?}, but you sent {got:?}"
            ),
            Self::BadTimestamp => {
                f.write_str("Invalid auth_timestamp: expected Unix time in seconds")
            }
            Self::StaleTimestamp {
                skew_secs,
                window_secs,
            } => write!(
                f,
                "Timestamp expired: auth_timestamp is {skew_secs} s away from server time \
                 (allowed: {window_secs} s); check the client clock"
            ),
            // `{:?}` renders newlines as a literal `\n`, giving Pusher's exact wording.
            Self::BadSignature {
                string_to_sign,
                got,
            } => write!(
                f,
                "Invalid signature: you should have sent HmacSHA256Hex({string_to_sign:?}, \
                 your_secret_key), but you sent {got:?}"
            ),
        }
    }
}

impl std::error::Error for RestAuthError {}

/// Decodes one `application/x-www-form-urlencoded` component: `+` is a space (Python's
/// `urlencode` and Guzzle may produce it), then `%XX` escapes (Guzzle sends `,` as `%2C`).
fn form_decode(component: &str) -> Result<String, RestAuthError> {
    let plus_as_space = component.replace('+', " ");
    percent_decode(plus_as_space.as_bytes())
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| RestAuthError::MalformedQuery)
}

/// Parses a raw query into decoded `(lowercased key, value)` pairs, rejecting duplicates.
pub fn parse_rest_query(raw_query: &str) -> Result<Vec<(String, String)>, RestAuthError> {
    let mut params: Vec<(String, String)> = Vec::new();
    // Empty segments (`a=1&&b=2`, trailing `&`) carry nothing and no SDK signs them.
    for segment in raw_query.split('&').filter(|s| !s.is_empty()) {
        let (raw_key, raw_value) = segment.split_once('=').unwrap_or((segment, ""));
        let key = form_decode(raw_key)?.to_ascii_lowercase();
        let value = form_decode(raw_value)?;
        if params.iter().any(|(k, _)| *k == key) {
            return Err(RestAuthError::DuplicateParam(key));
        }
        params.push((key, value));
    }
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn required<'a>(
    params: &'a [(String, String)],
    name: &'static str,
) -> Result<&'a str, RestAuthError> {
    param(params, name).ok_or(RestAuthError::MissingParam(name))
}

/// Server-side verification of an HTTP API request (§6.1).
///
/// `path` is the request path with any mount prefix already stripped (`/apps/...`);
/// `raw_query` is the query string as received, without the `?`. `window_secs == 0`
/// disables the timestamp check.
#[allow(clippy::too_many_arguments)] // mirrors the inputs of the spec's algorithm one to one
pub fn verify_rest_request(
    key: &str,
    secret: &str,
    method: &str,
    path: &str,
    raw_query: &str,
    body: &[u8],
    now_unix: u64,
    window_secs: u64,
) -> Result<(), RestAuthError> {
    let params = parse_rest_query(raw_query)?;

    let auth_key = required(&params, "auth_key")?;
    let auth_timestamp = required(&params, "auth_timestamp")?;
    let auth_version = required(&params, "auth_version")?;
    let auth_signature = required(&params, "auth_signature")?;

    if auth_key != key {
        return Err(RestAuthError::WrongKey);
    }
    if auth_version != REST_AUTH_VERSION {
        return Err(RestAuthError::UnsupportedVersion(auth_version.to_owned()));
    }
    // `u64::from_str` would also take a leading `+`; no SDK sends one.
    let timestamp =
        if !auth_timestamp.is_empty() && auth_timestamp.bytes().all(|b| b.is_ascii_digit()) {
            auth_timestamp
                .parse::<u64>()
                .map_err(|_| RestAuthError::BadTimestamp)?
        } else {
            return Err(RestAuthError::BadTimestamp);
        };

    // Python sends body_md5 even for an empty GET body, so it is only *required* when a
    // body exists, but always checked (and always signed) when present.
    match param(&params, "body_md5") {
        None if !body.is_empty() => return Err(RestAuthError::MissingParam("body_md5")),
        None => {}
        Some(got) => {
            let expected = md5_hex(body);
            // MD5 of a body the client itself sent is not secret; case is irrelevant.
            if !got.eq_ignore_ascii_case(&expected) {
                return Err(RestAuthError::BodyMd5Mismatch {
                    expected,
                    got: got.to_owned(),
                });
            }
        }
    }

    let string_to_sign = rest_string_to_sign(method, path, &params);
    let expected = hmac_hex(secret.as_bytes(), string_to_sign.as_bytes());
    if !constant_time_eq(auth_signature.as_bytes(), expected.as_bytes()) {
        return Err(RestAuthError::BadSignature {
            string_to_sign,
            got: auth_signature.to_owned(),
        });
    }

    // Checked after the signature so that a skew report is only given for requests that
    // really come from a key holder (their clock is wrong, not their secret).
    if window_secs > 0 {
        let skew_secs = now_unix.abs_diff(timestamp);
        if skew_secs > window_secs {
            return Err(RestAuthError::StaleTimestamp {
                skew_secs,
                window_secs,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "278d425bdf160c739803";
    const SECRET: &str = "7ad3773142a6692b25b8";

    fn query_string(params: &[(String, String)]) -> String {
        params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        assert_eq!(
            hmac_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn hmac_accepts_empty_and_long_keys() {
        assert_eq!(hmac_hex(b"", b"").len(), 64);
        // RFC 4231 case 6: a 131-byte key is hashed first.
        let key = [0xaa_u8; 131];
        assert_eq!(
            hmac_hex(
                &key,
                b"Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn constant_time_eq_basics() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn channel_auth_roundtrip_and_rejections() {
        let auth = authorize_channel(KEY, SECRET, "1234.1234", "private-foobar", None);
        assert_eq!(
            auth,
            "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4"
        );
        assert!(verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &auth
        ));
        // Wrong socket, channel, key prefix, secret, truncated or missing separator.
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1235",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobaz",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            "otherkey",
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            "othersecret",
            "1234.1234",
            "private-foobar",
            None,
            &auth
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &auth[..auth.len() - 1]
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            ""
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            ":"
        ));
        let sig_only = auth.split_once(':').map(|(_, s)| s).unwrap_or_default();
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            sig_only
        ));
        // Uppercase hex is not what any SDK sends; reject rather than normalise.
        let upper = format!("{KEY}:{}", sig_only.to_ascii_uppercase());
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "private-foobar",
            None,
            &upper
        ));
        // Presence data is part of the signature, and its absence is too.
        let data = r#"{"user_id":"1"}"#;
        let p = authorize_channel(KEY, SECRET, "1.2", "presence-x", Some(data));
        assert!(verify_channel_auth(
            KEY,
            SECRET,
            "1.2",
            "presence-x",
            Some(data),
            &p
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1.2",
            "presence-x",
            Some(r#"{"user_id":"2"}"#),
            &p
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1.2",
            "presence-x",
            None,
            &p
        ));
    }

    #[test]
    fn first_colon_splits_key_from_signature() {
        // A key containing ':' cannot be told apart from the signature; such keys are
        // simply unusable, but must not panic or verify.
        let auth = authorize_channel("a:b", SECRET, "1.2", "private-x", None);
        assert!(!verify_channel_auth(
            "a:b",
            SECRET,
            "1.2",
            "private-x",
            None,
            &auth
        ));
        // Extra ':' after the first belong to the signature half, which then mismatches.
        let good = authorize_channel(KEY, SECRET, "1.2", "private-x", None);
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1.2",
            "private-x",
            None,
            &format!("{good}:")
        ));
    }

    #[test]
    fn user_auth_roundtrip_and_rejections() {
        let data = r#"{"id":"12345"}"#;
        let auth = authenticate_user(KEY, SECRET, "1234.1234", data);
        assert_eq!(
            auth,
            "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba"
        );
        assert!(verify_user_auth(KEY, SECRET, "1234.1234", data, &auth));
        assert!(!verify_user_auth(
            KEY,
            SECRET,
            "1234.1234",
            r#"{"id":"1"}"#,
            &auth
        ));
        assert!(!verify_user_auth(KEY, SECRET, "9.9", data, &auth));
        assert!(!verify_user_auth("k", SECRET, "1234.1234", data, &auth));
    }

    #[test]
    fn channel_and_user_signatures_do_not_cross() {
        let data = r#"{"id":"12345"}"#;
        let user = authenticate_user(KEY, SECRET, "1234.1234", data);
        // The raw strings to sign do collide for names containing ':' or empty ones...
        assert_eq!(
            authorize_channel(KEY, SECRET, "1234.1234", ":user:", Some(data)),
            user
        );
        assert_eq!(
            authorize_channel(KEY, SECRET, "1234.1234", "", Some(&format!("user::{data}"))),
            user
        );
        // ...so verification refuses such names and socket ids outright.
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            ":user:",
            Some(data),
            &user
        ));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            "",
            Some(&format!("user::{data}")),
            &user
        ));
        let chan = authorize_channel(KEY, SECRET, "1234.1234", ":user:", Some(data));
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1234.1234",
            ":user:",
            Some(data),
            &chan
        ));
        let odd_socket = authorize_channel(KEY, SECRET, "1:2", "private-x", None);
        assert!(!verify_channel_auth(
            KEY,
            SECRET,
            "1:2",
            "private-x",
            None,
            &odd_socket
        ));
        let odd_user = authenticate_user(KEY, SECRET, "1:2", data);
        assert!(!verify_user_auth(KEY, SECRET, "1:2", data, &odd_user));
        assert!(!verify_user_auth(
            KEY,
            SECRET,
            "",
            data,
            &authenticate_user(KEY, SECRET, "", data)
        ));
    }

    #[test]
    fn webhook_sign_and_verify() {
        let body = br#"{"time_ms":1,"events":[]}"#;
        let sig = sign_webhook(SECRET, body);
        assert!(verify_webhook(KEY, SECRET, KEY, &sig, body));
        assert!(!verify_webhook(KEY, SECRET, "other", &sig, body));
        assert!(!verify_webhook(KEY, SECRET, KEY, &sig, b"{}"));
        assert!(!verify_webhook(KEY, SECRET, KEY, "", body));
    }

    #[test]
    fn shared_secret_known_value() {
        let mut master = [0u8; 32];
        for (i, b) in master.iter_mut().enumerate() {
            *b = i as u8;
        }
        assert_eq!(
            hex::encode(shared_secret_bytes("private-encrypted-orders", &master)),
            "469f895b43f56380db9fc34f85c168f3c140cf3dd03dbdcf67ae3aa1bce6ae9e"
        );
    }

    #[test]
    fn encrypted_data_decrypts_with_shared_secret() {
        let master = [7u8; 32];
        let nonce = [9u8; 24];
        let plaintext = "{\"msg\":\"héllo\"}".as_bytes();
        let data = encrypt_event_data("private-encrypted-x", &master, plaintext, &nonce);
        let prefix = r#"{"nonce":""#;
        let middle = r#"","ciphertext":""#;
        assert!(data.starts_with(prefix) && data.ends_with("\"}"), "{data}");
        let inner = &data[prefix.len()..data.len() - 2];
        let (nonce_b64, ct_b64) = inner.split_once(middle).unwrap_or(("", ""));
        assert_eq!(BASE64.decode(nonce_b64).unwrap_or_default(), nonce);
        let mut boxed = BASE64.decode(ct_b64).unwrap_or_default();
        assert_eq!(boxed.len(), plaintext.len() + 16);

        let key = shared_secret_bytes("private-encrypted-x", &master);
        let cipher = XSalsa20Poly1305::new(&key.into());
        let (tag, ct) = boxed.split_at_mut(16);
        let tag = crypto_secretbox::Tag::clone_from_slice(tag);
        assert!(cipher
            .decrypt_in_place_detached((&nonce).into(), b"", ct, &tag)
            .is_ok());
        assert_eq!(ct, plaintext);

        // Another channel's key must not open it.
        let other =
            XSalsa20Poly1305::new(&shared_secret_bytes("private-encrypted-y", &master).into());
        let mut ct2 = BASE64.decode(ct_b64).unwrap_or_default();
        let (tag2, body2) = ct2.split_at_mut(16);
        let tag2 = crypto_secretbox::Tag::clone_from_slice(tag2);
        assert!(other
            .decrypt_in_place_detached((&nonce).into(), b"", body2, &tag2)
            .is_err());
    }

    #[test]
    fn encrypt_empty_plaintext() {
        let data = encrypt_event_data("private-encrypted-x", &[0; 32], b"", &[0; 24]);
        assert!(data.contains(r#""ciphertext":""#));
    }

    #[test]
    fn md5_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"{}"), "99914b932bd37a50b983c5e7c90ae93b");
    }

    #[test]
    fn string_to_sign_normalises_params() {
        let params = vec![
            (
                "Info".to_owned(),
                "user_count,subscription_count".to_owned(),
            ),
            ("auth_signature".to_owned(), "zzz".to_owned()),
            ("auth_key".to_owned(), "k".to_owned()),
            ("AUTH_Version".to_owned(), "1.0".to_owned()),
        ];
        assert_eq!(
            rest_string_to_sign("get", "/apps/3/channels", &params),
            "GET\n/apps/3/channels\nauth_key=k&auth_version=1.0&info=user_count,subscription_count"
        );
        assert_eq!(rest_string_to_sign("GET", "/p", &[]), "GET\n/p\n");
    }

    #[test]
    fn sign_rest_request_shapes() {
        let extras = vec![("filter_by_prefix".to_owned(), "presence-".to_owned())];
        let p = sign_rest_request(KEY, SECRET, "GET", "/apps/3/channels", &extras, b"", 5);
        let keys: Vec<&str> = p.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "auth_key",
                "auth_timestamp",
                "auth_version",
                "filter_by_prefix",
                "auth_signature"
            ]
        );

        let p = sign_rest_request(KEY, SECRET, "POST", "/apps/3/events", &[], b"{}", 5);
        assert!(p.contains(&("body_md5".to_owned(), md5_hex(b"{}"))));
        assert_eq!(p.last().map(|(k, _)| k.as_str()), Some("auth_signature"));

        // Colliding extras are dropped so the server never sees duplicates.
        let bad = vec![
            ("auth_key".to_owned(), "evil".to_owned()),
            ("AUTH_SIGNATURE".to_owned(), "x".to_owned()),
            ("body_md5".to_owned(), "0".to_owned()),
        ];
        let p = sign_rest_request(KEY, SECRET, "POST", "/apps/3/events", &bad, b"{}", 5);
        assert_eq!(p.len(), 5);
        let q = query_string(&p);
        assert_eq!(
            verify_rest_request(KEY, SECRET, "POST", "/apps/3/events", &q, b"{}", 5, 600),
            Ok(())
        );
    }

    fn signed_query(
        method: &str,
        path: &str,
        extras: &[(String, String)],
        body: &[u8],
        ts: u64,
    ) -> String {
        query_string(&sign_rest_request(
            KEY, SECRET, method, path, extras, body, ts,
        ))
    }

    #[test]
    fn verify_rest_accepts_signed_request() {
        let q = signed_query("POST", "/apps/3/events", &[], b"{\"a\":1}", 1000);
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                1000,
                600
            ),
            Ok(())
        );
        // Window edges: exactly 600 s either way passes, 601 fails.
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                1600,
                600
            ),
            Ok(())
        );
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                400,
                600
            ),
            Ok(())
        );
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                1601,
                600
            ),
            Err(RestAuthError::StaleTimestamp {
                skew_secs: 601,
                window_secs: 600
            })
        );
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                399,
                600
            ),
            Err(RestAuthError::StaleTimestamp {
                skew_secs: 601,
                window_secs: 600
            })
        );
        // Window 0 disables the check entirely.
        assert_eq!(
            verify_rest_request(
                KEY,
                SECRET,
                "POST",
                "/apps/3/events",
                &q,
                b"{\"a\":1}",
                u64::MAX,
                0
            ),
            Ok(())
        );
    }

    #[test]
    fn verify_rest_decodes_query() {
        let extras = vec![
            (
                "info".to_owned(),
                "user_count,subscription_count".to_owned(),
            ),
            ("filter_by_prefix".to_owned(), "a b+c".to_owned()),
        ];
        let params = sign_rest_request(KEY, SECRET, "GET", "/apps/3/channels", &extras, b"", 7);
        let sig = params.last().map(|(_, v)| v.clone()).unwrap_or_default();
        // Guzzle-style: ',' as %2C, space as '+', '+' as %2B; keys in mixed case.
        let q = format!(
            "AUTH_KEY={KEY}&auth_timestamp=7&auth_version=1%2E0&info=user_count%2Csubscription_count\
             &filter_by_prefix=a+b%2Bc&auth_signature={sig}"
        );
        assert_eq!(
            verify_rest_request(KEY, SECRET, "GET", "/apps/3/channels", &q, b"", 7, 600),
            Ok(())
        );
        // Empty segments are ignored.
        let q2 = format!("&{q}&&");
        assert_eq!(
            verify_rest_request(KEY, SECRET, "GET", "/apps/3/channels", &q2, b"", 7, 600),
            Ok(())
        );
        // Method case does not matter, the path does.
        assert_eq!(
            verify_rest_request(KEY, SECRET, "get", "/apps/3/channels", &q, b"", 7, 600),
            Ok(())
        );
        assert!(matches!(
            verify_rest_request(KEY, SECRET, "GET", "/apps/3/channels/", &q, b"", 7, 600),
            Err(RestAuthError::BadSignature { .. })
        ));
    }

    #[test]
    fn verify_rest_rejections() {
        let body = b"{\"a\":1}";
        let ok = signed_query("POST", "/apps/3/events", &[], body, 1000);
        let v = |q: &str, body: &[u8]| {
            verify_rest_request(KEY, SECRET, "POST", "/apps/3/events", q, body, 1000, 600)
        };

        assert_eq!(
            v(&ok, b"{\"a\":2}"),
            Err(RestAuthError::BodyMd5Mismatch {
                expected: md5_hex(b"{\"a\":2}"),
                got: md5_hex(body),
            })
        );
        // Empty-body request: a body showing up later needs its md5.
        let empty = signed_query("POST", "/apps/3/events", &[], b"", 1000);
        assert_eq!(
            v(&empty, body),
            Err(RestAuthError::MissingParam("body_md5"))
        );
        // body_md5 with an empty body must be the md5 of "".
        let wrong_empty = signed_query(
            "POST",
            "/apps/3/events",
            &[("body_md5".into(), md5_hex(b"x"))],
            b"",
            1000,
        );
        assert!(matches!(
            v(&wrong_empty, b""),
            Err(RestAuthError::BodyMd5Mismatch { .. })
        ));
        let python = signed_query(
            "POST",
            "/apps/3/events",
            &[("body_md5".into(), md5_hex(b""))],
            b"",
            1000,
        );
        assert_eq!(v(&python, b""), Ok(()));

        for missing in [
            "auth_key",
            "auth_timestamp",
            "auth_version",
            "auth_signature",
        ] {
            let q: Vec<&str> = ok.split('&').filter(|s| !s.starts_with(missing)).collect();
            assert_eq!(
                v(&q.join("&"), body),
                Err(RestAuthError::MissingParam(missing)),
                "{missing}"
            );
        }

        let wrong_key = ok.replace(KEY, "nope");
        assert_eq!(v(&wrong_key, body), Err(RestAuthError::WrongKey));
        let wrong_version = ok.replace("auth_version=1.0", "auth_version=2.0");
        assert_eq!(
            v(&wrong_version, body),
            Err(RestAuthError::UnsupportedVersion("2.0".into()))
        );
        for ts in [
            "abc",
            "",
            "+1000",
            "-1000",
            "1000.0",
            "99999999999999999999999",
        ] {
            let q = ok.replace("auth_timestamp=1000", &format!("auth_timestamp={ts}"));
            assert_eq!(v(&q, body), Err(RestAuthError::BadTimestamp), "{ts}");
        }
        // Any added, removed or changed signed parameter breaks the signature.
        assert!(matches!(
            v(&format!("{ok}&extra=1"), body),
            Err(RestAuthError::BadSignature { .. })
        ));
        let other_ts = ok.replace("auth_timestamp=1000", "auth_timestamp=1001");
        assert!(matches!(
            v(&other_ts, body),
            Err(RestAuthError::BadSignature { .. })
        ));

        assert_eq!(
            v(&format!("{ok}&auth_key={KEY}"), body),
            Err(RestAuthError::DuplicateParam("auth_key".into()))
        );
        assert_eq!(
            v(&format!("{ok}&Auth_Signature=x"), body),
            Err(RestAuthError::DuplicateParam("auth_signature".into()))
        );
        assert_eq!(
            v(&format!("{ok}&x=%FF"), body),
            Err(RestAuthError::MalformedQuery)
        );
        assert_eq!(v("", body), Err(RestAuthError::MissingParam("auth_key")));
        assert_eq!(v("%", body), Err(RestAuthError::MissingParam("auth_key")));
    }

    #[test]
    fn bad_signature_message_matches_pusher_wording() {
        let err = RestAuthError::BadSignature {
            string_to_sign: "POST\n/apps/3/events\nauth_key=k".to_owned(),
            got: "abc".to_owned(),
        };
        assert_eq!(
            err.to_string(),
            r#"Invalid signature: you should have sent HmacSHA256Hex("POST\n/apps/3/events\nauth_key=k", your_secret_key), but you sent "abc""#
        );
    }

    #[test]
    fn error_messages_are_readable() {
        let all = [
            RestAuthError::MalformedQuery,
            RestAuthError::DuplicateParam("auth_key".into()),
            RestAuthError::MissingParam("body_md5"),
            RestAuthError::WrongKey,
            RestAuthError::UnsupportedVersion("2.0".into()),
            RestAuthError::BodyMd5Mismatch {
                expected: "a".into(),
                got: "b".into(),
            },
            RestAuthError::BadTimestamp,
            RestAuthError::StaleTimestamp {
                skew_secs: 700,
                window_secs: 600,
            },
        ];
        for e in all {
            let msg = e.to_string();
            assert!(!msg.is_empty() && !msg.contains('\n'), "{msg}");
        }
        assert!(RestAuthError::MissingParam("body_md5")
            .to_string()
            .contains("body_md5"));
        assert!(RestAuthError::StaleTimestamp {
            skew_secs: 700,
            window_secs: 600
        }
        .to_string()
        .contains("700"));
    }

    #[test]
    fn checked_signing_refuses_what_the_server_would() {
        use crate::error::Code;
        let code = |r: Result<String, SignError>| Code::from(&r.unwrap_err());
        let member = r#"{"user_id":"7","user_info":{"name":"Ann"}}"#;
        assert_eq!(
            checked_authorize_channel("k", "s", "1.2", "presence-room", Some(member)).unwrap(),
            authorize_channel("k", "s", "1.2", "presence-room", Some(member))
        );
        assert!(checked_authorize_channel("k", "s", "1.2", "private-a", None).is_ok());
        assert!(checked_authorize_channel("k", "s", "1.2", "private-encrypted-a", None).is_ok());
        let refused = [
            (("", "s", "1.2", "private-a", None), Code::InvalidArgument),
            (("k", "s", "1.x", "private-a", None), Code::InvalidSocketId),
            (("k", "s", "1.2", "private a", None), Code::InvalidChannel),
            (("k", "s", "1.2", "orders", None), Code::InvalidChannel),
            (
                ("k", "s", "1.2", "#server-to-user-1", None),
                Code::InvalidChannel,
            ),
            (
                ("k", "s", "1.2", "presence-room", None),
                Code::InvalidArgument,
            ),
            (
                ("k", "s", "1.2", "presence-room", Some("{}")),
                Code::InvalidArgument,
            ),
            (
                ("k", "s", "1.2", "presence-room", Some(r#"{"user_id":""}"#)),
                Code::InvalidArgument,
            ),
            (
                ("k", "s", "1.2", "private-a", Some(member)),
                Code::InvalidArgument,
            ),
        ];
        for ((k, s, id, c, cd), want) in refused {
            assert_eq!(
                code(checked_authorize_channel(k, s, id, c, cd)),
                want,
                "{c} {cd:?}"
            );
        }
        assert!(checked_authenticate_user("k", "s", "1.2", r#"{"id":"1"}"#).is_ok());
        for bad in [r#"{"id":1}"#, r#"{"id":""}"#, "{}", "nope"] {
            assert_eq!(
                code(checked_authenticate_user("k", "s", "1.2", bad)),
                Code::InvalidArgument
            );
        }
        assert!(checked_shared_secret("private-encrypted-a", &[1; 32]).is_ok());
        assert_eq!(
            code(checked_shared_secret("private-a", &[1; 32])),
            Code::InvalidChannel
        );
        assert_eq!(
            code(checked_encrypt_event_data(
                "presence-a",
                &[1; 32],
                b"x",
                &[0; 24]
            )),
            Code::InvalidChannel
        );
    }
}
