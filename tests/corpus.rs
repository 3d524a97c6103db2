//! Conformance against tools no one here wrote: every capture in `../shared/corpus` is read and
//! compared with tshark's per-packet fields (`oracle/*.tcp.tsv`) and Zeek's `conn.log` baselines.
//! HTTP requests and responses, TLS ClientHellos and Redis commands are compared with tshark run on
//! the captures holding them (`http`, `tls`, `redis`).
//! Fails when the corpus is absent; prints the agreement figures (run with `--nocapture`).

// Tests and benchmarks fail by panicking: the library's no-panic lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use tcpladder::analysis::zeek_summary;
use tcpladder::session::read_capture;
use tcpladder::tcp::{AnalysisFlags, Connection, Segment};
use tcpladder::{Engine, EngineConfig};

#[path = "corpus_dns.rs"]
mod dns;
#[path = "corpus_http.rs"]
mod http;
#[path = "corpus_http2.rs"]
mod http2;
#[path = "corpus_redis.rs"]
mod redis;
#[path = "corpus_tls.rs"]
mod tls;
#[path = "corpus_zeek_log.rs"]
mod zeek_log;

/// The shared conformance corpus. Missing, the comparison fails rather than passing unchecked.
pub(crate) fn corpus_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        dir.join("SOURCES.md").exists(),
        "the conformance corpus is not at {}: put ../shared beside the checkout (CI does)",
        dir.display()
    );
    dir
}

/// Agreement counts per field.
#[derive(Default)]
struct Tally {
    fields: BTreeMap<&'static str, (u64, u64)>,
    examples: BTreeMap<&'static str, Vec<String>>,
    /// Differences tcpladder makes on purpose (README, "Conformance"): counted and listed apart.
    explained: BTreeMap<&'static str, (u64, Vec<String>)>,
}

impl Tally {
    fn check(&mut self, field: &'static str, agree: bool, example: impl FnOnce() -> String) {
        let entry = self.fields.entry(field).or_default();
        entry.1 += 1;
        if agree {
            entry.0 += 1;
        } else {
            let examples = self.examples.entry(field).or_default();
            if examples.len() < 4 {
                examples.push(example());
            }
        }
    }
    fn explain(&mut self, why: &'static str, example: impl FnOnce() -> String) {
        let entry = self.explained.entry(why).or_default();
        entry.0 += 1;
        if entry.1.len() < 4 {
            entry.1.push(example());
        }
    }
    fn ratio(&self, field: &str) -> f64 {
        self.fields.get(field).map_or(1.0, |&(agree, total)| if total == 0 { 1.0 } else { agree as f64 / total as f64 })
    }
    fn print(&self, title: &str) {
        println!("\n{title}");
        println!("{:<28} {:>9} {:>9} {:>8}", "field", "agree", "total", "%");
        for (field, (agree, total)) in &self.fields {
            println!("{field:<28} {agree:>9} {total:>9} {:>7.2}%", 100.0 * *agree as f64 / (*total).max(1) as f64);
        }
        for (field, examples) in &self.examples {
            for example in examples {
                println!("  differs: {field}: {example}");
            }
        }
        for (why, (count, examples)) in &self.explained {
            println!("explained difference, {count} segments: {why}");
            for example in examples {
                println!("  e.g. {example}");
            }
        }
    }
}

fn load(path: &Path) -> Option<Engine> {
    read_capture(path, EngineConfig::default(), 1 << 20, |_, _| ControlFlow::Continue(()))
        .ok()
        .map(|outcome| outcome.engine)
}

/// Our segment of each frame: (connection, index in it).
fn by_frame(engine: &Engine) -> HashMap<u32, (&Connection, usize)> {
    let mut map = HashMap::new();
    for connection in engine.connections() {
        for (index, segment) in connection.segments.iter().enumerate() {
            map.insert(segment.frame, (connection, index));
        }
    }
    map
}

const ANALYSIS_COLUMNS: [(&str, u16); 14] = [
    (
        "tcp.analysis.retransmission",
        AnalysisFlags::RETRANSMISSION | AnalysisFlags::FAST_RETRANSMISSION | AnalysisFlags::SPURIOUS_RETRANSMISSION,
    ),
    ("tcp.analysis.fast_retransmission", AnalysisFlags::FAST_RETRANSMISSION),
    ("tcp.analysis.spurious_retransmission", AnalysisFlags::SPURIOUS_RETRANSMISSION),
    ("tcp.analysis.out_of_order", AnalysisFlags::OUT_OF_ORDER),
    ("tcp.analysis.lost_segment", AnalysisFlags::LOST_SEGMENT),
    ("tcp.analysis.ack_lost_segment", AnalysisFlags::ACK_LOST_SEGMENT),
    ("tcp.analysis.duplicate_ack", AnalysisFlags::DUPLICATE_ACK),
    ("tcp.analysis.zero_window", AnalysisFlags::ZERO_WINDOW),
    ("tcp.analysis.zero_window_probe", AnalysisFlags::ZERO_WINDOW_PROBE),
    ("tcp.analysis.keep_alive", AnalysisFlags::KEEP_ALIVE),
    ("tcp.analysis.keep_alive_ack", AnalysisFlags::KEEP_ALIVE_ACK),
    ("tcp.analysis.window_update", AnalysisFlags::WINDOW_UPDATE),
    ("tcp.analysis.window_full", AnalysisFlags::WINDOW_FULL),
    ("tcp.analysis.reused_ports", AnalysisFlags::REUSED_PORTS),
];

fn compare_tshark(capture: &str, engine: &Engine, oracle: &'static str, tally: &mut Tally) {
    let mut lines = oracle.lines();
    let Some(header) = lines.next() else { return };
    let columns: HashMap<&str, usize> = header.split('\t').enumerate().map(|(i, name)| (name, i)).collect();
    let frames = by_frame(engine);
    // tshark stream → our connection, which must be one-to-one.
    let mut stream_to_conn: HashMap<&str, u32> = HashMap::new();
    let mut conn_to_stream: HashMap<u32, &str> = HashMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split('\t').collect();
        let cell = |name: &str| columns.get(name).and_then(|&i| cells.get(i)).copied().unwrap_or("");
        // Tunnels and ICMP-quoted headers give several values per cell; those rows are not comparable.
        if cell("tcp.seq").contains(',') || cell("frame.protocols").contains("icmp") {
            continue;
        }
        let frame: u32 = cell("frame.number").parse().unwrap_or(0);
        let here = || format!("{capture} frame {frame}");
        let Some(&(connection, index)) = frames.get(&frame) else {
            tally.check("decoded_as_tcp", false, here);
            continue;
        };
        tally.check("decoded_as_tcp", true, here);
        let Some(segment) = connection.segments.get(index) else {
            continue;
        };
        let stream = cell("tcp.stream");
        let same_stream = *stream_to_conn.entry(stream).or_insert(connection.id) == connection.id
            && *conn_to_stream.entry(connection.id).or_insert(stream) == stream;
        tally.check("connection_grouping", same_stream, || {
            format!("{} stream {stream} vs conn {}", here(), connection.id)
        });
        compare_fields(connection, segment, index, &cell, tally, &here);
    }
}

fn compare_fields(
    connection: &Connection,
    segment: &Segment,
    _index: usize,
    cell: &dyn Fn(&str) -> &'static str,
    tally: &mut Tally,
    here: &dyn Fn() -> String,
) {
    let num = |name: &str| cell(name).parse::<i64>().ok();
    let seq = i64::from(connection.relative_seq(segment));
    tally.check("seq_relative", num("tcp.seq") == Some(seq), || {
        format!("{} tshark {} ours {seq}", here(), cell("tcp.seq"))
    });
    let ack = connection.relative_ack(segment).map_or(0, i64::from);
    let their_ack = num("tcp.ack").unwrap_or(0);
    tally.check("ack_relative", their_ack == ack, || format!("{} tshark {their_ack} ours {ack}", here()));
    tally.check("seq_raw", num("tcp.seq_raw") == Some(i64::from(segment.seq_raw)), here);
    tally.check("len", num("tcp.len") == Some(i64::from(segment.payload_len)), || {
        format!("{} tshark {} ours {}", here(), cell("tcp.len"), segment.payload_len)
    });
    tally.check("window_raw", num("tcp.window_size_value") == Some(i64::from(segment.window_raw)), here);
    let scaled = connection.scaled_window(segment.dir, segment.window_raw, segment.flags.syn());
    let factor = num("tcp.window_size_scalefactor");
    let agree = match (factor, scaled) {
        // tshark: -1 is "unknown", and it then shows the raw value; we show null.
        (Some(-1), None) => true,
        (_, Some(ours)) => num("tcp.window_size") == Some(i64::from(ours)),
        _ => false,
    };
    tally.check("window_scaled", agree, || {
        format!(
            "{} tshark {} (factor {}) ours {scaled:?}",
            here(),
            cell("tcp.window_size"),
            cell("tcp.window_size_scalefactor")
        )
    });
    if let Some(next) = num("tcp.nxtseq") {
        let ours = i64::from(connection.relative_next_seq(segment));
        tally.check("next_seq", next == ours, || format!("{} tshark {next} ours {ours}", here()));
    }
    // Wireshark's timing rule calls bytes sent again within an RTT "out-of-order"; tcpladder calls
    // bytes the capture had already shown a retransmission (tests/loss.rs checks it against the
    // kernel's own record).
    let plain_retransmission =
        segment.analysis.has(AnalysisFlags::RETRANSMISSION) && !segment.analysis.has(AnalysisFlags::OUT_OF_ORDER);
    let resent = !cell("tcp.analysis.out_of_order").is_empty()
        && cell("tcp.analysis.retransmission").is_empty()
        && plain_retransmission;
    if resent {
        tally.explain("tshark out-of-order, tcpladder retransmission: the capture had shown these bytes", here);
    }
    for (column, bits) in ANALYSIS_COLUMNS {
        if resent && (column == "tcp.analysis.out_of_order" || column == "tcp.analysis.retransmission") {
            continue;
        }
        let theirs = !cell(column).is_empty();
        let ours = segment.analysis.0 & bits != 0;
        if theirs || ours {
            let name = column.trim_start_matches("tcp.analysis.");
            tally.check(static_name(name), theirs == ours, || format!("{} tshark {theirs} ours {ours}", here()));
        } else {
            tally.check("analysis_all_clear", true, here);
        }
    }
}

fn static_name(name: &str) -> &'static str {
    ANALYSIS_COLUMNS
        .iter()
        .map(|(column, _)| column.trim_start_matches("tcp.analysis."))
        .find(|n| *n == name)
        .unwrap_or("analysis")
}

/// Zeek's baselines for each trace, from SOURCES.md's trace table.
fn zeek_baselines(corpus: &Path) -> Vec<(String, Vec<String>)> {
    let sources = fs::read_to_string(corpus.join("SOURCES.md")).expect("the corpus lists its sources");
    let mut traces = Vec::new();
    for line in sources.lines().filter(|l| l.starts_with("| `zeek/Traces/")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(trace) = cells.get(1).map(|c| c.trim_matches('`').to_string()) else {
            continue;
        };
        let Some(baselines) = cells.get(6) else {
            continue;
        };
        let logs: Vec<String> = baselines
            .split("<br>")
            .map(|b| b.trim().trim_matches('`').to_string())
            .filter(|b| b.contains("conn") && b.starts_with("zeek/Baseline/"))
            .collect();
        if !logs.is_empty() {
            traces.push((trace, logs));
        }
    }
    traces
}

fn compare_zeek(corpus: &Path, tally: &mut Tally) {
    for (trace, logs) in zeek_baselines(corpus) {
        let Some(engine) = load(&corpus.join(&trace)) else {
            continue;
        };
        let connections: Vec<(&Connection, tcpladder::analysis::ZeekSummary)> =
            engine.connections().iter().map(|c| (c, zeek_summary(c))).collect();
        for log in logs {
            let Ok(text) = fs::read_to_string(corpus.join(&log)) else {
                continue;
            };
            for (orig, resp, get) in zeek_tcp_rows(&text) {
                let get = |name: &str| get.get(name).copied();
                let matching: Vec<_> = connections
                    .iter()
                    .filter(|(c, _)| {
                        let (client, server) = (c.client.to_string(), c.server.to_string());
                        (client == orig && server == resp) || (client == resp && server == orig)
                    })
                    .collect();
                // Zeek rows of other traces the same test read, or tuples reused: not comparable one-to-one.
                let [(connection, summary)] = matching.as_slice() else {
                    continue;
                };
                let here = || format!("{trace} {orig} → {resp} ({log})");
                let same_orig = connection.client.to_string() == orig;
                tally.check("zeek_originator", same_orig, here);
                if !same_orig {
                    continue;
                }
                if let Some(state) = get("conn_state") {
                    tally.check("zeek_conn_state", state == summary.conn_state, || {
                        format!("{} zeek {state} ours {}", here(), summary.conn_state)
                    });
                }
                if let Some(history) = get("history") {
                    tally.check("zeek_history", history == summary.history, || {
                        format!("{} zeek {history} ours {}", here(), summary.history)
                    });
                    let core = |h: &str| h.chars().filter(|c| !"CcGgTtWw^".contains(*c)).collect::<String>();
                    tally.check("zeek_history_core_letters", core(history) == core(&summary.history), || {
                        format!("{} zeek {history} ours {}", here(), summary.history)
                    });
                }
            }
        }
    }
}

/// The TCP rows of a Zeek log: each row's originator and responder (`ip:port`, IPv6 in brackets)
/// and its cells by the log's `#fields` names.
fn zeek_tcp_rows(text: &str) -> Vec<(String, String, HashMap<&str, &str>)> {
    let mut fields: Vec<&str> = Vec::new();
    let mut rows = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#fields\t") {
            fields = rest.split('\t').collect();
            continue;
        }
        if line.starts_with('#') || fields.is_empty() {
            continue;
        }
        let cells: HashMap<&str, &str> = fields.iter().copied().zip(line.split('\t')).collect();
        if cells.get("proto") != Some(&"tcp") {
            continue;
        }
        let (Some(oh), Some(op), Some(rh), Some(rp)) =
            (cells.get("id.orig_h"), cells.get("id.orig_p"), cells.get("id.resp_h"), cells.get("id.resp_p"))
        else {
            continue;
        };
        let (orig, resp) = (format!("{}:{op}", bracket(oh)), format!("{}:{rp}", bracket(rh)));
        rows.push((orig, resp, cells));
    }
    rows
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn oracle_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            oracle_files(&path, out);
        } else if path.to_string_lossy().ends_with(".tcp.tsv") {
            out.push(path);
        }
    }
}

#[test]
fn agrees_with_tshark_and_zeek_on_the_shared_corpus() {
    let corpus = corpus_dir();
    let mut oracles = Vec::new();
    oracle_files(&corpus.join("oracle"), &mut oracles);
    oracles.sort();
    let mut tshark = Tally::default();
    let mut unreadable = Vec::new();
    for oracle in &oracles {
        let relative = oracle.strip_prefix(corpus.join("oracle")).unwrap_or(oracle).to_string_lossy().to_string();
        let capture = relative.trim_end_matches(".tcp.tsv").to_string();
        let Some(engine) = load(&corpus.join(&capture)) else {
            unreadable.push(capture);
            continue;
        };
        let text = fs::read_to_string(oracle).unwrap_or_else(|err| panic!("the oracle {}: {err}", oracle.display()));
        // The oracle is static text; leaking it gives the cell closure a 'static lifetime.
        let text: &'static str = Box::leak(text.into_boxed_str());
        compare_tshark(&capture, &engine, text, &mut tshark);
    }
    println!(
        "captures compared: {}, unreadable: {} {:?}",
        oracles.len() - unreadable.len(),
        unreadable.len(),
        unreadable
    );
    // Every capture the oracle covers is read, the gzip-compressed ones included.
    assert!(unreadable.is_empty(), "captures not read: {unreadable:?}");
    tshark.print("tshark 4.0.17 per-packet fields (oracle/*.tcp.tsv)");
    let mut zeek = Tally::default();
    compare_zeek(&corpus, &mut zeek);
    zeek.print("Zeek conn.log baselines (conn_state, history)");
    for (field, minimum) in [
        ("seq_relative", 0.97),
        ("ack_relative", 0.97),
        ("len", 0.99),
        ("window_raw", 0.99),
        ("connection_grouping", 0.98),
    ] {
        assert!(tshark.ratio(field) >= minimum, "{field}: {:.4} below {minimum}", tshark.ratio(field));
    }
    assert!(zeek.ratio("zeek_conn_state") >= 0.80, "zeek conn_state agreement {:.3}", zeek.ratio("zeek_conn_state"));
}

/// tshark's fields for a capture, in the oracle's layout, when tshark is installed.
fn tshark_fields(capture: &Path) -> Option<String> {
    let mut args: Vec<String> = ["-n", "-r"].map(String::from).to_vec();
    args.push(capture.to_string_lossy().to_string());
    args.extend(["-Y", "tcp", "-T", "fields", "-E", "header=y", "-E", "separator=/t"].map(String::from));
    let fields = [
        "frame.number",
        "tcp.stream",
        "tcp.seq",
        "tcp.ack",
        "tcp.seq_raw",
        "tcp.len",
        "tcp.nxtseq",
        "tcp.window_size_value",
        "tcp.window_size",
        "tcp.window_size_scalefactor",
        "frame.protocols",
    ];
    for field in fields.iter().copied().chain(ANALYSIS_COLUMNS.iter().map(|(column, _)| *column)) {
        args.push("-e".to_string());
        args.push(field.to_string());
    }
    let output = std::process::Command::new("tshark").args(&args).env("HOME", std::env::temp_dir()).output().ok()?;
    output.status.success().then(|| String::from_utf8_lossy(&output.stdout).to_string())
}

#[test]
fn the_samples_agree_with_tshark_field_for_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-captures");
    let mut captures: Vec<PathBuf> = fs::read_dir(&dir)
        .map(|entries| {
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "pcap")).collect()
        })
        .unwrap_or_default();
    captures.sort();
    let mut tally = Tally::default();
    for capture in &captures {
        let Some(oracle) = tshark_fields(capture) else {
            assert!(std::env::var_os("TCPLADDER_REQUIRE_TSHARK").is_none(), "tshark is required but did not run");
            eprintln!("tshark not available: sample comparison skipped");
            return;
        };
        let engine = load(capture).unwrap_or_else(|| panic!("{} unreadable", capture.display()));
        let name = capture.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        compare_tshark(&name, &engine, Box::leak(oracle.into_boxed_str()), &mut tally);
    }
    tally.print("sample-captures/ against tshark, live");
    assert!(tally.fields.get("seq_relative").is_some_and(|&(_, total)| total > 100), "too few segments compared");
    for (field, (agree, total)) in &tally.fields {
        assert_eq!(agree, total, "{field}: tshark disagrees on the samples");
    }
}

/// The SACK blocks tcpdump prints (`sack 1 {5282:5283}`), relative, in order.
fn tcpdump_sack_blocks(out: &str) -> Vec<(u32, u32)> {
    let mut blocks = Vec::new();
    for line in out.lines() {
        let Some(at) = line.find("sack ") else { continue };
        let rest = &line[at..];
        for block in rest.split('{').skip(1) {
            let Some((edges, _)) = block.split_once('}') else { continue };
            if let Some((left, right)) = edges.split_once(':') {
                blocks.extend(left.parse().ok().zip(right.parse().ok()));
            }
        }
    }
    blocks
}

#[test]
fn tcptrace_sack_blocks_agree_with_tcpdump() {
    let corpus = corpus_dir();
    let expected = tcpdump_sack_blocks(
        &fs::read_to_string(corpus.join("tcpdump/ssh.out")).expect("tcpdump's output for ssh.pcap"),
    );
    assert!(expected.len() >= 3, "tcpdump prints SACK blocks for ssh.pcap");
    let engine = load(&corpus.join("tcpdump/ssh.pcap")).unwrap_or_else(|| panic!("ssh.pcap reads"));
    let mut ours: Vec<(f64, u32, u32)> = Vec::new();
    for connection in engine.connections() {
        let series = tcpladder::analysis::series::connection_series(connection);
        for (_, direction) in series.directions.iter() {
            ours.extend(direction.sack_blocks.iter().map(|b| (b[0], b[1] as u32, b[2] as u32)));
        }
    }
    ours.sort_by(|a, b| a.0.total_cmp(&b.0));
    let ours: Vec<(u32, u32)> = ours.into_iter().map(|(_, left, right)| (left, right)).collect();
    assert_eq!(ours, expected);
}
