//! vendorwatch: find hosts that still talk to a vendor's update, telemetry and licensing
//! channels, from packets on the wire.
//!
//! The stages follow `ARCHITECTURE.md`, data flowing one way:
//! `capture` -> `decode` -> `proto` -> `sigs` (match) -> `flow`/`detect` (the engine) ->
//! `record` -> `output`. Detection hands records to a `record::RecordSink`; the outputs
//! implement it. The binary (`src/main.rs`) holds the command line and the control plane.

pub mod capture;
pub mod decode;
pub mod detect;
pub mod engine;
pub mod flood;
pub mod flow;
pub mod output;
pub mod parallel;
pub mod pipeline;
pub mod proto;
pub mod record;
pub mod sigs;
