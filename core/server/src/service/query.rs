//! What the HTTP API and the embedding API ask about an app: answered by the backend,
//! so on a cluster they are cluster-wide.

use super::AppService;
use crate::cluster::BackendError;
use crate::error::Error;
use crate::protocol::names::{self, ChannelKind};
use crate::views::{ChannelHistory, ChannelInfo, HistoryEvent, Member};

/// Kept events one history query returns at most.
pub const MAX_HISTORY_PAGE: usize = 1000;

/// A kept event's name and data, read back out of its frame.
fn history_event(
    serial: u64,
    time: u64,
    frame: &tokio_tungstenite::tungstenite::Utf8Bytes,
) -> Option<HistoryEvent> {
    #[derive(serde::Deserialize)]
    struct Frame {
        event: String,
        data: String,
    }
    let f: Frame = serde_json::from_str(frame.as_str()).ok()?;
    Some(HistoryEvent {
        serial,
        time,
        event: f.event.into(),
        data: f.data.into(),
    })
}

fn unavailable(e: BackendError) -> Error {
    Error::Backend(e.0)
}

impl AppService {
    /// A history channel's kept events after serial `since`, at most `limit` (1 to
    /// [`MAX_HISTORY_PAGE`]), oldest first, with its epoch and last serial.
    pub async fn history(
        &self,
        channel: &str,
        since: u64,
        limit: usize,
    ) -> Result<ChannelHistory, Error> {
        self.check_query_channel(channel)?;
        if !(1..=MAX_HISTORY_PAGE).contains(&limit) {
            return Err(Error::InvalidParameter(format!(
                "limit must be between 1 and {MAX_HISTORY_PAGE}, not {limit}"
            )));
        }
        if !self.keeps_history() {
            return Err(Error::InvalidParameter(
                "channel history is not yet shared between cluster nodes".into(),
            ));
        }
        let Some((_, rule)) = self.history.rule(channel) else {
            return Err(Error::InvalidParameter(format!(
                "channel {channel:?} keeps no history: no history rule of app {:?} names it",
                self.app_id
            )));
        };
        let backend = self.backend().map_err(unavailable)?;
        if backend.shares_history() {
            let h = backend
                .history_read(channel, rule.ttl.saturating_mul(1000))
                .await
                .map_err(unavailable)?;
            let events = h
                .events
                .iter()
                .filter(|e| e.0 > since)
                .take(limit)
                .filter_map(|(serial, time, frame)| history_event(*serial, *time, frame))
                .collect();
            return Ok(ChannelHistory {
                channel: channel.into(),
                epoch: (!h.epoch.is_empty()).then(|| h.epoch.as_str().into()),
                serial: h.last,
                events,
            });
        }
        let Some(snapshot) = self.history.snapshot(channel, since, limit) else {
            return Ok(ChannelHistory {
                channel: channel.into(),
                epoch: None,
                serial: 0,
                events: Vec::new(),
            });
        };
        let events = snapshot
            .events
            .into_iter()
            .filter_map(|k| history_event(k.serial, k.time, &k.frame))
            .collect();
        Ok(ChannelHistory {
            channel: channel.into(),
            epoch: Some(snapshot.epoch),
            serial: snapshot.last,
            events,
        })
    }

    /// Checks a channel name given to a query; returns its kind.
    pub fn check_query_channel(&self, channel: &str) -> Result<ChannelKind, Error> {
        names::validate_channel_name(channel, self.app.max_channel_name_length)
            .map(|t| t.kind)
            .map_err(|reason| Error::InvalidChannel {
                channel: channel.to_string(),
                reason,
            })
    }

    /// Occupied channels whose name starts with `prefix` ("" for all), by name.
    pub async fn channels(&self, prefix: &str) -> Result<Vec<ChannelInfo>, Error> {
        self.backend()
            .map_err(unavailable)?
            .channels(prefix)
            .await
            .map_err(unavailable)
    }

    /// One channel, occupied or not (the name is not checked: see
    /// [`AppService::check_query_channel`]).
    pub async fn channel(&self, channel: &str) -> Result<ChannelInfo, Error> {
        self.backend()
            .map_err(unavailable)?
            .channel(channel)
            .await
            .map_err(unavailable)
    }

    /// Members of a presence channel, sorted by user id.
    pub async fn members(&self, channel: &str) -> Result<Vec<Member>, Error> {
        if self.check_query_channel(channel)? != ChannelKind::Presence {
            return Err(Error::NotPresenceChannel(channel.to_string()));
        }
        self.backend()
            .map_err(unavailable)?
            .members(channel)
            .await
            .map_err(unavailable)
    }

    /// Live connections of the app (cluster-wide).
    pub async fn connection_count(&self) -> Result<usize, Error> {
        self.backend()
            .map_err(unavailable)?
            .connection_count()
            .await
            .map_err(unavailable)
    }

    /// Closes (4009) every connection signed in as `user_id` or present under that id
    /// in a presence channel, on every node. Returns how many on this node.
    pub async fn terminate_user(&self, user_id: &str) -> Result<usize, Error> {
        self.backend()
            .map_err(unavailable)?
            .terminate_user(user_id)
            .await
            .map_err(unavailable)
    }
}
