//! The outputs: records formatted (EVE, ECS, Zeek intel; `formatter`, `eve`, `formats`)
//! and delivered by the hub (`hub`) to the EVE file, network sinks (`sink`, and `kafka` with
//! the `kafka` feature), the inventory
//! report (`report`) and the metrics endpoint (`metrics`). Knows records, never detection.

// The crates to the left, named as modules (`crate::record`, `crate::decode`).
use vw_record as record;
use vw_sigs as sigs;
use vw_wire::{capture, decode, proto};

pub mod community_id;
pub mod eve;
pub mod eve_file;
pub mod formats;
pub mod formatter;
pub mod hub;
pub mod json;
#[cfg(feature = "kafka")]
pub mod kafka;
pub mod key;
pub mod metrics;
pub mod reopen;
pub mod report;
pub mod sink;
pub mod stats;
pub mod time;
