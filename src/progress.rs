//! The progress line of a long `scan` on stderr (`indicatif`): bytes read of the total when
//! the total is known (every input a regular file), packets per second, alerts so far and an
//! ETA, redrawn at most 4 times a second and cleared before the summary. Shown when stderr is
//! a terminal and the scan is not `--quiet`; `--progress` and `--no-progress` force either.
//!
//! The reading loop asks whether a redraw is due only every `TICK_PACKETS` packets (one clock
//! read), in the branch it already takes for the metrics tick, and gathers the counters only
//! for a redraw: the packet path does no more work with the line than without it.

use std::io::{self, IsTerminal, Write};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use indicatif::{
    BinaryBytes, HumanDuration, ProgressBar, ProgressDrawTarget, ProgressStyle, TermLike,
};
use vendorwatch::pipeline::{self, Progress};
use vendorwatch::record::counters::ReadCounters;

/// Redraws per second, at most.
const REDRAW_HZ: u8 = 4;

/// The bar being drawn, so that the reader's error lines clear it before they are printed
/// (`pipeline::set_line_printer`) and none is drawn over.
static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Whether to show the line: forced by `--progress` / `--no-progress`, else when stderr is a
/// terminal, unless quiet or the EVE lines go to that same terminal (stdout, no `--eve`):
/// the line would be drawn in the middle of them.
pub fn wanted(progress: bool, no_progress: bool, quiet: bool, eve_to_stdout: bool) -> bool {
    if no_progress {
        return false;
    }
    progress
        || (!quiet && io::stderr().is_terminal() && !(eve_to_stdout && io::stdout().is_terminal()))
}

/// The progress line of one scan.
pub struct ScanProgress {
    bar: ProgressBar,
    /// Sum of the sizes of the inputs, when every input is a regular file.
    total: Option<u64>,
    /// Bytes of the inputs already finished.
    done: u64,
    /// Size of the current input, when known.
    current: Option<u64>,
    /// Inputs started so far.
    files: u64,
    started: Instant,
    next_draw: Instant,
}

impl ScanProgress {
    /// A line for a scan of `inputs` (command-line arguments): the total is their size when
    /// each is a regular file; a directory or stdin leaves it unknown (no ETA).
    pub fn start(inputs: &[String], forced: bool) -> Self {
        let total = inputs.iter().try_fold(0u64, |sum, arg| {
            let m = std::fs::metadata(arg)
                .ok()
                .filter(std::fs::Metadata::is_file)?;
            Some(sum + m.len())
        });
        let target = if io::stderr().is_terminal() && !forced {
            ProgressDrawTarget::stderr_with_hz(REDRAW_HZ)
        } else {
            // Forced: drawn even where indicatif would hide it (not a terminal, TERM=dumb).
            ProgressDrawTarget::term_like_with_hz(Box::new(Stderr), REDRAW_HZ)
        };
        // The whole line is composed here (one redraw per update, and short enough for an
        // 80-column terminal): indicatif draws it, rate-limits it and clears it.
        let bar = ProgressBar::with_draw_target(total, target);
        if let Ok(style) = ProgressStyle::with_template("{msg}") {
            bar.set_style(style);
        }
        bar.set_message("[00:00:00] starting");
        if BAR.set(bar.clone()).is_ok() {
            pipeline::set_line_printer(print_over_bar);
        }
        let now = Instant::now();
        ScanProgress {
            bar,
            total,
            done: 0,
            current: None,
            files: 0,
            started: now,
            next_draw: now,
        }
    }

    /// Clear the line (before the summary).
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// The reader's stderr lines: the bar is taken away while one is printed.
fn print_over_bar(line: &str) {
    match BAR.get() {
        Some(bar) => bar.suspend(|| eprintln!("{line}")),
        None => eprintln!("{line}"),
    }
}

impl Progress for ScanProgress {
    fn input(&mut self, _name: &str, size: Option<u64>) {
        self.done += self.current.take().unwrap_or(0);
        self.current = size;
        self.files += 1;
    }

    fn due(&mut self) -> bool {
        let now = Instant::now();
        if now < self.next_draw {
            return false;
        }
        self.next_draw = now + Duration::from_millis(1000 / u64::from(REDRAW_HZ));
        true
    }

    fn update(&mut self, position: u64, read: &ReadCounters, alerts: u64) {
        let position = self.done + self.current.map_or(position, |size| position.min(size));
        let elapsed = self.started.elapsed();
        self.bar.set_message(line(
            position,
            self.total,
            elapsed,
            read.packets,
            alerts,
            self.files,
        ));
    }
}

/// The progress line: `[12s] 1.20 GiB of 2.00 GiB 60% | 410.3k pkt/s | 37 alerts | ETA 8s`;
/// without a total, the bytes read and the number of the file being read.
fn line(
    position: u64,
    total: Option<u64>,
    elapsed: Duration,
    packets: u64,
    alerts: u64,
    files: u64,
) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    let pps = packets as f64 / secs;
    let rate = if pps >= 1e6 {
        format!("{:.2}M", pps / 1e6)
    } else if pps >= 1e3 {
        format!("{:.1}k", pps / 1e3)
    } else {
        format!("{pps:.0}")
    };
    let alerts = format!("{alerts} alert{}", if alerts == 1 { "" } else { "s" });
    let e = elapsed.as_secs();
    let clock = format!("{:02}:{:02}:{:02}", e / 3600, e / 60 % 60, e % 60);
    match total {
        Some(total) if total > 0 => {
            let percent = position.saturating_mul(100) / total;
            // ETA from the average byte rate so far: steadier than the last interval's.
            let eta = if position > 0 {
                let left = total.saturating_sub(position) as f64 * secs / position as f64;
                format!(
                    "ETA {:#}",
                    HumanDuration(Duration::from_secs(left.ceil() as u64))
                )
            } else {
                "ETA -".to_string()
            };
            format!(
                "[{clock}] {} of {} {percent}% | {rate} pkt/s | {alerts} | {eta}",
                BinaryBytes(position),
                BinaryBytes(total)
            )
        }
        _ => format!(
            "[{clock}] {} read | file {files} | {rate} pkt/s | {alerts}",
            BinaryBytes(position)
        ),
    }
}

/// stderr as indicatif's terminal when the line is forced: plain ANSI cursor moves, whatever
/// stderr is.
#[derive(Debug)]
struct Stderr;

impl TermLike for Stderr {
    fn width(&self) -> u16 {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120)
    }

    fn move_cursor_up(&self, n: usize) -> io::Result<()> {
        cursor(n, 'A')
    }

    fn move_cursor_down(&self, n: usize) -> io::Result<()> {
        cursor(n, 'B')
    }

    fn move_cursor_right(&self, n: usize) -> io::Result<()> {
        cursor(n, 'C')
    }

    fn move_cursor_left(&self, n: usize) -> io::Result<()> {
        cursor(n, 'D')
    }

    fn write_line(&self, s: &str) -> io::Result<()> {
        writeln!(io::stderr(), "{s}")
    }

    fn write_str(&self, s: &str) -> io::Result<()> {
        write!(io::stderr(), "{s}")
    }

    fn clear_line(&self) -> io::Result<()> {
        write!(io::stderr(), "\r\x1b[2K")
    }

    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Move the cursor `n` cells in the direction of the ANSI CSI letter (`A` up, `B` down, `C`
/// right, `D` left); nothing for 0.
fn cursor(n: usize, letter: char) -> io::Result<()> {
    if n > 0 {
        write!(io::stderr(), "\x1b[{n}{letter}")?;
    }
    Ok(())
}
