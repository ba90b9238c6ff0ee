//! Is standard output there to take the EVE records? Rust's runtime reopens a closed
//! descriptor 0, 1 or 2 on `/dev/null` before `main` runs (so that a file opened later cannot
//! take its number), so `vendorwatch scan >&-` would write every record into `/dev/null` and
//! exit 0. Descriptor 1's flags are therefore read before the runtime starts, from an
//! `.init_array` entry, and checked when EVE is to go to stdout.

use std::sync::atomic::{AtomicI32, Ordering};

/// Not read yet (no `.init_array` run): read when checked.
const NOT_PROBED: i32 = i32::MIN;

/// `fcntl(1, F_GETFL)` at process start; negative when descriptor 1 was closed.
static STDOUT_FLAGS: AtomicI32 = AtomicI32::new(NOT_PROBED);

fn stdout_flags() -> i32 {
    // SAFETY: F_GETFL only reads the flags of a descriptor number; a closed one gives -1.
    unsafe { libc::fcntl(1, libc::F_GETFL) }
}

extern "C" fn probe_stdout() {
    STDOUT_FLAGS.store(stdout_flags(), Ordering::Relaxed);
}

/// Run by the loader before the Rust runtime's own start-up (which would hide a closed
/// stdout behind `/dev/null`).
#[used]
#[unsafe(link_section = ".init_array")]
static PROBE_STDOUT: extern "C" fn() = probe_stdout;

/// Ok when EVE records written to stdout can go somewhere; else the error line: stdout was
/// closed when the process started, or is open for reading only.
pub fn writable() -> Result<(), String> {
    let flags = match STDOUT_FLAGS.load(Ordering::Relaxed) {
        NOT_PROBED => stdout_flags(),
        probed => probed,
    };
    if flags < 0 {
        return Err(
            "stdout is closed: EVE records would be lost (open stdout, or give --eve FILE)".into(),
        );
    }
    if flags & libc::O_ACCMODE == libc::O_RDONLY {
        return Err(
            "stdout is open for reading only: EVE records cannot be written (give --eve FILE)"
                .into(),
        );
    }
    Ok(())
}
