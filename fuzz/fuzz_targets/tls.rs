//! TLS ClientHello parser: any bytes as a TCP payload (record + handshake), and the same
//! bytes as a bare ClientHello body (what the reassembler will hand over).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::tls;

fuzz_target!(|data: &[u8]| {
    let _ = tls::looks_like_client_hello(data);
    if let Some(hello) = tls::parse_client_hello(data) {
        let _ = hello.max_version();
        if let Some(sni) = hello.sni {
            assert!(!sni.is_empty());
        }
    }
    // The first two bytes double as the record version for the body parser.
    let (version, body) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => (0x0301, data),
    };
    if let Some(hello) = tls::parse_client_hello_body(body, version) {
        let _ = hello.max_version();
    }
});
