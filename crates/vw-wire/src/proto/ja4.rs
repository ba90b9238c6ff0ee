//! JA4 client fingerprint (FoxIO, BSD-3-Clause specification) of a parsed ClientHello:
//! `a_b_c` where
//! - `a` = transport (`t` TCP, `q` QUIC), highest offered TLS version (`13`, `12`, `11`, `10`,
//!   `s3`, `s2`, else `00`), `d` when a server_name extension is present else `i`, the number
//!   of cipher suites and of extensions (GREASE excluded, capped at 99, two digits), and the
//!   first and last character of the first ALPN value (`00` without ALPN; when either byte is
//!   not ASCII alphanumeric, the first and last hex digits of the value instead);
//! - `b` = first 12 hex digits of SHA-256 over the sorted cipher suites as 4-digit hex joined
//!   by `,` (`000000000000` when there are none);
//! - `c` = first 12 hex digits of SHA-256 over the sorted extension types without GREASE, SNI
//!   (0x0000) and ALPN (0x0010), then `_` and the signature algorithms in wire order (no `_`
//!   when there are none; `000000000000` when there are no extensions).
//!
//! Computed only when a record is written. Sorting uses stack arrays (a heap fallback only for
//! a hello with more than 256 suites or extensions); the hash is fed piece by piece, so no
//! string is built. Verified against FoxIO's reference test vector and against Suricata 8's
//! output on the corpus (`sv-ja4-quic`, `sv-ja4-tls-quic`).

use sha2::{Digest, Sha256};

use super::tls::{ClientHello, is_grease};

/// Extension type `signature_algorithms`.
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_SNI: u16 = 0x0000;
const EXT_ALPN: u16 = 0x0010;

/// Length of a JA4 string.
pub const JA4_LEN: usize = 36;

/// A JA4 fingerprint, held on the stack.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ja4([u8; JA4_LEN]);

impl Ja4 {
    /// The fingerprint text.
    pub fn as_str(&self) -> &str {
        // Built from ASCII only.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for Ja4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Ja4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ja4({})", self.as_str())
    }
}

/// Transport the hello came over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS over TCP.
    Tcp,
    /// QUIC.
    Quic,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn u16s(bytes: &[u8]) -> impl Iterator<Item = u16> + '_ {
    bytes
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
}

/// Extension types and bodies of an extensions block, stopping at the first bad length.
fn extensions(block: &[u8]) -> impl Iterator<Item = (u16, &[u8])> + '_ {
    let mut rest = block;
    std::iter::from_fn(move || {
        let (head, tail) = rest.split_first_chunk::<4>()?;
        let ty = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if len > tail.len() {
            rest = &[];
            return None;
        }
        let (body, next) = tail.split_at(len);
        rest = next;
        Some((ty, body))
    })
}

/// Sort `items` in a stack array (or `heap` when there are too many) and return them.
fn sorted<'b>(
    items: impl Iterator<Item = u16>,
    stack: &'b mut [u16; 256],
    heap: &'b mut Vec<u16>,
) -> &'b [u16] {
    let mut n = 0;
    for v in items {
        if n < stack.len() {
            stack[n] = v;
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&stack[..]);
            }
            heap.push(v);
        }
        n += 1;
    }
    let list: &'b mut [u16] = if heap.is_empty() {
        &mut stack[..n]
    } else {
        &mut heap[..]
    };
    list.sort_unstable();
    list
}

fn hash_hex_list(h: &mut Sha256, list: impl Iterator<Item = u16>) -> bool {
    let mut any = false;
    for v in list {
        if any {
            h.update(b",");
        }
        let b = v.to_be_bytes();
        h.update([
            HEX[usize::from(b[0] >> 4)],
            HEX[usize::from(b[0] & 15)],
            HEX[usize::from(b[1] >> 4)],
            HEX[usize::from(b[1] & 15)],
        ]);
        any = true;
    }
    any
}

fn write_hash12(out: &mut [u8], h: Sha256) {
    let digest = h.finalize();
    for (i, slot) in out.iter_mut().take(12).enumerate() {
        let byte = digest[i / 2];
        *slot = HEX[usize::from(if i % 2 == 0 { byte >> 4 } else { byte & 15 })];
    }
}

fn two_digits(n: usize) -> [u8; 2] {
    let n = n.min(99) as u8;
    [b'0' + n / 10, b'0' + n % 10]
}

/// The two ALPN characters of part `a`.
fn alpn_chars(alpn_ext: Option<&[u8]>) -> [u8; 2] {
    let first = alpn_ext.and_then(|body| {
        let list = body.get(2..)?;
        let len = usize::from(*list.first()?);
        list.get(1..1 + len).filter(|v| !v.is_empty())
    });
    let Some(value) = first else {
        return *b"00";
    };
    let (a, z) = (value[0], value[value.len() - 1]);
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        [a, z]
    } else {
        [HEX[usize::from(a >> 4)], HEX[usize::from(z & 15)]]
    }
}

fn version_code(v: u16) -> [u8; 2] {
    match v {
        0x0304 => *b"13",
        0x0303 => *b"12",
        0x0302 => *b"11",
        0x0301 => *b"10",
        0x0300 => *b"s3",
        0x0002 => *b"s2",
        0xfeff => *b"d1",
        0xfefd => *b"d2",
        0xfefc => *b"d3",
        _ => *b"00",
    }
}

/// The JA4 fingerprint of a ClientHello.
pub fn ja4(hello: &ClientHello<'_>, transport: Transport) -> Ja4 {
    let mut out = [b'0'; JA4_LEN];
    out[0] = match transport {
        Transport::Tcp => b't',
        Transport::Quic => b'q',
    };
    out[1..3].copy_from_slice(&version_code(hello.max_version()));
    let ciphers = || u16s(hello.cipher_suites).filter(|c| !is_grease(*c));
    let exts = || extensions(hello.extensions).filter(|(t, _)| !is_grease(*t));
    let has_sni = exts().any(|(t, _)| t == EXT_SNI);
    out[3] = if has_sni { b'd' } else { b'i' };
    out[4..6].copy_from_slice(&two_digits(ciphers().count()));
    out[6..8].copy_from_slice(&two_digits(exts().count()));
    out[8..10].copy_from_slice(&alpn_chars(hello.alpn));
    out[10] = b'_';
    out[23] = b'_';

    let mut stack = [0u16; 256];
    let mut heap = Vec::new();
    let mut h = Sha256::new();
    if hash_hex_list(
        &mut h,
        sorted(ciphers(), &mut stack, &mut heap).iter().copied(),
    ) {
        write_hash12(&mut out[11..23], h);
    }

    heap.clear();
    let mut h = Sha256::new();
    let list = sorted(
        exts()
            .map(|(t, _)| t)
            .filter(|t| *t != EXT_SNI && *t != EXT_ALPN),
        &mut stack,
        &mut heap,
    );
    if hash_hex_list(&mut h, list.iter().copied()) {
        let sigs = exts()
            .find(|(t, _)| *t == EXT_SIGNATURE_ALGORITHMS)
            .and_then(|(_, body)| {
                let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
                body.get(2..2 + len.min(body.len() - 2))
            })
            .unwrap_or(&[]);
        if !sigs.is_empty() {
            h.update(b"_");
            hash_hex_list(&mut h, u16s(sigs));
        }
        write_hash12(&mut out[24..36], h);
    }
    Ja4(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::tls::parse_client_hello_body;

    use vw_craft::tls::{ClientHello, alpn_body, server_names_body, u16_list, versions_body};

    /// A ClientHello body (random 07.., no session id) with these suites and extensions.
    fn hello_body(ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        exts.iter()
            .fold(
                ClientHello::new().random([7; 32]).ciphers(ciphers),
                |h, (t, body)| h.ext(*t, body),
            )
            .body()
    }

    /// FoxIO's reference test vector (rust/ja4/src/tls.rs `test_client_stats_into_out`):
    /// raw `t13d1516h2_002f,0035,...` gives `t13d1516h2_8daaf6152771_e5627efa2ab1`.
    #[test]
    fn foxio_reference_vector() {
        let ciphers = [
            0x0a0a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
            0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
        ];
        let sni = server_names_body(&[(0, b"example.com")]);
        let alpn = alpn_body(&["h2"]);
        let sigs = u16_list(&[
            0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
        ]);
        let mut exts = vec![(0x2a2a, vec![])];
        for t in [
            0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012,
            0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
        ] {
            let body = match t {
                0x0000 => sni.clone(),
                0x0010 => alpn.clone(),
                0x000d => sigs.clone(),
                0x002b => versions_body(&[0x3a3a, 0x0304, 0x0303]),
                _ => vec![],
            };
            exts.push((t, body));
        }
        let body = hello_body(&ciphers, &exts);
        let hello = parse_client_hello_body(&body, 0x0301).unwrap();
        assert_eq!(
            ja4(&hello, Transport::Tcp).as_str(),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        assert_eq!(
            ja4(&hello, Transport::Quic).as_str(),
            "q13d1516h2_8daaf6152771_e5627efa2ab1"
        );
    }

    #[test]
    fn edge_cases() {
        // No ciphers is rejected by the parser; one cipher, no extensions at all.
        let body = hello_body(&[0x1301], &[]);
        let hello = parse_client_hello_body(&body, 0x0301).unwrap();
        let s = ja4(&hello, Transport::Tcp);
        assert_eq!(&s.as_str()[..11], "t12i010000_");
        assert!(s.as_str().ends_with("_000000000000"));
        // ALPN with non-alphanumeric bytes uses hex digits; single-byte ALPN repeats.
        assert_eq!(alpn_chars(Some(&[0, 3, 2, 0xab, 0xcd])), *b"ad");
        assert_eq!(alpn_chars(Some(&[0, 2, 1, b'x'])), *b"xx");
        assert_eq!(alpn_chars(Some(&[0, 9, 8])), *b"00");
        assert_eq!(alpn_chars(None), *b"00");
        // Many suites: counts cap at 99, the heap fallback sorts them all.
        let many: Vec<u16> = (1..400).collect();
        let body = hello_body(&many, &[]);
        let hello = parse_client_hello_body(&body, 0x0301).unwrap();
        assert_eq!(&ja4(&hello, Transport::Tcp).as_str()[..10], "t12i990000");
    }
}
