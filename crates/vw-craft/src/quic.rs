//! QUIC frames and the ClientHello a QUIC client sends. (Sealing an Initial needs the
//! parser's key derivation: `vw_wire::testing::seal_initial`.)

use crate::tls::ClientHello;

/// A CRYPTO frame carrying `data` at stream offset `offset` (varints as short as they go).
pub fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    varint(&mut f, offset);
    varint(&mut f, data.len() as u64);
    f.extend_from_slice(data);
    f
}

/// Appends `v` as a QUIC variable-length integer (RFC 9000 16) of the fewest bytes.
fn varint(out: &mut Vec<u8>, v: u64) {
    match v {
        0..0x40 => out.push(v as u8),
        0x40..0x4000 => out.extend_from_slice(&(0x4000 | v as u16).to_be_bytes()),
        0x4000..0x4000_0000 => out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes()),
        _ => out.extend_from_slice(&(0xc000_0000_0000_0000 | v).to_be_bytes()),
    }
}

/// A ClientHello message as large as Chrome's post-quantum one over QUIC: two Initials' worth.
pub fn big_client_hello(sni: &str) -> Vec<u8> {
    let share: Vec<u8> = (0..1216 + 32).map(|i| (i * 7) as u8).collect();
    ClientHello::new()
        .random([0x11; 32])
        .ciphers(&[0x1301, 0x1302, 0x1303])
        .sni(sni)
        .alpn(&["h3"])
        .versions(&[0x0304])
        .ext(0x0039, &[0x01, 0x00]) // quic_transport_parameters
        .key_share(&[(0x6399, &share)]) // X25519Kyber768Draft00
        .message()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        assert_eq!(crypto_frame(3, b"abc"), [6, 3, 3, b'a', b'b', b'c']);
        assert_eq!(
            &crypto_frame(700, &[0; 600])[..5],
            &[6, 0x42, 0xbc, 0x42, 0x58]
        );
        let mut v = Vec::new();
        varint(&mut v, 1 << 20);
        varint(&mut v, 1 << 40);
        assert_eq!(v, [0x80, 0x10, 0, 0, 0xc0, 0, 1, 0, 0, 0, 0, 0]);
    }
}
