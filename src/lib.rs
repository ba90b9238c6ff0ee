//! vendorwatch as a library: the workspace's crates under the names of the stages, for the
//! binary, the integration tests, the benches and the examples. The crates follow the data
//! flow, each depending only on those to its left (`ARCHITECTURE.md`):
//!
//! `vw-wire` (`capture`, `decode`, `proto`) -> `vw-sigs` (`sigs`) -> `vw-record` (`record`)
//! -> `vw-engine` (`flow`, `detect`, `pipeline`, `parallel`, `fed`, `rules`, `engine`) -> `vw-output`
//! (`output`) -> the `vendorwatch` binary (command line, control thread, privilege drop).

pub use vw_engine::{detect, engine, fed, flow, identity, parallel, pipeline, rules};
pub use vw_output as output;
pub use vw_record as record;
pub use vw_sigs as sigs;
pub use vw_wire::{capture, decode, proto};
