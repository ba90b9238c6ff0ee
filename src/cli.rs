//! Command line (to be written).

/// Entry point used by `main.rs`; returns the process exit status.
pub fn main() -> i32 {
    0
}
