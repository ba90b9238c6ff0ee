//! QUIC Initial handling: any bytes as a UDP datagram (long-header parsing, coalesced packets,
//! header protection and AEAD, which rejects almost everything), and the same bytes as
//! decrypted frames (the frame walker and CRYPTO extraction the AEAD otherwise guards) and as
//! reassembled CRYPTO data (the ClientHello framing).
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::quic::{self, InitialDecryptor};

thread_local! {
    static DECRYPTOR: RefCell<InitialDecryptor> = RefCell::new(InitialDecryptor::new());
}

fuzz_target!(|data: &[u8]| {
    let _ = quic::looks_like_initial(data);
    DECRYPTOR.with(|d| {
        let _ = d.borrow_mut().for_each_initial(data, |_, frames| {
            let _ = quic::walk_frames(frames, |_, _| {});
        });
    });
    let mut crypto_bytes = 0usize;
    let _ = quic::walk_frames(data, |offset, chunk| {
        let _ = offset;
        crypto_bytes += chunk.len();
    });
    assert!(crypto_bytes <= data.len());
    let _ = quic::varint(data);
    if let Some(body) = quic::client_hello_body(data) {
        assert!(body.len() <= data.len());
    }
});
