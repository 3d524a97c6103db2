//! The command line: `conns`, `packets`, `ladder`, `export`, `chart`, `capture`, `lesson`.
//! Prints what the engine found.

use std::io::{BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _};
use clap::{Args, Parser, Subcommand};

use std::collections::BTreeSet;
use tcpladder::capture::live::LiveOptions;
use tcpladder::capture::source::LiveCapture;
use tcpladder::capture::worker::{spawn_capture, LiveEvent};
use tcpladder::session::{read_capture, ReadOutcome};

use tcpladder::analysis::chart::{self, ChartKind};
use tcpladder::analysis::series::connection_series;
use tcpladder::ladder::{segment_label, LadderLayout, LayoutOptions, Numbering};
use tcpladder::lessons;
use tcpladder::render;
use tcpladder::render::ladder::{self, Format as ExportFormat};
use tcpladder::render::render_text_ladder;
use tcpladder::summary::{secs, ConnRow, PacketRow};
use tcpladder::{Engine, EngineConfig};

#[derive(Debug, Parser)]
#[command(name = "tcpladder", version, about = "Turns TCP traffic into ladder diagrams a person can read")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A capture to open (pcap or pcapng); without one, the bundled handshake sample.
    pub file: Option<PathBuf>,
    /// How long TIME_WAIT lasts (2×MSL), in seconds; Linux uses 60.
    #[arg(long, global = true, default_value_t = 60.0)]
    pub time_wait: f64,
    /// Print read time and memory held per segment and per connection on stderr.
    #[arg(long, global = true)]
    pub stats: bool,
    /// Drop the oldest connections above this many MB held (default: none for files, 1024 for
    /// `capture`).
    #[arg(long, global = true, value_name = "MB")]
    pub memory_limit: Option<u64>,
}

/// What to capture live, for `watch` and `capture`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on (`lo` on Linux, `lo0` on macOS).
    #[arg(short = 'i', long, default_value = if cfg!(target_os = "macos") { "lo0" } else { "lo" })]
    interface: String,
    /// BPF capture filter, as for tcpdump (e.g. "tcp port 8080").
    #[arg(short = 'f', long)]
    filter: Option<String>,
    /// Also write every packet to this file (pcap, or pcapng by extension).
    #[arg(short = 'w', long)]
    write: Option<PathBuf>,
    /// Bytes to keep of each packet (128 keeps every header).
    #[arg(long, default_value_t = 262_144)]
    snaplen: i32,
    /// Promiscuous mode (needs cap_net_admin as well).
    #[arg(long)]
    promisc: bool,
}

impl LiveArgs {
    fn options(self) -> LiveOptions {
        let Self { interface, filter, write, snaplen, promisc } = self;
        LiveOptions { device: interface, filter, snaplen, promisc, save: write }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open a capture in the window (the same as `tcpladder FILE`).
    Open { file: PathBuf },
    /// One row per connection: endpoints, counts, final states, conn_state, history, diagnoses.
    Conns {
        file: PathBuf,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One line per TCP segment, like tcpdump, followed by both sides' states.
    Packets {
        file: PathBuf,
        /// Only this connection.
        #[arg(long)]
        conn: Option<u32>,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
        /// Absolute sequence numbers instead of relative ones.
        #[arg(long)]
        absolute: bool,
    },
    /// Open the window capturing live at once, like `wireshark -k -i IFACE` (the memory limit
    /// is `--memory-limit`, 1024 MB unless given).
    Watch {
        #[command(flatten)]
        live: LiveArgs,
    },
    /// Capture live without a window, then print what `conns` prints.
    Capture {
        #[command(flatten)]
        live: LiveArgs,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Stop after this many packets.
        #[arg(long)]
        count: Option<u64>,
        /// Print a JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Perform a TCP scenario for real on loopback while capturing it, and explain it.
    /// Without NAME, list the lessons.
    Lesson { name: Option<String> },
    /// Export one connection's whole ladder for slides and reports, or the packets of several
    /// connections as a new pcapng.
    Export {
        file: PathBuf,
        /// The connection (as `conns` numbers them); for pcapng, several: --conn 3,7,9.
        #[arg(long, value_delimiter = ',', required = true)]
        conn: Vec<u32>,
        /// svg, png, mermaid, plantuml, txt, or pcapng (the connections' packets; needs -o).
        #[arg(long, value_parser = ["svg", "png", "mermaid", "plantuml", "txt", "pcapng"])]
        format: String,
        /// For png: pixels per SVG unit (2 for a crisp slide).
        #[arg(long, default_value_t = 2.0)]
        scale: f32,
        /// Write here instead of to standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Show folded data runs in full.
        #[arg(long)]
        expand: bool,
        /// Absolute sequence numbers instead of relative ones.
        #[arg(long)]
        absolute: bool,
    },
    /// A chart as SVG or PNG: of one connection (--conn), or of the whole capture (states, rates).
    Chart {
        file: PathBuf,
        /// time-sequence, tcptrace, window, throughput, rtt, in-flight, states or rates.
        #[arg(long, value_parser = ChartKind::ALL.map(ChartKind::slug))]
        kind: String,
        /// The connection, for the per-connection charts.
        #[arg(long)]
        conn: Option<u32>,
        /// svg or png (by default from the output's extension, else svg).
        #[arg(long, value_parser = ["svg", "png"])]
        format: Option<String>,
        /// For png: pixels per SVG unit.
        #[arg(long, default_value_t = 2.0)]
        scale: f32,
        /// Write here instead of to standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// A text ladder diagram of one connection.
    Ladder {
        file: PathBuf,
        #[arg(long)]
        conn: u32,
        /// Absolute sequence numbers instead of relative ones.
        #[arg(long)]
        absolute: bool,
    },
}

/// Runs a subcommand; returns the process's exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Reading {
        engine: EngineConfig {
            time_wait_nanos: (cli.time_wait * 1e9) as i64,
            memory_limit_bytes: cli.memory_limit.map(|mb| mb.saturating_mul(1 << 20)),
        },
        print_stats: cli.stats,
    };
    let Some(command) = cli.command else {
        return open(cli.file);
    };
    match command {
        Command::Open { file } => open(Some(file)),
        Command::Watch { live } => {
            let limit_mb = cli.memory_limit.unwrap_or(DEFAULT_LIVE_MEMORY_LIMIT_MB);
            window(tcpladder::ui::Start::Live { options: live.options(), memory_limit_mb: limit_mb })
        }
        Command::Conns { file, json } => conns(&file, config, json),
        Command::Lesson { name } => lesson(name.as_deref(), config),
        Command::Export { file, conn, format, scale, output, expand, absolute } => {
            let request = ExportRequest { format: &format, scale, output: output.as_deref(), expand };
            export(&file, config, &conn, request, numbering(absolute))
        }
        Command::Chart { file, kind, conn, format, scale, output } => {
            let png = format.as_deref() == Some("png")
                || (format.is_none() && output.as_ref().is_some_and(|o| o.extension().is_some_and(|e| e == "png")));
            let kind = ChartKind::from_slug(&kind).context("unknown chart")?;
            chart(&file, config, kind, conn, png.then_some(scale), output.as_deref())
        }
        Command::Capture { live, duration, count, json } => capture(&live.options(), config, duration, count, json),
        Command::Packets { file, conn, json, absolute } => packets(&file, config, conn, json, numbering(absolute)),
        Command::Ladder { file, conn, absolute } => ladder(&file, config, conn, numbering(absolute)),
    }
}

/// Without a subcommand: the window, on FILE or on the bundled sample.
fn open(file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(file) = &file {
        // Fail here, in one line, rather than with an empty window.
        std::fs::metadata(file).with_context(|| format!("{}: cannot read", file.display()))?;
    }
    window(tcpladder::ui::Start::File(file))
}

fn window(start: tcpladder::ui::Start) -> anyhow::Result<ExitCode> {
    tcpladder::ui::run(start).map_err(|err| {
        anyhow::anyhow!(
            "cannot open a window ({err}); without a display, use a subcommand such as `tcpladder conns FILE` \
             or `tcpladder ladder FILE --conn 0`"
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

fn numbering(absolute: bool) -> Numbering {
    if absolute {
        Numbering::Absolute
    } else {
        Numbering::Relative
    }
}

/// How to read a capture: the engine's settings, and whether to report time and memory.
#[derive(Debug, Clone, Copy)]
struct Reading {
    engine: EngineConfig,
    print_stats: bool,
}

/// Reads the whole file, warning on stderr about damage; fails on files that are not captures.
fn load(path: &Path, reading: Reading) -> anyhow::Result<(Engine, bool)> {
    let started = std::time::Instant::now();
    let ReadOutcome { engine, damage, .. } =
        read_capture(path, reading.engine, 1 << 20, |_, _| ControlFlow::Continue(()))?;
    if reading.print_stats {
        print_memory(&engine, started.elapsed());
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

fn print_memory(engine: &Engine, elapsed: std::time::Duration) {
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
}

fn exit_code(damaged: bool) -> ExitCode {
    if damaged {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn conns(path: &Path, config: Reading, json: bool) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    print_conns(&engine, json)?;
    Ok(exit_code(damaged))
}

/// Captures until `count` packets or `duration` seconds, whichever comes first.
fn capture(
    options: &LiveOptions,
    config: Reading,
    duration: Option<f64>,
    count: Option<u64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if duration.is_none() && count.is_none() {
        bail!("say when to stop: --duration SECS or --count N");
    }
    let mut live = LiveCapture::open(options)?;
    let mut engine_config = config.engine;
    engine_config.memory_limit_bytes.get_or_insert(DEFAULT_LIVE_MEMORY_LIMIT_MB << 20);
    let mut engine = Engine::new(live.link(), engine_config);
    let filter = options.filter.as_deref().map_or(String::new(), |f| format!(" with filter `{f}`"));
    let helper = if live.through_helper() { " through the capture helper" } else { "" };
    eprintln!("tcpladder: capturing on {} ({}){filter}{helper}", options.device, live.link());
    let started = std::time::Instant::now();
    let deadline = duration.map(|secs| started + std::time::Duration::from_secs_f64(secs.max(0.0)));
    let mut packets = 0u64;
    while count.is_none_or(|n| packets < n) && deadline.is_none_or(|d| std::time::Instant::now() < d) {
        live.next(|ts_nanos, frame| {
            engine.ingest(ts_nanos, frame);
            packets += 1;
        })?;
    }
    live.flush()?;
    let (received, dropped) = live.stats().unwrap_or_default();
    let twice = if tcpladder::capture::live::counters_count_twice(&options.device) {
        "; on lo the kernel counts each packet twice, sent and received"
    } else {
        ""
    };
    eprintln!(
        "tcpladder: {packets} packets in {:.1} s ({received} received by the filter, {dropped} dropped by the kernel{twice})",
        started.elapsed().as_secs_f64()
    );
    let evicted = engine.stats().evicted_connections;
    if evicted > 0 {
        eprintln!(
            "tcpladder: the {evicted} oldest connections ({} segments) were dropped to stay under the memory limit",
            engine.stats().evicted_segments
        );
    }
    if config.print_stats {
        print_memory(&engine, started.elapsed());
    }
    print_conns(&engine, json)?;
    Ok(ExitCode::SUCCESS)
}

/// What a live capture holds at most unless told otherwise.
const DEFAULT_LIVE_MEMORY_LIMIT_MB: u64 = 1024;

/// Lists the lessons, or performs one while capturing `lo` and prints its ladder and explanation.
fn lesson(name: Option<&str>, config: Reading) -> anyhow::Result<ExitCode> {
    let Some(name) = name else {
        for lesson in lessons::all() {
            println!("{:<20} {} — {}", lesson.id, lesson.title, lesson.question);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(lesson) = lessons::find(name) else {
        let ids: Vec<&str> = lessons::all().iter().map(|l| l.id).collect();
        bail!("no lesson `{name}`; the lessons are: {}", ids.join(", "));
    };
    let port = lessons::port_of(lesson);
    println!(
        "# {}

{}

{}
",
        lesson.title, lesson.question, lesson.snippet
    );
    let options = LiveOptions { filter: Some(format!("tcp port {port}")), ..LiveOptions::loopback() };
    let capture = spawn_capture(options, || {});
    let link = match capture.events.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(LiveEvent::Started { link }) => link,
        Ok(LiveEvent::Stopped { error }) => return lesson_from_recording(lesson, error.unwrap_or_default(), config),
        _ => bail!("the capture did not start"),
    };
    let outcome = lesson.run(port).with_context(|| format!("performing the lesson `{}`", lesson.id))?;
    // Let the last segments arrive before stopping the capture.
    std::thread::sleep(std::time::Duration::from_millis(300));
    capture.stop();
    let mut engine = Engine::new(link, config.engine);
    while let Ok(event) = capture.events.recv_timeout(std::time::Duration::from_secs(5)) {
        match event {
            LiveEvent::Batch { batch, .. } => engine.ingest_all(batch.iter()),
            LiveEvent::Stopped { .. } => break,
            LiveEvent::Started { .. } => {}
        }
    }
    drop(outcome.held);
    drop(outcome.held_listeners);
    print_lesson(lesson, &engine, &outcome.events);
    Ok(ExitCode::SUCCESS)
}

/// Capturing is not allowed: show the recording of the same scenario, and say so.
fn lesson_from_recording(lesson: &lessons::Lesson, why: String, config: Reading) -> anyhow::Result<ExitCode> {
    eprintln!("tcpladder: cannot capture: {why}");
    let Some(sample) = lesson.sample else { bail!("this lesson has no recording to fall back to") };
    let path = tcpladder::samples::bundled_sample()
        .and_then(|bundled| bundled.parent().map(|dir| dir.join(sample)))
        .context("the sample captures are missing")?;
    println!("(Capturing is not permitted here, so this is a recording of the same scenario: {}.)\n", path.display());
    let (engine, _) = load(&path, config)?;
    print_lesson(lesson, &engine, &[]);
    Ok(ExitCode::SUCCESS)
}

fn print_lesson(lesson: &lessons::Lesson, engine: &Engine, events: &[lessons::AppEvent]) {
    let end = engine.capture_end_nanos();
    for connection in engine.connections() {
        print!("{}", render_text_ladder(connection, end, Numbering::Relative));
        println!();
    }
    if !events.is_empty() {
        let start = engine.stats().first_ts_nanos.unwrap_or(0);
        println!("What the applications saw:");
        for event in events {
            // The segment captured last before the call returned is the one that explains it.
            let after = engine
                .connections()
                .iter()
                .flat_map(|c| c.segments.iter())
                .filter(|s| s.ts_nanos <= event.ts_nanos)
                .map(|s| s.frame)
                .max();
            let after = after.map_or(String::new(), |frame| format!("  (after frame {frame})"));
            println!(
                "  {:>9.6} s  {:<6} {:<34} → {}{after}",
                secs(event.ts_nanos - start),
                event.side,
                event.call,
                event.outcome
            );
        }
        println!();
    }
    println!("{}", lesson.explanation);
}

/// What `export` writes, and where.
struct ExportRequest<'a> {
    format: &'a str,
    scale: f32,
    output: Option<&'a Path>,
    expand: bool,
}

fn export(
    path: &Path,
    config: Reading,
    ids: &[u32],
    request: ExportRequest,
    numbering: Numbering,
) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let connection = |id: u32| find_connection(&engine, path, id);
    if request.format == "pcapng" {
        let Some(output) = request.output else { bail!("--format pcapng writes a file: give -o OUT.pcapng") };
        let mut frames = BTreeSet::new();
        for &id in ids {
            frames.extend(connection(id)?.segments.iter().map(|s| s.frame));
        }
        let written = tcpladder::capture::extract_frames(path, &frames, output)?;
        let which = if ids.len() == 1 { "connection" } else { "connections" };
        let list: Vec<String> = ids.iter().map(u32::to_string).collect();
        eprintln!("tcpladder: wrote {written} packets of {which} {} to {}", list.join(", "), output.display());
        return Ok(exit_code(damaged));
    }
    let [id] = ids else { bail!("--format {} draws one connection: give one --conn", request.format) };
    let connection = connection(*id)?;
    let bytes = if request.format == "txt" {
        render_text_ladder(connection, engine.capture_end_nanos(), numbering).into_bytes()
    } else {
        let row = ConnRow::new(connection, engine.capture_end_nanos());
        let noted = row.finding_frames();
        let options = LayoutOptions::default();
        let folded = LadderLayout::new(connection, &BTreeSet::new(), &noted, &options);
        let layout = if request.expand {
            let all: BTreeSet<usize> = folded.folded_runs().collect();
            LadderLayout::new(connection, &all, &noted, &options)
        } else {
            folded
        };
        let format = match request.format {
            "svg" | "png" => ExportFormat::Svg,
            "mermaid" => ExportFormat::Mermaid,
            _ => ExportFormat::PlantUml,
        };
        let findings: Vec<(u32, &str)> = row.diagnoses.iter().map(|d| (d.frame, d.code)).collect();
        let text = ladder::export(connection, &layout, format, numbering, &findings);
        if request.format == "png" {
            tcpladder::render::png(&text, request.scale)?
        } else {
            text.into_bytes()
        }
    };
    write_output(request.output, &bytes)?;
    Ok(exit_code(damaged))
}

/// Connection `id` of the capture at `path`, or an error that says how many there are.
fn find_connection<'a>(engine: &'a Engine, path: &Path, id: u32) -> anyhow::Result<&'a tcpladder::tcp::Connection> {
    engine.connection(id).with_context(|| {
        format!("{}: no connection {id} (the capture has {})", path.display(), engine.connections().len())
    })
}

/// Writes to `output`, or to standard output without one.
fn write_output(output: Option<&Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match output {
        Some(output) => std::fs::write(output, bytes).with_context(|| format!("writing {}", output.display())),
        None => std::io::stdout().lock().write_all(bytes).context("writing to standard output"),
    }
}

fn chart(
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

fn print_conns(engine: &Engine, json: bool) -> anyhow::Result<()> {
    let end = engine.capture_end_nanos();
    let rows: Vec<ConnRow> = engine.connections().iter().map(|c| ConnRow::new(c, end)).collect();
    let mut out = BufWriter::new(std::io::stdout().lock());
    if json {
        serde_json::to_writer_pretty(&mut out, &rows).context("writing JSON")?;
        writeln!(out)?;
    } else {
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
        for row in &rows {
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
    }
    out.flush()?;
    Ok(())
}

fn packets(
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
    let mut out = BufWriter::new(std::io::stdout().lock());
    for (_, id, index) in segments {
        let Some(connection) = engine.connection(id) else {
            continue;
        };
        let Some(segment) = connection.segments.get(index) else {
            continue;
        };
        let row = PacketRow::new(connection, index, segment);
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

fn ladder(path: &Path, config: Reading, id: u32, numbering: Numbering) -> anyhow::Result<ExitCode> {
    let (engine, damaged) = load(path, config)?;
    let connection = find_connection(&engine, path, id)?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    out.write_all(render_text_ladder(connection, engine.capture_end_nanos(), numbering).as_bytes())?;
    out.flush()?;
    Ok(exit_code(damaged))
}
