//! QUIC client Initials on any UDP port: decrypt ([`crate::proto::quic`]), collect CRYPTO
//! frames, and hand each complete ClientHello on with the packet that completed it.
//!
//! Per datagram: a cheap pre-check (long header, fixed bit, a version we can decrypt, Initial
//! type bits) rejects everything else for the price of a few byte compares. Each client
//! Initial's CRYPTO frames go to a bounded [`AssemblyTable`] keyed by the flow key (5-tuple,
//! VLANs, tunnel context) and direction; the DCID is kept in the entry (it changes after a
//! Retry and after the server's first Initial, within one connection). An Initial whose
//! ClientHello sits whole in one CRYPTO frame is parsed straight from the decryption buffer;
//! anything else (Chrome's post-quantum hello over two Initials, shuffled or split frames,
//! coalesced packets) is copied into the entry's buffer until the hello is complete. The
//! table is separate from the TCP [`super::FlowTable`] (which it lives next to): QUIC needs
//! none of the TCP state.
//!
//! Bounds: [`QuicConfig`] caps the pending connections and their buffered bytes (oldest
//! evicted first, counted) and drops connections idle for 30 s of packet time; each
//! connection's CRYPTO stream is cut at [`quic::MAX_CRYPTO_BYTES`]. How many CRYPTO frames a
//! hello comes in, and in what order, is not bounded: clients cut and shuffle them on
//! purpose. Steady state allocates nothing: one decryption buffer, pooled reassembly
//! buffers, the table's index sized at creation.

use crate::capture::Timestamp;
use crate::decode::{Decoded, L4Proto};
use crate::proto::quic::{self, AssemblyTable, InitialDecryptor, InitialFacts};
use crate::proto::tls::{self, ClientHello};
pub use crate::record::counters::QuicStats;

use super::FlowKey;

/// Limits of the QUIC reassembly table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuicConfig {
    /// Most connections with an incomplete ClientHello held at once.
    pub max_pending: usize,
    /// Most bytes buffered over all of them.
    pub max_bytes: usize,
}

impl Default for QuicConfig {
    fn default() -> Self {
        QuicConfig {
            max_pending: 4096,
            max_bytes: 8 * 1024 * 1024,
        }
    }
}

/// Identifies one client's connection: the flow and the direction (the DCID is tracked
/// inside the entry, see [`AssemblyTable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QuicKey {
    flow: FlowKey,
    dir: u8,
}

/// QUIC Initial state: the decryption buffer and the table of incomplete ClientHellos.
pub struct QuicFlows {
    decryptor: InitialDecryptor,
    table: AssemblyTable<QuicKey>,
    stats: QuicStats,
}

impl Default for QuicFlows {
    fn default() -> Self {
        Self::new(QuicConfig::default())
    }
}

impl QuicFlows {
    /// Empty state with these bounds.
    pub fn new(config: QuicConfig) -> Self {
        QuicFlows {
            decryptor: InitialDecryptor::new(),
            table: AssemblyTable::new(config.max_pending, config.max_bytes),
            stats: QuicStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> QuicStats {
        QuicStats {
            assembly: self.table.stats,
            ..self.stats
        }
    }

    /// Connections whose ClientHello is still incomplete.
    pub fn pending(&self) -> usize {
        self.table.len()
    }

    /// Bytes buffered for incomplete ClientHellos (bounded by [`QuicConfig::max_bytes`]).
    pub fn held_bytes(&self) -> usize {
        self.table.bytes()
    }

    /// Look at one UDP datagram; each complete ClientHello goes to `on_hello(version, hello)`.
    pub fn on_udp(
        &mut self,
        pkt: &Decoded<'_>,
        ts: Timestamp,
        mut on_hello: impl FnMut(u32, &ClientHello<'_>),
    ) {
        if pkt.proto != L4Proto::Udp || !quic::looks_like_initial(pkt.payload) {
            return;
        }
        self.stats.datagrams += 1;
        let (flow, dir) = FlowKey::of(pkt);
        let key = QuicKey {
            flow,
            dir: dir as u8,
        };
        let now = u64::try_from(ts.secs).unwrap_or(0);
        let QuicFlows {
            decryptor,
            table,
            stats,
        } = self;
        let fallback = table.key_dcid(&key);
        let fallback = fallback
            .as_ref()
            .and_then(|(d, n)| d.get(..usize::from(*n)));
        let summary = decryptor.for_each_initial_with(pkt.payload, fallback, |header, plain| {
            // One walk to count and check the frames (cheap: varints, no copy), then the table
            // walks them again, however many there are.
            let frames = quic::CryptoFrames::new(header.version, plain);
            let mut walked = frames.clone();
            let any = walked.by_ref().count() > 0;
            if walked.stopped().is_some() {
                stats.frame_errors += 1;
            }
            if !any {
                return; // ACK-only or padding-only Initial
            }
            let facts = InitialFacts {
                dcid: header.dcid,
                token: header.token,
                key_dcid: if header.fallback_keys {
                    fallback.unwrap_or(header.dcid)
                } else {
                    header.dcid
                },
            };
            table.add_frames(&key, now, facts, frames, |body| {
                if let Some(hello) = tls::parse_client_hello_body(body, 0x0303) {
                    stats.client_hellos += 1;
                    on_hello(header.version, &hello);
                }
            });
        });
        self.stats.initials += u64::from(summary.decrypted);
        self.stats.undecryptable += u64::from(summary.failed);
    }
}
