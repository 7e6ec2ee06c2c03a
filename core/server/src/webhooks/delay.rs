//! Pusher's delay: `channel_vacated` and `member_removed` wait a few seconds, and when
//! the channel is occupied again (or the user rejoins) meanwhile, both the held event
//! and the one that undoes it are dropped, so a page reload sends no webhook at all.

use std::collections::{HashMap, HashSet, VecDeque};

use super::hook::Hook;

/// Events held at most; past it the oldest is sent at once, undelayed (so memory stays
/// bounded while every event still goes out).
pub(crate) const MAX_HELD: usize = 100_000;

/// What a held event is about: the channel, and the user for `member_removed`.
type Key = (String, Option<String>);

pub(crate) struct Delayer {
    delay_ms: u64,
    /// In arrival order, so in due order (one delay for all): id, due time, event.
    held: VecDeque<(u64, u64, Hook)>,
    /// The id of the held event of each key.
    by_key: HashMap<Key, u64>,
    /// Held events undone before they were due.
    cancelled: HashSet<u64>,
    next_id: u64,
}

impl Delayer {
    pub fn new(delay_ms: u64) -> Delayer {
        Delayer {
            delay_ms,
            held: VecDeque::new(),
            by_key: HashMap::new(),
            cancelled: HashSet::new(),
            next_id: 0,
        }
    }

    /// Takes an event as it happens: returns it when it goes out now, or nothing when
    /// it is held or it undid a held one (then neither is sent). A full hold sends out
    /// its oldest event to make room: returned with `overflow`.
    pub fn push(&mut self, hook: Hook, now_ms: u64, overflow: &mut Vec<Hook>) -> Option<Hook> {
        if self.delay_ms == 0 {
            return Some(hook);
        }
        match hook.name() {
            "channel_vacated" | "member_removed" => {
                if self.held.len() - self.cancelled.len() >= MAX_HELD {
                    overflow.extend(self.release_oldest());
                }
                let id = self.next_id;
                self.next_id += 1;
                self.by_key.insert(key(&hook), id);
                self.held.push_back((id, now_ms + self.delay_ms, hook));
                None
            }
            "channel_occupied" | "member_added" => match self.by_key.remove(&key(&hook)) {
                Some(id) => {
                    self.cancelled.insert(id);
                    None
                }
                None => Some(hook),
            },
            _ => Some(hook),
        }
    }

    /// The held events that are due at `now_ms`, in order.
    pub fn due(&mut self, now_ms: u64) -> Vec<Hook> {
        let mut out = Vec::new();
        while self.held.front().is_some_and(|(_, due, _)| *due <= now_ms) {
            out.extend(self.release_oldest());
        }
        out
    }

    /// When the next held event is due.
    pub fn next_due_ms(&self) -> Option<u64> {
        self.held.front().map(|(_, due, _)| *due)
    }

    /// Every held event, decided as it stands (at shutdown).
    pub fn release_all(&mut self) -> Vec<Hook> {
        let mut out = Vec::new();
        while !self.held.is_empty() {
            out.extend(self.release_oldest());
        }
        out
    }

    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.held.len() - self.cancelled.len()
    }

    fn release_oldest(&mut self) -> Option<Hook> {
        let (id, _, hook) = self.held.pop_front()?;
        if self.cancelled.remove(&id) {
            return None;
        }
        let k = key(&hook);
        if self.by_key.get(&k) == Some(&id) {
            self.by_key.remove(&k);
        }
        Some(hook)
    }
}

fn key(hook: &Hook) -> Key {
    (
        hook.channel().to_string(),
        hook.member().map(str::to_string),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::EventKind;

    fn member(name: &str, user: &str) -> Hook {
        let kind = match name {
            "member_added" => EventKind::MemberAdded {
                channel: "presence-p".into(),
                user_id: user.into(),
            },
            _ => EventKind::MemberRemoved {
                channel: "presence-p".into(),
                user_id: user.into(),
            },
        };
        let event = crate::lifecycle::LifecycleEvent {
            app_id: "a".into(),
            kind,
        };
        Hook::from_event(&event, 0).unwrap()
    }

    fn channel(name: &str) -> Hook {
        let kind = match name {
            "channel_occupied" => EventKind::ChannelOccupied {
                channel: "presence-p".into(),
            },
            _ => EventKind::ChannelVacated {
                channel: "presence-p".into(),
            },
        };
        let event = crate::lifecycle::LifecycleEvent {
            app_id: "a".into(),
            kind,
        };
        Hook::from_event(&event, 0).unwrap()
    }

    fn names(hooks: &[Hook]) -> Vec<String> {
        hooks
            .iter()
            .map(|h| format!("{} {}", h.name(), h.member().unwrap_or("-")))
            .collect()
    }

    #[test]
    fn a_reload_within_the_delay_sends_nothing_and_a_leave_is_sent_when_due() {
        let mut d = Delayer::new(3000);
        let mut overflow = Vec::new();
        // A page reload: leave and come back within the delay.
        assert!(d
            .push(member("member_removed", "7"), 0, &mut overflow)
            .is_none());
        assert!(d
            .push(channel("channel_vacated"), 0, &mut overflow)
            .is_none());
        assert!(d
            .push(channel("channel_occupied"), 500, &mut overflow)
            .is_none());
        assert!(d
            .push(member("member_added", "7"), 500, &mut overflow)
            .is_none());
        assert!(d.due(10_000).is_empty(), "nothing at all");
        // Another user leaves for good: sent once the delay is over.
        assert!(d
            .push(member("member_removed", "8"), 1000, &mut overflow)
            .is_none());
        assert_eq!(d.next_due_ms(), Some(4000));
        assert!(d.due(3999).is_empty());
        assert_eq!(names(&d.due(4000)), ["member_removed 8"]);
        // A join that undoes nothing goes out at once.
        assert!(d
            .push(member("member_added", "9"), 5000, &mut overflow)
            .is_some());
        assert!(overflow.is_empty());
    }

    #[test]
    fn the_hold_is_bounded_and_shutdown_releases_what_is_held() {
        let mut d = Delayer::new(3000);
        let mut overflow = Vec::new();
        for i in 0..MAX_HELD + 2 {
            d.push(member("member_removed", &i.to_string()), 0, &mut overflow);
        }
        assert_eq!(names(&overflow), ["member_removed 0", "member_removed 1"]);
        assert_eq!(d.held(), MAX_HELD);
        assert_eq!(d.release_all().len(), MAX_HELD);
        assert_eq!(d.held(), 0);
    }
}
