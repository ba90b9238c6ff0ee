//! The control plane, on its own thread with a small tokio runtime (current-thread): signals
//! and the stats timer. It never touches packets: it sets flags that the reader looks at
//! between bursts (at most [`crate::capture::live::POLL_MS`] apart), and publishes reloaded
//! signatures that each worker picks up between batches.
//!
//! - SIGINT / SIGTERM: stop (the reader drains the workers, flushes, prints the summary, exits
//!   0). A second one exits at once with 128 + the signal number.
//! - SIGHUP: reload the signatures (a set with errors is reported and the old one kept) and
//!   reopen the `--eve` file (for logrotate).
//! - Every `--stats-interval`: a `stats` record is due.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use crate::parallel::RULES;
use crate::sigs::{RuleSet, SigError};

/// Flags the control thread sets and the reader reads.
#[derive(Default)]
pub struct Flags {
    /// The stop signal received (0: none).
    pub stop: AtomicI32,
    /// A stats record is due.
    pub stats_due: AtomicBool,
    /// The EVE file should be reopened (shared with [`crate::output::reopen::ReopenableFile`]).
    pub reopen: Arc<AtomicBool>,
}

impl Flags {
    /// The stop signal, if one came.
    pub fn stop_signal(&self) -> Option<i32> {
        match self.stop.load(Ordering::Relaxed) {
            0 => None,
            s => Some(s),
        }
    }
}

type Loader = Box<dyn Fn() -> Result<RuleSet, Vec<SigError>> + Send>;

/// Start the control thread; returns once every handler is installed.
pub fn start(
    flags: Arc<Flags>,
    stats_interval: Option<Duration>,
    load_rules: Loader,
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
                    ))
                })();
                let (mut term, mut int, mut hup) = match installed {
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
                        reload(&load_rules);
                        f.reopen.store(true, Ordering::Relaxed);
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
    eprintln!("vendorwatch: signal {sig}: stopping (drain, flush, summary)");
}

fn reload(load: &Loader) {
    match load() {
        Ok(rules) => {
            let n = rules.rules.len();
            RULES.publish(rules);
            eprintln!("vendorwatch: SIGHUP: signatures reloaded ({n} rule(s))");
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "vendorwatch: SIGHUP: {} signature error(s); keeping the signatures loaded before",
                errors.len()
            );
        }
    }
}
