//! The `vendorwatch` binary: the command line (`cli`, with the flag groups `scan` and `live`
//! share in `args`), the session that runs the engine with its outputs (`session`), the
//! control thread (`control`: signals, reload, timers) and the privilege drop.

mod args;
mod cli;
mod config;
mod control;
mod dist;
mod exit;
mod live;
mod notify;
mod privdrop;
mod progress;
mod scan;
mod session;
mod stdout_check;
mod summary;

fn main() {
    std::process::exit(cli::main());
}
