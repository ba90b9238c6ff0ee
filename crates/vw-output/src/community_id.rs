//! Community ID v1 flow hash (<https://github.com/corelight/community-id-spec>), so our records
//! join with Zeek's `conn.log` and Suricata's EVE on `community_id`.
//!
//! `"1:" + base64(SHA-1(seed(u16 BE) . src ip . dst ip . proto . 0 . src port . dst port))`,
//! with the endpoints ordered first: the smaller address (bytewise) is the source; on equal
//! addresses the smaller port. SHA-1 and base64 are written out here (a few dozen lines each)
//! and only run when a record is written.

use std::net::IpAddr;

/// Community ID of a TCP/UDP flow, `1:` + 28 base64 characters, in a stack buffer.
pub fn community_id(
    seed: u16,
    src_ip: IpAddr,
    dst_ip: IpAddr,
    src_port: u16,
    dst_port: u16,
    proto: u8,
) -> CommunityId {
    let mut input = [0u8; 2 + 16 + 16 + 2 + 4];
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        input[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    let ordered = ip_key(src_ip) < ip_key(dst_ip)
        || (ip_key(src_ip) == ip_key(dst_ip) && src_port <= dst_port);
    let ((a, ap), (b, bp)) = if ordered {
        ((src_ip, src_port), (dst_ip, dst_port))
    } else {
        ((dst_ip, dst_port), (src_ip, src_port))
    };
    put(&seed.to_be_bytes());
    put(ip_key(a).as_slice());
    put(ip_key(b).as_slice());
    put(&[proto, 0]);
    put(&ap.to_be_bytes());
    put(&bp.to_be_bytes());
    let digest = sha1(&input[..len]);
    let mut out = CommunityId { buf: [0; 30] };
    out.buf[..2].copy_from_slice(b"1:");
    base64(&digest, &mut out.buf[2..]);
    out
}

/// A formatted Community ID (always 30 ASCII bytes).
#[derive(Clone, Copy)]
pub struct CommunityId {
    buf: [u8; 30],
}

impl CommunityId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written into the buffer.
        std::str::from_utf8(&self.buf).unwrap_or("")
    }
}

/// Address bytes (4 or 16) for ordering and hashing.
struct IpKey {
    bytes: [u8; 16],
    len: usize,
}

impl IpKey {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl PartialEq for IpKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl PartialOrd for IpKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.as_slice().cmp(other.as_slice()))
    }
}

fn ip_key(ip: IpAddr) -> IpKey {
    let mut bytes = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => {
            bytes[..4].copy_from_slice(&v4.octets());
            IpKey { bytes, len: 4 }
        }
        IpAddr::V6(v6) => IpKey {
            bytes: v6.octets(),
            len: 16,
        },
    }
}

/// Standard base64 with padding of a 20-byte digest (28 characters).
fn base64(data: &[u8; 20], out: &mut [u8]) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = 0;
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            out[o + i] = if i <= chunk.len() {
                ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]
            } else {
                b'='
            };
        }
        o += 4;
    }
}

/// SHA-1 (FIPS 180-4) of a short message.
pub fn sha1(msg: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (msg.len() as u64).wrapping_mul(8);
    let mut block = [0u8; 64];
    let total = (msg.len() + 9).div_ceil(64) * 64;
    for start in (0..total).step_by(64) {
        for (i, byte) in block.iter_mut().enumerate() {
            let at = start + i;
            *byte = if at < msg.len() {
                msg[at]
            } else if at == msg.len() {
                0x80
            } else if at >= total - 8 {
                (bit_len >> (8 * (total - 1 - at))) as u8
            } else {
                0
            };
        }
        let mut w = [0u32; 80];
        for i in 0..16 {
            w[i] = u32::from_be_bytes([
                block[4 * i],
                block[4 * i + 1],
                block[4 * i + 2],
                block[4 * i + 3],
            ]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hv, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hv = hv.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (i, v) in h.iter().enumerate() {
        out[4 * i..4 * i + 4].copy_from_slice(&v.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(d: &[u8]) -> String {
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha1_known_answers() {
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
    }

    fn cid(src: &str, dst: &str, sp: u16, dp: u16, proto: u8) -> String {
        community_id(0, src.parse().unwrap(), dst.parse().unwrap(), sp, dp, proto)
            .as_str()
            .to_string()
    }

    /// Baseline vectors of the Community ID spec (corelight/community-id-spec, seed 0).
    #[test]
    fn spec_vectors_both_directions() {
        let tcp = "1:LQU9qZlK+B5F3KDmev6m5PMibrg=";
        assert_eq!(cid("128.232.110.120", "66.35.250.204", 34855, 80, 6), tcp);
        assert_eq!(cid("66.35.250.204", "128.232.110.120", 80, 34855, 6), tcp);
        let udp = "1:d/FP5EW3wiY1vCndhwleRRKHowQ=";
        assert_eq!(cid("192.168.1.52", "8.8.8.8", 54585, 53, 17), udp);
        assert_eq!(cid("8.8.8.8", "192.168.1.52", 53, 54585, 17), udp);
    }

    /// The values Suricata logged for sv-community-id-ipv6.pcap (../shared/corpus); its
    /// suricata-verify configuration sets `community-id-seed: 7`.
    #[test]
    fn suricata_ipv6_vectors_seed_7() {
        let c = |dst: &str, sp| {
            community_id(
                7,
                "2600:1f13:f8:d400:3a6:303c:e011:18eb".parse().unwrap(),
                dst.parse().unwrap(),
                sp,
                443,
                6,
            )
            .as_str()
            .to_string()
        };
        assert_eq!(
            c("2001:4860:4860::8888", 33892),
            "1:PGf+a0eBbs1OhuPtJmsF0Sm51v4="
        );
        assert_eq!(
            c("2607:f8b0:400a:800::200e", 60202),
            "1:ptJhMvufAbB5nLDNW77cB800wFM="
        );
        // Seed 0 gives another value for the same flow.
        assert_eq!(
            cid(
                "2600:1f13:f8:d400:3a6:303c:e011:18eb",
                "2001:4860:4860::8888",
                33892,
                443,
                6
            ),
            "1:x48XA3YiAaOKTB0FEpvi+0cbuGg="
        );
    }
}
