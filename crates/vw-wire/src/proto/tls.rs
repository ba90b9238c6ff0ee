//! Allocation-free TLS ClientHello parser: SNI, ALPN, supported versions, ECH presence, and
//! the raw cipher suite and extension blocks that JA4 needs later.
//!
//! Everything returned borrows from the payload; nothing is copied or allocated. Every length
//! read from the wire is checked against what is present before it is used, and every loop
//! consumes input, so hostile bytes give `None` after a bounded amount of work, never a panic.
//!
//! Scope: one ClientHello that is complete inside the given bytes. A hello split over several
//! TCP segments is the reassembler's job (it then calls [`parse_client_hello_body`] on the
//! joined handshake body, or [`parse_client_hello_prefix`] on the part it holds of a hello
//! longer than its limit). A hello split over several TLS *records* inside one payload is not
//! handled either (it is rare, and joining the fragments would need a buffer): such payloads
//! give `None`. SSLv2-compatible hellos give `None`.

#![deny(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// TLS record content type of a handshake.
pub const CONTENT_HANDSHAKE: u8 = 22;
/// Handshake message type of a ClientHello.
pub const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// Extension type `server_name` (RFC 6066).
pub const EXT_SERVER_NAME: u16 = 0x0000;
/// Extension type `application_layer_protocol_negotiation` (RFC 7301).
pub const EXT_ALPN: u16 = 0x0010;
/// Extension type `supported_versions` (RFC 8446).
pub const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
/// Extension type `encrypted_client_hello` (RFC 9849, draft-ietf-tls-esni).
pub const EXT_ECH: u16 = 0xfe0d;

/// The fields of a ClientHello the monitor uses, all borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientHello<'a> {
    /// Version in the record header (often 0x0301 even for TLS 1.3).
    pub record_version: u16,
    /// `legacy_version` (client_version) of the hello body; 0x0303 for TLS 1.3.
    pub legacy_version: u16,
    /// The first `host_name` entry of the `server_name` extension, raw bytes as on the wire
    /// (case kept, not validated). `None` when there is no such extension, its list is
    /// malformed, it holds no host_name entry, or the host_name is empty (nothing to match).
    pub sni: Option<&'a [u8]>,
    /// Raw body of the ALPN extension (the 2-byte list length and the list), for JA4.
    pub alpn: Option<&'a [u8]>,
    /// Raw body of the supported_versions extension (1-byte length and the list).
    pub supported_versions: Option<&'a [u8]>,
    /// True when the encrypted_client_hello extension (0xfe0d) is present: the SNI is then
    /// the public (outer) name, which is worth knowing when reading an alert.
    pub has_ech: bool,
    /// The cipher suite list (without its length prefix), for JA4.
    pub cipher_suites: &'a [u8],
    /// The whole extensions block (without its length prefix), for JA4; empty if absent. For
    /// a cut hello, only the extensions complete before the cut.
    pub extensions: &'a [u8],
    /// Only the start of the hello was parsed ([`parse_client_hello_prefix`]): extensions
    /// after the cut are missing, so SNI, ALPN and versions are what came before it, and no
    /// JA4 can be computed.
    pub cut: bool,
}

impl ClientHello<'_> {
    /// The highest version the client offers: the largest non-GREASE entry of
    /// supported_versions, else `legacy_version` (what a TLS 1.2-only client means).
    pub fn max_version(&self) -> u16 {
        self.supported_versions
            .and_then(|body| {
                let list = body.get(1..)?;
                let declared = usize::from(*body.first()?);
                let list = list.get(..declared.min(list.len()))?;
                list.chunks_exact(2)
                    .filter_map(|c| match c {
                        [hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
                        _ => None,
                    })
                    .filter(|v| !is_grease(*v))
                    .max()
            })
            .unwrap_or(self.legacy_version)
    }
}

/// True for the RFC 8701 GREASE values (0x0a0a, 0x1a1a, ... 0xfafa), which clients insert
/// to keep servers tolerant and which must be ignored when reading versions or lists.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// Parses a TLS ClientHello that starts at the first byte of `payload`: a TLS record
/// (content type 22, version 0x0300..=0x0304) holding a handshake of type 1.
///
/// The whole handshake message must be inside the first record, and the record must be
/// complete in `payload`; otherwise (a hello cut by the segment boundary, or fragmented over
/// several records) the result is `None`. Bytes after the hello (other records) are ignored.
pub fn parse_client_hello(payload: &[u8]) -> Option<ClientHello<'_>> {
    if !looks_like_client_hello(payload) {
        return None;
    }
    let mut rec = Cursor::new(payload);
    rec.skip(1)?;
    let record_version = rec.u16()?;
    let record_len = usize::from(rec.u16()?);
    let record = rec.take(record_len)?;

    let mut hs = Cursor::new(record);
    if hs.u8()? != HANDSHAKE_CLIENT_HELLO {
        return None;
    }
    let hs_len = hs.u24()?;
    // `take` fails when the handshake claims more than this record holds: either a hello
    // fragmented over records, or a lie. Both are None.
    let body = hs.take(hs_len)?;
    parse_client_hello_body(body, record_version)
}

/// Parses the body of a ClientHello handshake message (the bytes after its 4-byte handshake
/// header), with `record_version` taken from the (first) record header.
///
/// Public so a reassembler that joined a hello split over segments or records can reuse it.
/// The body may end right after the compression methods (no extensions, as old clients
/// send); bytes after the extensions block are ignored.
pub fn parse_client_hello_body(body: &[u8], record_version: u16) -> Option<ClientHello<'_>> {
    parse_body(body, record_version, false)
}

/// Parses the first bytes of a ClientHello body whose tail is not held (a hello larger than
/// the reassembler's limit): the fields before the extensions must be complete; the
/// extensions are walked until the first one the cut leaves incomplete. SNI is usually among
/// the first extensions, so it is found; the result is marked [`ClientHello::cut`].
pub fn parse_client_hello_prefix(prefix: &[u8], record_version: u16) -> Option<ClientHello<'_>> {
    parse_body(prefix, record_version, true)
}

/// The body parser; `cut`: `body` is only the start of the hello.
fn parse_body(body: &[u8], record_version: u16, cut: bool) -> Option<ClientHello<'_>> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16()?;
    c.skip(32)?; // random
    let sid_len = usize::from(c.u8()?);
    if sid_len > 32 {
        return None;
    }
    c.skip(sid_len)?;
    let cs_len = usize::from(c.u16()?);
    if cs_len == 0 || cs_len % 2 != 0 {
        return None;
    }
    let cipher_suites = c.take(cs_len)?;
    let comp_len = usize::from(c.u8()?);
    if comp_len == 0 {
        return None;
    }
    c.skip(comp_len)?;

    let mut hello = ClientHello {
        record_version,
        legacy_version,
        sni: None,
        alpn: None,
        supported_versions: None,
        has_ech: false,
        cipher_suites,
        extensions: &[],
        cut,
    };
    if c.is_empty() {
        return Some(hello);
    }
    let ext_len = usize::from(c.u16()?);
    let extensions = if cut {
        c.rest.get(..ext_len.min(c.rest.len()))?
    } else {
        c.take(ext_len)?
    };
    hello.extensions = extensions;

    let mut e = Cursor::new(extensions);
    let mut seen_sni = false;
    // Each turn consumes at least 4 bytes, so at most 16384 turns for a 64 KiB block.
    while !e.is_empty() {
        let at = extensions.len() - e.rest.len();
        let Some((ext_type, data)) = e.extension() else {
            // Cut inside this extension: keep what came before it.
            hello.extensions = extensions.get(..at)?;
            return cut.then_some(hello);
        };
        match ext_type {
            // The first instance of an extension wins; duplicates are a protocol error a
            // server would reject, so they carry nothing worth preferring.
            EXT_SERVER_NAME if !seen_sni => {
                seen_sni = true;
                hello.sni = first_host_name(data);
            }
            EXT_ALPN if hello.alpn.is_none() => hello.alpn = Some(data),
            EXT_SUPPORTED_VERSIONS if hello.supported_versions.is_none() => {
                hello.supported_versions = Some(data)
            }
            EXT_ECH => hello.has_ech = true,
            _ => {}
        }
    }
    Some(hello)
}

/// Very cheap check on the first 6 bytes (record type 22, version 3.0..=3.4, handshake type 1)
/// so non-TLS segments are skipped without parsing.
pub fn looks_like_client_hello(payload: &[u8]) -> bool {
    matches!(
        payload,
        [
            CONTENT_HANDSHAKE,
            0x03,
            0x00..=0x04,
            _,
            _,
            HANDSHAKE_CLIENT_HELLO,
            ..
        ]
    )
}

/// Suricata's EVE `tls.version` string for a protocol version; `"UNDETERMINED"` for
/// anything else, as Suricata writes it.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0300 => "SSLv3",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        _ => "UNDETERMINED",
    }
}

/// First non-empty `host_name` (type 0) of a server_name extension body; `None` when the list
/// is malformed or has none.
fn first_host_name(data: &[u8]) -> Option<&[u8]> {
    let mut c = Cursor::new(data);
    let list_len = usize::from(c.u16()?);
    let mut list = Cursor::new(c.take(list_len)?);
    // Each turn consumes at least 3 bytes.
    while !list.is_empty() {
        let name_type = list.u8()?;
        let len = usize::from(list.u16()?);
        let name = list.take(len)?;
        if name_type == 0 {
            return if name.is_empty() { None } else { Some(name) };
        }
    }
    None
}

/// A read position over a byte slice; every read is checked and returns `None` past the end.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Cursor { rest: buf }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn u8(&mut self) -> Option<u8> {
        let (first, tail) = self.rest.split_first()?;
        self.rest = tail;
        Some(*first)
    }

    fn u16(&mut self) -> Option<u16> {
        match self.take(2)? {
            [a, b] => Some(u16::from_be_bytes([*a, *b])),
            _ => None,
        }
    }

    /// One extension: its type and body.
    fn extension(&mut self) -> Option<(u16, &'a [u8])> {
        let ext_type = self.u16()?;
        let len = usize::from(self.u16()?);
        Some((ext_type, self.take(len)?))
    }

    fn u24(&mut self) -> Option<usize> {
        match self.take(3)? {
            [a, b, c] => Some(usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c)),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    use vw_craft::tls::{ClientHello, alpn_body, handshake, record, versions_body};

    /// A hello with these versions and suites (random 0x5a.., session id 0x33..), no
    /// extensions yet.
    fn hello(legacy: u16, ciphers: &[u16]) -> ClientHello {
        ClientHello::new()
            .legacy_version(legacy)
            .random([0x5a; 32])
            .session_id(&[0x33; 32])
            .ciphers(ciphers)
    }

    fn tls13_hello() -> Vec<u8> {
        hello(0x0303, &[0x2a2a, 0x1301, 0x1302, 0xc02b])
            .ext(0x0a0a, &[]) // GREASE extension
            .sni("DNL-05.geo.Kaspersky.COM")
            .alpn(&["h2", "http/1.1"])
            .versions(&[0x7a7a, 0x0304, 0x0303])
            .ext(EXT_ECH, &[0, 1, 2, 3])
            .ext(0x1a1a, &[0])
            .record()
    }

    #[test]
    fn tls13_with_grease_alpn_ech() {
        let p = tls13_hello();
        assert!(looks_like_client_hello(&p));
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.record_version, 0x0301);
        assert_eq!(h.legacy_version, 0x0303);
        assert_eq!(h.sni, Some(&b"DNL-05.geo.Kaspersky.COM"[..]));
        assert_eq!(h.alpn, Some(&alpn_body(&["h2", "http/1.1"])[..]));
        assert_eq!(
            h.supported_versions,
            Some(&versions_body(&[0x7a7a, 0x0304, 0x0303])[..])
        );
        assert!(h.has_ech);
        assert_eq!(
            h.cipher_suites,
            &[0x2a, 0x2a, 0x13, 0x01, 0x13, 0x02, 0xc0, 0x2b]
        );
        assert_eq!(h.max_version(), 0x0304);
        assert_eq!(version_name(h.max_version()), "TLS 1.3");
        assert_eq!(version_name(h.record_version), "TLS 1.0");
        // Extensions block is the raw slice, ending at the end of the payload here.
        assert!(p.ends_with(h.extensions));
        assert_eq!(&h.extensions[..4], &[0x0a, 0x0a, 0, 0]);
    }

    #[test]
    fn tls12_without_supported_versions() {
        let p = hello(0x0303, &[0xc02f]).sni("ds.kaspersky.com").record();
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.sni, Some(&b"ds.kaspersky.com"[..]));
        assert_eq!(h.alpn, None);
        assert_eq!(h.supported_versions, None);
        assert!(!h.has_ech);
        assert_eq!(h.max_version(), 0x0303);
        assert_eq!(version_name(h.max_version()), "TLS 1.2");
    }

    #[test]
    fn no_extensions_and_no_sni() {
        let p = hello(0x0300, &[0x002f])
            .no_extensions()
            .record_version(0x0300)
            .record();
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.sni, None);
        assert!(h.extensions.is_empty());
        assert_eq!(version_name(h.max_version()), "SSLv3");

        let p = hello(0x0303, &[0x1301]).alpn(&["h2"]).record();
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.sni, None);
        assert!(h.alpn.is_some());
    }

    #[test]
    fn empty_and_odd_sni() {
        // Extension present with an empty body (as servers echo it): no name.
        let p = hello(0x0303, &[0x1301]).ext(EXT_SERVER_NAME, &[]).record();
        assert_eq!(parse_client_hello(&p).unwrap().sni, None);
        // host_name of length 0: no name.
        let p = hello(0x0303, &[0x1301]).sni("").record();
        assert_eq!(parse_client_hello(&p).unwrap().sni, None);
        // Several entries: the first host_name (type 0) wins, other types are skipped.
        let p = hello(0x0303, &[0x1301])
            .server_names(&[(7, b"other"), (0, b"First.example"), (0, b"second")])
            .record();
        assert_eq!(
            parse_client_hello(&p).unwrap().sni,
            Some(&b"First.example"[..])
        );
        // A broken server_name list loses the name but not the hello.
        let p = hello(0x0303, &[0x1301])
            .ext(EXT_SERVER_NAME, &[0, 9, 0, 0, 3, b'a'])
            .record();
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.sni, None);
    }

    #[test]
    fn max_version_skips_grease() {
        for g in [0x0a0a, 0x1a1a, 0x2a2a, 0xfafa] {
            assert!(is_grease(g));
        }
        for v in [0x0303, 0x0304, 0x0a1a, 0x1a0a, 0xfe0d] {
            assert!(!is_grease(v));
        }
        let p = hello(0x0303, &[0x1301])
            .versions(&[0xfafa, 0x0303, 0x0302])
            .record();
        assert_eq!(parse_client_hello(&p).unwrap().max_version(), 0x0303);
        // Only GREASE: fall back to legacy_version.
        let p = hello(0x0302, &[0x1301]).versions(&[0x3a3a]).record();
        assert_eq!(parse_client_hello(&p).unwrap().max_version(), 0x0302);
        // Malformed list length: uses what is there, never panics.
        let p = hello(0x0303, &[0x1301])
            .ext(EXT_SUPPORTED_VERSIONS, &[200, 0x03, 0x04, 0x03])
            .record();
        assert_eq!(parse_client_hello(&p).unwrap().max_version(), 0x0304);
        assert_eq!(version_name(0x7f1c), "UNDETERMINED");
    }

    #[test]
    fn following_records_are_ignored() {
        let mut p = tls13_hello();
        let n = p.len();
        p.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]); // ChangeCipherSpec
        let h = parse_client_hello(&p).unwrap();
        assert_eq!(h.sni, Some(&b"DNL-05.geo.Kaspersky.COM"[..]));
        assert!(p[..n].ends_with(h.extensions));
    }

    #[test]
    fn hello_split_over_records_is_none() {
        let p = tls13_hello();
        let hs = &p[5..];
        let (a, b) = hs.split_at(40);
        let split = [record(0x0301, a), record(0x0301, b)].concat();
        assert!(looks_like_client_hello(&split));
        assert_eq!(parse_client_hello(&split), None);
        // A reassembler joining the fragments can use the body parser.
        let h = parse_client_hello_body(&hs[4..], 0x0301).unwrap();
        assert_eq!(h.sni, Some(&b"DNL-05.geo.Kaspersky.COM"[..]));
    }

    #[test]
    fn a_cut_hello_gives_what_came_before_the_cut() {
        let p = hello(0x0303, &[0x1301, 0x1302])
            .sni("first.kaspersky.com")
            .alpn(&["h2"])
            .ext(0x0015, &[0; 20_000]) // padding
            .versions(&[0x0304])
            .record();
        let body = &p[9..];
        let whole = parse_client_hello_body(body, 0x0301).unwrap();
        assert!(!whole.cut);
        assert_eq!(whole.max_version(), 0x0304);
        // Cut after the SNI and ALPN, inside the padding: both found, versions not, no JA4.
        let h = parse_client_hello_prefix(&body[..16_000], 0x0301).unwrap();
        assert!(h.cut);
        assert_eq!(h.sni, Some(&b"first.kaspersky.com"[..]));
        assert_eq!(h.alpn, whole.alpn);
        assert_eq!(h.supported_versions, None);
        assert_eq!(h.cipher_suites, whole.cipher_suites);
        assert!(whole.extensions.starts_with(h.extensions));
        assert_eq!(h.extensions.len(), 4 + 24 + 4 + 5, "server_name and alpn");
        // Every cut point: never a panic; once past the SNI extension, the name is there.
        // Version, random, session id, suites, compression; the block length; server_name.
        let fixed = 2 + 32 + 1 + 32 + 2 + 4 + 2;
        let sni_end = fixed + 2 + 4 + 24;
        for n in 0..body.len() {
            let got = parse_client_hello_prefix(&body[..n], 0x0301);
            if n >= sni_end {
                assert_eq!(got.unwrap().sni, Some(&b"first.kaspersky.com"[..]), "{n}");
            } else if n == fixed || n >= fixed + 2 {
                assert_eq!(got.unwrap().sni, None, "{n}");
            } else {
                assert_eq!(got, None, "{n}");
            }
        }
    }

    #[test]
    fn rejects_non_hellos() {
        // SSLv2-compatible ClientHello.
        let v2 = [
            0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10,
        ];
        assert!(!looks_like_client_hello(&v2));
        assert_eq!(parse_client_hello(&v2), None);
        // ServerHello (handshake type 2), bad record versions, HTTP.
        let mut p = tls13_hello();
        p[5] = 2;
        assert!(!looks_like_client_hello(&p));
        assert_eq!(parse_client_hello(&p), None);
        for bad in [[0x16u8, 0x03, 0x05], [0x16, 0x02, 0x00], [0x17, 0x03, 0x03]] {
            let mut p = tls13_hello();
            p[..3].copy_from_slice(&bad);
            assert_eq!(parse_client_hello(&p), None);
        }
        assert_eq!(parse_client_hello(b"GET / HTTP/1.1\r\n"), None);
        // Extension length past the block: None.
        let p = hello(0x0303, &[0x1301])
            .raw_ext(&[0x00, 0x10, 0x00, 0x09, 0x00])
            .record();
        assert_eq!(parse_client_hello(&p), None);
        // Odd cipher suite length, zero compression methods.
        let wrap = |body: &[u8]| record(0x0301, &handshake(HANDSHAKE_CLIENT_HELLO, body));
        let mut body = hello(0x0303, &[0x1301]).no_extensions().body();
        body[2 + 32 + 1 + 32 + 1] = 3;
        assert_eq!(parse_client_hello(&wrap(&body)), None);
        let mut body = hello(0x0303, &[0x1301]).no_extensions().body();
        let n = body.len();
        body[n - 2] = 0;
        body.truncate(n - 1);
        assert_eq!(parse_client_hello(&wrap(&body)), None);
    }

    #[test]
    fn every_truncation_is_none() {
        let p = tls13_hello();
        assert!(parse_client_hello(&p).is_some());
        for cut in 0..p.len() {
            assert_eq!(parse_client_hello(&p[..cut]), None, "cut={cut}");
            // The body parser on a cut body never panics either.
            if cut > 9 {
                let _ = parse_client_hello_body(&p[9..cut], 0x0301);
            }
        }
        // A record header that claims more than the payload holds.
        let mut q = p.clone();
        q[4] = q[4].wrapping_add(1);
        assert_eq!(parse_client_hello(&q), None);
    }

    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn garbage_never_panics() {
        let base = tls13_hello();
        for seed in 1..3000u64 {
            let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let mut m = if seed % 2 == 0 {
                let len = (rng.next() % 400) as usize;
                let mut v: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                // Keep a valid-looking prefix on some so the parser goes deeper.
                if v.len() > 6 && seed % 4 == 0 {
                    v[..3].copy_from_slice(&[0x16, 0x03, 0x01]);
                    v[5] = 1;
                }
                v
            } else {
                base.clone()
            };
            for _ in 0..(rng.next() % 6) {
                if m.is_empty() {
                    break;
                }
                let i = (rng.next() as usize) % m.len();
                m[i] = rng.next() as u8;
            }
            let _ = looks_like_client_hello(&m);
            if let Some(h) = parse_client_hello(&m) {
                let _ = h.max_version();
            }
            let _ = parse_client_hello_body(&m, 0x0303).map(|h| h.max_version());
        }
    }
}
