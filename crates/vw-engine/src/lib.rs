//! The engine: packets in, records out. The flow table and its reassembly (`flow`),
//! detection (`detect`: matching, suppression, resolved addresses, inventory), host identity
//! (`identity`: DHCP leases, MACs, by packet time), the per-packet
//! stages and the reading loop (`pipeline`), the workers (`parallel`: fed by a reader; `fed`:
//! each reading its own AF_PACKET rings), and the builder that
//! makes every worker's stages from one configuration and one compiled rule set (`engine`).
//! Records go to a `vw_record::RecordSink`; nothing here formats or writes.

// The crates to the left, named as modules (`crate::decode`, `crate::sigs`).
use vw_record as record;
use vw_sigs as sigs;
use vw_wire::{capture, decode, proto};

pub mod detect;
pub mod engine;
pub mod fed;
pub mod flow;
pub mod identity;
pub mod parallel;
pub mod pipeline;
pub mod rules;

pub use engine::{Engine, EngineConfig};
pub use rules::RulesSlot;
