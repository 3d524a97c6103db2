//! `tcpladder conns`: one row per connection, as a table, a JSON array, JSON Lines, or Zeek's
//! `conn.log` with tcpladder's own columns in a second log keyed by `uid`.

use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use serde::Serializer as _;
use tcpladder::engine::Engine;
use tcpladder::summary::zeek_log::{self, CONN_FIELDS, TCPLADDER_FIELDS};
use tcpladder::summary::{rows_of, ConnRow};

use super::files::{exit_code, load};
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
    config: Reading,
    format: ConnsFormat,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if output.is_some() && format != ConnsFormat::Zeek {
        anyhow::bail!("conns writes a directory (-o) only with --format zeek; the other formats go to standard output");
    }
    let (engine, damaged) = load(path, config)?;
    match (format, output) {
        (ConnsFormat::Zeek, Some(dir)) => write_zeek_logs(&engine, dir)?,
        _ => print_conns(&engine, format)?,
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
    writeln!(
        out,
        "{:>5}  {:<28} {:<28} {:>7} {:>10} {:>10} {:>10}  {:<12} {:<12} {:<6} {:<14} diagnoses",
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
    )?;
    for row in rows {
        writeln!(
            out,
            "{:>5}  {:<28} {:<28} {:>7} {:>10} {:>10} {:>9.3}s  {:<12} {:<12} {:<6} {:<14} {}",
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
        )?;
    }
    Ok(())
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

fn write_zeek_logs(engine: &Engine, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path).map(BufWriter::new).with_context(|| format!("writing {}", path.display()))
    };
    let mut conn_log = create("conn.log")?;
    write_conn_log(engine, &mut conn_log)?;
    conn_log.flush()?;
    let (open, close) = open_close(engine);
    let mut ours = create("tcpladder.log")?;
    ours.write_all(zeek_log::header("tcpladder", &TCPLADDER_FIELDS, &open).as_bytes())?;
    for (connection, row) in engine.connections().iter().zip(rows_of(engine)) {
        ours.write_all(zeek_log::tcpladder_line(connection, &row).as_bytes())?;
    }
    ours.write_all(zeek_log::footer(&close).as_bytes())?;
    ours.flush()?;
    eprintln!("tcpladder: wrote {} and {}", dir.join("conn.log").display(), dir.join("tcpladder.log").display());
    Ok(())
}
