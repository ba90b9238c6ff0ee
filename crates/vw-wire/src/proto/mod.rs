//! Allocation-free extractors: each takes a borrowed payload and hands back names in stack
//! buffers ([`NameBuf`]) or slices of the payload. Nothing here knows about flows, matching or
//! output; that keeps each parser fuzzable on its own.

pub mod dhcp;
pub mod dns;
pub mod http;
pub mod ja4;
pub mod name;
pub mod quic;
pub mod tls;

pub use name::NameBuf;
