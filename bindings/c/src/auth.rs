//! Signatures: channel authorization, user authentication, encrypted channels,
//! webhook verification and HTTP API request signing. All pure computations from
//! `pushbus::auth`; none needs the runtime, none blocks.

use std::ffi::c_char;
use std::time::{SystemTime, UNIX_EPOCH};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use pushbus_core::auth;
use rand::RngCore;

use crate::error::{pushbus_result, Failure};
use crate::ffi::{bytes_arg, guard, opt_str_arg, str_arg, to_c_string, Out};

fn invalid(message: impl Into<String>) -> Failure {
    Failure::new(pushbus_result::InvalidArgument, message)
}

/// Copies a fixed-size key or nonce given as a pointer to `N` bytes.
///
/// # Safety
/// `ptr` is NULL or points to `N` readable bytes.
unsafe fn fixed_bytes<const N: usize>(ptr: *const u8, name: &str) -> Result<[u8; N], Failure> {
    let bytes = bytes_arg(ptr, N, name)?;
    let mut out = [0u8; N];
    out.copy_from_slice(bytes);
    Ok(out)
}

/// Signs a subscription to a `private-`, `presence-` or `private-encrypted-` channel:
/// writes the `auth` field of the auth endpoint's answer, `"<key>:<hex signature>"`.
///
/// Arguments: `key`/`secret` are the app's credentials; `socket_id` is the client's
/// (`"1234.5678"`); `channel` the channel name; `channel_data` the presence member
/// JSON exactly as it will be sent to the client (the signature covers its bytes),
/// required for `presence-` channels and NULL for the others. Every string is
/// pointer + length, UTF-8, borrowed for the call only; NULL is refused except for
/// `channel_data`. For `private-encrypted-` channels the answer also needs
/// `shared_secret` (see `pushbus_auth_shared_secret`).
///
/// On success writes to `*out_auth` a NUL-terminated string the caller owns and frees
/// with `pushbus_string_free`; on failure leaves `*out_auth` untouched.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_ARGUMENT` (empty key or secret,
/// `channel_data` missing or without a valid `user_id` for presence, or given for
/// another kind),
/// `INVALID_SOCKET_ID`, `INVALID_CHANNEL` (bad name, or a channel that needs no
/// signature). Threads: any; no I/O.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_auth_channel(
    key: *const c_char,
    key_len: usize,
    secret: *const c_char,
    secret_len: usize,
    socket_id: *const c_char,
    socket_id_len: usize,
    channel: *const c_char,
    channel_len: usize,
    channel_data: *const c_char,
    channel_data_len: usize,
    out_auth: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_auth, "out_auth")?;
        let key = str_arg(key, key_len, "key")?;
        let secret = str_arg(secret, secret_len, "secret")?;
        let socket_id = str_arg(socket_id, socket_id_len, "socket_id")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let channel_data = opt_str_arg(channel_data, channel_data_len, "channel_data")?;
        let auth = auth::checked_authorize_channel(key, secret, socket_id, channel, channel_data)?;
        out.write(to_c_string(auth)?);
        Ok(())
    })
}

/// Signs a user sign-in (`pusher:signin`): writes the `auth` field,
/// `"<key>:<hex signature>"`.
///
/// `user_data` is the user JSON exactly as it will be sent to the client (it must hold
/// an `id`; the signature covers its bytes). Strings are pointer + length, UTF-8,
/// borrowed for the call; none may be NULL. On success writes to `*out_auth` a string
/// the caller frees with `pushbus_string_free`; on failure leaves it untouched.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_ARGUMENT` (empty key or
/// secret, `user_data` without a non-empty string `id`), `INVALID_SOCKET_ID`.
/// Threads: any; no I/O.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_auth_user(
    key: *const c_char,
    key_len: usize,
    secret: *const c_char,
    secret_len: usize,
    socket_id: *const c_char,
    socket_id_len: usize,
    user_data: *const c_char,
    user_data_len: usize,
    out_auth: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_auth, "out_auth")?;
        let key = str_arg(key, key_len, "key")?;
        let secret = str_arg(secret, secret_len, "secret")?;
        let socket_id = str_arg(socket_id, socket_id_len, "socket_id")?;
        let user_data = str_arg(user_data, user_data_len, "user_data")?;
        let auth = auth::checked_authenticate_user(key, secret, socket_id, user_data)?;
        out.write(to_c_string(auth)?);
        Ok(())
    })
}

/// The `shared_secret` field of the auth answer for a `private-encrypted-` channel:
/// base64 of SHA-256(channel name + master key).
///
/// `channel` is pointer + length, UTF-8, borrowed; `master_key` points to exactly 32
/// bytes, borrowed. Neither may be NULL. On success writes to `*out_secret` a string
/// the caller frees with `pushbus_string_free`; on failure leaves it untouched.
/// Errors: `NULL_PARAMETER`, `INVALID_UTF8`, `INVALID_CHANNEL` (bad name, or not a
/// `private-encrypted-` channel). Threads: any; no I/O.
#[no_mangle]
pub unsafe extern "C" fn pushbus_auth_shared_secret(
    channel: *const c_char,
    channel_len: usize,
    master_key: *const u8,
    out_secret: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_secret, "out_secret")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let master_key = fixed_bytes::<32>(master_key, "master_key")?;
        out.write(to_c_string(auth::checked_shared_secret(
            channel,
            &master_key,
        )?)?);
        Ok(())
    })
}

/// Encrypts event data for a `private-encrypted-` channel: writes the `data` to
/// publish, `{"nonce":"<base64>","ciphertext":"<base64>"}` (NaCl secretbox keyed with
/// the channel's shared secret, as pusher-js expects).
///
/// `channel` and `plaintext` are pointer + length, UTF-8, borrowed; `master_key`
/// points to 32 bytes, borrowed. `nonce` is NULL for a fresh random nonce (what a
/// real publish must use) or points to 24 bytes (for reproducible tests only: never
/// reuse a nonce). On success writes to `*out_data` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `INVALID_CHANNEL`. Threads: any; no I/O.
#[no_mangle]
pub unsafe extern "C" fn pushbus_auth_encrypt_data(
    channel: *const c_char,
    channel_len: usize,
    master_key: *const u8,
    plaintext: *const c_char,
    plaintext_len: usize,
    nonce: *const u8,
    out_data: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_data, "out_data")?;
        let channel = str_arg(channel, channel_len, "channel")?;
        let master_key = fixed_bytes::<32>(master_key, "master_key")?;
        let plaintext = str_arg(plaintext, plaintext_len, "plaintext")?;
        let nonce = if nonce.is_null() {
            let mut n = [0u8; 24];
            // The OS generator: no state of ours to duplicate across a fork.
            rand::rngs::OsRng.fill_bytes(&mut n);
            n
        } else {
            fixed_bytes::<24>(nonce, "nonce")?
        };
        let data =
            auth::checked_encrypt_event_data(channel, &master_key, plaintext.as_bytes(), &nonce)?;
        out.write(to_c_string(data)?);
        Ok(())
    })
}

/// Verifies a webhook request: `key_header` (the `X-Pusher-Key` header) must be the
/// app's key and `signature_header` (`X-Pusher-Signature`) the HMAC of the raw body.
/// Compared in constant time.
///
/// Returns `PUSHBUS_RESULT_OK` when both match and `PUSHBUS_RESULT_INVALID_SIGNATURE`
/// when not. All strings are pointer + length, UTF-8, borrowed; `body` is the raw
/// request body (any bytes), borrowed. None may be NULL (use a non-NULL pointer with
/// length 0 for an empty body). Errors: `NULL_PARAMETER`, `INVALID_UTF8`,
/// `INVALID_ARGUMENT` (empty key or secret), `INVALID_SIGNATURE`. Threads: any; no I/O.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_webhook_verify(
    key: *const c_char,
    key_len: usize,
    secret: *const c_char,
    secret_len: usize,
    key_header: *const c_char,
    key_header_len: usize,
    signature_header: *const c_char,
    signature_header_len: usize,
    body: *const u8,
    body_len: usize,
) -> pushbus_result {
    guard(|| {
        let key = str_arg(key, key_len, "key")?;
        let secret = str_arg(secret, secret_len, "secret")?;
        let key_header = str_arg(key_header, key_header_len, "key_header")?;
        let signature_header = str_arg(signature_header, signature_header_len, "signature_header")?;
        let body = bytes_arg(body, body_len, "body")?;
        auth::check_credentials(key, secret)?;
        if auth::verify_webhook(key, secret, key_header, signature_header, body) {
            Ok(())
        } else {
            Err(Failure::new(
                pushbus_result::InvalidSignature,
                "webhook signature or key does not match",
            ))
        }
    })
}

/// What query keys and values keep unescaped; the rest is percent-encoded.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Signs an HTTP API request (`POST /apps/{id}/events`, `GET /apps/{id}/channels`,
/// ...): writes the complete query string to append after `?`, with `auth_key`,
/// `auth_timestamp`, `auth_version`, `body_md5` (for a non-empty body), the extra
/// parameters and `auth_signature` last, percent-encoded.
///
/// `method` (`"GET"`, `"POST"`) and `path` (`/apps/3/events`, without any mount prefix
/// a server strips) are pointer + length, UTF-8, borrowed, not NULL. `extra_query` is
/// NULL or the other parameters as a query string (`"info=user_count&filter_by_prefix=presence-"`,
/// percent-encoded as in a URL), borrowed. `body` is the exact body bytes, borrowed
/// (non-NULL, length 0 for none). `timestamp` is Unix seconds, 0 for now.
/// On success writes to `*out_query` a string the caller frees with
/// `pushbus_string_free`; on failure leaves it untouched. Errors: `NULL_PARAMETER`,
/// `INVALID_UTF8`, `INVALID_ARGUMENT` (empty key/secret/method, path not starting
/// with `/`, malformed or duplicate extra parameter). Threads: any; no I/O.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn pushbus_rest_sign(
    key: *const c_char,
    key_len: usize,
    secret: *const c_char,
    secret_len: usize,
    method: *const c_char,
    method_len: usize,
    path: *const c_char,
    path_len: usize,
    extra_query: *const c_char,
    extra_query_len: usize,
    body: *const u8,
    body_len: usize,
    timestamp: u64,
    out_query: *mut *mut c_char,
) -> pushbus_result {
    guard(|| {
        let out = Out::new(out_query, "out_query")?;
        let key = str_arg(key, key_len, "key")?;
        let secret = str_arg(secret, secret_len, "secret")?;
        let method = str_arg(method, method_len, "method")?;
        let path = str_arg(path, path_len, "path")?;
        let extra_query = opt_str_arg(extra_query, extra_query_len, "extra_query")?;
        let body = bytes_arg(body, body_len, "body")?;
        auth::check_credentials(key, secret)?;
        if method.is_empty() || !path.starts_with('/') {
            return Err(invalid(
                "method must not be empty and path must start with '/'",
            ));
        }
        let extra = auth::parse_rest_query(extra_query.unwrap_or(""))
            .map_err(|e| invalid(format!("extra_query: {e}")))?;
        let timestamp = if timestamp == 0 {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        } else {
            timestamp
        };
        let params = auth::sign_rest_request(key, secret, method, path, &extra, body, timestamp);
        let query = params
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    utf8_percent_encode(k, QUERY),
                    utf8_percent_encode(v, QUERY)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        out.write(to_c_string(query)?);
        Ok(())
    })
}
