//! Link/IP/transport decoder: the first input byte picks one of the supported link types, the
//! rest is the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vendorwatch::capture::linktype;
use vendorwatch::decode;

/// Every link type `decode` supports (PPP = 9 and NFLOG = 239 have no named constant), plus
/// one it does not.
const LINK_TYPES: &[u32] = &[
    linktype::ETHERNET,
    linktype::LINUX_SLL,
    linktype::LINUX_SLL2,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_12,
    linktype::RAW_14,
    linktype::IPV4,
    linktype::IPV6,
    9,
    239,
    147,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, frame)) = data.split_first() else {
        return;
    };
    let link_type = LINK_TYPES[usize::from(pick) % LINK_TYPES.len()];
    if let Ok(d) = decode::decode(link_type, frame) {
        // The payload is borrowed from the frame, never invented.
        assert!(d.payload.len() <= frame.len());
    }
});
