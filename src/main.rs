//! The `vendorwatch` binary: the command line (`cli`, with the flag groups `scan` and `live`
//! share in `args`), the session that runs the engine with its outputs (`session`), the
//! control thread (`control`: signals, reload, timers) and the privilege drop.

mod args;
mod cli;
mod control;
mod exit;
mod live;
mod privdrop;
mod progress;
mod scan;
mod session;
mod stdout_check;
mod summary;

fn main() {
    std::process::exit(cli::main());
}
