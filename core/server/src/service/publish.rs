//! Published events (HTTP API, embedding API) and client events: checked once, each
//! serialised once per channel, delivered to this node's subscribers and handed to the
//! backend for the other nodes.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::AppService;
use crate::app::registry::Serial;
use crate::cluster::{BackendError, Receipt};
use crate::config::LoggedPayload;
use crate::error::Error;
use crate::lifecycle::EventKind;
use crate::protocol;
use crate::protocol::names::{self, ChannelKind};
use crate::protocol::socket_id::SocketId;
use crate::views::DeliveryRecord;

/// Delivery-log records one query returns at most.
pub const MAX_DELIVERY_LOG_PAGE: usize = 1000;

impl AppService {
    /// Validates and publishes one event to `channels` (PROTOCOL.md §3.1, §6.2). All
    /// checks run before anything is delivered, so an invalid request delivers nothing.
    pub fn publish(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<(), Error> {
        let except = self.check_publish(channels, event, data, except)?;
        self.publish_checked(channels, event, data, except)
            .map(|_| ())
    }

    /// The checks of [`AppService::publish`]; returns the socket to exclude.
    pub fn check_publish(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<&str>,
    ) -> Result<Option<SocketId>, Error> {
        let app = &self.app;
        if channels.is_empty() {
            return Err(Error::NoChannels);
        }
        if channels.len() > app.max_channels_per_event {
            return Err(Error::TooManyChannels {
                count: channels.len(),
                max: app.max_channels_per_event,
            });
        }
        for channel in channels {
            let t = names::validate_channel_name(channel, app.max_channel_name_length).map_err(
                |reason| Error::InvalidChannel {
                    channel: channel.clone(),
                    reason,
                },
            )?;
            if t.kind == ChannelKind::EncryptedPrivate && channels.len() > 1 {
                return Err(Error::EncryptedWithOthers);
            }
        }
        validate_event_name(event, app.max_event_name_length)?;
        if data.len() > app.max_event_data {
            return Err(Error::DataTooLarge {
                size: data.len(),
                max: app.max_event_data,
            });
        }
        match except {
            None => Ok(None),
            // A well-formed id we never issued excludes nobody.
            Some(s) if names::is_valid_socket_id(s) => Ok(SocketId::parse(s)),
            Some(s) => Err(Error::InvalidSocketId(s.to_string())),
        }
    }

    /// Publishes an event that [`AppService::check_publish`] accepted. Local delivery
    /// always happens; an error says the other nodes could not be reached. The receipt
    /// is for [`AppService::confirm`].
    pub fn publish_checked(
        &self,
        channels: &[String],
        event: &str,
        data: &str,
        except: Option<SocketId>,
    ) -> Result<Receipt, Error> {
        let backend = self.backend().map_err(|e| Error::Backend(e.0))?;
        if let Some(m) = &self.metrics {
            m.published.inc_by(channels.len() as u64);
        }
        let mut unreached = None;
        let mut receipt = Receipt::default();
        for channel in channels {
            let frame = protocol::channel_event(event, channel, data, None);
            // A cluster's history channel: Redis gives the serial and every node,
            // this one too, delivers it from there, in serial order.
            if let (true, Some((_, rule))) = (backend.shares_history(), self.history.rule(channel))
            {
                if names::channel_type(channel).cache {
                    backend.store_last(channel, &frame);
                }
                let logged = self.log_delivery(&**backend, channel, event, data, 0, except, None);
                let ttl_ms = rule.ttl.saturating_mul(1000);
                match backend.publish_history(
                    channel,
                    &frame,
                    except,
                    logged.as_deref(),
                    rule.events,
                    ttl_ms,
                ) {
                    Ok(r) => receipt = receipt.max(r),
                    Err(e) => unreached = Some(e),
                }
                continue;
            }
            // Kept before it is delivered: a subscriber joining meanwhile finds it in
            // the history, or gets it live after what it was given (see `subscribe`).
            let kept = if self.keeps_history() {
                self.history.append(channel, &frame)
            } else {
                None
            };
            let delivered = match kept {
                Some((epoch, serial)) => {
                    let serial_frame = protocol::serial(channel, &epoch, serial);
                    let s = Serial {
                        serial,
                        frame: &serial_frame,
                    };
                    self.registry.deliver_serial(channel, &frame, except, &s)
                }
                None => self.deliver_local(channel, &frame, except),
            };
            // Kept after delivery: a subscriber joining meanwhile either got the event
            // or finds it kept (see `subscribe`).
            if names::channel_type(channel).cache {
                backend.store_last(channel, &frame);
            }
            let logged =
                self.log_delivery(&**backend, channel, event, data, delivered, except, None);
            let sent = match &logged {
                Some(id) => backend.broadcast_logged(channel, &frame, except, id),
                None => backend.broadcast(channel, &frame, except),
            };
            match sent {
                Ok(r) => receipt = receipt.max(r),
                Err(e) => unreached = Some(e),
            }
        }
        match unreached {
            None => Ok(receipt),
            Some(e) => Err(self.unreached(e)),
        }
    }

    /// Waits until the broadcasts up to `receipt` reached the other nodes' bus; an
    /// error when they did not (the events were delivered on this node only).
    pub async fn confirm(&self, receipt: Receipt) -> Result<(), Error> {
        let backend = self.backend().map_err(|e| Error::Backend(e.0))?;
        backend
            .confirm(receipt)
            .await
            .map_err(|e| self.unreached(e))
    }

    /// A publish that reached this node's subscribers only: logged, counted, and
    /// answered with an error, never claimed delivered.
    fn unreached(&self, e: BackendError) -> Error {
        let n = self.unreached.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(
            "app {}: an event reached this node's subscribers only ({n} so far): {}",
            self.app_id,
            e.0
        );
        Error::Backend(format!(
            "delivered on this node, not sent to the other nodes: {}",
            e.0
        ))
    }

    /// Relays a client event that the session checked (membership, type, size, rate).
    pub fn client_event(
        &self,
        sender: SocketId,
        channel: &Arc<str>,
        event: String,
        data: String,
        presence_user: Option<Arc<str>>,
    ) {
        let frame = protocol::channel_event(&event, channel, &data, presence_user.as_deref());
        let delivered = self.deliver_local(channel, &frame, Some(sender));
        let logged = match self.backend() {
            Ok(backend) if self.app.delivery_log.client_events => self.log_delivery(
                &**backend,
                channel,
                &event,
                &data,
                delivered,
                Some(sender),
                Some(presence_user.clone()),
            ),
            _ => None,
        };
        match (logged, self.backend()) {
            (Some(id), Ok(backend)) => {
                if let Err(e) = backend.broadcast_logged(channel, &frame, Some(sender), &id) {
                    tracing::warn!("{channel:?}: not sent to the other nodes: {}", e.0);
                }
            }
            _ => self.broadcast(channel, &frame, Some(sender)),
        }
        self.emit(EventKind::ClientEvent {
            channel: channel.clone(),
            event,
            data,
            socket_id: sender.to_string(),
            user_id: presence_user,
        });
    }

    /// Records a published event in the delivery log (unless the app has none);
    /// returns its id. `client` is the sender's presence user for a client event
    /// (`Some(None)` outside presence), `None` for a published one.
    #[allow(clippy::too_many_arguments)]
    fn log_delivery(
        &self,
        backend: &dyn crate::cluster::Backend,
        channel: &str,
        event: &str,
        data: &str,
        delivered: usize,
        except: Option<SocketId>,
        client: Option<Option<Arc<str>>>,
    ) -> Option<Arc<str>> {
        let options = &self.app.delivery_log;
        if options.size == 0 {
            return None;
        }
        let (kept, digest) = match options.payloads {
            LoggedPayload::Payload => (Some(data.into()), None),
            LoggedPayload::Digest => {
                use sha2::Digest;
                (None, Some(hex::encode(sha2::Sha256::digest(data)).into()))
            }
        };
        let id = backend.next_log_id();
        let record = DeliveryRecord {
            id: id.clone(),
            time: crate::cluster::user_book::now_ms(),
            channel: channel.into(),
            event: event.into(),
            size: data.len(),
            data: kept,
            digest,
            delivered,
            nodes: usize::from(delivered > 0),
            except: except.map(|s| s.to_string().into()),
            source: if client.is_some() { "client" } else { "api" }.into(),
            user_id: client.flatten(),
        };
        backend.log_delivery(&record);
        if options.events {
            self.emit(EventKind::EventLogged(record));
        }
        Some(id)
    }

    /// The newest records of the delivery log, newest first, at most `limit` (1 to
    /// [`MAX_DELIVERY_LOG_PAGE`]; a log keeping fewer gives what it keeps).
    pub async fn delivery_log(&self, limit: usize) -> Result<Vec<DeliveryRecord>, Error> {
        if !(1..=MAX_DELIVERY_LOG_PAGE).contains(&limit) {
            return Err(Error::InvalidParameter(format!(
                "limit must be between 1 and {MAX_DELIVERY_LOG_PAGE}, not {limit}"
            )));
        }
        let size = self.app.delivery_log.size;
        if size == 0 {
            return Ok(Vec::new());
        }
        let backend = self.backend().map_err(|e| Error::Backend(e.0))?;
        backend
            .delivery_log(limit.min(size))
            .await
            .map_err(|e| Error::Backend(e.0))
    }

    /// Whether the app has channel histories: on one node, or on a cluster whose
    /// backend shares them (a cluster without would see on each node only the events
    /// published through it: resumes are told of a gap there instead, see `subscribe`).
    pub(super) fn keeps_history(&self) -> bool {
        !self
            .backend()
            .is_ok_and(|b| b.spans_nodes() && !b.shares_history())
    }

    fn deliver_local(&self, channel: &str, frame: &Utf8Bytes, except: Option<SocketId>) -> usize {
        crate::cluster::Inbound::deliver(&*self.registry, channel, frame, except)
    }

    /// Sends a frame this node already delivered to the other nodes; a failure is
    /// logged (frames of joins, leaves and client events have no caller to tell).
    pub(super) fn broadcast(&self, channel: &str, frame: &Utf8Bytes, except: Option<SocketId>) {
        let sent = self
            .backend()
            .and_then(|backend| backend.broadcast(channel, frame, except));
        if let Err(e) = sent {
            tracing::warn!("{channel:?}: not sent to the other nodes: {}", e.0);
        }
    }

    /// Sends a presence change decided at `version` to the other nodes.
    pub(super) fn broadcast_membership(
        &self,
        channel: &str,
        frame: &Utf8Bytes,
        version: crate::cluster::Version,
    ) {
        let sent = self
            .backend()
            .and_then(|backend| backend.broadcast_membership(channel, frame, version));
        if let Err(e) = sent {
            tracing::warn!(
                "{channel:?}: presence change not sent to the other nodes: {}",
                e.0
            );
        }
    }
}

fn validate_event_name(name: &str, max: usize) -> Result<(), Error> {
    let reason = if name.is_empty() {
        "must not be empty"
    } else if name.len() > max {
        "too long"
    } else if name.starts_with("pusher:") || name.starts_with("pusher_internal:") {
        "names starting with pusher: are reserved for the protocol"
    } else {
        return Ok(());
    };
    Err(Error::InvalidEventName {
        name: name.chars().take(64).collect(),
        reason,
    })
}
