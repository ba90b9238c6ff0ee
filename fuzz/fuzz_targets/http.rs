//! HTTP/1.x request-head parser: any bytes as the start of a TCP stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::http::{self, HttpParse};

fuzz_target!(|data: &[u8]| {
    let _ = http::looks_like_request(data);
    if let HttpParse::Complete(req) = http::parse_request_head(data) {
        assert!(req.head_len <= data.len());
        assert!(!req.method.is_empty());
    }
});
