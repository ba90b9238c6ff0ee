//! pcap/pcapng reader over arbitrary bytes, read to the end. A tiny reader chunk size is
//! taken from the first byte. For odd first bytes the run is differential: the reader that
//! lends its blocks out (every block held, as `--workers` batches hold them, so it must move
//! to fresh ones) and the read-ahead reader must give the same packets and the same error.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use vendorwatch::capture::file::CaptureReader;

/// A reader handing out at most `chunk` bytes per call.
struct Chunked<'a> {
    data: &'a [u8],
    chunk: usize,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.data.len());
        let (head, tail) = self.data.split_at(n);
        buf[..n].copy_from_slice(head);
        self.data = tail;
        Ok(n)
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let chunk = if pick == 0 {
        usize::MAX
    } else {
        usize::from(pick)
    };
    // A small starting buffer (the real one is 1 MiB) keeps runs fast and makes records
    // outgrow it, so refills, compaction and growth all get exercised.
    let Ok(mut reader) = CaptureReader::with_buffer_size(Chunked { data: file, chunk }, 4096)
    else {
        return;
    };
    let mut packets = 0u64;
    loop {
        match reader.next_packet() {
            Ok(Some(p)) => {
                packets += 1;
                assert!(p.data.len() <= file.len());
            }
            Ok(None) => break,
            Err(_) => {
                // After an error the reader is finished.
                assert!(matches!(reader.next_packet(), Ok(None)));
                break;
            }
        }
        // Every packet consumes at least a record header of the input.
        assert!(packets <= file.len() as u64);
    }
    assert!(reader.offset() <= file.len() as u64);
    if pick % 2 == 1 {
        differential(file, chunk);
    }
});

type Seen = (Vec<(i64, u32, u32, Vec<u8>)>, Option<String>);

fn differential(file: &[u8], chunk: usize) {
    let lent = match CaptureReader::with_buffer_size(Chunked { data: file, chunk }, 4096) {
        Ok(mut r) => {
            let mut held = Vec::new();
            collect(|| match r.next_packet_in_block() {
                Ok(Some((p, block))) => {
                    held.push(block.clone());
                    Ok(Some((p.ts.secs, p.ts.nanos, p.orig_len, p.data.to_vec())))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(e.to_string()),
            })
        }
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    let ahead = match CaptureReader::read_ahead(std::io::Cursor::new(file.to_vec())) {
        Ok(mut r) => collect(|| match r.next_packet() {
            Ok(Some(p)) => Ok(Some((p.ts.secs, p.ts.nanos, p.orig_len, p.data.to_vec()))),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }),
        Err(e) => (Vec::new(), Some(e.to_string())),
    };
    assert_eq!(lent, ahead);
}

#[allow(clippy::type_complexity)]
fn collect(
    mut next: impl FnMut() -> Result<Option<(i64, u32, u32, Vec<u8>)>, String>,
) -> Seen {
    let mut packets = Vec::new();
    loop {
        match next() {
            Ok(Some(p)) => packets.push(p),
            Ok(None) => return (packets, None),
            Err(e) => return (packets, Some(e)),
        }
    }
}
