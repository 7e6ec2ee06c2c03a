//! One app's state on this node: its connections and who among them is subscribed to
//! what ([`registry`]), each connection's outbound queue ([`outbox`]), and the store
//! of cache channels' last events ([`channel_store`]), and channel histories
//! ([`history`]).

pub(crate) mod channel_store;
pub(crate) mod history;
pub(crate) mod outbox;
pub(crate) mod registry;
