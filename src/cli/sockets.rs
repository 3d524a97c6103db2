//! `tcpladder sockets`: this machine's TCP sockets as its kernel sees them, the holding process
//! of each, the census by state, listeners' accept queues and processes near their fd limit.

use std::io::{BufWriter, Write};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use tcpladder::analysis::machine::{findings, MachineFinding};
use tcpladder::host::{self, listeners, rows, states, ListenCounters, Snapshot, SocketFilter};

/// What `sockets` was asked for.
#[derive(Debug, Clone)]
pub(super) struct SocketsRequest {
    pub filter: SocketFilter,
    pub json: bool,
    pub summary: bool,
    pub watch: Option<f64>,
    /// Print how long the table and the owners took to read.
    pub stats: bool,
}

/// `sockets --summary --json`: the census, listeners and what they say.
#[derive(Serialize)]
struct Summary {
    /// State name → sockets in it.
    states: std::collections::BTreeMap<&'static str, u32>,
    listeners: Vec<ListenerRow>,
    /// Every process holding sockets: its open files against its limit.
    processes: Vec<host::Process>,
    /// The kernel's counters since boot: completed connections that found an accept queue full.
    overflows: u64,
    drops: u64,
    syncookies_sent: u64,
    findings: Vec<MachineFinding>,
    /// What could not be seen, and how to see it.
    unseen: Option<String>,
}

#[derive(Serialize)]
struct ListenerRow {
    local: String,
    queued: u32,
    backlog: Option<u32>,
    pid: Option<u32>,
    process: Option<String>,
}

pub(super) fn sockets(request: &SocketsRequest) -> anyhow::Result<ExitCode> {
    let mut before: Option<ListenCounters> = None;
    loop {
        let started = std::time::Instant::now();
        let table = host::read_table(std::path::Path::new("/proc")).context("reading this machine's sockets")?;
        let table_took = started.elapsed();
        let owners = host::owners(std::path::Path::new("/proc"));
        let owners_took = started.elapsed() - table_took;
        let snapshot = host::join(table, &owners);
        if request.stats {
            eprintln!(
                "tcpladder: {} sockets read in {:.1} ms; their owners ({} processes with sockets) in {:.1} ms",
                snapshot.sockets.len(),
                table_took.as_secs_f64() * 1e3,
                snapshot.processes.len(),
                owners_took.as_secs_f64() * 1e3
            );
        }
        let mut out = BufWriter::new(std::io::stdout().lock());
        if request.summary {
            print_summary(&mut out, &snapshot, before, request.json)?;
        } else {
            print_table(&mut out, &snapshot, &request.filter, request.json)?;
        }
        out.flush()?;
        if let Some(unseen) = snapshot.unseen().filter(|_| !request.json || !request.summary) {
            eprintln!("tcpladder: note: {unseen}");
        }
        let Some(seconds) = request.watch else { return Ok(ExitCode::SUCCESS) };
        before = Some(snapshot.counters);
        std::thread::sleep(Duration::from_secs_f64(seconds.max(0.1)));
        if !request.json {
            println!();
        }
    }
}

fn print_table(out: &mut impl Write, snapshot: &Snapshot, filter: &SocketFilter, json: bool) -> anyhow::Result<()> {
    let rows = rows(snapshot, filter);
    if json {
        serde_json::to_writer(&mut *out, &rows)?;
        writeln!(out)?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<12} {:>7} {:>7} {:<40} {:<40} {:<24} timer",
        "state", "recv-q", "send-q", "local", "peer", "process"
    )?;
    for row in &rows {
        let process = holder(row.process.as_deref(), row.pid);
        let timer = row.timer.map_or_else(String::new, |timer| timer.describe());
        writeln!(
            out,
            "{:<12} {:>7} {:>7} {:<40} {:<40} {:<24} {timer}",
            row.state, row.recv_q, row.send_q, row.local, row.peer, process
        )?;
    }
    writeln!(out, "{} sockets", rows.len())?;
    Ok(())
}

fn print_summary(
    out: &mut impl Write,
    snapshot: &Snapshot,
    before: Option<ListenCounters>,
    json: bool,
) -> anyhow::Result<()> {
    let found = findings(snapshot, before);
    let listeners: Vec<ListenerRow> = listeners(snapshot)
        .into_iter()
        .map(|l| ListenerRow {
            local: host::endpoint(&l.local),
            queued: l.queued,
            backlog: l.backlog,
            pid: l.pid,
            process: l.pid.and_then(|pid| snapshot.processes.get(&pid)).map(|p| p.name.clone()),
        })
        .collect();
    let census = states(&snapshot.sockets);
    if json {
        let summary = Summary {
            states: census.iter().map(|(state, count)| (state.name(), *count)).collect(),
            listeners,
            processes: snapshot.processes.values().cloned().collect(),
            overflows: snapshot.counters.overflows,
            drops: snapshot.counters.drops,
            syncookies_sent: snapshot.counters.syncookies_sent,
            findings: found,
            unseen: snapshot.unseen(),
        };
        serde_json::to_writer(&mut *out, &summary)?;
        writeln!(out)?;
        return Ok(());
    }
    for (state, count) in &census {
        writeln!(out, "{:<12} {count:>7}", state.name())?;
    }
    writeln!(out, "\n{:<40} {:>7} {:>7}  process", "listening on", "queued", "backlog")?;
    for listener in &listeners {
        let backlog = listener.backlog.map_or_else(|| "?".to_string(), |b| b.to_string());
        let process = holder(listener.process.as_deref(), listener.pid);
        writeln!(out, "{:<40} {:>7} {backlog:>7}  {process}", listener.local, listener.queued)?;
    }
    let counters = snapshot.counters;
    writeln!(
        out,
        "\nListenOverflows {}, ListenDrops {}, SYN cookies sent {} (since boot, or since this network namespace was made)",
        counters.overflows, counters.drops, counters.syncookies_sent
    )?;
    for finding in &found {
        writeln!(out, "\n{}: {}", finding.code, finding.text)?;
    }
    Ok(())
}

/// `python3 (4121)`, or `-` when no process holds the socket (or none could be seen).
fn holder(name: Option<&str>, pid: Option<u32>) -> String {
    match (name, pid) {
        (Some(name), Some(pid)) => format!("{name} ({pid})"),
        _ => "-".to_string(),
    }
}
