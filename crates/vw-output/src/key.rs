//! What a record is about (its host and flow), carried with each line from the formatter
//! through the hub to the destinations that key by it (Kafka's `--kafka-key`).

use std::net::IpAddr;

/// What a record is about, for the Kafka message key (`--kafka-key host|flow`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordKey {
    /// The machine the record is about: an alert's host, an event's client (the source; the
    /// destination of a DNS response). None for a `stats` record.
    pub host: Option<IpAddr>,
    /// The flow's id (EVE `flow_id`). None for a `stats` record.
    pub flow: Option<u64>,
}
