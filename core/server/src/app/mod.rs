//! One app's state on this node: its connections and who among them is subscribed to
//! what ([`registry`]), each connection's outbound queue ([`outbox`]), and the store
//! of channels' kept events ([`channel_store`]: cache channels now, history later).

pub(crate) mod channel_store;
pub(crate) mod outbox;
pub(crate) mod registry;
