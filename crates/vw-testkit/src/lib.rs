//! Test and benchmark helpers, never linked into the product: the crafted floods that drive
//! each bounded table past its cap (`flood`, for `tests/caps.rs` and `examples/flood.rs`), and
//! the HTTP clients, polite and hostile, that test the metrics endpoint (`http`).

// The crates under test, named as modules.
use vw_engine::{detect, flow, pipeline};
use vw_record as record;
use vw_sigs as sigs;
use vw_wire::{capture, decode};

pub mod flood;
pub mod http;
