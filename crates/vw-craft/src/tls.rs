//! TLS records and the ClientHello.
//!
//! ```
//! use vw_craft::tls::ClientHello;
//!
//! let record = ClientHello::new().sni("example.com").alpn(&["h2"]).versions(&[0x0304]).record();
//! assert_eq!(&record[..3], &[0x16, 0x03, 0x01]);
//! ```

/// Extension type server_name.
pub const EXT_SERVER_NAME: u16 = 0x0000;
/// Extension type supported_groups.
pub const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
/// Extension type signature_algorithms.
pub const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
/// Extension type application_layer_protocol_negotiation.
pub const EXT_ALPN: u16 = 0x0010;
/// Extension type padding.
pub const EXT_PADDING: u16 = 0x0015;
/// Extension type supported_versions.
pub const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
/// Extension type key_share.
pub const EXT_KEY_SHARE: u16 = 0x0033;

/// Chromium's cipher suites after its leading GREASE value, in its order.
pub const CHROMIUM_CIPHERS: [u16; 15] = [
    0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c,
    0x009d, 0x002f, 0x0035,
];

/// A handshake record (content type 22) of `version` around `fragment`.
pub fn record(version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut r = Vec::with_capacity(5 + fragment.len());
    r.push(22);
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
    r.extend_from_slice(fragment);
    r
}

/// A handshake message: `msg_type` (1 ClientHello), 24-bit length, `body`.
pub fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(4 + body.len());
    m.push(msg_type);
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// server_name extension body: a list of (name type, name) entries (type 0 is host_name).
pub fn server_names_body(entries: &[(u8, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (typ, name) in entries {
        list.push(*typ);
        list.extend_from_slice(&(name.len() as u16).to_be_bytes());
        list.extend_from_slice(name);
    }
    prefixed16(&list)
}

/// ALPN extension body: the protocol names, each with its 1-byte length, in a 2-byte-length list.
pub fn alpn_body(protocols: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for p in protocols {
        list.push(p.len() as u8);
        list.extend_from_slice(p.as_bytes());
    }
    prefixed16(&list)
}

/// supported_versions extension body (client): the versions in a 1-byte-length list.
pub fn versions_body(versions: &[u16]) -> Vec<u8> {
    let mut b = vec![(versions.len() * 2) as u8];
    for v in versions {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b
}

/// A 2-byte-length list of 16-bit values (supported_groups, signature_algorithms bodies).
pub fn u16_list(values: &[u16]) -> Vec<u8> {
    let list: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    prefixed16(&list)
}

/// key_share extension body (client): (group, key exchange) entries in a 2-byte-length list.
pub fn key_share_body(shares: &[(u16, &[u8])]) -> Vec<u8> {
    let mut list = Vec::new();
    for (group, key) in shares {
        list.extend_from_slice(&group.to_be_bytes());
        list.extend_from_slice(&(key.len() as u16).to_be_bytes());
        list.extend_from_slice(key);
    }
    prefixed16(&list)
}

fn prefixed16(data: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(2 + data.len());
    b.extend_from_slice(&(data.len() as u16).to_be_bytes());
    b.extend_from_slice(data);
    b
}

/// A ClientHello: fields set by chained calls, extensions in the order they are added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    record_version: u16,
    legacy_version: u16,
    random: [u8; 32],
    session_id: Vec<u8>,
    ciphers: Vec<u16>,
    /// The extensions block; None: no block at all.
    extensions: Option<Vec<u8>>,
    pad_to: Option<usize>,
}

impl Default for ClientHello {
    fn default() -> Self {
        ClientHello::new()
    }
}

impl ClientHello {
    /// Records 0x0301, version 0x0303, zero random and session id, 0x1301, no extensions yet.
    pub fn new() -> Self {
        ClientHello {
            record_version: 0x0301,
            legacy_version: 0x0303,
            random: [0; 32],
            session_id: Vec::new(),
            ciphers: vec![0x1301],
            extensions: Some(Vec::new()),
            pad_to: None,
        }
    }

    /// The version of the record(s) [`ClientHello::record`] writes.
    pub fn record_version(mut self, version: u16) -> Self {
        self.record_version = version;
        self
    }

    /// The hello's legacy_version field.
    pub fn legacy_version(mut self, version: u16) -> Self {
        self.legacy_version = version;
        self
    }

    /// The 32-byte random.
    pub fn random(mut self, random: [u8; 32]) -> Self {
        self.random = random;
        self
    }

    /// The legacy session id.
    pub fn session_id(mut self, id: &[u8]) -> Self {
        self.session_id = id.to_vec();
        self
    }

    /// The cipher suites, in order.
    pub fn ciphers(mut self, suites: &[u16]) -> Self {
        self.ciphers = suites.to_vec();
        self
    }

    /// Appends an extension of type `typ` with `body`.
    pub fn ext(self, typ: u16, body: &[u8]) -> Self {
        let mut raw = typ.to_be_bytes().to_vec();
        raw.extend_from_slice(&(body.len() as u16).to_be_bytes());
        raw.extend_from_slice(body);
        self.raw_ext(&raw)
    }

    /// Appends bytes to the extensions block as they are (a malformed extension).
    pub fn raw_ext(mut self, bytes: &[u8]) -> Self {
        self.extensions
            .get_or_insert_with(Vec::new)
            .extend_from_slice(bytes);
        self
    }

    /// No extensions block at all (as before TLS 1.2).
    pub fn no_extensions(mut self) -> Self {
        self.extensions = None;
        self
    }

    /// Appends server_name with one host_name.
    pub fn sni(self, name: &str) -> Self {
        self.server_names(&[(0, name.as_bytes())])
    }

    /// Appends server_name with these (name type, name) entries.
    pub fn server_names(self, entries: &[(u8, &[u8])]) -> Self {
        self.ext(EXT_SERVER_NAME, &server_names_body(entries))
    }

    /// Appends ALPN with these protocols.
    pub fn alpn(self, protocols: &[&str]) -> Self {
        self.ext(EXT_ALPN, &alpn_body(protocols))
    }

    /// Appends supported_versions with these versions.
    pub fn versions(self, versions: &[u16]) -> Self {
        self.ext(EXT_SUPPORTED_VERSIONS, &versions_body(versions))
    }

    /// Appends supported_groups with these groups.
    pub fn groups(self, groups: &[u16]) -> Self {
        self.ext(EXT_SUPPORTED_GROUPS, &u16_list(groups))
    }

    /// Appends signature_algorithms with these schemes.
    pub fn sig_algs(self, schemes: &[u16]) -> Self {
        self.ext(EXT_SIGNATURE_ALGORITHMS, &u16_list(schemes))
    }

    /// Appends key_share with these (group, key exchange) entries.
    pub fn key_share(self, shares: &[(u16, &[u8])]) -> Self {
        self.ext(EXT_KEY_SHARE, &key_share_body(shares))
    }

    /// Appends Chromium's extensions from extended_master_secret to signature_algorithms.
    pub fn chromium_extensions(self, groups: &[u16]) -> Self {
        self.ext(0x0017, &[]) // extended_master_secret
            .ext(0xff01, &[0]) // renegotiation_info
            .groups(groups)
            .ext(0x000b, &[1, 0]) // ec_point_formats: uncompressed
            .ext(0x0023, &[]) // session_ticket
            .alpn(&["h2", "http/1.1"])
            .ext(0x0005, &[1, 0, 0, 0, 0]) // status_request: OCSP
            .sig_algs(&[
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ])
    }

    /// Ends the extensions with padding that brings the message to `len` bytes, if it is short.
    pub fn pad_to(mut self, len: usize) -> Self {
        self.pad_to = Some(len);
        self
    }

    /// The ClientHello body (what follows the 4-byte handshake header).
    pub fn body(&self) -> Vec<u8> {
        let mut b = self.legacy_version.to_be_bytes().to_vec();
        b.extend_from_slice(&self.random);
        b.push(self.session_id.len() as u8);
        b.extend_from_slice(&self.session_id);
        b.extend_from_slice(&((self.ciphers.len() * 2) as u16).to_be_bytes());
        for c in &self.ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]); // compression methods: null
        let Some(exts) = &self.extensions else {
            return b;
        };
        let mut exts = exts.clone();
        // 4 (handshake header) + body so far + 2 (block length) + the extensions.
        let message = 4 + b.len() + 2 + exts.len();
        if let Some(len) = self.pad_to.filter(|&len| message + 4 < len) {
            let pad = len - message - 4;
            exts.extend_from_slice(&EXT_PADDING.to_be_bytes());
            exts.extend_from_slice(&(pad as u16).to_be_bytes());
            exts.resize(exts.len() + pad, 0);
        }
        b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        b.extend_from_slice(&exts);
        b
    }

    /// The handshake message (header and body), as QUIC CRYPTO frames carry it.
    pub fn message(&self) -> Vec<u8> {
        handshake(1, &self.body())
    }

    /// The message in one record.
    pub fn record(&self) -> Vec<u8> {
        record(self.record_version, &self.message())
    }

    /// The message cut into `n` records of equal size (the last one shorter).
    pub fn records(&self, n: usize) -> Vec<u8> {
        let message = self.message();
        let per = message.len().div_ceil(n.max(1));
        message
            .chunks(per)
            .flat_map(|c| record(self.record_version, c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_padding() {
        let h = ClientHello::new().sni("a.example").pad_to(512);
        let m = h.message();
        assert_eq!(m.len(), 512);
        assert_eq!(usize::from(m[2]) << 8 | usize::from(m[3]), 508);
        let r = h.records(3);
        assert_eq!(r.len(), 512 + 3 * 5);
        assert_eq!(&r[..5], &[22, 3, 1, 0, 171]);
        let bare = ClientHello::new().no_extensions().body();
        assert_eq!(bare.len(), 2 + 32 + 1 + 2 + 2 + 2);
    }
}
