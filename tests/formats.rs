//! `--format ecs|zeek-intel` and `--eve-dns-version 2`.

mod common;

#[test]
fn eve_dns_v2_records_validate_and_have_v2_shape() {
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--log",
        "all",
        "--eve-dns-version",
        "2",
        "pcaps/",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let dns: Vec<_> = run.events("dns").collect();
    let queries = dns.iter().filter(|r| r["dns"]["type"] == "query").count();
    let answers = dns.iter().filter(|r| r["dns"]["type"] == "answer").count();
    assert!(
        queries > 0 && answers > 0,
        "{queries} queries, {answers} answers"
    );
    for r in &dns {
        assert_eq!(r["dns"]["version"], 2);
        assert!(
            r["dns"]["rrname"].is_string() && r["dns"]["id"].is_u64(),
            "{r}"
        );
        assert!(r["dns"].get("queries").is_none());
    }
    let alerts: Vec<_> = run
        .events("alert")
        .filter(|r| r["app_proto"] == "dns")
        .collect();
    assert!(
        alerts
            .iter()
            .any(|a| a["dns"]["query"][0]["rrname"].is_string())
    );
    let Some(schema_path) = common::schema_path() else {
        eprintln!("SKIP schema part of eve_dns_v2: schema file not found");
        return;
    };
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let mut n = 0;
    for r in &run.records {
        let errors: Vec<String> = validator
            .iter_errors(r)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{r}\n{}", errors.join("\n"));
        n += 1;
    }
    eprintln!("dns v2: {n} records validated ({queries} query, {answers} answer records)");
}

#[test]
fn ecs_alerts_carry_ecs_fields() {
    // The Kaspersky pack's alerts (the Covered List packs have tests/covered_vendors.rs).
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--packs",
        "kaspersky",
        "--format",
        "ecs",
        "pcaps/",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    assert!(!run.records.is_empty());
    let mut dns = 0;
    let mut tls = 0;
    for r in &run.records {
        assert_eq!(r["event"]["kind"], "alert", "{r}");
        let ts = r["@timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 27, "{ts}");
        assert!(r["source"]["ip"].is_string() && r["source"]["port"].is_u64());
        assert!(r["destination"]["ip"].is_string() && r["destination"]["port"].is_u64());
        assert!(r["rule"]["id"].as_str().unwrap().starts_with("42"));
        assert!(r["rule"]["name"].is_string());
        assert!(
            r["network"]["community_id"]
                .as_str()
                .unwrap()
                .starts_with("1:")
        );
        let indicator = &r["threat"]["indicator"];
        assert!(
            indicator["type"] == "domain-name" || indicator["ip"].is_string(),
            "{r}"
        );
        assert_eq!(indicator["provider"], "Kaspersky");
        if r["network"]["protocol"] == "dns" {
            assert!(r["dns"]["question"]["name"].is_string(), "{r}");
            dns += 1;
        }
        if r["network"]["protocol"] == "tls" {
            let sni = r["tls"]["client"]["server_name"].as_str().unwrap();
            assert_eq!(r["destination"]["domain"], sni);
            tls += 1;
        }
        assert!(r.get("event_type").is_none() && r.get("src_ip").is_none());
    }
    assert!(dns > 0 && tls > 0, "{dns} dns, {tls} tls");
    let eve = common::vendorwatch(&["scan", "--quiet", "--packs", "kaspersky", "pcaps/"]);
    assert_eq!(eve.events("alert").count(), run.records.len());
}

#[test]
fn zeek_intel_records() {
    let run = common::vendorwatch(&[
        "scan",
        "--quiet",
        "--log",
        "all",
        "--packs",
        "kaspersky",
        "--format",
        "zeek-intel",
        "pcaps/",
    ]);
    assert_eq!(run.code(), Some(0), "{}", run.stderr());
    let eve = common::vendorwatch(&["scan", "--quiet", "--packs", "kaspersky", "pcaps/"]);
    // Alerts only: --log events have no intel.log form.
    assert_eq!(run.records.len(), eve.events("alert").count());
    let mut wheres = std::collections::BTreeSet::new();
    for (r, a) in run.records.iter().zip(eve.events("alert")) {
        assert!(r["ts"].is_f64(), "{r}");
        let uid = r["uid"].as_str().unwrap();
        assert!(uid.starts_with('C') && uid.len() == 13, "{uid}");
        for k in ["id.orig_h", "id.resp_h"] {
            assert!(r[k].is_string(), "{k}: {r}");
        }
        assert!(r["id.orig_p"].is_u64() && r["id.resp_p"].is_u64());
        assert_eq!(
            r["seen.indicator"],
            a["alert"]["metadata"]["matched_name"][0]
        );
        let t = r["seen.indicator_type"].as_str().unwrap();
        assert!(t == "Intel::DOMAIN" || t == "Intel::ADDR");
        assert_eq!(r["matched"][0], t);
        assert_eq!(r["sources"][0], "kaspersky");
        let w = r["seen.where"].as_str().unwrap().to_string();
        let expect = match a["alert"]["metadata"]["observation"][0].as_str().unwrap() {
            "dns-query" => "DNS::IN_REQUEST",
            "dns-answer" => "DNS::IN_RESPONSE",
            "tls-sni" | "quic-sni" => "SSL::IN_SERVER_NAME",
            "http-host" => "HTTP::IN_HOST_HEADER",
            other => panic!("unexpected observation {other}"),
        };
        assert_eq!(w, expect);
        // The originator is the client, also for a DNS response.
        let client = if a["dns"]["type"] == "response" {
            &a["dest_ip"]
        } else {
            &a["src_ip"]
        };
        assert_eq!(&r["id.orig_h"], client);
        wheres.insert(w);
    }
    assert!(
        wheres.contains("DNS::IN_REQUEST") && wheres.contains("SSL::IN_SERVER_NAME"),
        "{wheres:?}"
    );
}

/// `--sensor-name` names the sensor on every record of every format: ECS `observer.name`,
/// Zeek intel `seen.node` (EVE `host` is checked by tests/eve_schema.rs); `scan` names none by
/// default.
#[test]
fn sensor_name_in_ecs_and_zeek_intel() {
    for (format, field) in [("ecs", "/observer/name"), ("zeek-intel", "/seen.node")] {
        let named = common::vendorwatch(&[
            "scan",
            "--quiet",
            "--format",
            format,
            "--sensor-name",
            "sensor-9",
            "pcaps/",
        ]);
        assert_eq!(named.code(), Some(0), "{}", named.stderr());
        assert!(!named.records.is_empty());
        let unnamed = common::vendorwatch(&["scan", "--quiet", "--format", format, "pcaps/"]);
        for (n, u) in named.records.iter().zip(&unnamed.records) {
            assert_eq!(
                n.pointer(field).and_then(|v| v.as_str()),
                Some("sensor-9"),
                "{n}"
            );
            let default = (format == "zeek-intel").then_some("vendorwatch");
            assert_eq!(u.pointer(field).and_then(|v| v.as_str()), default, "{u}");
        }
    }
}

#[test]
fn unknown_format_is_a_usage_error() {
    let run = common::vendorwatch(&["scan", "--format", "xml", "pcaps/"]);
    assert_eq!(run.code(), Some(2));
    let run = common::vendorwatch(&["scan", "--eve-dns-version", "1", "pcaps/"]);
    assert_eq!(run.code(), Some(2));
}
