//! TLS ClientHello parser: any bytes as a TCP payload (record + handshake), and the same
//! bytes as a bare ClientHello body (what the reassembler will hand over), whole or cut at the
//! first-flight limit.
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
    let whole = tls::parse_client_hello_body(body, version);
    if let Some(hello) = whole {
        let _ = hello.max_version();
        assert!(!hello.cut);
    }
    // A cut hello has what came before the cut: on a whole body, the same name.
    for n in [body.len(), body.len() / 2, body.len().saturating_sub(1)] {
        let Some(cut) = body
            .get(..n)
            .and_then(|b| tls::parse_client_hello_prefix(b, version))
        else {
            continue;
        };
        assert!(cut.cut);
        let _ = cut.max_version();
        if n == body.len()
            && let Some(hello) = whole
        {
            assert_eq!(cut.sni, hello.sni);
            assert_eq!(cut.extensions, hello.extensions);
        }
    }
});
