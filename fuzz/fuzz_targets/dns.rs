//! DNS message walker: any bytes as a UDP payload. The walk must terminate, never panic, and
//! agree with what it reports (items visited never exceed the header counts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::dns::{self, DnsItem};

fuzz_target!(|data: &[u8]| {
    let _ = dns::looks_like_dns(data);
    let mut questions = 0u32;
    let mut answers = 0u32;
    if let Ok(summary) = dns::walk(data, |item| match item {
        DnsItem::Question { name, .. } => {
            questions += 1;
            assert!(name.as_bytes().len() <= vendorwatch::proto::name::NAME_CAPACITY);
        }
        DnsItem::Answer { name, .. } => {
            answers += 1;
            assert!(name.as_bytes().len() <= vendorwatch::proto::name::NAME_CAPACITY);
        }
    }) {
        assert_eq!(u32::from(summary.questions), questions);
        assert_eq!(u32::from(summary.answers), answers);
        assert!(summary.questions <= summary.header.qdcount);
        assert!(summary.answers <= summary.header.ancount);
    }
});
