//! pushbus's own additions to the protocol, each opt-in per connection: a client sends
//! `{"event":"pushbus:enable","data":{"features":["locations"]}}` and is answered
//! `{"event":"pushbus:enabled","data":{"features":[…the ones it got…]}}`. A client that
//! never asks (every unmodified pusher-js) gets Pusher's frames only, byte for byte.

/// Bits of [`Features`].
pub const LOCATIONS: u32 = 1;
/// Serials of history channels' events (a `pushbus:serial` frame before each), and
/// resuming a subscription after a reconnect.
pub const RECOVERY: u32 = 2;

/// The features a connection enabled, as bits.
pub type Features = u32;

/// Every feature, by the name a client asks for it with.
pub const ALL: [(&str, Features); 2] = [("locations", LOCATIONS), ("recovery", RECOVERY)];

/// The bits of the known names in `names`, unknown ones ignored.
pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Features {
    names
        .into_iter()
        .filter_map(|n| ALL.iter().find(|(name, _)| *name == n).map(|(_, bit)| *bit))
        .fold(0, |all, bit| all | bit)
}

/// The names of the bits set in `features`.
pub fn names(features: Features) -> Vec<&'static str> {
    ALL.iter()
        .filter(|(_, bit)| features & bit != 0)
        .map(|(name, _)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_ignored() {
        let f = parse(["locations", "time-travel"]);
        assert_eq!(f, LOCATIONS);
        assert_eq!(names(f), ["locations"]);
        assert!(names(parse([])).is_empty());
    }
}
