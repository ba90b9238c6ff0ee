//! Exit statuses of the binary.

/// Every input was read and every record written.
pub const EXIT_OK: i32 = 0;
/// Some input could not be read completely (the rest was still scanned), or live capture
/// lost every interface.
pub const EXIT_INPUT_ERROR: i32 = 1;
/// Errors that stop the run: bad signatures, unwritable output, bad usage.
pub const EXIT_FATAL: i32 = 2;
/// Base when SIGTERM or SIGINT stopped a scan: 128 + the signal number (143 for SIGTERM, 130
/// for SIGINT), as a shell reports a process killed by it. Every record made before the
/// signal was written.
pub const EXIT_SIGNAL_BASE: i32 = 128;

/// Report that the EVE output (`--eve` FILE, else stdout) failed; the exit status for it.
pub fn eve_write_failed(target: &str, e: &std::io::Error) -> i32 {
    eprintln!("vendorwatch: {target}: writing EVE records failed: {e}");
    EXIT_FATAL
}
