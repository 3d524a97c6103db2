//! `tcpladder requests`: every request of a capture, its response, and its fate.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use tcpladder::analysis::exchanges::{exchanges, Exchange};
use tcpladder::engine::Engine;

use super::files::{exit_code, find_connection, load};
use super::Reading;

pub(super) fn requests(path: &Path, config: Reading, conn: Option<u32>, json: bool) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let ids: Vec<u32> = match conn {
        Some(id) => vec![find_connection(&engine, path, id)?.id],
        None => engine.connections().iter().map(|c| c.id).collect(),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    if !json {
        writeln!(out, "{:>5}  {:<60} {:>6} {:>11}  {:<13} frames", "conn", "request", "status", "waited", "outcome")?;
    }
    for exchange in ids.iter().flat_map(|&id| of_connection(&engine, id)) {
        if json {
            serde_json::to_writer(&mut out, &exchange)?;
            writeln!(out)?;
        } else {
            write_line(&mut out, &exchange)?;
        }
    }
    out.flush()?;
    Ok(exit_code(damaged))
}

fn of_connection(engine: &Engine, id: u32) -> Vec<Exchange> {
    match (engine.connection(id), engine.conversation(id)) {
        (Some(connection), Some(conversation)) => exchanges(connection, conversation),
        _ => Vec::new(),
    }
}

fn write_line(out: &mut impl Write, exchange: &Exchange) -> std::io::Result<()> {
    let status = exchange.status_text(6);
    let waited = exchange.latency.map_or_else(|| "-".to_string(), seconds);
    let frames = match exchange.response_frame {
        Some(response) => format!("{} → {response}", exchange.request_frame),
        None => exchange.request_frame.to_string(),
    };
    writeln!(
        out,
        "{:>5}  {:<60} {status:>6} {waited:>11}  {:<13} {frames}",
        exchange.conn,
        exchange.labels.0,
        exchange.outcome.name()
    )
}

/// "2.77 ms", "1.003 s", "85 µs".
fn seconds(secs: f64) -> String {
    match secs {
        s if s >= 1.0 => format!("{s:.3} s"),
        s if s >= 0.001 => format!("{:.2} ms", s * 1e3),
        s => format!("{:.0} µs", s * 1e6),
    }
}
