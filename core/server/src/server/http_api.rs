//! The Pusher HTTP API (PROTOCOL.md §6): authenticated `/apps/{id}/…` routes for
//! triggering events and querying channels, users and connections.
//!
//! Success is always 200 with a JSON body (`{}` when there is nothing to say): the PHP
//! SDK treats anything else as a failed broadcast. Errors are `{"error": "…"}` with the
//! status of [`Error::http_status`].

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::state::ServerState;
use crate::auth;
use crate::error::Error;
use crate::protocol::names::ChannelKind;
use crate::service::AppService;

pub(crate) type HttpResponse = Response<Full<Bytes>>;

pub(crate) fn json_response(status: StatusCode, body: String) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

pub(crate) fn error_response(e: &Error) -> HttpResponse {
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    json_response(status, json!({ "error": e.to_string() }).to_string())
}

/// Decodes a query string into pairs (`+` is a space, then percent-decoding).
pub(crate) fn query_params(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let s = s.replace('+', " ");
    percent_encoding::percent_decode_str(&s)
        .decode_utf8_lossy()
        .into_owned()
}

enum Route {
    Events,
    BatchEvents,
    Channels,
    Channel(String),
    Users(String),
    Terminate(String),
    Connections,
    OnlineUsers,
    UserStatus(String),
    UserLocation(String),
    DeliveryLog,
    History(String),
}

fn parse_route(method: &Method, rest: &str) -> Result<Route, Error> {
    let parts: Vec<&str> = rest.split('/').collect();
    let (route, wanted) = match parts.as_slice() {
        ["events"] => (Route::Events, Method::POST),
        ["batch_events"] => (Route::BatchEvents, Method::POST),
        ["channels"] => (Route::Channels, Method::GET),
        ["channels", name] => (Route::Channel(decode(name)), Method::GET),
        ["channels", name, "users"] => (Route::Users(decode(name)), Method::GET),
        ["users", id, "terminate_connections"] => (Route::Terminate(decode(id)), Method::POST),
        ["connections"] => (Route::Connections, Method::GET),
        ["users"] => (Route::OnlineUsers, Method::GET),
        ["users", id] => (Route::UserStatus(decode(id)), Method::GET),
        ["users", id, "location"] => (Route::UserLocation(decode(id)), Method::POST),
        ["delivery_log"] => (Route::DeliveryLog, Method::GET),
        ["channels", name, "events"] => (Route::History(decode(name)), Method::GET),
        _ => return Err(Error::RouteNotFound),
    };
    if *method != wanted {
        return Err(Error::MethodNotAllowed);
    }
    Ok(route)
}

/// The route of a path after `/apps/{id}/`, as a metrics label (whatever the method).
fn route_label(rest: &str) -> &'static str {
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["events"] => "events",
        ["batch_events"] => "batch_events",
        ["channels"] => "channels",
        ["channels", _] => "channel",
        ["channels", _, "users"] => "channel_users",
        ["users", _, "terminate_connections"] => "terminate_connections",
        ["connections"] => "connections",
        ["users"] => "users",
        ["users", _] => "user",
        ["users", _, "location"] => "user_location",
        ["delivery_log"] => "delivery_log",
        ["channels", _, "events"] => "channel_events",
        _ => "unknown",
    }
}

/// Serves one request whose path (mount prefix removed) starts with `/apps/`.
pub(crate) async fn handle(
    req: Request<Incoming>,
    state: &ServerState,
    path: &str,
) -> HttpResponse {
    let labels = state.metrics.as_ref().map(|_| {
        let rest = path.strip_prefix("/apps/").unwrap_or("");
        let (app_id, rest) = rest.split_once('/').unwrap_or((rest, ""));
        let app = state
            .app_by_id(&decode(app_id))
            .ok()
            .map(|s| s.app_id.clone());
        (app, route_label(rest))
    });
    let resp = match handle_inner(req, state, path).await {
        Ok(body) => json_response(StatusCode::OK, body.to_string()),
        Err(e) => error_response(&e),
    };
    if let (Some(m), Some((app, route))) = (&state.metrics, labels) {
        m.http_request(app.as_ref(), route, resp.status().as_u16());
    }
    resp
}

async fn handle_inner(
    req: Request<Incoming>,
    state: &ServerState,
    path: &str,
) -> Result<Value, Error> {
    let rest = path.strip_prefix("/apps/").ok_or(Error::RouteNotFound)?;
    let (app_id, rest) = rest.split_once('/').ok_or(Error::RouteNotFound)?;
    let route = parse_route(req.method(), rest)?;
    let service = state.app_by_id(&decode(app_id))?;

    let method = req.method().as_str().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let max = state.config.max_request_size;
    let body = super::body::read(req.into_body(), max, &state.bodies).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let app = &service.app;
    auth::verify_rest_request(
        &app.key,
        &app.secret,
        &method,
        path,
        &raw_query,
        &body,
        now,
        state.config.timestamp_window,
    )
    .map_err(Error::Unauthorized)?;
    if !app.enabled {
        return Err(Error::AppDisabled(app.id.clone()));
    }
    let params = query_params(&raw_query);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };

    match route {
        Route::Events => {
            let item: TriggerItem = parse_body(&body)?;
            trigger(service, &item).await
        }
        Route::BatchEvents => batch(service, &body).await,
        Route::Channels => {
            channels(
                service,
                param("filter_by_prefix").unwrap_or(""),
                param("info"),
            )
            .await
        }
        Route::Channel(name) => channel(service, &name, param("info")).await,
        Route::Users(name) => users(service, &name).await,
        Route::Terminate(user_id) => {
            service.terminate_user(&user_id).await?;
            Ok(json!({}))
        }
        Route::Connections => Ok(json!({ "connections": service.connection_count().await? })),
        Route::OnlineUsers => {
            let limit = match param("limit") {
                None => 100,
                Some(v) => v.parse().map_err(|_| {
                    Error::InvalidParameter(format!("limit must be a number, not {v:?}"))
                })?,
            };
            let page = service
                .online_users(param("after").unwrap_or(""), limit)
                .await?;
            Ok(serde_json::to_value(page).unwrap_or_default())
        }
        Route::History(name) => {
            let number = |key: &str, default: u64| -> Result<u64, Error> {
                match param(key) {
                    None => Ok(default),
                    Some(v) => v.parse().map_err(|_| {
                        Error::InvalidParameter(format!(
                            "{key} must be a non-negative integer, not {v:?}"
                        ))
                    }),
                }
            };
            let (since, limit) = (number("since", 0)?, number("limit", 100)?);
            let page = service.history(&name, since, limit as usize).await?;
            Ok(serde_json::to_value(page).unwrap_or_default())
        }
        Route::DeliveryLog => {
            let limit = match param("limit") {
                None => 100,
                Some(v) => v.parse().map_err(|_| {
                    Error::InvalidParameter(format!("limit must be a number, not {v:?}"))
                })?,
            };
            let events = service.delivery_log(limit).await?;
            Ok(json!({ "events": events }))
        }
        Route::UserStatus(user_id) => {
            let status = service.user_status(&user_id).await?;
            Ok(serde_json::to_value(status).unwrap_or_default())
        }
        Route::UserLocation(user_id) => {
            #[derive(Deserialize)]
            struct Body {
                location: Option<String>,
            }
            let body: Body = parse_body(&body)?;
            let online = service
                .set_user_location(&user_id, body.location.as_deref())
                .await?;
            Ok(json!({ "online": online }))
        }
    }
}

/// The attributes of an `info` parameter: `user_count,subscription_count`.
fn comma_list(s: Option<&str>) -> Vec<&str> {
    s.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::MalformedJson(e.to_string()))
}

/// One event as the SDKs send it: `channels` (array) or `channel` (the PHP SDK's form
/// for a single channel and every batch item).
#[derive(Deserialize)]
struct TriggerItem {
    name: Option<Value>,
    data: Option<Value>,
    channels: Option<Vec<String>>,
    channel: Option<String>,
    socket_id: Option<Value>,
    info: Option<String>,
}

struct Trigger<'a> {
    name: &'a str,
    data: &'a str,
    channels: Vec<String>,
    socket_id: Option<&'a str>,
    info: Vec<&'a str>,
}

impl TriggerItem {
    fn checked(&self) -> Result<Trigger<'_>, Error> {
        let Some(Value::String(name)) = &self.name else {
            return Err(Error::MissingField("name"));
        };
        let Some(Value::String(data)) = &self.data else {
            return Err(Error::MissingField("data"));
        };
        let channels = match (&self.channels, &self.channel) {
            (Some(list), _) => list.clone(),
            (None, Some(one)) => vec![one.clone()],
            (None, None) => return Err(Error::MissingField("channels")),
        };
        let socket_id = match &self.socket_id {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(other) => return Err(Error::InvalidSocketId(other.to_string())),
        };
        let info = comma_list(self.info.as_deref());
        Ok(Trigger {
            name,
            data,
            channels,
            socket_id,
            info,
        })
    }
}

async fn trigger(service: &AppService, item: &TriggerItem) -> Result<Value, Error> {
    let t = item.checked()?;
    check_trigger_info(&t.info)?;
    let except = service.check_publish(&t.channels, t.name, t.data, t.socket_id)?;
    let receipt = service.publish_checked(&t.channels, t.name, t.data, except)?;
    // Answered once the other nodes got it too: never a success claimed for them.
    service.confirm(receipt).await?;
    if t.info.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "channels": trigger_info(service, &t).await? }))
}

fn check_trigger_info(info: &[&str]) -> Result<(), Error> {
    match info
        .iter()
        .find(|a| !matches!(**a, "user_count" | "subscription_count"))
    {
        Some(bad) => Err(Error::InvalidInfo(format!(
            "{bad:?} (events accept user_count and subscription_count)"
        ))),
        None => Ok(()),
    }
}

/// The `info` answer of a trigger: per channel, the attributes that apply to its type.
async fn trigger_info(service: &AppService, t: &Trigger<'_>) -> Result<Map<String, Value>, Error> {
    let mut out = Map::new();
    for channel in &t.channels {
        let c = service.channel(channel).await?;
        let mut attrs = Map::new();
        if t.info.contains(&"user_count") {
            if let Some(n) = c.user_count {
                attrs.insert("user_count".into(), n.into());
            }
        }
        if t.info.contains(&"subscription_count") && c.user_count.is_none() {
            attrs.insert("subscription_count".into(), c.subscription_count.into());
        }
        out.insert(channel.clone(), Value::Object(attrs));
    }
    Ok(out)
}

async fn batch(service: &AppService, body: &[u8]) -> Result<Value, Error> {
    #[derive(Deserialize)]
    struct Batch {
        batch: Option<Vec<TriggerItem>>,
    }
    let items = parse_body::<Batch>(body)?
        .batch
        .ok_or(Error::MissingField("batch"))?;
    let max = service.app.max_batch_size;
    if items.len() > max {
        return Err(Error::BatchTooLarge {
            count: items.len(),
            max,
        });
    }
    // Check every item first: a batch is delivered whole or not at all.
    let checked = items
        .iter()
        .map(|i| {
            let t = i.checked()?;
            check_trigger_info(&t.info)?;
            let except = service.check_publish(&t.channels, t.name, t.data, t.socket_id)?;
            Ok((t, except))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut unreached = None;
    let mut receipt = Default::default();
    for (t, except) in &checked {
        match service.publish_checked(&t.channels, t.name, t.data, *except) {
            Ok(r) => receipt = r,
            Err(e) => unreached = Some(e),
        }
    }
    if let Some(e) = unreached {
        return Err(e);
    }
    service.confirm(receipt).await?;
    if checked.iter().all(|(t, _)| t.info.is_empty()) {
        return Ok(json!({}));
    }
    let mut answers = Vec::with_capacity(checked.len());
    for (t, _) in &checked {
        answers.push(if t.info.is_empty() {
            json!({})
        } else {
            // A batch item names one channel; its attributes are the item's answer.
            trigger_info(service, t)
                .await?
                .into_iter()
                .next()
                .map_or(json!({}), |(_, v)| v)
        });
    }
    Ok(json!({ "batch": answers }))
}

async fn channels(service: &AppService, prefix: &str, info: Option<&str>) -> Result<Value, Error> {
    let attrs = comma_list(info);
    let want_users = match attrs.as_slice() {
        [] => false,
        ["user_count"] if prefix.starts_with("presence-") => true,
        ["user_count"] => {
            return Err(Error::InvalidInfo(
                "user_count is only available with filter_by_prefix=presence-".into(),
            ))
        }
        _ => {
            return Err(Error::InvalidInfo(format!(
                "{info:?} (the channel list accepts only user_count)"
            )))
        }
    };
    let mut out = Map::new();
    for c in service.channels(prefix).await? {
        let mut attrs = Map::new();
        if want_users {
            attrs.insert("user_count".into(), c.user_count.unwrap_or(0).into());
        }
        out.insert(c.name.to_string(), Value::Object(attrs));
    }
    Ok(json!({ "channels": out }))
}

async fn channel(service: &AppService, name: &str, info: Option<&str>) -> Result<Value, Error> {
    let presence = service.check_query_channel(name)? == ChannelKind::Presence;
    let is_cache = crate::protocol::names::channel_type(name).cache;
    let c = service.channel(name).await?;
    let mut out = Map::new();
    out.insert("occupied".into(), c.occupied.into());
    for attr in comma_list(info) {
        match attr {
            "user_count" if presence => {
                out.insert("user_count".into(), c.user_count.unwrap_or(0).into());
            }
            "subscription_count" if !presence => {
                out.insert("subscription_count".into(), c.subscription_count.into());
            }
            "cache" if is_cache => {
                let cache = c
                    .cache
                    .as_ref()
                    .map_or(Value::Null, |k| json!({"data": &*k.data, "ttl": k.ttl}));
                out.insert("cache".into(), cache);
            }
            other => {
                return Err(Error::InvalidInfo(format!(
                    "{other:?} does not apply to channel {name:?}"
                )))
            }
        }
    }
    Ok(Value::Object(out))
}

async fn users(service: &AppService, name: &str) -> Result<Value, Error> {
    let users: Vec<Value> = service
        .members(name)
        .await?
        .iter()
        .map(|m| json!({ "id": &*m.id }))
        .collect();
    Ok(json!({ "users": users }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        assert_eq!(
            query_params("info=user_count%2Csubscription_count&a=b+c&&x"),
            vec![
                (
                    "info".to_string(),
                    "user_count,subscription_count".to_string()
                ),
                ("a".to_string(), "b c".to_string()),
                ("x".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn routes() {
        assert!(matches!(
            parse_route(&Method::POST, "events"),
            Ok(Route::Events)
        ));
        assert!(matches!(
            parse_route(&Method::GET, "events"),
            Err(Error::MethodNotAllowed)
        ));
        assert!(matches!(
            parse_route(&Method::GET, "channels/presence-a/users"),
            Ok(Route::Users(n)) if n == "presence-a"
        ));
        assert!(matches!(
            parse_route(&Method::GET, "nope"),
            Err(Error::RouteNotFound)
        ));
    }

    #[test]
    fn trigger_item_forms() {
        let i: TriggerItem =
            serde_json::from_str(r#"{"name":"e","data":"d","channel":"a"}"#).unwrap();
        assert_eq!(i.checked().unwrap().channels, vec!["a"]);
        let i: TriggerItem =
            serde_json::from_str(r#"{"name":"e","data":{"x":1},"channel":"a"}"#).unwrap();
        assert!(matches!(i.checked(), Err(Error::MissingField("data"))));
        let i: TriggerItem = serde_json::from_str(r#"{"name":"e","data":"d"}"#).unwrap();
        assert!(matches!(i.checked(), Err(Error::MissingField("channels"))));
    }
}
