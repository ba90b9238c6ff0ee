//! vendorwatch: find hosts that still talk to a vendor's update, telemetry and licensing
//! channels, from packets on the wire.
//!
//! The stages follow `ARCHITECTURE.md`, one module each, data flowing one way:
//! `capture` -> `decode` -> `proto` -> `sigs` (match) -> `detect` -> `output`,
//! glued together by `pipeline`.

pub mod capture;
pub mod cli;
pub mod control;
pub mod decode;
pub mod detect;
pub mod flood;
pub mod flow;
pub mod live;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod privdrop;
pub mod proto;
pub mod sigs;
