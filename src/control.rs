//! The control plane, on its own thread with a small tokio runtime (current-thread): signals
//! and the stats timer. It never touches packets: it sets flags that the reader looks at
//! between bursts (at most [`crate::capture::live::POLL_MS`] apart), and publishes reloaded
//! signatures that each worker picks up between batches.
//!
//! - SIGINT / SIGTERM: stop (the reader drains the workers, flushes, prints the summary, exits
//!   0). A second one exits at once with 128 + the signal number.
//! - SIGHUP: re-read the configuration file (with the command line over it), reload the
//!   signatures, compiled once here and published to every worker, and apply the suppression
//!   limits (a file or set with errors is reported and the old one kept; options that need a
//!   restart are named), and reopen the `--eve` file (logrotate).
//! - SIGUSR1: write the `--report` file now, without stopping.
//! - Every `--stats-interval`: a `stats` record is due.
//! - Under systemd with `WatchdogSec=`: `WATCHDOG=1` every half period, only while the reader
//!   loop is turning (its heartbeat moved), so a stuck reader is restarted by systemd.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::notify;
use vendorwatch::rules::RulesSlot;
use vendorwatch::sigs::{CompiledRules, SigError};

/// Flags the control thread sets and the reader reads.
#[derive(Default)]
pub struct Flags {
    /// The stop signal received (0: none).
    pub stop: AtomicI32,
    /// A stats record is due.
    pub stats_due: AtomicBool,
    /// The EVE file should be reopened (shared with the EVE file writer).
    pub reopen: Arc<AtomicBool>,
    /// The report should be written now (SIGUSR1).
    pub report_due: AtomicBool,
    /// Bumped by the reader at every turn of its loop (the systemd watchdog's proof of life).
    pub heartbeat: AtomicU64,
}

impl Flags {
    /// The stop signal, if one came.
    pub fn stop_signal(&self) -> Option<i32> {
        match self.stop.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }

    /// The reader loop turned once more.
    pub fn beat(&self) {
        self.heartbeat.fetch_add(1, Ordering::Relaxed);
    }
}

/// Why a SIGHUP reload kept what was loaded before.
pub enum ReloadError {
    /// The configuration file (or the command line over it) is invalid: one line each.
    Config(Vec<String>),
    /// The packs did not load.
    Signatures(Vec<SigError>),
}

/// How SIGHUP reloads: re-read the configuration, load and compile the packs (on this
/// thread, once), then publish to the slot every worker watches.
pub struct Reload {
    /// Where the compiled set is published.
    pub slot: Arc<RulesSlot>,
    /// Re-reads the configuration, applies what can change while running, loads and
    /// compiles the packs it names.
    pub load: Box<dyn FnMut() -> Result<Arc<CompiledRules>, ReloadError> + Send>,
}

/// Start the control thread; returns once every handler is installed.
pub fn start(
    flags: Arc<Flags>,
    stats_interval: Option<Duration>,
    mut reload_rules: Reload,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    std::thread::Builder::new()
        .name("vw-control".into())
        .spawn(move || {
            runtime.block_on(async move {
                let installed = (|| {
                    Ok::<_, io::Error>((
                        signal(SignalKind::terminate())?,
                        signal(SignalKind::interrupt())?,
                        signal(SignalKind::hangup())?,
                        signal(SignalKind::user_defined1())?,
                    ))
                })();
                let (mut term, mut int, mut hup, mut usr1) = match installed {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let mut tasks: Vec<Pin<Box<dyn Future<Output = ()>>>> = Vec::new();
                let f = Arc::clone(&flags);
                tasks.push(Box::pin(async move {
                    while term.recv().await.is_some() {
                        on_stop(&f, libc::SIGTERM);
                    }
                }));
                let f = Arc::clone(&flags);
                tasks.push(Box::pin(async move {
                    while int.recv().await.is_some() {
                        on_stop(&f, libc::SIGINT);
                    }
                }));
                let f = Arc::clone(&flags);
                tasks.push(Box::pin(async move {
                    while hup.recv().await.is_some() {
                        reload(&mut reload_rules);
                        f.reopen.store(true, Ordering::Relaxed);
                    }
                }));
                let f = Arc::clone(&flags);
                tasks.push(Box::pin(async move {
                    while usr1.recv().await.is_some() {
                        f.report_due.store(true, Ordering::Relaxed);
                    }
                }));
                if let Some(every) = stats_interval {
                    let f = Arc::clone(&flags);
                    tasks.push(Box::pin(async move {
                        let start = tokio::time::Instant::now() + every;
                        let mut tick = tokio::time::interval_at(start, every);
                        loop {
                            tick.tick().await;
                            f.stats_due.store(true, Ordering::Relaxed);
                        }
                    }));
                }
                if let Some(every) = notify::watchdog_interval() {
                    let f = Arc::clone(&flags);
                    tasks.push(Box::pin(async move {
                        let mut tick = tokio::time::interval(every);
                        let mut seen = u64::MAX;
                        loop {
                            tick.tick().await;
                            let now = f.heartbeat.load(Ordering::Relaxed);
                            if now != seen {
                                seen = now;
                                notify::notify("WATCHDOG=1");
                            }
                        }
                    }));
                }
                let _ = ready_tx.send(Ok(()));
                let local = tokio::task::LocalSet::new();
                for t in tasks {
                    local.spawn_local(t);
                }
                local.await;
            });
        })?;
    ready_rx
        .recv()
        .unwrap_or_else(|_| Err(io::Error::other("control thread failed to start")))
}

fn on_stop(flags: &Flags, sig: i32) {
    if flags.stop.swap(sig, Ordering::Relaxed) != 0 {
        eprintln!("vendorwatch: second stop signal: exiting now");
        std::process::exit(128 + sig);
    }
    notify::notify("STOPPING=1");
    eprintln!("vendorwatch: signal {sig}: stopping (drain, flush, summary)");
}

fn reload(reload: &mut Reload) {
    match reload.slot.reload(&mut reload.load) {
        Ok(n) => {
            eprintln!("vendorwatch: SIGHUP: signatures reloaded ({n} rule(s))");
            notify::notify(&format!("STATUS=reloaded: {n} rule(s)"));
        }
        Err(ReloadError::Signatures(errors)) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "vendorwatch: SIGHUP: {} signature error(s); keeping the signatures loaded before",
                errors.len()
            );
            notify::notify("STATUS=reload failed: signature errors; old signatures kept");
        }
        Err(ReloadError::Config(lines)) => {
            for line in &lines {
                eprintln!("{line}");
            }
            eprintln!(
                "vendorwatch: SIGHUP: {} configuration error(s); keeping the configuration and \
                 signatures loaded before",
                lines.len()
            );
            notify::notify("STATUS=reload failed: configuration errors; old configuration kept");
        }
    }
}
