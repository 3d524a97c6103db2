//! `tcpladder conns`: one row per connection, as a table, a JSON array, JSON Lines, or Zeek's
//! `conn.log` with tcpladder's own columns in a second log keyed by `uid`.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use serde::Serializer as _;
use tcpladder::engine::Engine;
use tcpladder::summary::zeek_log::{self, CONN_FIELDS};
use tcpladder::summary::{rows_of, ConnRow};

use super::conns_sink::RowSink;
use super::files::{exit_code, load_with};
use super::Reading;

/// How `conns` writes its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ConnsFormat {
    /// Aligned columns for a person.
    Table,
    /// One JSON array (`--json`).
    Json,
    /// One JSON object per line, the keys of `--json` (for `jq`, DuckDB's `read_json`, Elasticsearch).
    Jsonl,
    /// Zeek's `conn.log` (TSV with its header lines); with `-o DIR`, `DIR/conn.log` and
    /// `DIR/tcpladder.log` (each side's final state and the diagnoses, keyed by `uid`).
    Zeek,
}

pub(super) fn conns(
    path: &Path,
    mut config: Reading,
    format: ConnsFormat,
    output: Option<&Path>,
    hold_all: bool,
) -> anyhow::Result<ExitCode> {
    if output.is_some() && format != ConnsFormat::Zeek {
        anyhow::bail!("conns writes a directory (-o) only with --format zeek; the other formats go to standard output");
    }
    config.engine.retire_ended = !hold_all;
    let outputs: Vec<Box<dyn Write>> = match (format, output) {
        (ConnsFormat::Zeek, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            let create = |name: &str| -> anyhow::Result<Box<dyn Write>> {
                let path = dir.join(name);
                let file = std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?;
                Ok(Box::new(BufWriter::new(file)))
            };
            vec![create("conn.log")?, create("tcpladder.log")?]
        }
        _ => vec![Box::new(BufWriter::new(std::io::stdout()))],
    };
    let mut sink = RowSink::new(format, outputs, !hold_all);
    let mut failed = None;
    let (engine, damaged) = load_with(path, config, |engine| match sink.take_retired(engine) {
        Ok(()) => ControlFlow::Continue(()),
        Err(error) => {
            failed = Some(error);
            ControlFlow::Break(())
        }
    })?;
    if let Some(error) = failed {
        return Err(error);
    }
    sink.finish(&engine)?;
    if let (ConnsFormat::Zeek, Some(dir)) = (format, output) {
        eprintln!("tcpladder: wrote {} and {}", dir.join("conn.log").display(), dir.join("tcpladder.log").display());
    }
    Ok(exit_code(damaged))
}

pub(super) fn print_conns(engine: &Engine, format: ConnsFormat) -> anyhow::Result<()> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        ConnsFormat::Json => {
            // Written as the rows are made, never all held: the same bytes as one pretty array.
            let mut json = serde_json::Serializer::pretty(&mut out);
            json.collect_seq(rows_of(engine)).context("writing JSON")?;
            writeln!(out)?;
        }
        ConnsFormat::Jsonl => {
            for row in rows_of(engine) {
                serde_json::to_writer(&mut out, &row).context("writing JSON")?;
                writeln!(out)?;
            }
        }
        ConnsFormat::Zeek => write_conn_log(engine, &mut out)?,
        ConnsFormat::Table => print_table(rows_of(engine), &mut out)?,
    }
    out.flush()?;
    Ok(())
}

fn print_table(rows: impl Iterator<Item = ConnRow>, out: &mut impl Write) -> anyhow::Result<()> {
    out.write_all(table_header().as_bytes())?;
    for row in rows {
        out.write_all(table_line(&row).as_bytes())?;
    }
    Ok(())
}

pub(super) fn table_header() -> String {
    format!(
        "{:>5}  {:<28} {:<28} {:>7} {:>10} {:>10} {:>10}  {:<12} {:<12} {:<6} {:<14} diagnoses\n",
        "id",
        "client",
        "server",
        "packets",
        "bytes c→s",
        "bytes s→c",
        "duration",
        "client",
        "server",
        "state",
        "history"
    )
}

pub(super) fn table_line(row: &ConnRow) -> String {
    format!(
        "{:>5}  {:<28} {:<28} {:>7} {:>10} {:>10} {:>9.3}s  {:<12} {:<12} {:<6} {:<14} {}\n",
        row.id,
        row.client,
        row.server,
        row.packets,
        row.bytes_c2s,
        row.bytes_s2c,
        row.duration,
        row.client_state.name(),
        row.server_state.name(),
        row.conn_state,
        row.history,
        row.codes()
    )
}

/// The capture's first and last packet times as Zeek writes `#open` and `#close` when it reads a
/// trace (its network time), so the same file gives the same log.
fn open_close(engine: &Engine) -> (String, String) {
    let (first, last) = engine.capture_span();
    (zeek_log::log_time(first), zeek_log::log_time(last))
}

fn write_conn_log(engine: &Engine, out: &mut impl Write) -> anyhow::Result<()> {
    let (open, close) = open_close(engine);
    out.write_all(zeek_log::header("conn", &CONN_FIELDS, &open).as_bytes())?;
    for connection in engine.connections() {
        out.write_all(zeek_log::conn_line(connection, engine.conversation(connection.id)).as_bytes())?;
    }
    out.write_all(zeek_log::footer(&close).as_bytes())?;
    Ok(())
}
