//! The commands that read a capture file: `conns`, `packets`, `ladder`, `export`, `chart`.

use std::collections::BTreeSet;
use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context as _};

use tcpladder::analysis::chart::{self, ChartKind};
use tcpladder::analysis::series::connection_series;
use tcpladder::engine::Engine;
use tcpladder::ladder::{segment_label, LadderLayout, LayoutOptions, Numbering};
use tcpladder::render;
use tcpladder::render::export::{ladder_bytes, ExportFormat, LadderExport};
use tcpladder::render::render_text_ladder;
use tcpladder::session::export::write_packets;
use tcpladder::session::{read_capture, ReadOutcome};
use tcpladder::summary::{secs, ConnRow, PacketRow};

use super::Reading;

/// Reads the whole file, warning on stderr about damage; fails on files that are not captures.
pub(super) fn load(path: &Path, reading: Reading) -> anyhow::Result<(Engine, bool)> {
    load_with(path, reading, |_| ControlFlow::Continue(()))
}

/// [`load`], handing the engine to `on_progress` every 4,096 packets (it may stop the read).
pub(super) fn load_with(
    path: &Path,
    mut reading: Reading,
    mut on_progress: impl FnMut(&mut Engine) -> ControlFlow<()>,
) -> anyhow::Result<(Engine, bool)> {
    let started = std::time::Instant::now();
    // A file, however large or hostile, never takes more than a share of the machine.
    let limit = *reading.engine.memory_limit_bytes.get_or_insert_with(tcpladder::session::read::default_memory_limit);
    let ReadOutcome { engine, damage, .. } =
        read_capture(path, reading.engine, 1 << 12, |_, engine| on_progress(engine))?;
    if let Some(note) = tcpladder::session::read::limit_reached_note(limit, engine.stats()) {
        eprintln!("tcpladder: {note}; --memory-limit MB raises the limit");
    }
    if reading.print_stats {
        print_memory(&engine, started.elapsed());
        for warning in engine.quality().warnings() {
            eprintln!("tcpladder: capture quality: {warning}");
        }
    }
    let damaged = damage.is_some();
    if let Some(damage) = damage {
        eprintln!("tcpladder: warning: {damage}; the {} packets before it are shown", damage.packets_read);
    }
    let stats = engine.stats();
    for (reason, count) in &stats.skipped {
        eprintln!("tcpladder: note: {count} packets not decoded: {}", reason.name());
    }
    Ok((engine, damaged))
}

pub(super) fn print_memory(engine: &Engine, elapsed: std::time::Duration) {
    let connections = engine.connections();
    let segments: usize = connections.iter().map(|c| c.segments.len()).sum();
    let connection_bytes = engine.record_bytes() + engine.index_bytes();
    eprintln!(
        "tcpladder: {} packets, {segments} TCP segments, {} connections read in {:.3} s; holding {:.1} bytes per \
         segment (records, options) and {:.0} bytes per connection (record {} bytes, index)",
        engine.stats().packets,
        connections.len(),
        elapsed.as_secs_f64(),
        engine.segment_bytes() as f64 / segments.max(1) as f64,
        connection_bytes as f64 / connections.len().max(1) as f64,
        std::mem::size_of::<tcpladder::tcp::Connection>(),
    );
    let retired = engine.stats().retired_connections;
    if retired > 0 {
        eprintln!(
            "tcpladder: rows written as their connections ended: {retired} (let go 2×MSL after their end; the \
             counts above are of the {} held to the end)",
            connections.len()
        );
    }
}

pub(super) fn exit_code(damaged: bool) -> ExitCode {
    if damaged {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// What `export` writes, and where.
#[derive(Clone, Copy)]
pub(super) struct ExportRequest<'a> {
    pub(super) format: ExportFormat,
    pub(super) scale: f32,
    pub(super) output: Option<&'a Path>,
    pub(super) expand: bool,
}

pub(super) fn export(
    path: &Path,
    config: Reading,
    ids: &[u32],
    request: ExportRequest,
    numbering: Numbering,
) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let connection = |id: u32| find_connection(&engine, path, id);
    if request.format == ExportFormat::Pcapng {
        let Some(output) = request.output else { bail!("--format pcapng writes a file: give -o OUT.pcapng") };
        let connections = ids.iter().map(|&id| connection(id)).collect::<anyhow::Result<Vec<_>>>()?;
        let written = write_packets(path, connections, output)?;
        let which = if ids.len() == 1 { "connection" } else { "connections" };
        let list: Vec<String> = ids.iter().map(u32::to_string).collect();
        eprintln!("tcpladder: wrote {written} packets of {which} {} to {}", list.join(", "), output.display());
        return Ok(exit_code(damaged));
    }
    let [id] = ids else { return export_several(&engine, path, ids, request, numbering, damaged) };
    let connection = connection(*id)?;
    let row = ConnRow::new(connection, engine.conversation(connection.id), engine.capture_end_nanos());
    let notes = row.finding_notes(connection);
    let noted: Vec<u32> = notes.iter().map(|(frame, _)| *frame).collect();
    let options = LayoutOptions::default();
    let folded = LadderLayout::new(connection, &BTreeSet::new(), &noted, &options);
    let mut layout = if request.expand {
        let all: BTreeSet<usize> = folded.folded_runs().collect();
        LadderLayout::new(connection, &all, &noted, &options)
    } else {
        folded
    };
    if let Some(conversation) = engine.conversation(connection.id) {
        layout.note_fold_contents(connection, conversation.messages());
    }
    let findings: Vec<(u32, &str)> = notes.iter().map(|(frame, text)| (*frame, text.as_str())).collect();
    let ladder = LadderExport {
        connection,
        layout: &layout,
        findings: &findings,
        conversation: engine.conversation(connection.id),
        capture_end_nanos: engine.capture_end_nanos(),
        numbering,
        png_scale: request.scale,
    };
    write_output(request.output, &ladder_bytes(request.format, &ladder)?)?;
    Ok(exit_code(damaged))
}

/// Several connections on one ladder, in `format`, side by side in the order given.
fn export_several(
    engine: &Engine,
    path: &Path,
    ids: &[u32],
    request: ExportRequest,
    numbering: Numbering,
    damaged: bool,
) -> anyhow::Result<ExitCode> {
    for &id in ids {
        find_connection(engine, path, id)?;
    }
    // Chained connections among those given sit client → proxy → backend.
    let links = tcpladder::analysis::chains::links_of(engine);
    let chain: Vec<(u32, usize)> =
        tcpladder::analysis::chains::chain_order(ids, &links).into_iter().filter(|(id, _)| ids.contains(id)).collect();
    let connections: Vec<_> = chain.iter().filter_map(|&(id, _)| engine.connection(id)).collect();
    let depths: Vec<usize> = chain.iter().map(|&(_, depth)| depth).collect();
    let layout = tcpladder::ladder::multi::MultiLayout::chained(&connections, &depths, &LayoutOptions::default());
    let ordered: Vec<u32> = chain.iter().map(|&(id, _)| id).collect();
    let story = tcpladder::analysis::chain_story::chain_story(engine, &links, &ordered);
    let several = tcpladder::render::multi_export::SeveralExport {
        connections: &connections,
        layout: &layout,
        story: &story,
        capture_end_nanos: engine.capture_end_nanos(),
        numbering,
        png_scale: request.scale,
    };
    write_output(request.output, &tcpladder::render::multi_export::several_bytes(request.format, &several)?)?;
    Ok(exit_code(damaged))
}

/// Connection `id` of the capture at `path`, or an error that says how many there are.
pub(super) fn find_connection<'a>(
    engine: &'a Engine,
    path: &Path,
    id: u32,
) -> anyhow::Result<&'a tcpladder::tcp::Connection> {
    engine.connection(id).with_context(|| {
        let first = engine.first_connection_id();
        let held = engine.connections().len();
        if id < first {
            format!(
                "{}: connection {id} was dropped to stay under the memory limit (connections {first} to {} are \
                 held); --memory-limit MB raises the limit",
                path.display(),
                u64::from(first) + held as u64 - 1
            )
        } else {
            format!("{}: no connection {id} (the capture has {})", path.display(), u64::from(first) + held as u64)
        }
    })
}

/// Writes to `output`, or to standard output without one.
fn write_output(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(output) => std::fs::write(output, bytes).with_context(|| format!("writing {}", output.display())),
        None => std::io::stdout().lock().write_all(bytes).context("writing to standard output"),
    }
}

pub(super) fn chart(
    path: &Path,
    config: Reading,
    kind: ChartKind,
    id: Option<u32>,
    png_scale: Option<f32>,
    output: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let name = path.file_name().unwrap_or(path.as_os_str()).to_string_lossy();
    let (start, end) = engine.capture_span();
    let connections = engine.connections();
    let svg = match kind {
        ChartKind::States => {
            render::chart_svg(&chart::states_chart(&chart::capture_states(connections, start, end), &name))
        }
        ChartKind::Rates => {
            render::chart_svg(&chart::rates_chart(&chart::capture_rates_of(connections, start, end), &name))
        }
        _ => {
            let Some(id) = id else { bail!("the {} chart shows one connection: give --conn ID", kind.slug()) };
            let connection = find_connection(&engine, path, id)?;
            let series = connection_series(connection);
            let title = chart::connection_title(connection, kind);
            let chart = chart::connection_chart(kind, &series, title).context("not a per-connection chart")?;
            render::chart_svg(&chart)
        }
    };
    let bytes = match png_scale {
        Some(scale) => render::png(&svg, scale)?,
        None => svg.into_bytes(),
    };
    write_output(output, &bytes)?;
    Ok(exit_code(damaged))
}

pub(super) fn packets(
    path: &Path,
    config: Reading,
    only: Option<u32>,
    json: bool,
    numbering: Numbering,
) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let mut segments: Vec<(u32, u32, usize)> = Vec::new();
    for connection in engine.connections().iter().filter(|c| only.is_none_or(|id| c.id == id)) {
        segments.extend(connection.segments.iter().enumerate().map(|(i, s)| (s.frame, connection.id, i)));
    }
    if let Some(id) = only {
        find_connection(&engine, path, id)?;
    }
    segments.sort_unstable();
    let labels: std::collections::BTreeMap<u32, String> = engine
        .connections()
        .iter()
        .filter_map(|c| engine.conversation(c.id))
        .flat_map(tcpladder::protocols::Conversation::labels_by_frame)
        .collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (_, id, index) in segments {
        let Some(connection) = engine.connection(id) else {
            continue;
        };
        let Some(segment) = connection.segments.get(index) else {
            continue;
        };
        let mut row = PacketRow::new(connection, index, segment);
        row.app = labels.get(&segment.frame).cloned();
        if json {
            serde_json::to_writer(&mut out, &row).context("writing JSON")?;
            writeln!(out)?;
        } else {
            let options = tcpladder::ladder::label::options_label(connection, segment, numbering);
            let options = if options.is_empty() { String::new() } else { format!(", options [{options}]") };
            let analysis =
                if row.analysis.is_empty() { String::new() } else { format!(" ({})", row.analysis.join(", ")) };
            writeln!(
                out,
                "{:.6} #{} conn {} {} > {}: {}{options}{analysis}  | client {} server {}",
                secs(segment.ts_nanos),
                row.frame,
                id,
                row.src,
                row.dst,
                segment_label(connection, segment, numbering),
                row.client_state,
                row.server_state
            )?;
        }
    }
    out.flush()?;
    Ok(exit_code(damaged))
}

pub(super) fn ladder(
    path: &Path,
    config: Reading,
    ids: &[u32],
    chain: bool,
    numbering: Numbering,
) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let mut chosen = Vec::new();
    for &id in ids {
        chosen.push(find_connection(&engine, path, id)?.id);
    }
    let links = tcpladder::analysis::chains::links_of(&engine);
    let chain: Vec<(u32, usize)> = if chain {
        tcpladder::analysis::chains::chain_order(&chosen, &links)
    } else {
        chosen.iter().map(|&id| (id, 0)).collect()
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    if let [(only, _)] = chain[..] {
        let connection = find_connection(&engine, path, only)?;
        let conversation = engine.conversation(connection.id);
        out.write_all(render_text_ladder(connection, conversation, engine.capture_end_nanos(), numbering).as_bytes())?;
    } else {
        let connections: Vec<_> = chain.iter().filter_map(|&(id, _)| engine.connection(id)).collect();
        let depths: Vec<usize> = chain.iter().map(|&(_, depth)| depth).collect();
        let ids: Vec<u32> = chain.iter().map(|&(id, _)| id).collect();
        let story = tcpladder::analysis::chain_story::chain_story(&engine, &links, &ids);
        let end = engine.capture_end_nanos();
        let layout = tcpladder::ladder::multi::MultiLayout::chained(&connections, &depths, &LayoutOptions::default());
        let text = tcpladder::render::render_multi_text_ladder(&connections, &layout, end, numbering, &story);
        out.write_all(text.as_bytes())?;
    }
    out.flush()?;
    Ok(exit_code(damaged))
}
