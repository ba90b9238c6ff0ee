//! `--eve FILE` appends, as Suricata's `append: yes`: a second scan adds its records after the
//! first scan's instead of erasing records a pipeline may not have shipped yet.

mod common;

#[test]
fn second_scan_appends_to_the_eve_file() {
    let dir = std::env::temp_dir().join(format!("vendorwatch-append-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let eve = dir.join("eve.json");
    let _ = std::fs::remove_file(&eve);
    let eve_arg = eve.to_string_lossy().into_owned();
    let lines = || {
        std::fs::read_to_string(&eve)
            .expect("eve file")
            .lines()
            .count()
    };
    let scan = || {
        let run =
            common::vendorwatch(&["scan", "-q", "--eve", &eve_arg, "pcaps/kaspersky-dns.pcap"]);
        assert_eq!(run.code(), Some(0), "{}", run.stderr());
    };
    scan();
    let first = lines();
    assert!(first > 0, "the sample capture alerts");
    scan();
    assert_eq!(lines(), 2 * first, "the second scan appended its records");
    let _ = std::fs::remove_dir_all(&dir);
}
