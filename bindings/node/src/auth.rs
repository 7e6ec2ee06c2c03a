//! Signing and verification (`pushbus::auth`), for auth endpoints, webhooks and REST
//! requests. All pure and synchronous: no clock, no randomness (the JavaScript layer
//! passes the time and nonces in).

use napi::bindgen_prelude::Buffer;
use napi::Env;
use napi_derive::napi;
use pushbus::{auth, names};

use crate::error::{guard, JsErr};

/// The JSON body an auth endpoint returns for a private, presence or encrypted channel:
/// exactly what pusher-js and Laravel Echo expect.
#[napi(object)]
pub struct ChannelAuth {
    pub auth: String,
    /// Presence channels: the signed `channel_data`, verbatim.
    #[napi(js_name = "channel_data")]
    pub channel_data: Option<String>,
    /// `private-encrypted-` channels: base64 of the channel's key.
    #[napi(js_name = "shared_secret")]
    pub shared_secret: Option<String>,
}

/// The JSON body a user-authentication endpoint returns for `pusher:signin`.
#[napi(object)]
pub struct UserAuth {
    pub auth: String,
    #[napi(js_name = "user_data")]
    pub user_data: String,
}

/// One query parameter of a signed REST request.
#[napi(object)]
pub struct QueryParam {
    pub name: String,
    pub value: String,
}

fn master_key(key: Option<Buffer>) -> Result<Option<[u8; 32]>, JsErr> {
    key.map(|k| {
        <[u8; 32]>::try_from(&k[..]).map_err(|_| {
            JsErr::invalid_argument(format!(
                "the encryption master key must be 32 bytes, got {}",
                k.len()
            ))
        })
    })
    .transpose()
}

/// Signs a channel subscription. `channelData` (presence) is signed verbatim; for
/// `private-encrypted-` channels `masterKey` (32 bytes) is required and the response
/// carries the channel's `shared_secret`.
#[napi]
pub fn authorize_channel(
    env: &Env,
    key: String,
    secret: String,
    socket_id: String,
    channel: String,
    channel_data: Option<String>,
    master_key: Option<Buffer>,
) -> napi::Result<ChannelAuth> {
    guard(env, || {
        let signature = auth::checked_authorize_channel(
            &key,
            &secret,
            &socket_id,
            &channel,
            channel_data.as_deref(),
        )?;
        let encrypted = names::channel_type(&channel).kind == names::ChannelKind::EncryptedPrivate;
        let shared_secret = match (encrypted, self::master_key(master_key)?) {
            (true, Some(k)) => Some(auth::checked_shared_secret(&channel, &k)?),
            (true, None) => {
                return Err(JsErr::invalid_argument(format!(
                    "{channel:?} is an encrypted channel: set encryptionMasterKeyBase64 to authorize it"
                )))
            }
            (false, _) => None,
        };
        Ok(ChannelAuth {
            auth: signature,
            channel_data,
            shared_secret,
        })
    })
}

/// Signs a user sign-in; `userData` is signed verbatim.
#[napi]
pub fn authenticate_user(
    env: &Env,
    key: String,
    secret: String,
    socket_id: String,
    user_data: String,
) -> napi::Result<UserAuth> {
    guard(env, || {
        Ok(UserAuth {
            auth: auth::checked_authenticate_user(&key, &secret, &socket_id, &user_data)?,
            user_data,
        })
    })
}

/// Whether a webhook's `X-Pusher-Key` and `X-Pusher-Signature` match its raw body
/// (constant-time).
#[napi]
pub fn verify_webhook(
    key: String,
    secret: String,
    key_header: String,
    signature_header: String,
    body: Buffer,
) -> bool {
    auth::verify_webhook(&key, &secret, &key_header, &signature_header, &body)
}

/// The query parameters of a signed HTTP API request, `auth_signature` last.
/// `timestamp` is Unix time in seconds.
#[napi]
#[allow(clippy::too_many_arguments)] // mirrors pushbus::auth::sign_rest_request
pub fn sign_request(
    env: &Env,
    key: String,
    secret: String,
    method: String,
    path: String,
    params: Vec<QueryParam>,
    body: Buffer,
    timestamp: f64,
) -> napi::Result<Vec<QueryParam>> {
    guard(env, || {
        auth::check_credentials(&key, &secret)?;
        if !(timestamp.is_finite() && timestamp >= 0.0) {
            return Err(JsErr::invalid_argument(format!(
                "timestamp must be Unix time in seconds, got {timestamp}"
            )));
        }
        let extra: Vec<(String, String)> = params.into_iter().map(|p| (p.name, p.value)).collect();
        let signed = auth::sign_rest_request(
            &key,
            &secret,
            &method,
            &path,
            &extra,
            &body,
            timestamp as u64,
        );
        Ok(signed
            .into_iter()
            .map(|(name, value)| QueryParam { name, value })
            .collect())
    })
}

/// The `data` of an event on a `private-encrypted-` channel. `nonce` (24 bytes) must be
/// fresh for every event.
#[napi]
pub fn encrypt_event_data(
    env: &Env,
    channel: String,
    master_key: Buffer,
    plaintext: Buffer,
    nonce: Buffer,
) -> napi::Result<String> {
    guard(env, || {
        let key = self::master_key(Some(master_key))?.unwrap_or_default();
        let nonce = <[u8; 24]>::try_from(&nonce[..])
            .map_err(|_| JsErr::invalid_argument("the nonce must be 24 bytes"))?;
        Ok(auth::checked_encrypt_event_data(
            &channel, &key, &plaintext, &nonce,
        )?)
    })
}
