//! Differential: the hand-written, allocation-free DNS walker (`proto::dns::walk`) against
//! `hickory-proto` (the maintained successor of trust-dns-proto) on the same bytes.
//!
//! Ours accepts a message when `looks_like_dns` takes it and the walk visits every question
//! and answer it reads (no error, nothing skipped); hickory accepts it when
//! `Message::from_vec` returns a message. Then:
//!
//! - both accept: the question names and types, and for every answer the owner name, the
//!   type, the A/AAAA address and the CNAME target, must be the same, item for item (names
//!   compared as raw label bytes: ours escapes odd bytes as `\DDD`, which is undone here);
//! - hickory rejects, ours accepts: hickory is walked item by item to find where it stopped
//!   and why, the items before that point must agree as above, and the stop must be one of
//!   the differences listed in `explain` below; anything else is a finding (a panic);
//! - ours rejects: nothing to check. Ours is the stricter one where it bounds work: more than
//!   64 compression pointers in one name (`MAX_POINTER_JUMPS`; hickory's backward-only rule
//!   bounds it instead), a name whose presentation form (with `\DDD` escapes) does not fit a
//!   `NameBuf`, no question or an unassigned opcode above 6 (`looks_like_dns`, not DNS to the
//!   detector), a CNAME whose target runs past its rdata (including the empty rdata an
//!   RFC 2136 UPDATE uses for "any data", which hickory takes as such).
#![no_main]

use hickory_proto::op::{Header, Message, OpCode, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, DecodeError};
use libfuzzer_sys::fuzz_target;
use vendorwatch::proto::dns::{self, DnsItem, MAX_ANSWERS, MAX_QUESTIONS, Rdata};

/// A name as its labels' raw bytes.
type Labels = Vec<Vec<u8>>;

/// One question or answer, as both parsers can state it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Question {
        name: Labels,
        qtype: u16,
    },
    Answer {
        owner: Labels,
        rtype: u16,
        data: Data,
    },
}

/// What an answer's rdata says, for the types ours decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Data {
    A([u8; 4]),
    Aaaa([u8; 16]),
    Cname(Labels),
    /// Any other type, or A/AAAA of another length (ours keeps the bytes raw).
    Other,
}

/// Undoes ours' presentation form: labels split on `.`, `\DDD` back to the byte (ours writes
/// `.` and `\` inside a label as `\046` and `\092`, so the split is unambiguous).
fn labels_of_ours(text: &[u8]) -> Labels {
    if text.is_empty() {
        return Vec::new(); // the root
    }
    let mut labels = vec![Vec::new()];
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\\' => {
                let digits = std::str::from_utf8(&text[i + 1..i + 4]).expect("\\DDD");
                labels
                    .last_mut()
                    .unwrap()
                    .push(digits.parse().expect("\\DDD"));
                i += 4;
            }
            b'.' => {
                labels.push(Vec::new());
                i += 1;
            }
            b => {
                labels.last_mut().unwrap().push(b);
                i += 1;
            }
        }
    }
    labels
}

fn labels_of_hickory(name: &Name) -> Labels {
    name.iter().map(<[u8]>::to_vec).collect()
}

/// Ours: the items visited, and whether the message was accepted.
fn ours(msg: &[u8]) -> (Vec<Item>, bool) {
    let mut items = Vec::new();
    let walked = dns::walk(msg, |item| {
        items.push(match item {
            DnsItem::Question { name, qtype, .. } => Item::Question {
                name: labels_of_ours(name.as_bytes()),
                qtype: *qtype,
            },
            DnsItem::Answer {
                name, rtype, rdata, ..
            } => Item::Answer {
                owner: labels_of_ours(name.as_bytes()),
                rtype: *rtype,
                data: match rdata {
                    Rdata::A(a) => Data::A(*a),
                    Rdata::Aaaa(a) => Data::Aaaa(*a),
                    Rdata::Cname(t) => Data::Cname(labels_of_ours(t.as_bytes())),
                    Rdata::Other(_) => Data::Other,
                },
            },
        })
    });
    let accepted =
        dns::looks_like_dns(msg) && walked.is_ok_and(|s| s.stopped.is_none() && s.skipped == 0);
    (items, accepted)
}

fn answer_of_hickory(record: &Record) -> Item {
    Item::Answer {
        owner: labels_of_hickory(&record.name),
        rtype: u16::from(record.record_type()),
        data: match &record.data {
            RData::A(a) => Data::A(a.0.octets()),
            RData::AAAA(a) => Data::Aaaa(a.0.octets()),
            RData::CNAME(c) => Data::Cname(labels_of_hickory(&c.0)),
            _ => Data::Other,
        },
    }
}

/// Where hickory stopped when walked item by item (as `Message::read` does, with its rules
/// for the answer section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Header,
    /// In question `i`.
    Question(usize),
    /// In the owner name of answer `i`.
    Owner(usize),
    /// In answer `i` after its owner: type, class, TTL, rdlength or rdata.
    Record(usize),
    /// Answer `i` read, then refused by a section rule (an empty rdata outside an update;
    /// OPT, SIG or TSIG outside the additional section).
    Rule(usize),
}

/// Hickory's questions and answers (the first `max_q` and `max_a`; the answers past those are
/// not read), walked one by one, and where and why it stopped, if it did.
fn hickory_items(
    msg: &[u8],
    max_q: usize,
    max_a: usize,
) -> (Vec<Item>, Option<(Stop, DecodeError)>) {
    let mut items = Vec::new();
    let mut d = BinDecoder::new(msg);
    let header = match Header::read(&mut d) {
        Ok(h) => h,
        Err(e) => return (items, Some((Stop::Header, e))),
    };
    // Every question is read (the answers come after them), the first `max_q` kept.
    for i in 0..usize::from(header.counts.queries) {
        match Query::read(&mut d) {
            Ok(q) if i < max_q => items.push(Item::Question {
                name: labels_of_hickory(q.name()),
                qtype: u16::from(q.query_type()),
            }),
            Ok(_) => {}
            Err(e) => return (items, Some((Stop::Question(i), e))),
        }
    }
    for i in 0..usize::from(header.counts.answers).min(max_a) {
        let mut owner = d.clone(d.index() as u16);
        if let Err(e) = Name::read(&mut owner) {
            return (items, Some((Stop::Owner(i), e)));
        }
        let record = match Record::read(&mut d) {
            Ok(r) => r,
            Err(e) => return (items, Some((Stop::Record(i), e))),
        };
        let rtype = record.record_type();
        if header.metadata.op_code != OpCode::Update
            && rtype != RecordType::OPT
            && matches!(record.data, RData::Update0(_))
        {
            return (
                items,
                Some((Stop::Rule(i), DecodeError::InvalidEmptyRecord)),
            );
        }
        if matches!(rtype, RecordType::OPT | RecordType::SIG | RecordType::TSIG) {
            let e = DecodeError::RecordNotInAdditionalSection(rtype);
            return (items, Some((Stop::Rule(i), e)));
        }
        items.push(answer_of_hickory(&record));
    }
    (items, None)
}

/// Why hickory may refuse a message ours accepts, as a label for `DNS_DIFF_TRACE`. Each arm
/// is a difference by design; the function panics on any other.
fn explain(
    msg: &[u8],
    ours: &[Item],
    questions: usize,
    stop: Option<(Stop, DecodeError)>,
) -> &'static str {
    let Some((stop, error)) = stop else {
        // Every question and answer ours reads parsed in hickory: what it refused lies past
        // them, in answers past MAX_ANSWERS (counted, not read) or in the authority or
        // additional section, which ours never reads (a corrupt additional section must not
        // hide a good answer).
        return "unread-sections";
    };
    let answer = |i: usize| ours.get(questions + i);
    let name_error = matches!(
        error,
        // Ours follows compression pointers forward and into the name being read, bounded
        // by MAX_POINTER_JUMPS and the 255-byte name limit, as tshark and Suricata do (the
        // corpus's sv-dns-forward-pointer); hickory takes only pointers to before the name.
        DecodeError::PointerNotPriorToLabel { .. } | DecodeError::LabelOverlapsWithOther { .. }
    );
    match stop {
        // Questions past MAX_QUESTIONS: ours steps over their names (to reach the answers)
        // without decoding them, so what is wrong inside such a name is not seen.
        Stop::Question(i) if i >= usize::from(MAX_QUESTIONS) => "past-max-questions",
        Stop::Question(_) | Stop::Owner(_) if name_error => "pointer",
        Stop::Record(i)
            if name_error
                && matches!(
                    answer(i),
                    Some(Item::Answer {
                        data: Data::Cname(_),
                        ..
                    })
                ) =>
        {
            "pointer"
        }
        // Rdata ours does not decode (a type other than A, AAAA, CNAME, or an A/AAAA of
        // another length, kept raw): hickory checks its contents (TXT, MX, SOA, SVCB, ...),
        // its length against what its parser read, refuses ANY/AXFR/IXFR as record types,
        // an empty rdata outside an update, OPT/SIG/TSIG outside the additional section and
        // an OPT whose owner is not the root.
        Stop::Record(i) | Stop::Rule(i)
            if matches!(
                answer(i),
                Some(Item::Answer {
                    data: Data::Other,
                    ..
                })
            ) =>
        {
            "undecoded-rdata"
        }
        // A CNAME rdata longer than its target name: ours takes the name (its own bytes lie
        // within the rdata), hickory wants the name to fill the rdata exactly.
        Stop::Record(i)
            if matches!(error, DecodeError::IncorrectRDataLengthRead { read, len, .. } if read < len)
                && matches!(
                    answer(i),
                    Some(Item::Answer {
                        data: Data::Cname(_),
                        ..
                    })
                ) =>
        {
            "cname-rdata-longer"
        }
        _ => panic!(
            "hickory refuses what ours accepts: {stop:?}: {error}\nours: {ours:?}\nmessage: {msg:02x?}"
        ),
    }
}

/// With `DNS_DIFF_TRACE` set, one line per input says which case it was (run over a corpus
/// with `-runs=0` and count them); a message only hickory accepts is printed too.
fn trace(case: &str) {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("DNS_DIFF_TRACE").is_some()) {
        eprintln!("dns_diff: {case}");
    }
}

fuzz_target!(|data: &[u8]| {
    let (ours, accepted) = ours(data);
    if !accepted {
        if Message::from_vec(data).is_ok() {
            let why = match dns::walk(data, |_| {}) {
                _ if !dns::looks_like_dns(data) => "not DNS to looks_like_dns".to_string(),
                Ok(s) if s.skipped > 0 => "a name over 255 bytes or its escapes".to_string(),
                Ok(s) => format!("{:?}", s.stopped),
                Err(e) => format!("{e:?}"),
            };
            trace(&format!("ours-rejects-hickory-accepts ({why}) {data:02x?}"));
        } else {
            trace("both-reject");
        }
        return;
    }
    let questions = ours
        .iter()
        .filter(|i| matches!(i, Item::Question { .. }))
        .count();
    let max_q = usize::from(MAX_QUESTIONS);
    let max_a = usize::from(MAX_ANSWERS);
    let (theirs, stop) = hickory_items(data, max_q, max_a);
    // Whatever both read must agree, item for item (hickory's first 16 questions and 4096
    // answers: past those ours counts, it does not read).
    let common = ours.len().min(theirs.len());
    assert_eq!(
        ours[..common],
        theirs[..common],
        "ours and hickory disagree\nmessage: {data:02x?}"
    );
    match Message::from_vec(data) {
        Ok(_) => {
            // Both accept: hickory read every item ours did.
            assert_eq!(stop.map(|s| s.0), None, "{data:02x?}");
            assert_eq!(ours.len(), theirs.len(), "{data:02x?}");
            trace("both-accept");
        }
        Err(_) => trace(explain(data, &ours, questions, stop)),
    }
});
