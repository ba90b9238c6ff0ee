//! Sinks for what detection produced. EVE JSON lines are the product's contract with SOC
//! pipelines; the human summary goes to stderr.

pub mod community_id;
pub mod eve;
pub mod formats;
pub mod json;
pub mod metrics;
pub mod reopen;
pub mod report;
pub mod sink;
pub mod stats;
pub mod summary;
pub mod time;
