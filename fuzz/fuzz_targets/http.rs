//! HTTP/1.x request-head parser: any bytes as the start of a TCP stream, as a head cut at the
//! head limit, and as the lines and chunk-size lines the flow layer reads one by one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::http::{self, HttpParse};

fuzz_target!(|data: &[u8]| {
    let _ = http::looks_like_request(data);
    let complete = http::parse_request_head(data);
    if let HttpParse::Complete(req) = complete {
        assert!(req.head_len <= data.len());
        assert!(!req.method.is_empty());
        assert_eq!(http::head_end(data, 0), Some(req.head_len));
    }
    if let Some(cut) = http::parse_cut_head(data) {
        assert!(cut.head_len <= data.len());
        // The lines of a complete head before its end give the same name.
        if let HttpParse::Complete(req) = complete
            && cut.head_len == req.head_len
        {
            assert_eq!(cut.hostname(), req.hostname());
        }
    }
    // Resuming the end search anywhere never finds an end before the first one.
    if let Some(end) = http::head_end(data, 0) {
        for from in [1, end / 2, end.saturating_sub(3)] {
            assert!(http::head_end(data, from).is_none_or(|e| e >= end));
        }
    }
    let mut framing = http::Framing::default();
    for line in data.split(|b| *b == b'\n') {
        framing.note_line(line);
        let _ = http::chunk_size(line);
    }
});
