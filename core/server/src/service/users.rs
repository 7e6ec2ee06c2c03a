//! Who is online: the connections known as a user (signed in, or presence members as
//! them), the cluster's answer of whether that makes the user online, the watchers
//! told of it, and the user-status queries.
//!
//! A user comes online with their first such connection anywhere and goes offline
//! with their last. Watchers are told `online` at once; `offline` only once the user
//! has stayed offline for `user_status.offline_delay` (the webhooks' reload grace),
//! and a watcher is never told a status twice in a row, so a page reload tells it
//! nothing.

use std::sync::Arc;

use serde_json::value::RawValue;

use super::AppService;
use crate::app::outbox::Outbox;
use crate::app::registry::Registry;
use crate::cluster::{Backend, BackendError};
use crate::error::Error;
use crate::lifecycle::stream::Lifecycle;
use crate::lifecycle::EventKind;
use crate::limits::MAX_USER_ID_LENGTH;
use crate::protocol::features::LOCATIONS;
use crate::protocol::identity::SignedInUser;
use crate::protocol::socket_id::SocketId;
use crate::views::{OnlineUsers, UserStatus};

/// The most online users one page lists.
pub const MAX_ONLINE_USERS_PAGE: usize = 1000;

/// Bytes of an app-set location at most.
pub const MAX_LOCATION_LENGTH: usize = 256;

fn unavailable(e: BackendError) -> Error {
    Error::Backend(e.0)
}

/// A user id as clients may sign in with: 1 to 128 characters, no control characters.
fn check_user_id(user: &str) -> Result<(), Error> {
    let n = user.chars().count();
    if n == 0 || n > MAX_USER_ID_LENGTH || user.chars().any(char::is_control) {
        return Err(Error::InvalidParameter(format!(
            "user id must be 1 to {MAX_USER_ID_LENGTH} characters without control characters"
        )));
    }
    Ok(())
}

/// Runs `task` on the current runtime; without one (it is being torn down) there is
/// nobody left to tell.
fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(task);
    }
}

impl AppService {
    /// Records a signed-in connection (for the user channel, terminate and user
    /// status) and makes it a watcher of its watchlist, sending it the current status
    /// of the list.
    pub fn sign_in(&self, outbox: &Outbox, user: &SignedInUser) {
        let socket = outbox.socket_id();
        self.user_added(&user.id, socket, user.info.as_deref());
        if user.watchlist.is_empty() {
            return;
        }
        self.registry.watch(outbox, &user.watchlist);
        let Ok(backend) = self.backend().cloned() else {
            return;
        };
        let (registry, ids, app_id) = (
            self.registry.clone(),
            user.watchlist.clone(),
            self.app_id.clone(),
        );
        spawn(async move {
            match backend.users_online(&ids).await {
                Ok(online) => {
                    let statuses: Vec<(Arc<str>, bool)> = ids.into_iter().zip(online).collect();
                    registry.tell_initial(socket, &statuses);
                }
                Err(e) => tracing::warn!(
                    "app {app_id}: watchlist status of {socket} not known: {}",
                    e.0
                ),
            }
        });
    }

    /// `socket` is known as `user` once more (a sign-in, a presence membership).
    pub(super) fn user_added(&self, user: &Arc<str>, socket: SocketId, info: Option<&RawValue>) {
        if !self.registry.add_user(user, socket) {
            return;
        }
        let Some(to) = self.announcer() else {
            return;
        };
        let came_online = to.backend.user_connected(user, socket, info);
        let user = user.clone();
        spawn(async move {
            match came_online.await {
                Ok(true) => to.announce(&user, true),
                Ok(false) => {}
                Err(e) => {
                    tracing::debug!("app {}: {user:?} online not recorded: {}", to.app_id, e.0)
                }
            }
        });
    }

    /// `socket` is known as `user` for one reason less (a membership ended, the
    /// connection closed). When that was the user's last connection anywhere and they
    /// are still offline after the offline delay, watchers are told.
    pub(super) fn user_removed(&self, user: &str, socket: SocketId) {
        if !self.registry.remove_user(user, socket) {
            return;
        }
        let Some(to) = self.announcer() else {
            return;
        };
        let went_offline = to.backend.user_disconnected(user, socket);
        let delay = self.app.user_status.offline_delay();
        let user = Arc::<str>::from(user);
        spawn(async move {
            let since = match went_offline.await {
                Ok(Some(since)) => since,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!("app {}: {user:?} offline not recorded: {}", to.app_id, e.0);
                    return;
                }
            };
            tokio::time::sleep(delay).await;
            // Back online, or offline again since (whose own timer tells): nothing.
            match to.backend.user_status(&user).await {
                Ok(s) if !s.online && s.last_seen.is_none_or(|t| t == since) => {
                    to.announce(&user, false)
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(
                    "app {}: watchers of {user:?} not told it went offline: {}",
                    to.app_id,
                    e.0
                ),
            }
        });
    }

    /// Announces a user's status change the backend found on its own (a vanished
    /// node's users, connections restored after Redis lost them): at once, since a
    /// vanished node's users have been gone for its whole lease already.
    pub(super) fn announce_status(&self, user: &str, online: bool) {
        if let Some(to) = self.announcer() {
            to.announce(user, online);
        }
    }

    /// What a task needs to announce a user's status after this call returned.
    fn announcer(&self) -> Option<Announcer> {
        Some(Announcer {
            backend: self.backend().ok()?.clone(),
            registry: self.registry.clone(),
            lifecycle: self.lifecycle.clone(),
            app_id: self.app_id.clone(),
        })
    }

    /// Stops `socket` watching its watchlist (the connection closed).
    pub(super) fn unwatch(&self, socket: SocketId, user: &SignedInUser) {
        self.registry.unwatch(socket, &user.watchlist);
    }

    /// One user's status, cluster-wide.
    pub async fn user_status(&self, user: &str) -> Result<UserStatus, Error> {
        check_user_id(user)?;
        let backend = self.backend().map_err(unavailable)?;
        backend.user_status(user).await.map_err(unavailable)
    }

    /// The app's online users after `after` ("" from the start), sorted by id, at most
    /// `limit` (1 to [`MAX_ONLINE_USERS_PAGE`]).
    pub async fn online_users(&self, after: &str, limit: usize) -> Result<OnlineUsers, Error> {
        if !(1..=MAX_ONLINE_USERS_PAGE).contains(&limit) {
            return Err(Error::InvalidParameter(format!(
                "limit must be between 1 and {MAX_ONLINE_USERS_PAGE}, not {limit}"
            )));
        }
        let backend = self.backend().map_err(unavailable)?;
        backend
            .online_users(after, limit)
            .await
            .map_err(unavailable)
    }

    /// Sets (`None`: clears) an online user's location, shown in their status until
    /// they go offline. Returns whether the user was online (an offline user's
    /// location is not kept).
    pub async fn set_user_location(
        &self,
        user: &str,
        location: Option<&str>,
    ) -> Result<bool, Error> {
        check_user_id(user)?;
        if let Some(l) = location {
            if l.len() > MAX_LOCATION_LENGTH || l.chars().any(char::is_control) {
                return Err(Error::InvalidParameter(format!(
                    "location must be at most {MAX_LOCATION_LENGTH} bytes without control characters"
                )));
            }
        }
        let backend = self.backend().map_err(unavailable)?;
        let online = backend
            .set_location(user, location)
            .await
            .map_err(unavailable)?;
        if online {
            self.tell_location(&**backend, user, location).await;
        }
        Ok(online)
    }

    /// Tells the subscribers that enabled `locations`, of every presence channel the
    /// user is a member of (on every node), the user's new location.
    async fn tell_location(&self, backend: &dyn Backend, user: &str, location: Option<&str>) {
        let channels = match backend.user_status(user).await {
            Ok(status) => status.channels,
            Err(e) => {
                tracing::warn!(
                    "app {}: location of {user:?} not told to its channels: {}",
                    self.app_id,
                    e.0
                );
                return;
            }
        };
        for channel in channels {
            let frame = crate::protocol::location(&channel, user, location);
            crate::cluster::Inbound::deliver_featured(&*self.registry, &channel, &frame, LOCATIONS);
            if let Err(e) = backend.broadcast_featured(&channel, &frame, LOCATIONS) {
                tracing::warn!("{channel:?}: location not sent to the other nodes: {}", e.0);
            }
        }
    }
}

/// Announces user status changes: to this node's watchers, the other nodes' and the
/// lifecycle stream.
struct Announcer {
    backend: Arc<dyn Backend>,
    registry: Arc<Registry>,
    lifecycle: Arc<Lifecycle>,
    app_id: Arc<str>,
}

impl Announcer {
    fn announce(&self, user: &str, online: bool) {
        self.registry.tell_status(user, online);
        if self.backend.spans_nodes() {
            if let Err(e) = self.backend.broadcast_status(user, online) {
                tracing::warn!(
                    "watchers of {user:?} on other nodes not told it is {}: {}",
                    if online { "online" } else { "offline" },
                    e.0
                );
            }
        }
        let user_id = user.into();
        let kind = if online {
            EventKind::UserOnline { user_id }
        } else {
            EventKind::UserOffline { user_id }
        };
        self.lifecycle.emit(&self.app_id, kind);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{AppConfig, DeliveryLogOptions, UserStatusOptions};
    use crate::lifecycle::LifecycleEvent;

    fn service() -> (AppService, crate::EventReceiver) {
        let lifecycle = Lifecycle::new(64);
        let events = lifecycle.subscribe();
        let app = AppConfig {
            id: "1".into(),
            key: "k".into(),
            secret: "s".into(),
            user_status: UserStatusOptions {
                offline_delay: 0.0,
                ..Default::default()
            },
            delivery_log: DeliveryLogOptions {
                events: true,
                ..Default::default()
            },
            ..AppConfig::default()
        };
        (AppService::local(app, lifecycle), events)
    }

    async fn next(events: &mut crate::EventReceiver) -> LifecycleEvent {
        tokio::time::timeout(Duration::from_secs(5), events.recv())
            .await
            .expect("an event in time")
            .expect("the stream is open")
    }

    #[tokio::test]
    async fn users_come_online_and_go_offline_once_and_published_events_are_logged() {
        let (s, mut events) = service();
        let (a, b) = (
            Outbox::new(SocketId::generate(), 64),
            Outbox::new(SocketId::generate(), 64),
        );
        let user = SignedInUser::from_user_data(r#"{"id":"7"}"#).unwrap();
        for o in [&a, &b] {
            s.connect(o).unwrap();
            s.sign_in(o, &user);
        }
        let names = |e: &LifecycleEvent| (e.kind.name(), e.kind.user_id().map(String::from));
        assert_eq!(names(&next(&mut events).await), ("connection_opened", None));
        assert_eq!(names(&next(&mut events).await), ("connection_opened", None));
        assert_eq!(
            names(&next(&mut events).await),
            ("user_online", Some("7".into())),
            "once, for the first connection"
        );
        s.forget_connection(a.socket_id(), Some(&user));
        s.forget_connection(b.socket_id(), Some(&user));
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.push(names(&next(&mut events).await));
        }
        assert_eq!(
            seen.iter().filter(|n| n.0 == "user_offline").count(),
            1,
            "{seen:?}"
        );
        let status = s.user_status("7").await.unwrap();
        assert!(!status.online && status.last_seen.is_some());

        s.publish(&["orders".into()], "paid", r#"{"n":1}"#, None)
            .unwrap();
        let logged = next(&mut events).await;
        let record = logged.kind.record().expect("event_logged");
        assert_eq!(
            (&*record.channel, &*record.event, record.delivered),
            ("orders", "paid", 0)
        );
        assert!(record.data.is_none() && record.digest.as_deref().is_some_and(|d| d.len() == 64));
        let log = s.delivery_log(10).await.unwrap();
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].id, record.id);
        assert!(s.delivery_log(0).await.is_err());
    }
}
