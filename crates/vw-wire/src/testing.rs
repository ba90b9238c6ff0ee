//! QUIC client Initials sealed with the RFC 9001 keys, for tests, benches and fuzz seeds of
//! every crate (feature `testing`): built from the same key derivation the parsers are checked
//! against, so a test in another crate does not grow its own copy. The bytes inside (CRYPTO
//! frames, ClientHellos, the datagrams around) come from `vw-craft`.

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
