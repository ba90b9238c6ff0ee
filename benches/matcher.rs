//! Scale bench of the signature matcher (issue 6): load time and memory for 1,000,000
//! generated domains, and lookup time per name for 100, 10,000 and 1,000,000 signatures.
//!
//! `cargo bench --bench matcher` (a `harness = false` bench on std::time: criterion is not
//! available offline here). Memory is measured with a counting global allocator: "peak" is
//! the most heap in use at once while loading, "kept" what the loaded `RuleSet` + `Matcher`
//! hold afterwards. Set `VW_BENCH_QUICK=1` for a fast smoke run (100,000 domains),
//! `VW_BENCH_LOAD_ONLY=1` to stop after the 1M load (for profiling it).

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
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

/// Nanoseconds this thread has spent on a CPU (Linux `/proc/thread-self/schedstat`), so the
/// figures stay meaningful on a shared, busy machine; 0 where unavailable.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

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
    t.push_str(HEAD);
    t.push_str("domains = [\n");
    for i in 0..n {
        t.push_str("  \"");
        t.push_str(&domain(i));
        t.push_str("\",\n");
    }
    t.push_str("]\n");
    t
}

const HEAD: &str = "[pack]\nid = \"bench\"\nvendor = \"Bench\"\nversion = \"1\"\n\n[[rule]]\n\
                    sid = 1\nname = \"generated\"\nchannel = \"other\"\nseverity = 3\n";

struct Loaded {
    set: RuleSet,
    matcher: Matcher,
    parse: f64,
    compile: f64,
    cpu_parse: f64,
    cpu_compile: f64,
    peak: usize,
    kept: usize,
}

/// Load `n` generated domains, through inline TOML (`toml = true`) or a `domains_file`.
fn load(n: usize, toml: bool) -> Loaded {
    let dir = std::env::temp_dir().join(format!("vw-bench-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pack = dir.join("bench.toml");
    if toml {
        std::fs::write(&pack, pack_text(n)).expect("write pack");
    } else {
        let mut list = String::with_capacity(n * 20);
        for i in 0..n {
            list.push_str(&domain(i));
            list.push('\n');
        }
        std::fs::write(dir.join("bench.domains"), list).expect("write list");
        std::fs::write(&pack, format!("{HEAD}domains_file = \"bench.domains\"\n")).expect("w");
    }
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let (t0, c0) = (Instant::now(), cpu_ns());
    let set = RuleSet::load(&[pack]).expect("generated pack loads");
    let (t1, c1) = (Instant::now(), cpu_ns());
    let matcher = Matcher::new(&set);
    let (t2, c2) = (Instant::now(), cpu_ns());
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let kept = IN_USE.load(Ordering::Relaxed).saturating_sub(base);
    let _ = std::fs::remove_dir_all(&dir);
    Loaded {
        set,
        matcher,
        parse: (t1 - t0).as_secs_f64(),
        compile: (t2 - t1).as_secs_f64(),
        cpu_parse: (c1 - c0) as f64 / 1e9,
        cpu_compile: (c2 - c1) as f64 / 1e9,
        peak,
        kept,
    }
}

fn report_load(what: &str, n: usize, l: &Loaded) {
    println!(
        "load {n} domains {what}: wall {:.3} s, CPU {:.3} s (read+validate {:.3} s, compile \
         {:.3} s CPU); heap peak {:.1} MB, kept {:.1} MB (matcher index {:.1} MB)",
        l.parse + l.compile,
        l.cpu_parse + l.cpu_compile,
        l.cpu_parse,
        l.cpu_compile,
        l.peak as f64 / MB,
        l.kept as f64 / MB,
        l.matcher.heap_bytes() as f64 / MB
    );
}

/// (wall, CPU) ns per lookup over `names` (normalise + match, as the detector does), best
/// of 5 rounds each.
fn lookup_ns(m: &Matcher, names: &[Vec<u8>], rounds: usize) -> (f64, f64) {
    let mut best = (f64::MAX, f64::MAX);
    let mut buf = NameBuf::new();
    for _ in 0..5 {
        let (t, c) = (Instant::now(), cpu_ns());
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
        let count = (rounds * names.len()) as f64;
        let wall = t.elapsed().as_nanos() as f64 / count;
        let cpu = (cpu_ns() - c) as f64 / count;
        best = (best.0.min(wall), best.1.min(cpu));
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
    let l = load(big, false);
    report_load("via domains_file", big, &l);
    assert_eq!(l.matcher.domain_patterns(), l.set.rules[0].domains.len());
    drop(l);
    if std::env::var_os("VW_BENCH_LOAD_ONLY").is_some() {
        return;
    }
    let toml_n = big / 10;
    let l = load(toml_n, true);
    report_load("via inline TOML", toml_n, &l);
    drop(l);

    // Non-matching 4-label names under 1024 different registrable domains, and the same in
    // mixed case with a trailing dot; matching names drawn from the rules.
    let miss: Vec<Vec<u8>> = (0..1024)
        .map(|i| format!("www.shop.store{i}.org").into_bytes())
        .collect();
    let miss_upper: Vec<Vec<u8>> = (0..1024)
        .map(|i| format!("WWW.Shop.Store{i}.ORG.").into_bytes())
        .collect();
    println!("\nlookup (normalise + match), ns per name (CPU / wall), best of 5:");
    println!(
        "{:>10}  {:>16}  {:>18}  {:>16}",
        "signatures", "miss, 4 labels", "miss, mixed case", "hit"
    );
    let mut misses = Vec::new();
    for n in [100usize, 10_000, big] {
        let Loaded {
            set, matcher: m, ..
        } = load(n, false);
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
        let cell = |x: (f64, f64)| format!("{:.1} / {:.1}", x.1, x.0);
        println!("{n:>10}  {:>16}  {:>18}  {:>16}", cell(a), cell(b), cell(c));
        misses.push(if a.1 > 0.0 { a.1 } else { a.0 });
    }
    let (lo, hi) = misses
        .iter()
        .fold((f64::MAX, 0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    println!(
        "\nmiss lookups (CPU) across sizes: min {lo:.1} ns, max {hi:.1} ns, spread {:.0}%",
        (hi / lo - 1.0) * 100.0
    );
}
