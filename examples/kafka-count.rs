//! Count the messages of a Kafka topic, read from the beginning to its end by an rdkafka
//! consumer: the independent count `scripts/kafka-bench.sh` sets beside vendorwatch's own
//! produced/delivered/dropped figures.
//!
//! ```text
//! cargo run --release --example kafka-count -- BROKERS TOPIC
//! ```
//!
//! Prints `N` on stdout, and the count per partition and the distinct keys on stderr.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use vendorwatch::output::kafka::{ReadConfig, read_topic};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [brokers, topic] = args.as_slice() else {
        eprintln!("usage: kafka-count BROKERS TOPIC");
        std::process::exit(2);
    };
    let config = ReadConfig {
        brokers: brokers.clone(),
        topic: topic.clone(),
        group: None,
        options: Vec::new(),
        timeout: Duration::from_secs(30),
    };
    let mut per_partition: BTreeMap<i32, u64> = BTreeMap::new();
    let mut keys: BTreeSet<Vec<u8>> = BTreeSet::new();
    match read_topic(&config, |m| {
        *per_partition.entry(m.partition).or_default() += 1;
        if let Some(k) = m.key {
            keys.insert(k.to_vec());
        }
    }) {
        Ok(n) => {
            eprintln!(
                "{topic}: {n} messages, per partition {per_partition:?}, {} keys",
                keys.len()
            );
            println!("{n}");
        }
        Err(e) => {
            eprintln!("kafka-count: {e}");
            std::process::exit(1);
        }
    }
}
