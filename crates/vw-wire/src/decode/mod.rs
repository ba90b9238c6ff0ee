//! Link, network and transport layers: from a captured frame to the innermost IP addresses,
//! ports and transport payload, borrowed from the frame (or from the reassembly buffer).
//!
//! One loop walks every layer: each step reads one header (`link.rs`, `tunnel.rs`, IP via
//! `etherparse` slices) and names the layer that follows, so a tunnel's inner packet goes back
//! through the same code as the outer one. Tunnels are bounded by [`MAX_TUNNEL_DEPTH`]. IP
//! fragments go to the bounded reassembly table in `defrag.rs`, which costs nothing until a
//! fragment arrives. A packet that carries nothing we can extract from is not an error: it is
//! skipped with a [`SkipReason`], counted per reason in the scan summary.
//!
//! Before the walk, `fast.rs` takes the frames that make up most traffic (Ethernet with up to
//! two VLAN tags or raw IP, unfragmented IPv4 or IPv6 without extension headers, TCP or UDP
//! on no tunnel port) in one straight pass; anything else, and anything odd about those, is
//! left to the walk, which stays the reference (a test checks that both agree).

mod defrag;
mod fast;
mod link;
mod tunnel;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use etherparse::{IpNumber, Ipv6ExtensionsSlice, LaxIpSlice, TcpHeaderSlice};

use crate::capture::Timestamp;
use defrag::{Defrag, FragKey, Fragment};
pub use defrag::{DefragConfig, DefragStats};
pub use link::{LINKTYPE_NFLOG, LINKTYPE_PPP};
use tunnel::ethertype;

/// Most VLAN ids kept per packet (QinQ plus one more), from any depth; deeper tags are still
/// decoded, not kept.
pub const MAX_VLANS: usize = 3;

/// Most tunnels one packet may nest (GRE, ERSPAN, VXLAN, Geneve, IP-in-IP, MPLS pseudowire,
/// Teredo); one more and the packet is skipped as [`SkipReason::TunnelTooDeep`].
pub const MAX_TUNNEL_DEPTH: u8 = 8;

/// VXLAN's IANA port.
pub const VXLAN_PORT: u16 = 4789;
/// Geneve's IANA port.
pub const GENEVE_PORT: u16 = 6081;
/// GRE over UDP (RFC 8086).
pub const GRE_UDP_PORT: u16 = 4754;
/// MPLS over UDP (RFC 7510).
pub const MPLS_UDP_PORT: u16 = 6635;
/// Teredo (RFC 4380).
pub const TEREDO_PORT: u16 = 3544;

/// IP protocol numbers the IP layer acts on.
const IPPROTO_IPIP: u8 = 4;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_IPV6: u8 = 41;
const IPPROTO_GRE: u8 = 47;

/// Why a packet produced no transport payload. Each has a stable label for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The capture's link type is not one we decode.
    UnknownLinkType,
    /// The frame ends inside a link-layer header.
    TruncatedLink,
    /// Link layer carries something other than IP (ARP, LLDP, STP, ...).
    NotIp,
    /// IP header missing, cut short or invalid.
    BadIp,
    /// An IP fragment held for reassembly (its datagram is not complete yet).
    IpFragment,
    /// An IP fragment dropped: invalid, cut short, over the memory cap, or a fragment inside a
    /// datagram that was itself reassembled.
    FragmentDropped,
    /// IP carries a protocol other than TCP, UDP and the tunnels (ICMP, ESP, OSPF, ...).
    OtherTransport,
    /// TCP or UDP header cut short or invalid.
    BadTransport,
    /// A tunnel or label header (GRE, ERSPAN, VXLAN, Geneve, MPLS) cut short or invalid.
    BadTunnel,
    /// A tunnel carries something we do not decode (GRE protocol, MPLS payload, ...).
    UnknownTunnelPayload,
    /// More than [`MAX_TUNNEL_DEPTH`] nested tunnels.
    TunnelTooDeep,
}

impl SkipReason {
    /// Every reason, in the order the summary prints them.
    pub const ALL: [SkipReason; 11] = [
        SkipReason::UnknownLinkType,
        SkipReason::TruncatedLink,
        SkipReason::NotIp,
        SkipReason::BadIp,
        SkipReason::IpFragment,
        SkipReason::FragmentDropped,
        SkipReason::OtherTransport,
        SkipReason::BadTransport,
        SkipReason::BadTunnel,
        SkipReason::UnknownTunnelPayload,
        SkipReason::TunnelTooDeep,
    ];

    /// The bytes were malformed (cut short or invalid headers): Suricata's `decoder.invalid`.
    /// The other reasons are packets that are simply not ours (ARP, ICMP, fragments held, an
    /// unknown link type or tunnel payload) and are counted under their own names.
    pub fn is_malformed(self) -> bool {
        matches!(
            self,
            SkipReason::TruncatedLink
                | SkipReason::BadIp
                | SkipReason::BadTransport
                | SkipReason::BadTunnel
                | SkipReason::TunnelTooDeep
        )
    }

    /// Stable label for summaries and stats.
    pub fn label(self) -> &'static str {
        match self {
            SkipReason::UnknownLinkType => "unknown-link-type",
            SkipReason::TruncatedLink => "truncated-link-header",
            SkipReason::NotIp => "not-ip",
            SkipReason::BadIp => "bad-ip-header",
            SkipReason::IpFragment => "ip-fragment-held",
            SkipReason::FragmentDropped => "ip-fragment-dropped",
            SkipReason::OtherTransport => "other-ip-protocol",
            SkipReason::BadTransport => "bad-transport-header",
            SkipReason::BadTunnel => "bad-tunnel-header",
            SkipReason::UnknownTunnelPayload => "unknown-tunnel-payload",
            SkipReason::TunnelTooDeep => "tunnel-too-deep",
        }
    }

    /// Index into a per-reason counter array.
    pub fn index(self) -> usize {
        self as usize
    }
}

/// Transport protocol of a decoded packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum L4Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl L4Proto {
    /// EVE's `proto` value.
    pub fn eve_name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "TCP",
            L4Proto::Udp => "UDP",
        }
    }

    /// IANA protocol number (for flow hashing and Community ID).
    pub fn number(self) -> u8 {
        match self {
            L4Proto::Tcp => IPPROTO_TCP,
            L4Proto::Udp => IPPROTO_UDP,
        }
    }
}

/// TCP flag bits kept from the header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK.
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// Sequence number (kept with the flags: the TCP header facts the flow layer needs).
    pub seq: u32,
}

/// VLAN ids of a frame, outermost first, held inline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct VlanIds {
    ids: [u16; MAX_VLANS],
    len: u8,
}

impl VlanIds {
    /// The ids, outermost first.
    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..usize::from(self.len)]
    }

    fn push(&mut self, id: u16) {
        if let Some(slot) = self.ids.get_mut(usize::from(self.len)) {
            *slot = id;
            self.len += 1;
        }
    }
}

/// The outermost tunnel a packet came through, as Suricata's EVE `tunnel` object says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tunnel {
    /// Source address of the IP header that carried the tunnel.
    pub src_ip: IpAddr,
    /// Destination address of that header.
    pub dst_ip: IpAddr,
    /// IP protocol number of the tunnel in that header (47 GRE, 17 UDP, 4 IPIP, 41 IPv6).
    pub proto: u8,
    /// How many tunnels the innermost packet sits in (1 for one tunnel).
    pub depth: u8,
}

impl Tunnel {
    /// EVE's `tunnel.proto` value: the carrying IP protocol's name.
    pub fn proto_name(&self) -> &'static str {
        match self.proto {
            IPPROTO_GRE => "GRE",
            IPPROTO_UDP => "UDP",
            IPPROTO_IPIP => "IPIP",
            IPPROTO_IPV6 => "IPV6",
            _ => "IP",
        }
    }

    /// A number that tells tunnels apart (outer endpoints, ordered so both directions agree,
    /// and protocol): the same inner 5-tuple in two tunnels is two flows.
    pub fn context_id(&self) -> u64 {
        let (lo, hi) = if self.src_ip <= self.dst_ip {
            (self.src_ip, self.dst_ip)
        } else {
            (self.dst_ip, self.src_ip)
        };
        // FNV-1a over the outer endpoints and protocol.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |bytes: &[u8]| {
            for b in bytes {
                h ^= u64::from(*b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for ip in [lo, hi] {
            match ip {
                IpAddr::V4(v4) => eat(&v4.octets()),
                IpAddr::V6(v6) => eat(&v6.octets()),
            }
        }
        eat(&[self.proto, self.depth]);
        h.max(1)
    }
}

/// The part of a packet the extractors need, borrowed from the frame.
#[derive(Debug, Clone, Copy)]
pub struct Decoded<'a> {
    /// Source address of the innermost IP header.
    pub src_ip: IpAddr,
    /// Destination address of the innermost IP header.
    pub dst_ip: IpAddr,
    /// TCP or UDP.
    pub proto: L4Proto,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// TCP flags (all false for UDP).
    pub tcp_flags: TcpFlags,
    /// Transport payload (may be cut short by the snaplen).
    pub payload: &'a [u8],
    /// 802.1Q/QinQ ids met on the way in, at any depth.
    pub vlans: VlanIds,
    /// The outermost tunnel with an outer IP header, if any.
    pub tunnel: Option<Tunnel>,
    /// True when the IP datagram was reassembled from fragments.
    pub reassembled: bool,
    /// The Ethernet addresses of the frame that carried the innermost IP header (`None` for
    /// other link types, and inside a tunnel without an Ethernet header of its own): the
    /// identity table learns hosts' MACs from them.
    pub macs: Option<LinkAddrs>,
}

/// Source and destination Ethernet addresses of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkAddrs {
    /// Source MAC.
    pub src: [u8; 6],
    /// Destination MAC.
    pub dst: [u8; 6],
}

impl LinkAddrs {
    /// The addresses of an Ethernet header (destination first on the wire).
    #[inline]
    pub fn of_header(eth: &[u8; 14]) -> LinkAddrs {
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&eth[..6]);
        src.copy_from_slice(&eth[6..12]);
        LinkAddrs { src, dst }
    }
}

/// Decoder settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    /// UDP destination ports decoded as VXLAN (4789 and whatever `--vxlan-port` adds).
    pub vxlan_ports: Vec<u16>,
    /// IP fragment reassembly limits.
    pub defrag: DefragConfig,
}

impl Default for DecoderConfig {
    fn default() -> Self {
        DecoderConfig {
            vxlan_ports: vec![VXLAN_PORT],
            defrag: DefragConfig::default(),
        }
    }
}

/// What the decoder did, for the summary and stats.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Packets decoded down to TCP or UDP.
    pub decoded: u64,
    /// Of those, packets that came out of at least one tunnel.
    pub tunnelled: u64,
    /// Of those, packets whose IP datagram was reassembled from fragments.
    pub reassembled: u64,
    /// Fragment reassembly counters.
    pub defrag: DefragStats,
}

impl std::ops::AddAssign for DecodeStats {
    fn add_assign(&mut self, o: Self) {
        let DecodeStats {
            decoded,
            tunnelled,
            reassembled,
            defrag,
        } = o;
        self.decoded += decoded;
        self.tunnelled += tunnelled;
        self.reassembled += reassembled;
        self.defrag += defrag;
    }
}

/// The decoder: configuration, and the state fragment reassembly needs.
pub struct Decoder {
    config: DecoderConfig,
    defrag: Defrag,
    stats: DecodeStats,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new(DecoderConfig::default())
    }
}

impl Decoder {
    /// A decoder with these settings; allocates nothing for reassembly until a fragment comes.
    pub fn new(config: DecoderConfig) -> Self {
        let defrag = Defrag::new(config.defrag);
        Decoder {
            config,
            defrag,
            stats: DecodeStats::default(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DecodeStats {
        DecodeStats {
            defrag: self.defrag.stats,
            ..self.stats
        }
    }

    /// Incomplete IP datagrams held by fragment reassembly, and the bytes they hold (the
    /// table's own accounting, bounded by [`DefragConfig::memcap`]).
    pub fn defrag_held(&self) -> (usize, usize) {
        (self.defrag.pending(), self.defrag.held())
    }

    /// Decode one frame down to its innermost transport payload. A reassembled datagram is
    /// borrowed from the decoder, so it lives until the next call.
    pub fn decode<'a>(
        &'a mut self,
        link_type: u32,
        frame: &'a [u8],
        ts: Timestamp,
    ) -> Result<Decoded<'a>, SkipReason> {
        let Decoder {
            config,
            defrag,
            stats,
        } = self;
        let result = walk(config, Some(defrag), link_type, frame, ts);
        if let Ok(d) = &result {
            stats.decoded += 1;
            stats.tunnelled += u64::from(d.tunnel.is_some());
            stats.reassembled += u64::from(d.reassembled);
        }
        result
    }
}

/// Decode one frame without reassembly state (fragments are skipped as
/// [`SkipReason::FragmentDropped`]), with the default tunnel ports.
pub fn decode(link_type: u32, frame: &[u8]) -> Result<Decoded<'_>, SkipReason> {
    let config = DecoderConfig {
        vxlan_ports: Vec::new(),
        defrag: DefragConfig::default(),
    };
    walk(&config, None, link_type, frame, Timestamp::default())
}

/// True when the decoder knows this link type; lets the pipeline report an unknown one once per
/// interface instead of once per packet.
pub fn link_type_supported(link_type: u32) -> bool {
    link::supported(link_type)
}

/// The hash that picks a worker for a frame (`--workers`): symmetric, so both directions of a
/// flow meet on one worker, over the innermost 5-tuple (tunnels are walked, as the decoder
/// walks them: this is the decoder's own stateless walk, without reassembly). A fragment is
/// hashed on its IP address pair only, so every fragment of a datagram meets on one worker
/// (the reassembled datagram is then handled there, even when the flow's other packets went
/// elsewhere: fragmented TCP is rare and the flow table takes a flow up on data). A frame that
/// does not decode to TCP/UDP is hashed on the last IP pair seen, or 0.
pub fn dispatch_hash(config: &DecoderConfig, link_type: u32, frame: &[u8]) -> u64 {
    dispatch(config, link_type, frame).0
}

/// [`dispatch_hash`], with the packet the stateless walk decoded (`None` when it did not
/// reach TCP or UDP): the dispatcher reads DHCP from it before any later packet goes out.
pub fn dispatch<'a>(
    config: &DecoderConfig,
    link_type: u32,
    frame: &'a [u8],
) -> (u64, Option<Decoded<'a>>) {
    let mut ctx = Context::default();
    let decoded = match fast::decode(config, link_type, frame) {
        Some(d) => Ok(d),
        None => walk_in(
            config,
            None,
            link_type,
            frame,
            Timestamp::default(),
            &mut ctx,
        ),
    };
    match decoded {
        Ok(d) => (
            symmetric_hash(
                (d.src_ip, d.src_port),
                (d.dst_ip, d.dst_port),
                d.proto.number(),
            ),
            Some(d),
        ),
        Err(_) => match ctx.stopped_ip.or(ctx.last_ip) {
            Some((a, b)) => (symmetric_hash((a, 0), (b, 0), 0), None),
            None => (0, None),
        },
    }
}

/// Order the endpoints, then mix: the same value for both directions.
fn symmetric_hash(a: (IpAddr, u16), b: (IpAddr, u16), proto: u8) -> u64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(proto);
    for (ip, port) in [lo, hi] {
        let words = match ip {
            IpAddr::V4(v4) => [u64::from(u32::from(v4)), 0],
            IpAddr::V6(v6) => {
                let n = u128::from(v6);
                [n as u64, (n >> 64) as u64]
            }
        };
        for w in [words[0], words[1], u64::from(port)] {
            h = (h ^ w).wrapping_mul(0xff51_afd7_ed55_8ccd);
            h ^= h >> 33;
        }
    }
    h
}

/// Source and destination of an IPv4 or IPv6 header, read without validating the rest.
fn peek_ip_pair(data: &[u8]) -> Option<(IpAddr, IpAddr)> {
    match data.first()? >> 4 {
        4 => {
            let s: [u8; 4] = data.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = data.get(16..20)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        6 => {
            let s: [u8; 16] = data.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = data.get(24..40)?.try_into().ok()?;
            Some((IpAddr::from(s), IpAddr::from(d)))
        }
        _ => None,
    }
}

/// The next header to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// An Ethernet II header.
    Ethernet,
    /// The payload of this EtherType (after Ethernet, SLL, a VLAN tag).
    EtherType(u16),
    /// PPP protocol field (PPP links, PPPoE, PPTP's GRE).
    Ppp,
    /// An MPLS label stack.
    Mpls,
    /// An IPv4 or IPv6 header.
    Ip,
    /// A GRE header (IP protocol 47, or UDP port 4754).
    Gre,
}

pub(crate) fn read_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

pub(crate) fn rest(data: &[u8], from: usize) -> Result<&[u8], SkipReason> {
    data.get(from..).ok_or(SkipReason::TruncatedLink)
}

/// Where the walk is: VLAN ids, tunnel depth, the outermost tunnel, the last IP addresses.
#[derive(Default)]
struct Context {
    vlans: VlanIds,
    depth: u8,
    tunnel: Option<Tunnel>,
    last_ip: Option<(IpAddr, IpAddr)>,
    /// Addresses of an IP header the walk stopped at (a fragment, a bad header past the
    /// addresses), for [`dispatch_hash`].
    stopped_ip: Option<(IpAddr, IpAddr)>,
    /// The Ethernet addresses of the last Ethernet header walked (cleared by a tunnel).
    macs: Option<LinkAddrs>,
}

impl Context {
    /// Step into a tunnel carried by IP protocol `proto` of the last IP header (None: a tunnel
    /// without an outer IP header, such as an MPLS pseudowire).
    fn enter(&mut self, proto: Option<u8>) -> Result<(), SkipReason> {
        self.depth += 1;
        // The inner IP packet was not sent by the outer frame's source.
        self.macs = None;
        if self.depth > MAX_TUNNEL_DEPTH {
            return Err(SkipReason::TunnelTooDeep);
        }
        if self.tunnel.is_none()
            && let (Some(proto), Some((src_ip, dst_ip))) = (proto, self.last_ip)
        {
            self.tunnel = Some(Tunnel {
                src_ip,
                dst_ip,
                proto,
                depth: 0,
            });
        }
        Ok(())
    }

    fn tunnel(&self) -> Option<Tunnel> {
        self.tunnel.map(|t| Tunnel {
            depth: self.depth,
            ..t
        })
    }
}

/// The whole walk, from the link layer to TCP or UDP.
fn walk<'a>(
    config: &DecoderConfig,
    defrag: Option<&'a mut Defrag>,
    link_type: u32,
    frame: &'a [u8],
    ts: Timestamp,
) -> Result<Decoded<'a>, SkipReason> {
    // The common frames first; whatever the fast path does not take, the walk decides.
    if let Some(d) = fast::decode(config, link_type, frame) {
        return Ok(d);
    }
    walk_in(
        config,
        defrag,
        link_type,
        frame,
        ts,
        &mut Context::default(),
    )
}

/// The walk, leaving its context behind for the caller.
fn walk_in<'a>(
    config: &DecoderConfig,
    mut defrag: Option<&'a mut Defrag>,
    link_type: u32,
    frame: &'a [u8],
    ts: Timestamp,
    ctx: &mut Context,
) -> Result<Decoded<'a>, SkipReason> {
    let (mut layer, mut data) = link::start(link_type, frame)?;
    let mut reassembled = false;
    loop {
        match layer {
            Layer::Ethernet => {
                let et = read_u16(data, 12).ok_or(SkipReason::TruncatedLink)?;
                ctx.macs = data.first_chunk::<14>().map(LinkAddrs::of_header);
                data = rest(data, 14)?;
                layer = Layer::EtherType(et);
            }
            Layer::EtherType(et) => match et {
                ethertype::IPV4 | ethertype::IPV6 => layer = Layer::Ip,
                ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD => {
                    let tci = read_u16(data, 0).ok_or(SkipReason::TruncatedLink)?;
                    ctx.vlans.push(tci & 0x0fff);
                    let inner = read_u16(data, 2).ok_or(SkipReason::TruncatedLink)?;
                    data = rest(data, 4)?;
                    layer = Layer::EtherType(inner);
                }
                ethertype::MPLS_UC | ethertype::MPLS_MC => layer = Layer::Mpls,
                ethertype::PPPOE_SESSION => {
                    data = tunnel::pppoe_session(data)?;
                    layer = Layer::Ppp;
                }
                _ => return Err(SkipReason::NotIp),
            },
            Layer::Ppp => {
                let (proto, inner) = link::ppp(data)?;
                match proto {
                    0x0021 | 0x0057 => {
                        data = inner;
                        layer = Layer::Ip;
                    }
                    _ => return Err(SkipReason::NotIp),
                }
            }
            Layer::Mpls => {
                let (next, inner, pseudowire) = tunnel::mpls(data)?;
                if pseudowire {
                    ctx.enter(None)?;
                }
                layer = next;
                data = inner;
            }
            Layer::Gre => {
                let (next, inner) = tunnel::gre(data)?;
                layer = next;
                data = inner;
            }
            Layer::Ip => {
                let ip = match ip_layer(data, &mut defrag, ts) {
                    Ok(ip) => ip,
                    Err(e) => {
                        ctx.stopped_ip = peek_ip_pair(data);
                        return Err(e);
                    }
                };
                reassembled |= ip.reassembled;
                ctx.last_ip = Some((ip.src, ip.dst));
                match ip.proto {
                    IPPROTO_TCP => return tcp(ip, ctx, reassembled),
                    IPPROTO_UDP => {
                        let udp = udp(ip.payload)?;
                        if let Some((next, inner)) = udp_tunnel(config, &udp) {
                            ctx.enter(Some(IPPROTO_UDP))?;
                            layer = next;
                            data = inner;
                            continue;
                        }
                        return Ok(Decoded {
                            src_ip: ip.src,
                            dst_ip: ip.dst,
                            proto: L4Proto::Udp,
                            src_port: udp.src_port,
                            dst_port: udp.dst_port,
                            tcp_flags: TcpFlags::default(),
                            payload: udp.payload,
                            vlans: ctx.vlans,
                            tunnel: ctx.tunnel(),
                            reassembled,
                            macs: ctx.macs,
                        });
                    }
                    IPPROTO_IPIP | IPPROTO_IPV6 => {
                        ctx.enter(Some(ip.proto))?;
                        data = ip.payload;
                    }
                    IPPROTO_GRE => {
                        ctx.enter(Some(IPPROTO_GRE))?;
                        data = ip.payload;
                        layer = Layer::Gre;
                    }
                    _ => return Err(SkipReason::OtherTransport),
                }
            }
        }
    }
}

/// One IP layer: addresses, the protocol it carries and its payload.
struct IpLayer<'a> {
    src: IpAddr,
    dst: IpAddr,
    proto: u8,
    payload: &'a [u8],
    reassembled: bool,
}

/// Slice an IP header (v4 or v6 with extension headers); hand a fragment to reassembly.
fn ip_layer<'a>(
    data: &'a [u8],
    defrag: &mut Option<&'a mut Defrag>,
    ts: Timestamp,
) -> Result<IpLayer<'a>, SkipReason> {
    let (slice, _ext_error) = LaxIpSlice::from_slice(data).map_err(|_| SkipReason::BadIp)?;
    let (src, dst) = (slice.source_addr(), slice.destination_addr());
    let payload = slice.payload();
    let fragment = match &slice {
        LaxIpSlice::Ipv4(v4) if payload.fragmented => {
            let h = v4.header();
            if payload.incomplete {
                return Err(SkipReason::FragmentDropped);
            }
            Some(Fragment {
                key: FragKey {
                    src,
                    dst,
                    id: u32::from(h.identification()),
                    proto: h.protocol().0,
                },
                offset: usize::from(h.fragments_offset().value()) * 8,
                more: h.more_fragments(),
                next_proto: h.protocol().0,
                data: payload.payload,
            })
        }
        LaxIpSlice::Ipv6(v6) if !v6.extensions().is_empty() => ipv6_fragment(data, v6, src, dst)?,
        _ => None,
    };
    let Some(fragment) = fragment else {
        return Ok(IpLayer {
            src,
            dst,
            proto: payload.ip_number.0,
            payload: payload.payload,
            reassembled: false,
        });
    };
    // One reassembly per packet: the buffer is lent out until the next packet.
    let table = defrag.take().ok_or(SkipReason::FragmentDropped)?;
    let whole = table.insert(fragment, ts).ok_or(SkipReason::IpFragment)?;
    let (proto, payload) = match slice {
        LaxIpSlice::Ipv4(_) => (whole.proto, whole.data),
        LaxIpSlice::Ipv6(_) => {
            // Extension headers after the fragment header belong to the reassembled part.
            let (_, next, rest, _) =
                Ipv6ExtensionsSlice::from_slice_lax(IpNumber(whole.proto), whole.data);
            (next.0, rest)
        }
    };
    Ok(IpLayer {
        src,
        dst,
        proto,
        payload,
        reassembled: true,
    })
}

/// The fragment an IPv6 packet carries, if its fragment header fragments (offset or M set).
///
/// The fragment header's fields are read here, not through etherparse 0.16, whose
/// `Ipv6FragmentHeaderSlice` reads the offset and M bits from the wrong positions.
fn ipv6_fragment<'a>(
    data: &'a [u8],
    v6: &etherparse::LaxIpv6Slice<'a>,
    src: IpAddr,
    dst: IpAddr,
) -> Result<Option<Fragment<'a>>, SkipReason> {
    // The extension chain is walked here, bounds-checked, rather than with etherparse's
    // `Ipv6ExtensionSliceIter`: that iterator (0.16) re-slices unchecked and reads out of
    // bounds on some crafted chains (found by the `decode` fuzz target; see the regression
    // test `ipv6_extension_chain_fuzz_crash`).
    let Some(at) = ipv6_fragment_header_at(data, v6.header().next_header().0) else {
        return Ok(None);
    };
    let raw = data.get(at..at + 8).ok_or(SkipReason::FragmentDropped)?;
    let (Some(&next), Some(field), Some(id)) = (raw.first(), raw.get(2..4), raw.get(4..8)) else {
        return Err(SkipReason::FragmentDropped);
    };
    let field = u16::from_be_bytes([field[0], field[1]]);
    let (offset, more) = (usize::from(field >> 3) * 8, field & 1 != 0);
    if offset == 0 && !more {
        // An atomic fragment (RFC 6946): the payload is whole.
        return Ok(None);
    }
    let end = match usize::from(v6.header().payload_length()) {
        0 => data.len(),
        len => 40 + len,
    };
    // The fragmentable part starts right after the fragment header.
    let start = at + 8;
    Ok(Some(Fragment {
        key: FragKey {
            src,
            dst,
            id: u32::from_be_bytes([id[0], id[1], id[2], id[3]]),
            proto: 0,
        },
        offset,
        more,
        next_proto: next,
        data: data.get(start..end).ok_or(SkipReason::FragmentDropped)?,
    }))
}

/// Offset of the IPv6 fragment header in `data` (an IPv6 packet), following the extension
/// chain from the fixed header's next-header value; `None` when there is none or the chain is
/// cut short. At most 8 headers are followed.
fn ipv6_fragment_header_at(data: &[u8], mut next: u8) -> Option<usize> {
    const HOP_BY_HOP: u8 = 0;
    const ROUTING: u8 = 43;
    const FRAGMENT: u8 = 44;
    const AUTH: u8 = 51;
    const DEST_OPTS: u8 = 60;
    let mut at = 40usize;
    for _ in 0..8 {
        let header = data.get(at..at.checked_add(2)?)?;
        let len = match next {
            FRAGMENT => return Some(at),
            HOP_BY_HOP | ROUTING | DEST_OPTS => (usize::from(header[1]) + 1) * 8,
            AUTH => (usize::from(header[1]) + 2) * 4,
            _ => return None,
        };
        next = header[0];
        at = at.checked_add(len)?;
    }
    None
}

struct Udp<'a> {
    src_port: u16,
    dst_port: u16,
    payload: &'a [u8],
}

fn udp(data: &[u8]) -> Result<Udp<'_>, SkipReason> {
    let header = data.get(..8).ok_or(SkipReason::BadTransport)?;
    let udp_len = usize::from(u16::from_be_bytes([header[4], header[5]]));
    // A UDP length shorter than the header is invalid; longer than the data means the snaplen
    // cut it: keep what we have.
    if udp_len < 8 {
        return Err(SkipReason::BadTransport);
    }
    let end = udp_len.min(data.len());
    Ok(Udp {
        src_port: u16::from_be_bytes([header[0], header[1]]),
        dst_port: u16::from_be_bytes([header[2], header[3]]),
        payload: data.get(8..end).unwrap_or(&[]),
    })
}

/// A UDP payload that is a tunnel we decode: the layer inside and its bytes. A payload on a
/// tunnel port that does not parse as that tunnel stays plain UDP.
fn udp_tunnel<'a>(config: &DecoderConfig, udp: &Udp<'a>) -> Option<(Layer, &'a [u8])> {
    let dst = udp.dst_port;
    if dst == VXLAN_PORT || config.vxlan_ports.contains(&dst) {
        return tunnel::vxlan(udp.payload).map(|inner| (Layer::Ethernet, inner));
    }
    match dst {
        GENEVE_PORT => tunnel::geneve(udp.payload).ok(),
        GRE_UDP_PORT => Some((Layer::Gre, udp.payload)),
        MPLS_UDP_PORT => Some((Layer::Mpls, udp.payload)),
        _ if udp.src_port == TEREDO_PORT || dst == TEREDO_PORT => {
            tunnel::teredo(udp.payload).map(|inner| (Layer::Ip, inner))
        }
        _ => None,
    }
}

fn tcp<'a>(ip: IpLayer<'a>, ctx: &Context, reassembled: bool) -> Result<Decoded<'a>, SkipReason> {
    let tcp = TcpHeaderSlice::from_slice(ip.payload).map_err(|_| SkipReason::BadTransport)?;
    let header_len = tcp.slice().len();
    Ok(Decoded {
        src_ip: ip.src,
        dst_ip: ip.dst,
        proto: L4Proto::Tcp,
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        tcp_flags: TcpFlags {
            syn: tcp.syn(),
            ack: tcp.ack(),
            fin: tcp.fin(),
            rst: tcp.rst(),
            seq: tcp.sequence_number(),
        },
        payload: ip.payload.get(header_len..).unwrap_or(&[]),
        vlans: ctx.vlans,
        tunnel: ctx.tunnel(),
        reassembled,
        macs: ctx.macs,
    })
}
