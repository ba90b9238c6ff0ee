//! Scale bench of the signature matcher (issue 6): load time and memory for 1,000,000
//! generated domains, and lookup time per name for 100, 10,000 and 1,000,000 signatures.
//!
//! `cargo bench --bench matcher` (a `harness = false` bench on std::time: criterion is not
//! available offline here). Memory is measured with a counting global allocator: "peak" is
//! the most heap in use at once while loading, "kept" what the loaded `RuleSet` + `Matcher`
//! hold afterwards. Set `VW_BENCH_QUICK=1` for a fast smoke run (100,000 domains).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use vendorwatch::proto::NameBuf;
use vendorwatch::sigs::{Matcher, RuleSet, normalise_name};

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = IN_USE.fetch_add(new_size - layout.size(), Ordering::Relaxed)
                    + (new_size - layout.size());
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                IN_USE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MB: f64 = 1024.0 * 1024.0;

/// A varied, realistic-looking domain: 2 to 4 labels, mixed kinds of pattern.
fn domain(i: usize) -> String {
    let word = |x: usize| -> String {
        let syll = [
            "ka", "spe", "rs", "ky", "lab", "up", "date", "tel", "emy", "net", "sec", "cdn",
        ];
        let mut s = String::new();
        let mut x = x;
        loop {
            s.push_str(syll[x % syll.len()]);
            x /= syll.len();
            if x == 0 {
                break;
            }
        }
        s
    };
    let tld = ["com", "net", "org", "ru", "io", "de"][i % 6];
    match i % 10 {
        0 => format!("*.{}.{tld}", word(i)),
        1 => format!(".{}.{tld}", word(i)),
        2 => format!("s??.{}.{tld}", word(i)),
        3 | 4 => format!("{}.{}.{tld}", word(i / 7), word(i)),
        _ => format!("{}.{tld}", word(i)),
    }
}

fn pack_text(n: usize) -> String {
    let mut t = String::with_capacity(n * 24 + 200);
    t.push_str(
        "[pack]\nid = \"bench\"\nvendor = \"Bench\"\nversion = \"1\"\n\n[[rule]]\nsid = 1\n\
         name = \"generated\"\nchannel = \"other\"\nseverity = 3\ndomains = [\n",
    );
    for i in 0..n {
        t.push_str("  \"");
        t.push_str(&domain(i));
        t.push_str("\",\n");
    }
    t.push_str("]\n");
    t
}

fn load(n: usize) -> (RuleSet, Matcher, f64, f64, usize, usize) {
    let text = pack_text(n);
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t0 = Instant::now();
    let set = RuleSet::from_str(&text, Path::new("bench.toml")).expect("generated pack loads");
    let t1 = Instant::now();
    let m = Matcher::new(&set);
    let t2 = Instant::now();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(text);
    let kept = IN_USE.load(Ordering::Relaxed).saturating_sub(base);
    let parse = (t1 - t0).as_secs_f64();
    let compile = (t2 - t1).as_secs_f64();
    (set, m, parse, compile, peak, kept)
}

/// ns per lookup over `names` (normalise + match, as the detector does), best of 5 rounds.
fn lookup_ns(m: &Matcher, names: &[Vec<u8>], rounds: usize) -> f64 {
    let mut best = f64::MAX;
    let mut buf = NameBuf::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut hits = 0usize;
        for _ in 0..rounds {
            for n in names {
                if normalise_name(n, &mut buf) && m.match_name(black_box(buf.as_bytes())).is_some()
                {
                    hits += 1;
                }
            }
        }
        black_box(hits);
        let ns = t.elapsed().as_nanos() as f64 / (rounds * names.len()) as f64;
        best = best.min(ns);
    }
    best
}

fn main() {
    let quick = std::env::var_os("VW_BENCH_QUICK").is_some();
    let big = if quick { 100_000 } else { 1_000_000 };

    println!(
        "vendorwatch matcher bench ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    let (set, m, parse, compile, peak, kept) = load(big);
    println!(
        "load {big} domains: {:.3} s (TOML parse+validate {:.3} s, compile {:.3} s); heap peak \
         {:.1} MB, kept {:.1} MB (matcher index {:.1} MB)",
        parse + compile,
        parse,
        compile,
        peak as f64 / MB,
        kept as f64 / MB,
        m.heap_bytes() as f64 / MB
    );
    assert_eq!(m.domain_patterns(), set.rules[0].domains.len());
    drop((set, m));

    // Non-matching 4-label names (and a few matching ones), varied so caches are honest.
    let miss: Vec<Vec<u8>> = (0..1024)
        .map(|i| format!("www{i}.shop.example-store.org").into_bytes())
        .collect();
    let miss_upper: Vec<Vec<u8>> = (0..1024)
        .map(|i| format!("WWW{i}.Shop.Example-Store.ORG.").into_bytes())
        .collect();
    println!("\nlookup (normalise + match), ns per name, best of 5:");
    println!(
        "{:>10}  {:>14}  {:>16}  {:>10}",
        "signatures", "miss 4 labels", "miss, mixed case", "hit"
    );
    let mut misses = Vec::new();
    for n in [100usize, 10_000, big] {
        let (set, m, ..) = load(n);
        let hit: Vec<Vec<u8>> = (0..1024.min(n))
            .map(|i| {
                let p = &set.rules[0].domains[(i * 7919) % n];
                let p = p.trim_start_matches("*.").trim_start_matches('.');
                format!("x.{}", p.replace("s??", "s01")).into_bytes()
            })
            .collect();
        let rounds = 2000;
        let a = lookup_ns(&m, &miss, rounds);
        let b = lookup_ns(&m, &miss_upper, rounds);
        let c = lookup_ns(&m, &hit, rounds);
        println!("{n:>10}  {a:>14.1}  {b:>16.1}  {c:>10.1}");
        misses.push(a);
    }
    let (lo, hi) = misses
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    println!(
        "\nmiss lookups across sizes: min {lo:.1} ns, max {hi:.1} ns, spread {:.0}%",
        (hi / lo - 1.0) * 100.0
    );
}
