//! The command line: `conns`, `packets`, `ladder`, `export`, `chart`, `capture`, `lesson`,
//! `requests`, `sockets`.
//! Prints what the engine found.

mod conns;
mod conns_sink;
mod files;
mod install_files;
mod live;
mod merge;
mod requests;
mod sockets;
mod spill;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use tcpladder::analysis::chart::ChartKind;
use tcpladder::capture::live::{LiveOptions, DEFAULT_SNAPLEN};
use tcpladder::engine::{EngineConfig, DEFAULT_LIVE_MEMORY_LIMIT_MB};
use tcpladder::ladder::Numbering;
use tcpladder::render::export::ExportFormat;

use files::{chart, export, ladder, packets, ExportRequest};
use live::{capture, lesson};

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
    /// Drop the oldest connections above this many MB held (default: half of the machine's
    /// memory for files, in the command line and the window; 1024 for `capture` and `watch`).
    #[arg(long, global = true, value_name = "MB")]
    pub memory_limit: Option<u64>,
    /// Read TCP only: skip the conversation inside each connection (HTTP messages and turns).
    #[arg(long, global = true)]
    pub no_decode: bool,
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
    #[arg(long, default_value_t = DEFAULT_SNAPLEN)]
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
    /// Open a capture in the window (the same as `tcpladder FILE`); with `--other-end`, the same
    /// traffic captured at the other end too, each connection drawn from both ends.
    Open {
        file: PathBuf,
        #[arg(long, value_name = "FILE")]
        other_end: Option<PathBuf>,
    },
    /// One row per connection: endpoints, counts, final states, conn_state, history, diagnoses.
    Conns {
        file: PathBuf,
        /// Print a JSON array instead of a table (the same as --format json).
        #[arg(long)]
        json: bool,
        /// table, json, jsonl (one object per line), or zeek (Zeek's conn.log)
        #[arg(long, value_enum)]
        format: Option<conns::ConnsFormat>,
        /// With --format zeek: write DIR/conn.log and DIR/tcpladder.log instead of conn.log to standard output
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Hold every connection whole until the capture is read, instead of writing each row
        /// once its connection ended 2×MSL before (the same rows; more memory)
        #[arg(long)]
        hold_all: bool,
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
        /// `-`: read a capture piped on standard input instead of an interface
        /// (`tcpdump -i lo -U -w - | tcpladder watch -`, or over ssh from another machine).
        source: Option<String>,
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
        /// svg, png, mermaid, plantuml, txt, or pcapng (the connections' packets; needs -o); by
        /// default from -o's extension (.svg, .png, .mmd, .puml, .txt, .pcapng).
        #[arg(long, value_enum)]
        format: Option<ExportFormat>,
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
        #[arg(long)]
        kind: ChartChoice,
        /// The connection, for the per-connection charts.
        #[arg(long)]
        conn: Option<u32>,
        /// svg or png (by default from the output's extension, else svg).
        #[arg(long, value_enum)]
        format: Option<PictureFormat>,
        /// For png: pixels per SVG unit.
        #[arg(long, default_value_t = 2.0)]
        scale: f32,
        /// Write here instead of to standard output.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Two captures of the same traffic (the client's host and the server's): the segments both
    /// saw, matched, and B's clock offset against A's from the one-way delays both ways.
    Merge {
        a: PathBuf,
        b: PathBuf,
        /// Also write both into one pcapng file, B's clock corrected.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print {"offset", "uncertainty", "matched", "only_a", "only_b"}.
        #[arg(long)]
        json: bool,
        /// Print this connection (of A) seen from both ends: when each segment left and arrived,
        /// its one-way delay, or that it was lost between the two.
        #[arg(long)]
        conn: Option<u32>,
    },
    /// One line per request: what was asked, the answer, how long the server took, and what
    /// became of requests that got none (abandoned, reset, server_closed, capture_ended).
    Requests {
        file: PathBuf,
        /// Only this connection.
        #[arg(long)]
        conn: Option<u32>,
        /// Print JSON Lines.
        #[arg(long)]
        json: bool,
    },
    /// This machine's TCP sockets as its kernel sees them (what `ss -tanp` shows), each with the
    /// process holding it; `--summary` counts them by state and shows listeners' accept queues.
    Sockets {
        /// Only sockets in this state (CLOSE_WAIT, close-wait, time-wait, …).
        #[arg(long, value_parser = parse_state)]
        state: Option<tcpladder::tcp::TcpState>,
        /// Only sockets with this local or peer port.
        #[arg(long)]
        port: Option<u16>,
        /// Only sockets held by this process (a name, or part of one, or a pid).
        #[arg(long)]
        process: Option<String>,
        /// The census by state, listeners' queues against their backlog, the kernel's
        /// ListenOverflows, and processes near their open-files limit.
        #[arg(long)]
        summary: bool,
        /// Print JSON: an array of sockets, or with --summary one object.
        #[arg(long)]
        json: bool,
        /// Look again every SECS seconds until interrupted.
        #[arg(long, value_name = "SECS")]
        watch: Option<f64>,
    },
    /// Write the man pages (clap_mangen) and shell completions (clap_complete) into DIR/man and
    /// DIR/completions: what a package installs beside the binaries.
    #[command(hide = true)]
    InstallFiles { dir: PathBuf },
    /// A text ladder diagram of one connection, or of several on one ladder (--conn 3,7,9;
    /// --chain adds the connections a proxy made for it, and the one it serves).
    Ladder {
        file: PathBuf,
        #[arg(long, value_delimiter = ',', required = true)]
        conn: Vec<u32>,
        /// Also draw the connections chained to it (client → proxy → backend).
        #[arg(long)]
        chain: bool,
        /// Absolute sequence numbers instead of relative ones.
        #[arg(long)]
        absolute: bool,
    },
}

fn parse_state(text: &str) -> Result<tcpladder::tcp::TcpState, String> {
    tcpladder::host::parse_state(text)
        .ok_or_else(|| format!("not a TCP state: {text} (try CLOSE_WAIT, TIME_WAIT, ESTABLISHED, LISTEN, SYN_SENT, …)"))
}

/// A chart, as `--kind` names it (its slug).
#[derive(Debug, Clone, Copy)]
pub struct ChartChoice(ChartKind);

impl clap::ValueEnum for ChartChoice {
    fn value_variants<'a>() -> &'a [Self] {
        static CHOICES: std::sync::LazyLock<Vec<ChartChoice>> =
            std::sync::LazyLock::new(|| ChartKind::ALL.into_iter().map(ChartChoice).collect());
        &CHOICES
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.0.slug()))
    }
}

/// What a chart is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PictureFormat {
    Svg,
    Png,
}

/// Runs a subcommand; returns the process's exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Reading {
        engine: EngineConfig {
            time_wait_nanos: (cli.time_wait * 1e9) as i64,
            memory_limit_bytes: cli.memory_limit.map(|mb| mb.saturating_mul(1 << 20)),
            decode_applications: !cli.no_decode,
            keep_all_messages: false,
            // The command line asks for conversations only once a file is read.
            decode_on_thread: true,
            retire_ended: false,
        },
        print_stats: cli.stats,
    };
    let Some(command) = cli.command else {
        return open(cli.file, cli.memory_limit);
    };
    match command {
        Command::Open { file, other_end: Some(other) } => window(tcpladder::ui::Start::BothEnds { a: file, b: other }),
        Command::Open { file, other_end: None } => open(Some(file), cli.memory_limit),
        Command::Watch { live, source } => {
            let limit_mb = cli.memory_limit.unwrap_or(DEFAULT_LIVE_MEMORY_LIMIT_MB);
            let mut options = live.options();
            match source.as_deref() {
                Some("-") => options.device = "-".into(),
                Some(other) => {
                    anyhow::bail!("watch reads an interface (-i) or `-` (a capture piped on stdin), not {other:?}")
                }
                None => {}
            }
            window(tcpladder::ui::Start::Live { options, memory_limit_mb: limit_mb })
        }
        Command::Conns { file, json, format, output, hold_all } => {
            let format = match (format, json) {
                (Some(format), false) => format,
                (None, json) => {
                    if json {
                        conns::ConnsFormat::Json
                    } else {
                        conns::ConnsFormat::Table
                    }
                }
                (Some(_), true) => anyhow::bail!("give --json or --format, not both"),
            };
            conns::conns(&file, config, format, output.as_deref(), hold_all)
        }
        Command::Lesson { name } => lesson(name.as_deref(), config),
        Command::Export { file, conn, format, scale, output, expand, absolute } => {
            let Some(format) = format.or_else(|| output.as_deref().and_then(ExportFormat::from_path)) else {
                anyhow::bail!(
                    "export needs a format: give --format (svg, png, mermaid, plantuml, txt, pcapng) or -o with one \
                     of the extensions .svg, .png, .mmd, .puml, .txt, .pcapng"
                );
            };
            let request = ExportRequest { format, scale, output: output.as_deref(), expand };
            export(&file, config.decoding_applications(), &conn, request, numbering(absolute))
        }
        Command::Chart { file, kind, conn, format, scale, output } => {
            let png = format == Some(PictureFormat::Png)
                || (format.is_none() && output.as_ref().is_some_and(|o| o.extension().is_some_and(|e| e == "png")));
            chart(&file, config, kind.0, conn, png.then_some(scale), output.as_deref())
        }
        Command::Capture { live, duration, count, json } => capture(&live.options(), config, duration, count, json),
        Command::Packets { file, conn, json, absolute } => {
            packets(&file, config.decoding_applications(), conn, json, numbering(absolute))
        }
        Command::Ladder { file, conn, chain, absolute } => {
            ladder(&file, config.decoding_applications(), &conn, chain, numbering(absolute))
        }
        Command::Sockets { state, port, process, summary, json, watch } => {
            let filter = tcpladder::host::SocketFilter { state, port, process };
            sockets::sockets(&sockets::SocketsRequest { filter, json, summary, watch, stats: cli.stats })
        }
        Command::Merge { a, b, output, json, conn } => {
            merge::merge_command(&a, &b, merge::MergeRequest { output: output.as_deref(), json, conn }, config)
        }
        Command::Requests { file, conn, json } => requests::requests(&file, config.decoding_applications(), conn, json),
        Command::InstallFiles { dir } => install_files::write(&dir).map(|()| ExitCode::SUCCESS),
    }
}

/// Without a subcommand: the window, on FILE or on the bundled sample.
fn open(file: Option<PathBuf>, memory_limit_mb: Option<u64>) -> anyhow::Result<ExitCode> {
    // A file that cannot be read is said on stderr and in the window, which opens all the same:
    // started from a desktop launcher, stderr is seen by no one. Without a display the file's
    // error is the one that matters.
    let unreadable = file
        .as_ref()
        .and_then(|file| std::fs::metadata(file).with_context(|| format!("{}: cannot read", file.display())).err());
    if let Some(err) = &unreadable {
        eprintln!("tcpladder: {err:#}");
    }
    match (window(tcpladder::ui::Start::File { file, memory_limit_mb }), unreadable) {
        // Said already, once.
        (_, Some(_)) => Ok(ExitCode::FAILURE),
        (result, None) => result,
    }
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

impl Reading {
    /// The same, keeping every message of each conversation, to list them.
    fn decoding_applications(mut self) -> Self {
        self.engine.decode_applications = true;
        self.engine.keep_all_messages = true;
        self
    }
}

/// How to read a capture: the engine's settings, and whether to report time and memory.
#[derive(Debug, Clone, Copy)]
struct Reading {
    engine: EngineConfig,
    print_stats: bool,
}
