//! Sinks for what detection produced. EVE JSON lines are the product's contract with SOC
//! pipelines; the human summary goes to stderr.

pub mod eve;
pub mod json;
pub mod reopen;
pub mod stats;
pub mod summary;
pub mod time;
