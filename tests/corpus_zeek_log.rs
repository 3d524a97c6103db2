//! `conns --format zeek` against Zeek itself: every `conn.log` row of the corpus's Zeek baselines
//! that names one connection tcpladder found (same originator) is compared field by field with the
//! row tcpladder writes for it, through the log's own `#fields` header (so the format is what is
//! tested, not a struct).

use std::collections::BTreeMap;
use std::fs;

use tcpladder::summary::zeek_log::{conn_line, CONN_FIELDS};

use super::{corpus_dir, load, zeek_baselines, zeek_tcp_rows};

/// The fields compared; the others are ids (`uid`), unset in both (`local_*`, `tunnel_parents`),
/// or compared by the conn_state/history test already.
const COMPARED: [&str; 9] = [
    "duration",
    "orig_bytes",
    "resp_bytes",
    "missed_bytes",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
    "service",
];

/// One baseline row's value of a field, with the row tcpladder wrote for the same connection.
struct Compared {
    zeek: String,
    ours: String,
}

#[test]
fn conn_log_rows_agree_with_zeeks_baselines() {
    let corpus = corpus_dir();
    let names: Vec<&str> = CONN_FIELDS.iter().map(|(name, _)| *name).collect();
    // (trace, originator, responder, field) → every baseline's value, and ours.
    let mut rows: BTreeMap<(String, String, String, &str), Vec<Compared>> = BTreeMap::new();
    for (trace, logs) in zeek_baselines(&corpus) {
        let Some(engine) = load(&corpus.join(&trace)) else { continue };
        for log in logs {
            let Ok(text) = fs::read_to_string(corpus.join(&log)) else { continue };
            for (orig, resp, cells) in zeek_tcp_rows(&text) {
                let theirs = |name: &str| cells.get(name).copied();
                let matching: Vec<_> = engine
                    .connections()
                    .iter()
                    .filter(|c| c.client.to_string() == orig && c.server.to_string() == resp)
                    .collect();
                let [connection] = matching.as_slice() else { continue };
                let ours_line = conn_line(connection, engine.conversation(connection.id));
                let ours: Vec<&str> = ours_line.trim_end().split('\t').collect();
                let ours = |name: &str| names.iter().position(|f| *f == name).and_then(|i| ours.get(i)).copied();
                for field in COMPARED {
                    let (Some(zeek), Some(mine)) = (theirs(field), ours(field)) else { continue };
                    let key = (trace.clone(), orig.clone(), resp.clone(), field);
                    rows.entry(key).or_default().push(Compared { zeek: zeek.into(), ours: mine.into() });
                }
            }
        }
    }
    let mut tally: BTreeMap<&str, (u32, u32, u32)> = BTreeMap::new();
    let mut differences: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((trace, orig, _, field), values) in &rows {
        let entry = tally.entry(field).or_default();
        // Baselines of the same trace that disagree with each other come from tests that read
        // part of it or change Zeek's settings: no one value is Zeek's.
        if values.iter().any(|v| v.zeek != values[0].zeek) {
            entry.2 += 1;
            continue;
        }
        let Compared { zeek, ours } = &values[0];
        // Services tcpladder does not decode (ssh, ftp, ldap …) are not compared.
        if *field == "service" && (ours == "-" || zeek == "-") {
            continue;
        }
        let agree = match (zeek.parse::<f64>(), ours.parse::<f64>()) {
            (Ok(a), Ok(b)) if *field == "duration" => (a - b).abs() < 2e-6,
            _ => zeek == ours,
        };
        entry.1 += 1;
        if agree {
            entry.0 += 1;
        } else {
            differences.entry(field).or_default().push(format!("{trace} {orig}: zeek {zeek} ours {ours}"));
        }
    }
    println!("\nconn.log (--format zeek) against Zeek's baselines, by connection:");
    for (field, (agree, total, ambiguous)) in &tally {
        println!("{field:>14}: {agree} of {total} agree ({ambiguous} left out: the baselines differ among themselves)");
        for example in differences.get(field).into_iter().flatten() {
            println!("{:>16}{example}", "");
        }
    }
    let ratio = |field: &str| tally.get(field).map_or(0.0, |&(a, t, _)| f64::from(a) / f64::from(t.max(1)));
    assert!(tally.get("orig_pkts").is_some_and(|&(_, total, _)| total > 100), "too few rows compared");
    for (field, minimum) in MINIMUM_AGREEMENT {
        assert!(ratio(field) >= minimum, "{field}: {:.3} agree, below {minimum}", ratio(field));
    }
}

/// The agreement each field keeps; the README explains what is left.
const MINIMUM_AGREEMENT: [(&str, f64); 8] = [
    ("orig_pkts", 0.85),
    ("resp_pkts", 0.85),
    ("orig_bytes", 0.85),
    ("resp_bytes", 0.85),
    ("orig_ip_bytes", 0.85),
    ("resp_ip_bytes", 0.85),
    ("duration", 0.85),
    ("missed_bytes", 0.99),
];
