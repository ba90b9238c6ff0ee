//! The whole per-packet path: raw bytes as an Ethernet frame through the stateful decoder
//! (tunnels, IP reassembly), the flow layer (TCP first-flight reassembly, QUIC Initials) and
//! the detector (bundled signature packs, protocol logging on), EVE records written to a
//! sink. All state is kept across inputs, as on a sensor that sees one packet after another.
#![no_main]

use std::cell::RefCell;
use std::io;

use libfuzzer_sys::fuzz_target;
use vendorwatch::capture::{Timestamp, linktype};
use vendorwatch::decode::Decoder;
use vendorwatch::detect::{Detector, LogSelection};
use vendorwatch::flow::{FlowConfig, FlowTable};
use vendorwatch::output::formatter::{FormatConfig, Formatter};
use vendorwatch::output::hub::OutputHub;
use vendorwatch::pipeline::process;
use vendorwatch::record::{PacketAt, RecordSink};
use vendorwatch::sigs::RuleSet;

struct State {
    decoder: Decoder,
    flows: FlowTable,
    detector: Detector,
    out: Formatter<OutputHub>,
    pcap_cnt: u64,
}

thread_local! {
    // libFuzzer runs inputs on one thread; the formatter is not Sync, so the state
    // lives in a thread-local rather than a Mutex-guarded static.
    static STATE: RefCell<State> = RefCell::new(new_state());
}

fn new_state() -> State {
    let rules = RuleSet::bundled().unwrap_or_else(|e| panic!("bundled packs: {e:?}"));
    let log = LogSelection {
        dns: true,
        tls: true,
        http: true,
        quic: true,
        dhcp: true,
    };
    // Every record formatted as EVE (so the formatters run on hostile input too).
    let mut out = Formatter::new(
        std::sync::Arc::new(FormatConfig::default()),
        OutputHub::new(Some(Box::new(io::sink()))),
    );
    out.begin_input("fuzz");
    // Small caps, so eviction paths are reached within a fuzzing run.
    let flows = FlowTable::new(FlowConfig {
        max_flows: 64,
        max_reasm_bytes: 256 * 1024,
        ..FlowConfig::default()
    });
    State {
        decoder: Decoder::default(),
        flows,
        detector: Detector::new(rules, log),
        out,
        pcap_cnt: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    STATE.with_borrow_mut(|st| one_packet(st, data));
});

fn one_packet(st: &mut State, data: &[u8]) {
    st.pcap_cnt += 1;
    let ts = Timestamp {
        secs: 1_727_784_000 + st.pcap_cnt as i64,
        nanos: 0,
    };
    if let Ok(decoded) = st.decoder.decode(linktype::ETHERNET, data, ts) {
        let at = PacketAt::new(ts, st.pcap_cnt);
        process(
            &decoded,
            &at,
            &mut st.flows,
            &mut st.detector,
            &mut st.out,
        );
    }
    assert!(!st.out.failed());
}
