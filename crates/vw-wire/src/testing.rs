//! Packet builders for tests, benches and fuzz seeds of every crate (feature `testing`):
//! QUIC client Initials sealed with the RFC 9001 keys, CRYPTO frames, a large ClientHello,
//! raw IPv4/UDP datagrams. Built from the same code the parsers are checked against, so a
//! test in another crate does not grow its own copy.

use aes::Aes128;
use aes::cipher::{BlockEncrypt, KeyInit, generic_array::GenericArray};
use aes_gcm::{Aes128Gcm, Nonce};

use crate::proto::quic::*;

/// Build a protected client Initial (test-only encryptor, the inverse of the decryptor).
pub fn seal_initial(version: u32, dcid: &[u8], pn: u32, plain: &[u8]) -> Vec<u8> {
    use aes_gcm::aead::AeadInPlace;
    let flavor = Flavor::of(version).unwrap();
    let m = client_initial_material(flavor, dcid).unwrap();
    let mut payload = plain.to_vec();
    // Pad so the sample exists.
    while payload.len() < 20 {
        payload.push(0);
    }
    let pn_len = 2usize;
    let mut h = vec![0xc0 | (flavor.initial_type() << 4) | (pn_len as u8 - 1)];
    h.extend_from_slice(&version.to_be_bytes());
    h.push(dcid.len() as u8);
    h.extend_from_slice(dcid);
    h.push(3);
    h.extend_from_slice(&[1, 2, 3]);
    h.push(0); // token length
    let length = pn_len + payload.len() + 16;
    h.extend_from_slice(&(0x4000u16 | length as u16).to_be_bytes());
    let pn_offset = h.len();
    h.extend_from_slice(&(pn as u16).to_be_bytes());
    let mut nonce = m.iv;
    for (n, p) in nonce[8..].iter_mut().zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let aead = Aes128Gcm::new_from_slice(&m.key).unwrap();
    let tag = aead
        .encrypt_in_place_detached(Nonce::from_slice(&nonce), &h, &mut payload)
        .unwrap();
    let mut packet = h;
    packet.extend_from_slice(&payload);
    packet.extend_from_slice(&tag);
    let hp = Aes128::new_from_slice(&m.hp).unwrap();
    let mut mask = GenericArray::clone_from_slice(&packet[pn_offset + 4..pn_offset + 20]);
    hp.encrypt_block(&mut mask);
    packet[0] ^= mask[0] & 0x0f;
    for i in 0..pn_len {
        packet[pn_offset + i] ^= mask[1 + i];
    }
    packet
}

pub fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x8000_0000u32 | offset as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

/// A ClientHello handshake message (with header) the size of Chrome's post-quantum one.
pub fn big_client_hello(sni: &str) -> Vec<u8> {
    let mut exts = Vec::new();
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&((sni.len() + 3) as u16).to_be_bytes());
    sni_ext.push(0);
    sni_ext.extend_from_slice(&(sni.len() as u16).to_be_bytes());
    sni_ext.extend_from_slice(sni.as_bytes());
    exts.extend_from_slice(&[0, 0]);
    exts.extend_from_slice(&(sni_ext.len() as u16).to_be_bytes());
    exts.extend_from_slice(&sni_ext);
    // ALPN h3
    exts.extend_from_slice(&[0x00, 0x10, 0x00, 0x05, 0x00, 0x03, 0x02, b'h', b'3']);
    // supported_versions: TLS 1.3
    exts.extend_from_slice(&[0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04]);
    // quic_transport_parameters
    exts.extend_from_slice(&[0x00, 0x39, 0x00, 0x02, 0x01, 0x00]);
    // key_share with a 1216-byte X25519Kyber768 share
    let share = 1216 + 32;
    exts.extend_from_slice(&[0x00, 0x33]);
    exts.extend_from_slice(&((share + 6) as u16).to_be_bytes());
    exts.extend_from_slice(&((share + 4) as u16).to_be_bytes());
    exts.extend_from_slice(&[0x63, 0x99]);
    exts.extend_from_slice(&(share as u16).to_be_bytes());
    exts.extend((0..share).map(|i| (i * 7) as u8));
    let mut body = vec![0x03, 0x03];
    body.extend_from_slice(&[0x11; 32]);
    body.push(0);
    body.extend_from_slice(&[0x00, 0x06, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03]);
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    hs
}

/// Raw IPv4 + UDP packet.
pub fn ipv4_udp(src: [u8; 4], dst: [u8; 4], dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = 28 + payload.len();
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    p.extend_from_slice(&src);
    p.extend_from_slice(&dst);
    p.extend_from_slice(&if dport == 53 { 53u16 } else { 50_000u16 }.to_be_bytes());
    p.extend_from_slice(&if dport == 53 { 5353 } else { dport }.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}
