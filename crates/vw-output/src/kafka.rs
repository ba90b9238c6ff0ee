//! Kafka output (`--kafka BROKERS`): every record as one message on a topic, through
//! librdkafka (the `rdkafka` crate, built from the source it bundles).
//!
//! The producer is idempotent with `acks=all`: the broker writes each message once, in the
//! order produced, per partition, even across retries and reconnects. The message key is the
//! record's host (default: one machine's records stay in order in one partition), its flow,
//! or none (spread over the partitions).
//!
//! The hub never waits: `send` copies the record into librdkafka's queue, bounded by
//! `queue` messages (`queue.buffering.max.messages`) and librdkafka's 1 GiB of bytes; a
//! full queue drops the record and counts it. While the brokers are down the queue holds
//! what comes in, and librdkafka retries until a message's `message.timeout.ms` (5 minutes
//! unless `--kafka-option` says otherwise) runs out. Delivery reports come back on
//! librdkafka's polling thread and are counted: acknowledged by every in-sync replica is
//! `delivered`, failed (expired, refused) is `dropped`. At exit the sink flushes for the
//! drain time, then purges what is still queued or in flight (each purge reported as a
//! failed delivery), so `produced == delivered + dropped` exactly once it is closed, as for
//! the other network sinks ([`crate::sink`]). A message purged while in flight may still
//! have reached the broker: it is counted dropped, never delivered without an
//! acknowledgement.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The client crate, for tests and tools that read what this output wrote.
pub use rdkafka;

use rdkafka::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::producer::{BaseRecord, Producer, ProducerContext, PurgeConfig, ThreadedProducer};

use crate::key::RecordKey;
use crate::sink::{SinkReport, SinkStats};

/// What a message is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KafkaKey {
    /// The record's host (its address as text): a machine's records in one partition.
    Host,
    /// The record's flow (its EVE `flow_id` in decimal).
    Flow,
    /// No key: the partitioner spreads records over the partitions.
    None,
}

impl KafkaKey {
    /// Parse `--kafka-key host|flow|none`.
    pub fn parse(s: &str) -> Result<KafkaKey, String> {
        match s {
            "host" => Ok(KafkaKey::Host),
            "flow" => Ok(KafkaKey::Flow),
            "none" => Ok(KafkaKey::None),
            other => Err(format!(
                "--kafka-key {other:?}: expected host, flow or none"
            )),
        }
    }
}

/// Default bound of the producer's queue, in messages: at 100,000 records/s, ten seconds of
/// a broker outage without a loss (librdkafka also bounds it to 1 GiB of messages).
pub const DEFAULT_QUEUE: usize = 1_000_000;

/// The Kafka output's configuration.
#[derive(Debug, Clone)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma-separated `host:port`.
    pub brokers: String,
    /// The topic every record goes to.
    pub topic: String,
    /// What a message is keyed by.
    pub key: KafkaKey,
    /// Client properties passed to librdkafka after ours (TLS, SASL, compression, batching;
    /// they may override ours).
    pub options: Vec<(String, String)>,
    /// Most messages queued for delivery.
    pub queue: usize,
    /// How long the sink may keep delivering at exit.
    pub drain: Duration,
}

impl KafkaConfig {
    /// A configuration with the defaults: keyed by host, the default queue, 5 s of drain.
    pub fn new(brokers: &str, topic: &str) -> Self {
        KafkaConfig {
            brokers: brokers.to_string(),
            topic: topic.to_string(),
            key: KafkaKey::Host,
            options: Vec::new(),
            queue: DEFAULT_QUEUE,
            drain: Duration::from_secs(5),
        }
    }
}

/// Parse one `--kafka-option KEY=VALUE`.
pub fn parse_option(spec: &str) -> Result<(String, String), String> {
    match spec.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("--kafka-option {spec:?}: expected KEY=VALUE")),
    }
}

/// Counts delivery reports and client errors into the sink's counters.
struct Counting {
    stats: Arc<SinkStats>,
    /// Set once the sink has done its accounting at close: a report after that is not
    /// counted twice.
    closed: AtomicBool,
}

impl ClientContext for Counting {
    // librdkafka's own log lines go to the `log` facade, which the binary does not print:
    // the failures they describe are counted here and shown in the summary and metrics.
    fn error(&self, _error: KafkaError, _reason: &str) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
    }
}

impl ProducerContext for Counting {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if self.closed.load(Ordering::Relaxed) {
            return;
        }
        match result {
            Ok(_) => {
                self.stats.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                if e.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) {
                    self.stats.oversized.fetch_add(1, Ordering::Relaxed);
                }
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// A running Kafka output.
pub struct KafkaSink {
    label: String,
    topic: String,
    key: KafkaKey,
    drain: Duration,
    producer: ThreadedProducer<Counting>,
    stats: Arc<SinkStats>,
}

impl KafkaSink {
    /// Create the producer. Nothing is connected yet: brokers that are down at start are
    /// retried like brokers that go down later. A property librdkafka does not know, or a
    /// value it refuses, is an error here.
    pub fn start(config: &KafkaConfig) -> Result<KafkaSink, String> {
        if config.brokers.trim().is_empty() {
            return Err("--kafka: no broker given".to_string());
        }
        if config.topic.is_empty() {
            return Err("--kafka-topic: empty topic name".to_string());
        }
        let mut client = ClientConfig::new();
        client
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", "vendorwatch")
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set(
                "queue.buffering.max.messages",
                config.queue.clamp(1, i32::MAX as usize).to_string(),
            );
        for (k, v) in &config.options {
            client.set(k, v);
        }
        let stats = Arc::new(SinkStats::default());
        let context = Counting {
            stats: Arc::clone(&stats),
            closed: AtomicBool::new(false),
        };
        let producer: ThreadedProducer<Counting> = client
            .create_with_context(context)
            .map_err(|e| format!("--kafka {}: {}", config.brokers, client_error(&e)))?;
        Ok(KafkaSink {
            label: format!("kafka {} {}", config.brokers, config.topic),
            topic: config.topic.clone(),
            key: config.key,
            drain: config.drain,
            producer,
            stats,
        })
    }

    /// Shared counters (the metrics endpoint reads them).
    pub fn stats(&self) -> Arc<SinkStats> {
        Arc::clone(&self.stats)
    }

    /// What the sink sends to.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Queue one record; never blocks. A full queue (or a record librdkafka refuses) drops
    /// it, counted.
    pub fn send(&self, record: &[u8], key: &RecordKey) {
        self.stats.produced.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 48];
        let len = match self.key {
            KafkaKey::Host => key.host.map(|h| write_key(&mut buf, format_args!("{h}"))),
            KafkaKey::Flow => key.flow.map(|f| write_key(&mut buf, format_args!("{f}"))),
            KafkaKey::None => None,
        };
        let mut message = BaseRecord::<[u8], [u8]>::to(&self.topic).payload(record);
        if let Some(len) = len {
            message = message.key(&buf[..len]);
        }
        if let Err((e, _)) = self.producer.send(message) {
            if e.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) {
                self.stats.oversized.fetch_add(1, Ordering::Relaxed);
            }
            self.stats.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Deliver what is queued within the drain time; purge the rest (counted dropped), and
    /// report.
    pub fn close(self) -> SinkReport {
        let _ = self.producer.flush(self.drain);
        if self.producer.in_flight_count() > 0 {
            self.producer
                .purge(PurgeConfig::default().queue().inflight());
        }
        // The purged messages' reports (and any late acknowledgements) are served here.
        let until = Instant::now() + Duration::from_secs(5);
        while self.producer.in_flight_count() > 0 && Instant::now() < until {
            self.producer.poll(Duration::from_millis(50));
        }
        let context = self.producer.context();
        context.closed.store(true, Ordering::Relaxed);
        // Nothing is left in flight unless librdkafka failed to report it: count it dropped.
        let left = u64::try_from(self.producer.in_flight_count()).unwrap_or(0);
        self.stats.dropped.fetch_add(left, Ordering::Relaxed);
        self.stats.report(&self.label)
    }
}

/// What `report --kafka` reads: a topic, from the beginning or from a group's offsets.
#[derive(Debug, Clone)]
pub struct ReadConfig {
    /// Bootstrap servers.
    pub brokers: String,
    /// The topic.
    pub topic: String,
    /// Consumer group: start at its committed offsets (the beginning where it has none) and
    /// commit what was read. None: read the whole topic, commit nothing.
    pub group: Option<String>,
    /// Client properties passed to librdkafka (TLS, SASL).
    pub options: Vec<(String, String)>,
    /// Longest wait for the brokers (metadata, offsets) and between two messages.
    pub timeout: Duration,
}

/// One message read.
#[derive(Debug)]
pub struct ReadMessage<'a> {
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its key, if it has one.
    pub key: Option<&'a [u8]>,
    /// Its value (a record).
    pub payload: &'a [u8],
}

/// Read every message of the topic up to its end (each partition read until the consumer
/// reaches its end), handing each to `each` in offset order per partition;
/// returns the count. With a group, its offsets are committed at the end. Brokers that do
/// not answer within the timeout, or a topic that does not exist, are an error.
pub fn read_topic(
    config: &ReadConfig,
    mut each: impl FnMut(&ReadMessage<'_>),
) -> Result<u64, String> {
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::message::Message;
    use rdkafka::{Offset, TopicPartitionList};

    let what = format!("--kafka {} topic {}", config.brokers, config.topic);
    let mut client = ClientConfig::new();
    client
        .set("bootstrap.servers", &config.brokers)
        .set("client.id", "vendorwatch-report")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "true")
        // Read only what producers committed (idempotent producers commit everything).
        .set("isolation.level", "read_committed");
    // assign() needs no group; one is set only to fetch and commit the group's offsets.
    client.set(
        "group.id",
        config.group.as_deref().unwrap_or("vendorwatch-report"),
    );
    for (k, v) in &config.options {
        client.set(k, v);
    }
    let consumer: BaseConsumer = client
        .create()
        .map_err(|e| format!("{what}: {}", client_error(&e)))?;
    let metadata = consumer
        .fetch_metadata(Some(&config.topic), config.timeout)
        .map_err(|e| format!("{what}: no answer from the brokers: {e}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == config.topic && t.error().is_none())
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(format!("{what}: no such topic"));
    }
    let start = if config.group.is_some() {
        Offset::Stored
    } else {
        Offset::Beginning
    };
    // A partition is done once the consumer reaches its end (librdkafka's partition EOF,
    // from the fetch responses: brokers such as tansu answer ListOffsets with no real high
    // watermark, so it is not asked).
    let mut open: std::collections::BTreeSet<i32> = partitions.iter().copied().collect();
    let mut assignment = TopicPartitionList::new();
    for &p in &partitions {
        assignment
            .add_partition_offset(&config.topic, p, start)
            .map_err(|e| format!("{what}: {e}"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(|e| format!("{what}: {e}"))?;
    let mut read = 0u64;
    let mut next: std::collections::BTreeMap<i32, i64> = Default::default();
    let mut last = Instant::now();
    while !open.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last = Instant::now();
                let (p, offset) = (m.partition(), m.offset());
                each(&ReadMessage {
                    partition: p,
                    offset,
                    key: m.key(),
                    payload: m.payload().unwrap_or(&[]),
                });
                read += 1;
                next.insert(p, offset + 1);
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                open.remove(&p);
            }
            Some(Err(e)) => return Err(format!("{what}: {e}")),
            None if last.elapsed() > config.timeout => {
                return Err(format!(
                    "{what}: nothing read for {:?}; partitions not read to their end: {:?}",
                    config.timeout, open
                ));
            }
            None => {}
        }
    }
    if config.group.is_some() && !next.is_empty() {
        let mut done = TopicPartitionList::new();
        for (p, at) in &next {
            done.add_partition_offset(&config.topic, *p, Offset::Offset(*at))
                .map_err(|e| format!("{what}: {e}"))?;
        }
        consumer
            .commit(&done, CommitMode::Sync)
            .map_err(|e| format!("{what}: committing the group's offsets: {e}"))?;
    }
    Ok(read)
}

/// Write a key into `buf`; its length (a host address or a flow id always fits).
fn write_key(buf: &mut [u8; 48], args: std::fmt::Arguments<'_>) -> usize {
    let mut w = &mut buf[..];
    let room = w.len();
    let _ = w.write_fmt(args);
    room - w.len()
}

/// librdkafka's message for a client that could not be created (an unknown property, a bad
/// value).
fn client_error(e: &KafkaError) -> String {
    match e {
        KafkaError::ClientCreation(msg) | KafkaError::ClientConfig(_, msg, _, _) => msg.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn parses_flags() {
        assert_eq!(KafkaKey::parse("host"), Ok(KafkaKey::Host));
        assert_eq!(KafkaKey::parse("flow"), Ok(KafkaKey::Flow));
        assert_eq!(KafkaKey::parse("none"), Ok(KafkaKey::None));
        assert!(KafkaKey::parse("src").is_err());
        assert_eq!(
            parse_option("compression.type=zstd"),
            Ok(("compression.type".into(), "zstd".into()))
        );
        assert_eq!(
            parse_option("sasl.password=a=b"),
            Ok(("sasl.password".into(), "a=b".into()))
        );
        assert!(parse_option("linger.ms").is_err());
        assert!(parse_option("=1").is_err());
    }

    #[test]
    fn keys_fit() {
        let mut buf = [0u8; 48];
        let ip: IpAddr = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"
            .parse()
            .unwrap();
        let n = write_key(&mut buf, format_args!("{ip}"));
        assert_eq!(&buf[..n], ip.to_string().as_bytes());
        let n = write_key(&mut buf, format_args!("{}", u64::MAX));
        assert_eq!(&buf[..n], b"18446744073709551615");
    }

    /// A property librdkafka does not know is refused at start, with its name.
    #[test]
    fn unknown_option_is_refused() {
        let mut c = KafkaConfig::new("127.0.0.1:1", "t");
        c.options.push(("no.such.property".into(), "1".into()));
        let e = KafkaSink::start(&c).err().expect("refused");
        assert!(e.contains("no.such.property"), "{e}");
    }

    /// Brokers that never answer: nothing blocks, and every record is counted dropped once
    /// the drain time is over; a queue of 10 drops the rest at once.
    #[test]
    fn unreachable_broker_counts_everything() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut c = KafkaConfig::new(&format!("127.0.0.1:{port}"), "t");
        c.queue = 10;
        c.drain = Duration::from_millis(300);
        let sink = KafkaSink::start(&c).unwrap();
        let t = Instant::now();
        let key = RecordKey {
            host: Some("10.0.0.1".parse().unwrap()),
            flow: Some(7),
        };
        for _ in 0..1000 {
            sink.send(b"{}", &key);
        }
        assert!(
            t.elapsed() < Duration::from_millis(500),
            "{:?}",
            t.elapsed()
        );
        assert_eq!(sink.stats().dropped.load(Ordering::Relaxed), 990);
        let r = sink.close();
        assert_eq!((r.produced, r.delivered, r.dropped), (1000, 0, 1000));
    }
}
