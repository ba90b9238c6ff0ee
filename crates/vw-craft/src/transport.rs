//! TCP and UDP headers.

/// TCP flag FIN.
pub const FIN: u8 = 0x01;
/// TCP flag SYN.
pub const SYN: u8 = 0x02;
/// TCP flag RST.
pub const RST: u8 = 0x04;
/// TCP flag PSH.
pub const PSH: u8 = 0x08;
/// TCP flag ACK.
pub const ACK: u8 = 0x10;

/// A TCP header; [`Tcp::new`] gives the defaults, struct update the window and options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tcp<'a> {
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    /// Flag bits ([`SYN`], [`ACK`], ...).
    pub flags: u8,
    pub window: u16,
    /// Options, a multiple of 4 bytes long (the data offset follows).
    pub options: &'a [u8],
}

impl Tcp<'static> {
    /// Header `sport` -> `dport` with these numbers and flags: window 65535, no options.
    pub fn new(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8) -> Self {
        Tcp {
            sport,
            dport,
            seq,
            ack,
            flags,
            window: 0xffff,
            options: &[],
        }
    }
}

impl Tcp<'_> {
    /// The header (checksum 0, urgent pointer 0) followed by `payload`.
    pub fn build(&self, payload: &[u8]) -> Vec<u8> {
        assert!(
            self.options.len().is_multiple_of(4),
            "TCP options pad to 4 bytes"
        );
        let hlen = 20 + self.options.len();
        let mut s = Vec::with_capacity(hlen + payload.len());
        s.extend_from_slice(&self.sport.to_be_bytes());
        s.extend_from_slice(&self.dport.to_be_bytes());
        s.extend_from_slice(&self.seq.to_be_bytes());
        s.extend_from_slice(&self.ack.to_be_bytes());
        s.extend_from_slice(&[((hlen / 4) as u8) << 4, self.flags]);
        s.extend_from_slice(&self.window.to_be_bytes());
        s.extend_from_slice(&[0, 0, 0, 0]);
        s.extend_from_slice(self.options);
        s.extend_from_slice(payload);
        s
    }
}

/// TCP segment `sport` -> `dport` (window 65535, no options, checksum 0).
pub fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    Tcp::new(sport, dport, seq, ack, flags).build(payload)
}

/// UDP datagram `sport` -> `dport` (checksum 0).
pub fn udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut s = Vec::with_capacity(8 + payload.len());
    s.extend_from_slice(&sport.to_be_bytes());
    s.extend_from_slice(&dport.to_be_bytes());
    s.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    s.extend_from_slice(&[0, 0]);
    s.extend_from_slice(payload);
    s
}
