//! `NativeClient`: a `pushbus_client::Client` (the Pusher HTTP API, for pushbus or any
//! Pusher-compatible server). Every request runs on the tokio runtime and settles a
//! promise; the client keeps its connections alive between requests.

use std::time::Duration;

use napi::bindgen_prelude::{Buffer, PromiseRaw};
use napi::Env;
use napi_derive::napi;
use pushbus_client::{BatchEvent, Client, ClientError, ClientOptions};
use serde_json::Value;

use crate::error::{guard, promise, JsErr};

/// `ClientError` to a coded JS error (the core's name for the code); an answer with an
/// error status carries `status` and `body`.
impl From<ClientError> for JsErr {
    fn from(e: ClientError) -> JsErr {
        let err = JsErr::new(e.code().name(), e.to_string());
        match e {
            ClientError::Status { status, body } => JsErr {
                http: Some((status, body)),
                ..err
            },
            _ => err,
        }
    }
}

/// Where the server is and who we are to it.
#[napi(object)]
pub struct NativeClientOptions {
    pub host: String,
    pub port: u32,
    pub tls: bool,
    pub app_id: String,
    pub key: String,
    pub secret: String,
    /// Per request, connecting included, in milliseconds.
    pub timeout_ms: u32,
    /// 32 bytes; needed to trigger on `private-encrypted-` channels.
    pub encryption_master_key: Option<Buffer>,
}

/// One event of `triggerBatch`; `data` is sent verbatim.
#[napi(object)]
pub struct NativeBatchEvent {
    pub channel: String,
    pub name: String,
    pub data: String,
    pub socket_id: Option<String>,
}

/// A REST client. Wrapped by `Client` in `index.js`; not meant to be used directly.
#[napi]
pub struct NativeClient {
    client: Client,
}

#[napi]
impl NativeClient {
    #[napi(constructor)]
    pub fn new(env: &Env, options: NativeClientOptions) -> napi::Result<NativeClient> {
        guard(env, || {
            let port = u16::try_from(options.port).map_err(|_| {
                JsErr::invalid_argument(format!("port must be 0 to 65535, got {}", options.port))
            })?;
            let encryption_master_key = match options.encryption_master_key {
                None => None,
                Some(k) => Some(<[u8; 32]>::try_from(&k[..]).map_err(|_| {
                    JsErr::invalid_argument(format!(
                        "the encryption master key must be 32 bytes, got {}",
                        k.len()
                    ))
                })?),
            };
            let client = Client::new(ClientOptions {
                host: options.host,
                port,
                tls: options.tls,
                app_id: options.app_id,
                key: options.key,
                secret: options.secret,
                timeout: Duration::from_millis(u64::from(options.timeout_ms)),
                encryption_master_key,
            })?;
            Ok(NativeClient { client })
        })
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn trigger<'env>(
        &self,
        env: &'env Env,
        channels: Vec<String>,
        event: String,
        data: String,
        socket_id: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let client = self.client.clone();
        promise(
            env,
            async move {
                Ok(client
                    .trigger(&channels, &event, &data, socket_id.as_deref())
                    .await?)
            },
            |()| (),
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn trigger_batch<'env>(
        &self,
        env: &'env Env,
        events: Vec<NativeBatchEvent>,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let client = self.client.clone();
        let events: Vec<BatchEvent> = events
            .into_iter()
            .map(|e| BatchEvent {
                channel: e.channel,
                name: e.name,
                data: e.data,
                socket_id: e.socket_id,
            })
            .collect();
        promise(
            env,
            async move { Ok(client.trigger_batch(&events).await?) },
            |()| (),
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn send_to_user<'env>(
        &self,
        env: &'env Env,
        user_id: String,
        event: String,
        data: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let client = self.client.clone();
        promise(
            env,
            async move { Ok(client.send_to_user(&user_id, &event, &data).await?) },
            |()| (),
        )
    }

    /// The JSON body of `GET /channels`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn channels<'env>(
        &self,
        env: &'env Env,
        filter_by_prefix: Option<String>,
        info: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move {
                Ok(client
                    .channels(filter_by_prefix.as_deref(), info.as_deref())
                    .await?)
            },
            |v| v,
        )
    }

    /// The JSON body of `GET /channels/{name}`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn channel<'env>(
        &self,
        env: &'env Env,
        name: String,
        info: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move { Ok(client.channel(&name, info.as_deref()).await?) },
            |v| v,
        )
    }

    /// The JSON body of `GET /channels/{name}/users`.
    #[napi(ts_return_type = "Promise<any>")]
    pub fn users<'env>(
        &self,
        env: &'env Env,
        channel: String,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(env, async move { Ok(client.users(&channel).await?) }, |v| v)
    }

    /// The JSON body of `GET /users/{userId}` (pushbus): a `UserStatus`.
    #[napi(ts_return_type = "Promise<UserStatus>")]
    pub fn user_status<'env>(
        &self,
        env: &'env Env,
        user_id: String,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move { Ok(client.user_status(&user_id).await?) },
            |v| v,
        )
    }

    /// The JSON body of `GET /users` (pushbus): an `OnlineUsers` page.
    #[napi(ts_return_type = "Promise<OnlineUsers>")]
    pub fn online_users<'env>(
        &self,
        env: &'env Env,
        after: Option<String>,
        limit: Option<u32>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move {
                Ok(client
                    .online_users(after.as_deref(), limit.map(|l| l as usize))
                    .await?)
            },
            |v| v,
        )
    }

    /// The JSON body of `GET /delivery_log` (pushbus): `{ events }`, newest first.
    #[napi(ts_return_type = "Promise<{ events: DeliveryRecord[] }>")]
    pub fn delivery_log<'env>(
        &self,
        env: &'env Env,
        limit: Option<u32>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move { Ok(client.delivery_log(limit.map(|l| l as usize)).await?) },
            |v| v,
        )
    }

    /// The JSON body of `GET /channels/{channel}/events` (pushbus): a `ChannelHistory`.
    #[napi(ts_return_type = "Promise<ChannelHistory>")]
    pub fn history<'env>(
        &self,
        env: &'env Env,
        channel: String,
        since: Option<i64>,
        limit: Option<u32>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move {
                let since = since
                    .map(|s| {
                        u64::try_from(s).map_err(|_| {
                            JsErr::invalid_argument(format!("since must be 0 or more, not {s}"))
                        })
                    })
                    .transpose()?;
                Ok(client
                    .history(&channel, since, limit.map(|l| l as usize))
                    .await?)
            },
            |v| v,
        )
    }

    /// The JSON body of `POST /users/{userId}/location` (pushbus): `{ online }`.
    #[napi(ts_return_type = "Promise<{ online: boolean }>")]
    pub fn set_user_location<'env>(
        &self,
        env: &'env Env,
        user_id: String,
        location: Option<String>,
    ) -> napi::Result<PromiseRaw<'env, Value>> {
        let client = self.client.clone();
        promise(
            env,
            async move {
                Ok(client
                    .set_user_location(&user_id, location.as_deref())
                    .await?)
            },
            |v| v,
        )
    }

    #[napi(ts_return_type = "Promise<void>")]
    pub fn terminate_user_connections<'env>(
        &self,
        env: &'env Env,
        user_id: String,
    ) -> napi::Result<PromiseRaw<'env, ()>> {
        let client = self.client.clone();
        promise(
            env,
            async move { Ok(client.terminate_user_connections(&user_id).await?) },
            |()| (),
        )
    }
}
