use super::*;
use crate::proto::tls;
use crate::testing::seal_initial;
use vw_craft::quic::{big_client_hello, crypto_frame};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const DCID: &str = "8394c8f03e515708";

#[test]
fn rfc9001_a1_client_initial_keys() {
    let m = client_initial_material(Flavor::V1, &unhex(DCID)).unwrap();
    assert_eq!(
        m.secret.to_vec(),
        unhex("c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea")
    );
    assert_eq!(m.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
    assert_eq!(m.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
    assert_eq!(m.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
}

#[test]
fn rfc9369_a1_client_initial_keys() {
    let m = client_initial_material(Flavor::V2, &unhex(DCID)).unwrap();
    assert_eq!(
        m.secret.to_vec(),
        unhex("14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b")
    );
    assert_eq!(m.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
    assert_eq!(m.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
    assert_eq!(m.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
}

fn expected_plain() -> Vec<u8> {
    let mut p = unhex(include_str!("../testdata/rfc9001-a2-client-plain.hex"));
    p.resize(p.len() + 917, 0);
    p
}

fn check_a2(packet: &[u8], version: u32) {
    assert!(looks_like_initial(packet));
    let mut d = InitialDecryptor::new();
    let mut seen = Vec::new();
    let summary = d.for_each_initial(packet, |h, plain| {
        seen.push((h.version, h.dcid.to_vec(), h.packet_number, plain.to_vec()))
    });
    assert_eq!(summary.decrypted, 1, "{summary:?}");
    assert_eq!(seen.len(), 1);
    let (v, dcid, pn, plain) = &seen[0];
    assert_eq!(*v, version);
    assert_eq!(dcid, &unhex(DCID));
    assert_eq!(*pn, 2);
    assert_eq!(plain, &expected_plain());
    let mut crypto = Vec::new();
    walk_frames(plain, |off, data| crypto.push((off, data.to_vec()))).unwrap();
    assert_eq!(crypto.len(), 1);
    assert_eq!(crypto[0].0, 0);
    let body = client_hello_body(&crypto[0].1).unwrap();
    let hello = tls::parse_client_hello_body(body, 0x0303).unwrap();
    assert_eq!(hello.sni, Some(&b"example.com"[..]));
}

#[test]
fn rfc9001_a2_sample_client_initial_decrypts() {
    let packet = unhex(include_str!("../testdata/rfc9001-a2-client-initial.hex"));
    assert_eq!(packet.len(), 1200);
    check_a2(&packet, VERSION_1);
}

#[test]
fn rfc9369_a2_sample_client_initial_decrypts() {
    let packet = unhex(include_str!("../testdata/rfc9369-a2-client-initial.hex"));
    assert_eq!(packet.len(), 1200);
    check_a2(&packet, VERSION_2);
}

#[test]
fn version_names_as_suricata() {
    assert_eq!(VersionName(1).to_string(), "1");
    assert_eq!(VersionName(VERSION_2).to_string(), "6b3343cf");
    assert_eq!(VersionName(0xff00_001d).to_string(), "ff00001d");
    assert_eq!(VersionName(0x5130_3436).to_string(), "Q046");
    assert_eq!(Flavor::of(0xff00_0017), Some(Flavor::Draft23));
    assert_eq!(Flavor::of(0xff00_0020), Some(Flavor::Draft29));
    assert_eq!(Flavor::of(0x5130_3436), None);
}

#[test]
fn two_initials_with_shuffled_crypto_frames() {
    let hello = big_client_hello("dnl-07.geo.kaspersky.com");
    assert!(hello.len() > 1300);
    let dcid = [0x42u8; 8];
    // Cut into 6 pieces, shuffle them over two packets (as Chrome does), with PING/PADDING.
    let cuts = [0, 90, 500, 730, 1100, 1290, hello.len()];
    let pieces: Vec<(u64, &[u8])> = cuts
        .windows(2)
        .map(|w| (w[0] as u64, &hello[w[0]..w[1]]))
        .collect();
    let mut p1 = vec![0x01];
    for i in [3, 0, 5] {
        p1.extend(crypto_frame(pieces[i].0, pieces[i].1));
        p1.push(0x00);
    }
    let mut p2 = vec![0x00, 0x00];
    for i in [4, 2, 1] {
        p2.extend(crypto_frame(pieces[i].0, pieces[i].1));
    }
    p2.extend_from_slice(&[0x01, 0x00, 0x00]);
    let d1 = seal_initial(VERSION_1, &dcid, 0, &p1);
    let d2 = seal_initial(VERSION_1, &dcid, 1, &p2);

    let mut dec = InitialDecryptor::new();
    let mut table: AssemblyTable<u32> = AssemblyTable::new(16, 1 << 20);
    let mut names = Vec::new();
    let facts = InitialFacts {
        dcid: &dcid,
        token: &[],
        key_dcid: &[],
    };
    for d in [&d1, &d2] {
        let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
        let s = dec.for_each_initial(d, |_, plain| {
            walk_frames(plain, |o, data| frames.push((o, data.to_vec()))).unwrap();
        });
        assert_eq!(s.decrypted, 1);
        let refs: Vec<(u64, &[u8])> = frames.iter().map(|(o, d)| (*o, d.as_slice())).collect();
        table.add(&7, 0, facts, &refs, |body| {
            let h = tls::parse_client_hello_body(body, 0x0303).unwrap();
            names.push(String::from_utf8(h.sni.unwrap().to_vec()).unwrap());
        });
        if names.is_empty() {
            assert_eq!(table.pending(), 1, "first packet alone is incomplete");
        }
    }
    assert_eq!(names, ["dnl-07.geo.kaspersky.com"]);
    assert_eq!(table.pending(), 0);
    assert_eq!(table.stats.completed, 1);
    // A retransmission of the first packet is not handed on again.
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    dec.for_each_initial(&d1, |_, plain| {
        walk_frames(plain, |o, data| frames.push((o, data.to_vec()))).unwrap();
    });
    let refs: Vec<(u64, &[u8])> = frames.iter().map(|(o, d)| (*o, d.as_slice())).collect();
    table.add(&7, 1, facts, &refs, |_| panic!("retransmission reported"));
    assert_eq!(table.pending(), 0);

    // The same two packets coalesced into one datagram, in reverse order, another client.
    let mut both = d2.clone();
    both.extend_from_slice(&d1);
    let mut frames: Vec<(u64, Vec<u8>)> = Vec::new();
    let s = dec.for_each_initial(&both, |_, plain| {
        walk_frames(plain, |o, data| frames.push((o, data.to_vec()))).unwrap();
    });
    assert_eq!(s.decrypted, 2);
    let refs: Vec<(u64, &[u8])> = frames.iter().map(|(o, d)| (*o, d.as_slice())).collect();
    let mut done = 0;
    table.add(&8, 1, facts, &refs, |_| done += 1);
    assert_eq!(done, 1);
}

#[test]
fn second_client_hello_after_hello_retry_request_and_new_connection() {
    let h1 = big_client_hello("first.example");
    let h2 = big_client_hello("second.example");
    let mut t: AssemblyTable<u32> = AssemblyTable::new(4, 1 << 20);
    let mut got = Vec::new();
    let a = InitialFacts {
        dcid: &[1; 8],
        token: &[],
        key_dcid: &[],
    };
    let sni = |b: &[u8]| {
        String::from_utf8(
            tls::parse_client_hello_body(b, 0x0303)
                .unwrap()
                .sni
                .unwrap()
                .to_vec(),
        )
        .unwrap()
    };
    t.add(&1, 0, a, &[(0, &h1)], |b| got.push(sni(b)));
    // After a Retry: new DCID, a token, the same hello again: ignored.
    let retry = InitialFacts {
        dcid: &[2; 8],
        token: b"tok",
        key_dcid: &[],
    };
    t.add(&1, 0, retry, &[(0, &h1)], |b| got.push(sni(b)));
    // Second ClientHello after HelloRetryRequest, at the next stream offset, split in two.
    let server = InitialFacts {
        dcid: &[3; 8],
        token: &[],
        key_dcid: &[],
    };
    let off = h1.len() as u64;
    t.add(&1, 0, server, &[(off + 100, &h2[100..])], |b| {
        got.push(sni(b))
    });
    t.add(&1, 0, server, &[(off, &h2[..100])], |b| got.push(sni(b)));
    // A new connection on the same 5-tuple: offset 0, no token, unseen DCID.
    let fresh = InitialFacts {
        dcid: &[4; 8],
        token: &[],
        key_dcid: &[],
    };
    t.add(&1, 1, fresh, &[(0, &h2)], |b| got.push(sni(b)));
    assert_eq!(got, ["first.example", "second.example", "second.example"]);
    assert_eq!(t.stats.retransmitted, 1);
}

#[test]
fn assembly_first_bytes_win_and_caps() {
    let mut a = CryptoAssembly::default();
    assert_eq!(a.insert(2, b"cd"), Insert::Stored);
    assert_eq!(a.prefix(), b"");
    assert_eq!(a.insert(0, b"XYZZ"), Insert::Stored);
    assert_eq!(a.prefix(), b"XYcd");
    assert_eq!(a.insert(10, b"k"), Insert::Stored);
    assert_eq!(a.prefix(), b"XYcd");
    assert_eq!(a.insert(4, b"efghij"), Insert::Stored);
    assert_eq!(a.prefix(), b"XYcdefghijk");
    assert_eq!(a.insert(MAX_CRYPTO_BYTES as u64, b"x"), Insert::Overflow);
    assert_eq!(a.insert(u64::MAX, b"x"), Insert::Overflow);
    // Thousands of disjoint one-byte pieces are no more than bytes: all stored, and the
    // bitmap costs an eighth of the stream.
    let mut b = CryptoAssembly::default();
    for i in (1..MAX_CRYPTO_BYTES).step_by(2) {
        assert_eq!(b.insert(i as u64, b"a"), Insert::Stored);
    }
    assert_eq!(b.prefix(), b"");
    assert!(
        b.capacity() <= MAX_CRYPTO_BYTES * 9 / 8 + 64,
        "{}",
        b.capacity()
    );
    assert_eq!(b.insert(0, &vec![b'z'; MAX_CRYPTO_BYTES]), Insert::Stored);
    assert_eq!(b.prefix().len(), MAX_CRYPTO_BYTES);
    assert_eq!(&b.prefix()[..4], b"zaza");
}

/// The bitmap assembly against a plain model (one `Option<u8>` per stream byte): random
/// pieces at random offsets, overlapping and crossing 64-byte words, with the prefix
/// consumed now and then by odd amounts.
#[test]
fn assembly_matches_a_byte_model() {
    for seed in 1..200u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut a = CryptoAssembly::default();
        let mut model: Vec<Option<u8>> = Vec::new();
        for step in 0..60u8 {
            let offset = (rng.next() % 400) as usize;
            let len = 1 + (rng.next() % 150) as usize;
            let data: Vec<u8> = (0..len).map(|i| step ^ i as u8).collect();
            assert_eq!(a.insert(offset as u64, &data), Insert::Stored);
            if model.len() < offset + len {
                model.resize(offset + len, None);
            }
            for (i, &b) in data.iter().enumerate() {
                model[offset + i].get_or_insert(b);
            }
            let prefix: Vec<u8> = model.iter().map_while(|b| *b).collect();
            assert_eq!(a.prefix(), &prefix[..], "seed {seed} step {step}");
            if rng.next().is_multiple_of(4) {
                let n = (rng.next() as usize) % (prefix.len() + 1);
                a.consume(n);
                model.drain(..n);
            }
            assert_eq!(a.is_empty(), model.is_empty());
        }
    }
}

/// Issue 18, item 3: a ClientHello in about 400 CRYPTO frames of 1 to 6 bytes, shuffled
/// over several Initials (each Initial far over the old 64 frames, the stream far over the
/// old 32 ranges), assembles once, nothing counted as over a cap.
#[test]
fn hello_in_hundreds_of_shuffled_frames_assembles() {
    let hello = big_client_hello("frag.example");
    let mut rng = XorShift(0x1234_5678_9abc_def1);
    let mut pieces = Vec::new();
    let mut at = 0;
    while at < hello.len() {
        let end = (at + 1 + (rng.next() % 6) as usize).min(hello.len());
        pieces.push(crypto_frame(at as u64, &hello[at..end]));
        at = end;
    }
    assert!(pieces.len() > 300, "{}", pieces.len());
    for i in (1..pieces.len()).rev() {
        pieces.swap(i, (rng.next() as usize) % (i + 1));
    }
    let facts = InitialFacts {
        dcid: &[7; 8],
        token: &[],
        key_dcid: &[7; 8],
    };
    let mut table: AssemblyTable<u32> = AssemblyTable::new(16, 1 << 20);
    let mut names = Vec::new();
    for (i, packet) in pieces.chunks(150).enumerate() {
        let plain: Vec<u8> = packet.concat();
        let mut frames: Vec<(u64, &[u8])> = Vec::new();
        walk_frames(&plain, |o, d| frames.push((o, d))).unwrap();
        table.add(&1, 0, facts, &frames, |body| {
            let h = tls::parse_client_hello_body(body, 0x0303).unwrap();
            names.push(String::from_utf8(h.sni.unwrap().to_vec()).unwrap());
        });
        if (i + 1) * 150 < pieces.len() {
            assert!(names.is_empty());
            assert_eq!(table.pending(), 1);
        }
    }
    assert_eq!(names, ["frag.example"]);
    assert_eq!((table.stats.overflow, table.stats.completed), (0, 1));
    assert_eq!((table.pending(), table.bytes()), (0, 0));
}

#[test]
fn table_evicts_oldest_and_expires() {
    let facts = InitialFacts {
        dcid: &[9; 4],
        token: &[],
        key_dcid: &[],
    };
    let mut t: AssemblyTable<u32> = AssemblyTable::new(2, 1 << 20);
    let part: &[u8] = &[1, 0, 0, 10, 0];
    for k in 0..5u32 {
        t.add(&k, 0, facts, &[(0u64, part)], |_| panic!("incomplete"));
    }
    assert_eq!(t.len(), 2);
    assert_eq!(t.stats.evicted, 3);
    t.add(&9, 100, facts, &[(0u64, part)], |_| {});
    assert_eq!(t.stats.expired, 2);
    assert_eq!(t.len(), 1);
    // Byte budget.
    let mut t: AssemblyTable<u32> = AssemblyTable::new(100, 5000);
    let big = vec![0u8; 4000];
    for k in 0..3u32 {
        t.add(&k, 0, facts, &[(1u64, big.as_slice())], |_| {});
    }
    assert!(t.pending() <= 1, "{}", t.pending());
    assert!(t.stats.evicted >= 2);
}

#[test]
fn frames_ack_close_unknown() {
    // ACK with one extra range, ACK_ECN, CRYPTO, CONNECTION_CLOSE, then junk ignored.
    let mut p = vec![0x02, 0x05, 0x00, 0x01, 0x00, 0x01, 0x01];
    p.extend_from_slice(&[0x03, 0x05, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03]);
    p.extend(crypto_frame(3, b"abc"));
    p.extend_from_slice(&[0x1c, 0x00, 0x06, 0x02, b'n', b'o', 0xff]);
    let mut got = Vec::new();
    assert_eq!(walk_frames(&p, |o, d| got.push((o, d.to_vec()))), Ok(()));
    assert_eq!(got, vec![(3, b"abc".to_vec())]);
    assert_eq!(
        walk_frames(&[0x01, 0x08, 0x00], |_, _| {}),
        Err(FrameStop::Unknown(8))
    );
    assert_eq!(
        walk_frames(&[0x06, 0x00, 0x05, 1], |_, _| {}),
        Err(FrameStop::Truncated)
    );
    // A huge ACK range count ends quickly.
    assert_eq!(
        walk_frames(&[0x02, 0, 0, 0xbf, 0xff, 0xff, 0xff, 0], |_, _| {}),
        Err(FrameStop::Truncated)
    );
    // The iterator yields the same frames and says why it stopped.
    let mut frames = CryptoFrames::new(VERSION_1, &p);
    assert_eq!(frames.by_ref().count(), 1);
    assert_eq!(frames.stopped(), None);
    let mut frames = CryptoFrames::new(VERSION_1, &[0x06, 0, 1, b'x', 0x06, 0x00, 0x05, 1]);
    assert_eq!(frames.next(), Some((0, &b"x"[..])));
    assert_eq!(
        (frames.next(), frames.stopped()),
        (None, Some(FrameStop::Truncated))
    );
    assert_eq!(frames.next(), None);
    assert_eq!(varint(&[0xc0, 0, 0, 0, 0, 0, 0, 1]), Some((1, 8)));
    assert_eq!(varint(&[0x40]), None);
}

struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn truncated_and_mutated_datagrams_never_panic() {
    let v1 = unhex(include_str!("../testdata/rfc9001-a2-client-initial.hex"));
    let v2 = unhex(include_str!("../testdata/rfc9369-a2-client-initial.hex"));
    let mut dec = InitialDecryptor::new();
    for base in [&v1, &v2] {
        for cut in (0..base.len()).step_by(7) {
            let s = dec.for_each_initial(&base[..cut], |_, p| {
                let _ = walk_frames(p, |_, _| {});
            });
            assert_eq!(s.decrypted, 0, "cut {cut}");
        }
    }
    let mut table: AssemblyTable<u64> = AssemblyTable::new(8, 1 << 16);
    for seed in 1..600u64 {
        let mut rng = XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut m = if seed % 2 == 0 {
            v1.clone()
        } else {
            v2.clone()
        };
        if seed % 3 == 0 {
            let len = (rng.next() % 1300) as usize;
            m = (0..len).map(|_| rng.next() as u8).collect();
            if m.len() > 6 {
                m[0] = 0xc3;
                m[1..5].copy_from_slice(&VERSION_1.to_be_bytes());
                m[5] = (rng.next() % 24) as u8;
            }
        }
        for _ in 0..(rng.next() % 4) {
            let i = (rng.next() as usize) % m.len().max(1);
            if let Some(b) = m.get_mut(i) {
                *b = rng.next() as u8;
            }
        }
        let _ = looks_like_initial(&m);
        dec.for_each_initial(&m, |_, _| {});
        // Random frame bytes through the walker and the table.
        let frames: Vec<u8> = (0..(rng.next() % 200)).map(|_| rng.next() as u8).collect();
        let mut got: Vec<(u64, Vec<u8>)> = Vec::new();
        let _ = walk_frames(&frames, |o, d| got.push((o, d.to_vec())));
        let refs: Vec<(u64, &[u8])> = got.iter().map(|(o, d)| (*o, d.as_slice())).collect();
        let facts = InitialFacts {
            dcid: &frames[..frames.len().min(8)],
            token: &[],
            key_dcid: &[],
        };
        table.add(&(seed % 5), seed, facts, &refs, |b| {
            let _ = tls::parse_client_hello_body(b, 0x0303);
        });
        let _ = walk_frames_for(VERSION_T051, &frames, |_, _| {});
    }
}
