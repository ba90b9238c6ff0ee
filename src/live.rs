//! `vendorwatch live`: open the interfaces, drop privileges, start the control thread, then
//! read packets into the same stages as `scan` (in the reader's thread with `--workers 1`,
//! through [`Dispatcher`] otherwise) until a stop signal; then drain, flush, write a last
//! `stats` record and the summary, and exit 0.

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::capture::live::{LiveConfig, LiveSource};
use crate::cli::{
    EXIT_FATAL, EXIT_INPUT_ERROR, EXIT_OK, LiveArgs, eve_write_failed, load_rules, log_and_rules,
};
use crate::control::{self, Flags};
use crate::decode::{self, Decoder, DecoderConfig};
use crate::detect::Detector;
use crate::flow::FlowTable;
use crate::output::eve::EveWriter;
use crate::output::json::JsonWriter;
use crate::output::reopen::ReopenableFile;
use crate::output::stats::{CaptureCounters, StatsInput, now, write_stats};
use crate::output::summary::write_summary;
use crate::parallel::{Dispatcher, RULES, merge_results};
use crate::pipeline::{InThread, PacketHandler, ScanStats, Stages};

/// Longest time records wait in a buffer (or a batch) under a steady trickle of packets.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// Build a `stats` record from the counters now and hand it to the output.
pub fn write_stats_record(
    handler: &mut dyn PacketHandler,
    stats: &ScanStats,
    capture: Option<CaptureCounters>,
    started: Instant,
) {
    let counters = handler.counters();
    let input = StatsInput {
        uptime_secs: started.elapsed().as_secs(),
        capture,
        packets: stats.packets,
        bytes: stats.bytes,
        // Skips are counted by the reader's thread (one worker) or by the workers.
        invalid: stats.skipped.iter().sum::<u64>() + counters.skipped,
        counters,
    };
    let mut json = JsonWriter::new();
    write_stats(&mut json, now(), &input);
    handler.write_line(json.as_bytes());
}

/// Why the read loop ended.
enum Ended {
    Signal,
    AllInterfacesLost,
    OutputFailed,
}

/// Read until a stop signal, every interface is lost, or the output fails.
fn read_loop(
    source: &mut LiveSource,
    handler: &mut dyn PacketHandler,
    flags: &Flags,
    stats: &mut ScanStats,
    started: Instant,
) -> Ended {
    let mut pcap_cnt = 0u64;
    let mut last_flush = Instant::now();
    loop {
        if flags.stop_signal().is_some() {
            return Ended::Signal;
        }
        let n = source.read(|packet| {
            stats.packets += 1;
            stats.bytes += u64::from(packet.orig_len);
            pcap_cnt += 1;
            let _ = handler.handle(packet, pcap_cnt, stats);
            !handler.failed()
        });
        for line in source.take_lost() {
            eprintln!(
                "vendorwatch: {line}; {} interface(s) still capturing",
                source.alive()
            );
            stats.errors.push(line);
        }
        if n == 0 || last_flush.elapsed() >= FLUSH_EVERY {
            handler.idle();
            last_flush = Instant::now();
        }
        if flags.stats_due.swap(false, Ordering::Relaxed) {
            let capture = source.counters();
            write_stats_record(handler, stats, Some(capture), started);
            handler.idle();
        }
        if handler.failed() {
            return Ended::OutputFailed;
        }
        if source.alive() == 0 {
            return Ended::AllInterfacesLost;
        }
    }
}

/// Run `vendorwatch live`; the exit status.
pub(crate) fn run(args: LiveArgs) -> i32 {
    let started = Instant::now();
    let (log, rules) = match log_and_rules(&args.log, &args.sigs) {
        Ok(both) => both,
        Err(status) => return status,
    };
    let config = LiveConfig {
        snaplen: args.snaplen.max(64),
        buffer_size: args.buffer_size,
        promisc: !args.no_promisc,
        bpf: args.bpf.clone(),
    };
    let mut source = match LiveSource::open(&args.interfaces, &config) {
        Ok(s) => s,
        Err(line) => {
            eprintln!("vendorwatch: {line}");
            return EXIT_FATAL;
        }
    };
    let flags = Arc::new(Flags::default());
    let sink: Box<dyn Write + Send> = match &args.eve {
        Some(path) => match ReopenableFile::create(path.clone(), Arc::clone(&flags.reopen)) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!(
                    "vendorwatch: {}: cannot create EVE file: {e}",
                    path.display()
                );
                return EXIT_FATAL;
            }
        },
        None => Box::new(io::stdout()),
    };
    if let Some(user) = &args.user
        && let Err(line) = crate::privdrop::drop_to(user)
    {
        eprintln!("vendorwatch: {line}");
        return EXIT_FATAL;
    }
    let sig_args = args.sigs.clone();
    let interval = (args.stats_interval > 0).then(|| Duration::from_secs(args.stats_interval));
    if let Err(e) = control::start(
        Arc::clone(&flags),
        interval,
        Box::new(move || load_rules(&sig_args)),
    ) {
        eprintln!("vendorwatch: cannot start the control thread: {e}");
        return EXIT_FATAL;
    }
    let workers = args.workers.count();
    let mut decoder_config = DecoderConfig::default();
    decoder_config.vxlan_ports.extend(&args.vxlan_ports);
    decoder_config.defrag = args.flow.defrag_config();
    // The same caps as `scan` (see docs/caps.md), per worker.
    let make_stages = || {
        let mut detector = Detector::new(rules.clone(), log);
        detector.suppress =
            crate::detect::suppress::Suppressor::new(args.suppress_window, args.suppress_capacity);
        detector.resolved = crate::detect::answers::ResolvedIps::new(args.flow.resolved_capacity);
        let mut flows = FlowTable::new(args.flow.config());
        flows.quic = crate::flow::quic::QuicFlows::new(args.flow.quic_config());
        Stages {
            decoder: Decoder::new(decoder_config.clone()),
            flows,
            detector,
            rules_generation: RULES.generation(),
        }
    };
    let described: Vec<String> = source
        .describe()
        .into_iter()
        .map(|(name, lt)| {
            if !decode::link_type_supported(lt) {
                eprintln!(
                    "vendorwatch: {name}: link type {lt} is not decoded (packets are counted only)"
                );
            }
            format!("{name} (link type {lt})")
        })
        .collect();
    eprintln!(
        "vendorwatch: capturing on {}; {workers} worker(s)",
        described.join(", ")
    );

    let mut stats = ScanStats::default();
    let (ended, detect_stats, inventory, suppress, written, output_result) = if workers <= 1 {
        let mut stages = make_stages();
        let mut out = EveWriter::new(sink);
        let ended = {
            let mut handler = InThread {
                stages: &mut stages,
                out: &mut out,
                tick: None,
            };
            let ended = read_loop(&mut source, &mut handler, &flags, &mut stats, started);
            handler.end_input();
            let capture = source.counters();
            write_stats_record(&mut handler, &stats, Some(capture), started);
            ended
        };
        stats.decode = stages.decoder.stats();
        stats.flow = stages.flows.stats;
        stats.quic = stages.flows.quic.stats();
        let written = out.records();
        let result = out.finish().map(|_| ());
        let detector = stages.detector;
        (
            ended,
            detector.stats,
            detector.inventory,
            detector.suppress,
            written,
            result,
        )
    } else {
        let all: Vec<Stages> = (0..workers).map(|_| make_stages()).collect();
        let mut dispatcher = match Dispatcher::start(
            all,
            decoder_config.clone(),
            sink,
            Arc::new(|_: &mut EveWriter| {}),
        ) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("vendorwatch: cannot start worker threads: {e}");
                return EXIT_FATAL;
            }
        };
        let ended = read_loop(&mut source, &mut dispatcher, &flags, &mut stats, started);
        // Drain the workers first, so the last stats record counts every packet.
        dispatcher.drain(stats.packets);
        let capture = source.counters();
        write_stats_record(&mut dispatcher, &stats, Some(capture), started);
        let lines = dispatcher.lines_written();
        let (results, result) = dispatcher.finish();
        let merged = merge_results(results, &mut stats);
        (
            ended,
            merged.detect,
            merged.inventory,
            merged.suppress,
            merged.records + lines,
            result,
        )
    };
    if !args.quiet {
        let mut err = io::stderr().lock();
        let _ = write_summary(
            &mut err,
            &stats,
            &detect_stats,
            &inventory,
            &suppress,
            written,
        );
    }
    if let Err(e) = output_result {
        return eve_write_failed(args.eve.as_deref(), &e);
    }
    match ended {
        Ended::Signal => EXIT_OK,
        Ended::AllInterfacesLost => {
            eprintln!("vendorwatch: every interface was lost; stopping");
            EXIT_INPUT_ERROR
        }
        Ended::OutputFailed => EXIT_FATAL,
    }
}
