//! The outputs: records formatted (EVE, ECS, Zeek intel; `formatter`, `eve`, `formats`)
//! and delivered by the hub (`hub`) to the EVE file, network sinks (`sink`), the inventory
//! report (`report`) and the metrics endpoint (`metrics`). Knows records, never detection.

pub mod community_id;
pub mod eve;
pub mod formats;
pub mod formatter;
pub mod hub;
pub mod json;
pub mod metrics;
pub mod reopen;
pub mod report;
pub mod sink;
pub mod stats;
pub mod time;
