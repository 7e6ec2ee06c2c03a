//! The debug console's routes under `{path}/console`: the page and its two assets
//! (embedded in the binary, served with a CSP that allows nothing but this origin),
//! and the JSON API the page polls, each call with `Authorization: Bearer <token>`.
//! The token never travels in a URL, so it stays out of access logs.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};

use super::http_api::{self, HttpResponse};
use super::state::ServerState;
use crate::error::Error;
use crate::views::{ChannelInfo, Member};

const INDEX: &str = include_str!("../console/assets/index.html");
const SCRIPT: &str = include_str!("../console/assets/console.js");
const STYLE: &str = include_str!("../console/assets/console.css");
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Answers `rest` (the path after `{path}/console`).
pub(super) async fn route(
    req: Request<Incoming>,
    state: Arc<ServerState>,
    rest: &str,
) -> HttpResponse {
    match rest {
        "" | "/" => asset(
            &INDEX.replace("{{BASE}}", &state.config.path),
            "text/html; charset=utf-8",
        ),
        "/console.js" => asset(SCRIPT, "text/javascript; charset=utf-8"),
        "/console.css" => asset(STYLE, "text/css; charset=utf-8"),
        api => match api.strip_prefix("/api/") {
            Some(call) => {
                let call = call.to_string();
                if !authorized(&req, &state) {
                    return json(
                        StatusCode::UNAUTHORIZED,
                        &serde_json::json!({ "error": "wrong console token" }),
                    );
                }
                match handle(req, &state, &call).await {
                    Ok(resp) => resp,
                    Err(e) => http_api::error_response(&e),
                }
            }
            None => http_api::error_response(&Error::RouteNotFound),
        },
    }
}

fn asset(body: &str, content_type: &'static str) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert("content-security-policy", HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// Whether the request carries the console token (compared in constant time).
fn authorized(req: &Request<Incoming>, state: &ServerState) -> bool {
    let token = state.config.console.token.as_deref().unwrap_or_default();
    !token.is_empty() && super::routes::bearer_is(req, token)
}

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    let mut resp = http_api::json_response(status, serde_json::to_string(body).unwrap_or_default());
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Serialize)]
struct AppOverview {
    id: Arc<str>,
    /// Cluster-wide, as `GET /apps/{id}/connections` would say.
    connections: usize,
    /// Occupied channels, at most [`MAX_CHANNELS`] (the most subscribed first).
    channels: Vec<ChannelInfo>,
    /// Occupied channels not listed.
    more_channels: usize,
}

const MAX_CHANNELS: usize = 200;

#[derive(Deserialize)]
struct PublishRequest {
    app: String,
    channel: String,
    event: String,
    data: String,
}

async fn handle(
    req: Request<Incoming>,
    state: &ServerState,
    call: &str,
) -> Result<HttpResponse, Error> {
    let query = req.uri().query().unwrap_or("").to_string();
    let param = |name: &str| {
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    match (req.method().clone(), call) {
        (Method::GET, "overview") => {
            let mut apps = Vec::new();
            for app in state.apps() {
                let mut channels = app.channels("").await?;
                let total = channels.len();
                channels.sort_by(|a, b| {
                    b.subscription_count
                        .cmp(&a.subscription_count)
                        .then_with(|| a.name.cmp(&b.name))
                });
                channels.truncate(MAX_CHANNELS);
                apps.push(AppOverview {
                    id: app.app_id.clone(),
                    connections: app.connection_count().await?,
                    more_channels: total - channels.len(),
                    channels,
                });
            }
            let node = state.node.get().map_or("single", |n| n);
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "node": node, "apps": apps }),
            ))
        }
        (Method::GET, "members") => {
            let app = state.app_by_id(&param("app").unwrap_or_default())?;
            let users: Vec<Member> = app.members(&param("channel").unwrap_or_default()).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "users": users })))
        }
        (Method::GET, "delivery_log") => {
            let app = state.app_by_id(&param("app").unwrap_or_default())?;
            let records = app.delivery_log(50).await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "size": app.app.delivery_log.size, "events": records }),
            ))
        }
        (Method::GET, "online_users") => {
            let app = state.app_by_id(&param("app").unwrap_or_default())?;
            let page = app.online_users("", 100).await?;
            Ok(json(StatusCode::OK, &page))
        }
        (Method::GET, "events") => {
            let after = param("after").and_then(|a| a.parse().ok()).unwrap_or(0);
            Ok(json(StatusCode::OK, &state.console.since(after)))
        }
        (Method::POST, "publish") => {
            let max = state.config.max_request_size;
            let body = super::body::read(req.into_body(), max, &state.bodies).await?;
            let p: PublishRequest = serde_json::from_slice(&body)
                .map_err(|e| Error::MalformedJson(format!("console publish: {e}")))?;
            state
                .app_by_id(&p.app)?
                .publish(&[p.channel], &p.event, &p.data, None)?;
            Ok(json(StatusCode::OK, &serde_json::json!({})))
        }
        _ => Err(Error::RouteNotFound),
    }
}
