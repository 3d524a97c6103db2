//! The "This machine" view: this machine's TCP sockets as its kernel sees them, watched every
//! half second. What the sockets say in words first, then the census by state with its chart,
//! where the sockets are (by process, by port), listeners' accept queues, open files against
//! limits, and every socket, each linked to its ladder when the open capture holds it.

use egui::{RichText, Ui};
use egui_plot::{Legend, Line, Plot, PlotPoints};

use crate::host::{self, listeners, Snapshot, Socket};
use crate::session::kernel_check::KernelChecks;
use crate::session::machine_watch::{MachineWatch, Watched};
use crate::summary::ConnRow;
use crate::tcp::TcpState;

use super::theme::{state_fill, warning_colour};

/// The states drawn over time: the ones that pile up when something is wrong.
const CHARTED: [TcpState; 4] = [TcpState::CloseWait, TcpState::TimeWait, TcpState::Established, TcpState::SynReceived];
/// Rows of the socket list drawn at most in a frame (the list scrolls through the rest).
const ROW_HEIGHT: f32 = 18.0;

/// How the sockets are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    #[default]
    ByProcess,
    ByLocalPort,
}

/// The view's watch and choices; the watch runs only while the view is shown.
#[derive(Default)]
pub struct MachineViewState {
    watch: Option<MachineWatch>,
    /// Free text over state, addresses and process; `state:`-free, as a person types.
    pub filter: String,
    pub grouping: Grouping,
    /// The kernel beside the wire for a live capture's connections, and the look they used.
    pub checks: KernelChecks,
    checked_look: Option<f64>,
    /// The sockets the filter lets through, and for what: formatting 50,000 lines to filter
    /// them is too slow for every frame.
    shown: Option<Shown>,
}

impl MachineViewState {
    /// Starts watching (when shown) or stops (when hidden).
    pub fn set_shown(&mut self, ctx: &egui::Context, shown: bool) {
        match (shown, self.watch.is_some()) {
            (true, false) => {
                let ctx = ctx.clone();
                self.watch = Some(MachineWatch::start(move || ctx.request_repaint()));
            }
            (false, true) => {
                self.watch = None;
                self.checked_look = None;
            }
            _ => {}
        }
    }

    /// Checks a live capture's connections against the latest look, once per look.
    pub fn check_live(&mut self, rows: &[ConnRow]) {
        let Some(watch) = &self.watch else { return };
        let (checks, checked_look) = (&mut self.checks, &mut self.checked_look);
        watch.with(|watched| {
            let (Some(snapshot), Some(look)) = (&watched.latest, watched.history.back()) else { return };
            if *checked_look != Some(look.seconds) {
                checks.update(snapshot, rows, std::time::Instant::now());
                *checked_look = Some(look.seconds);
            }
        });
    }
}

/// The kernel's view of one connection of a live capture, beside the inferred states: one line,
/// and the likely reason when they disagree.
pub fn kernel_line_ui(ui: &mut Ui, state: &MachineViewState, id: u32) {
    let (checked, disagreeing) = state.checks.counts();
    let Some(check) = state.checks.by_connection.get(&id) else {
        if state.watch.is_some() {
            ui.label(RichText::new("The kernel: neither end of this connection is a socket of this machine.").weak());
        }
        return;
    };
    let dark = ui.visuals().dark_mode;
    let sides = format!(
        "The kernel now: client {}, server {} · {checked} local connection{} checked, {disagreeing} disagree ({} ever)",
        check.kernel.client.describe(),
        check.kernel.server.describe(),
        if checked == 1 { "" } else { "s" },
        state.checks.ever_disagreed.len()
    );
    match &check.disagreement {
        None => {
            ui.label(RichText::new(format!("{sides} · agrees with the wire")).weak());
        }
        Some((side, why)) => {
            ui.label(RichText::new(sides).color(warning_colour(dark)));
            ui.label(RichText::new(format!("The {} disagrees: {why}.", side.name())).color(warning_colour(dark)));
        }
    }
}

/// The indices of the sockets a filter let through, for the look (its time) and the text.
type Shown = (f64, String, Vec<usize>);

/// Draws the view; returns the connection of the open capture a row asked to see.
pub fn machine_ui(ui: &mut Ui, state: &mut MachineViewState, rows: &[ConnRow]) -> Option<u32> {
    let Some(watch) = &state.watch else {
        ui.label("Starting…");
        return None;
    };
    let (filter, grouping, shown) = (&mut state.filter, &mut state.grouping, &mut state.shown);
    watch.with(|watched| {
        let Some(snapshot) = &watched.latest else {
            ui.label(watched.error.as_deref().unwrap_or("Reading this machine's sockets…"));
            return None;
        };
        let mut asked = None;
        header_ui(ui, watched, snapshot);
        egui::ScrollArea::vertical().id_salt("machine").auto_shrink([false, false]).show(ui, |ui| {
            findings_ui(ui, watched);
            census_ui(ui, watched);
            groups_ui(ui, watched, grouping);
            listeners_ui(ui, watched, snapshot);
            files_ui(ui, snapshot);
            let look = watched.history.back().map_or(0.0, |s| s.seconds);
            asked = sockets_ui(ui, snapshot, (filter, shown, look), rows);
        });
        asked
    })
}

fn header_ui(ui: &mut Ui, watched: &Watched, snapshot: &Snapshot) {
    ui.heading("This machine's TCP sockets");
    let source = match snapshot.source {
        host::Source::SockDiag => "the kernel's socket table (sock_diag, as ss reads it)",
        host::Source::ProcNet => "/proc/net/tcp (sock_diag netlink is not available: backlogs are not shown)",
    };
    ui.label(
        RichText::new(format!(
            "{} sockets from {source}, read every 0.5 s in {:.1} ms; owners found {:.0} s ago in {:.0} ms.",
            snapshot.sockets.len(),
            watched.table_ms,
            (watched.history.back().map_or(0.0, |s| s.seconds) - watched.owners_at).max(0.0),
            watched.owners_ms
        ))
        .weak(),
    );
    if let Some(unseen) = snapshot.unseen() {
        ui.label(RichText::new(unseen).color(warning_colour(ui.visuals().dark_mode)));
    }
    if let Some(error) = &watched.error {
        ui.label(RichText::new(error).color(warning_colour(ui.visuals().dark_mode)));
    }
}

fn findings_ui(ui: &mut Ui, watched: &Watched) {
    if watched.findings.is_empty() {
        ui.label(
            "Nothing wrong shows: no CLOSE_WAIT left open, no full accept queue, no process near its open-files limit.",
        );
        return;
    }
    ui.label(RichText::new("Findings").strong());
    for finding in &watched.findings {
        ui.label(super::prose::with_code_spans(ui, &format!("{}: {}", finding.code, finding.text), false));
    }
}

fn census_ui(ui: &mut Ui, watched: &Watched) {
    ui.separator();
    ui.label(RichText::new("Sockets by state (netstat -n | awk '/^tcp/ {++S[$NF]}')").strong());
    let dark = ui.visuals().dark_mode;
    ui.horizontal_wrapped(|ui| {
        for &(state, count) in &watched.census {
            let chip = RichText::new(format!(" {} {count} ", state.name())).background_color(state_fill(state, dark));
            ui.label(chip.color(super::theme::pill_text(dark)));
        }
    });
    let now = watched.history.back().map_or(0.0, |s| s.seconds);
    Plot::new("machine census")
        .legend(Legend::default())
        .height(160.0)
        .x_axis_label("seconds ago")
        .y_axis_label("sockets")
        .allow_scroll(false)
        .show(ui, |plot| {
            for state in CHARTED {
                let points: Vec<[f64; 2]> =
                    watched.history.iter().map(|s| [s.seconds - now, f64::from(s.count(state))]).collect();
                plot.line(Line::new(state.name(), PlotPoints::from(points)).color(super::theme::state_line(state)));
            }
        });
}

fn groups_ui(ui: &mut Ui, watched: &Watched, grouping: &mut Grouping) {
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Where they are").strong());
        ui.selectable_value(grouping, Grouping::ByProcess, "by process");
        ui.selectable_value(grouping, Grouping::ByLocalPort, "by local port");
    });
    match grouping {
        Grouping::ByProcess => {
            for group in watched.groups.iter().take(12) {
                ui.label(super::prose::with_code_spans(ui, &group.sentence(), false));
            }
        }
        Grouping::ByLocalPort => {
            for &((port, state), count) in watched.ports.iter().take(12) {
                ui.label(format!("local port {port}: {count} {}", state.name()));
            }
        }
    }
}

fn listeners_ui(ui: &mut Ui, watched: &Watched, snapshot: &Snapshot) {
    ui.separator();
    let counters = snapshot.counters;
    let grown = watched.counters_at_start.map_or(0, |start| counters.overflows.saturating_sub(start.overflows));
    ui.label(RichText::new("Listeners and their accept queue").strong());
    ui.label(
        RichText::new(format!(
            "ListenOverflows {} (+{grown} while this view is open), ListenDrops {}, SYN cookies sent {}",
            counters.overflows, counters.drops, counters.syncookies_sent
        ))
        .weak(),
    );
    egui::Grid::new("listeners").striped(true).show(ui, |ui| {
        ui.label("listening on");
        ui.label("waiting for accept()");
        ui.label("process");
        ui.end_row();
        for listener in listeners(snapshot) {
            ui.monospace(host::endpoint(&listener.local));
            match listener.backlog {
                Some(backlog) => {
                    let share = listener.queued as f32 / backlog.max(1) as f32;
                    let bar = egui::ProgressBar::new(share.min(1.0))
                        .desired_width(160.0)
                        .text(format!("{} of {backlog}", listener.queued));
                    let bar = if listener.is_full() {
                        let full = RichText::new(format!("{} of {backlog}: full", listener.queued));
                        bar.fill(warning_colour(ui.visuals().dark_mode)).text(full.color(egui::Color32::BLACK))
                    } else {
                        bar
                    };
                    ui.add(bar);
                }
                None => {
                    ui.label(format!("{} (backlog not shown)", listener.queued));
                }
            }
            ui.label(process_name(snapshot, listener.pid));
            ui.end_row();
        }
    });
}

fn files_ui(ui: &mut Ui, snapshot: &Snapshot) {
    ui.separator();
    ui.label(RichText::new("Open files of the processes with sockets").strong());
    let mut processes: Vec<_> = snapshot.processes.values().collect();
    processes.sort_by(|a, b| share(b).total_cmp(&share(a)).then(a.pid.cmp(&b.pid)));
    egui::Grid::new("files").striped(true).show(ui, |ui| {
        for process in processes.iter().take(20) {
            ui.label(format!("{} ({})", process.name, process.pid));
            let limit = process.fd_limit.map_or_else(|| "no limit".to_string(), |l| l.to_string());
            let text = RichText::new(format!("{} of {limit} open", process.open_fds));
            let warned = share(process) >= crate::analysis::machine::FD_WARNING_SHARE;
            ui.label(if warned { text.color(warning_colour(ui.visuals().dark_mode)) } else { text });
            ui.label(RichText::new(&process.command).weak());
            ui.end_row();
        }
    });
}

fn share(process: &host::Process) -> f64 {
    process.fd_limit.filter(|&l| l > 0).map_or(0.0, |limit| f64::from(process.open_fds) / limit as f64)
}

fn process_name(snapshot: &Snapshot, pid: Option<u32>) -> String {
    match pid.and_then(|pid| snapshot.processes.get(&pid)) {
        Some(process) => format!("{} ({})", process.name, process.pid),
        None => "-".to_string(),
    }
}

/// The socket list, filtered by free text; returns the capture's connection a row asked for.
/// The filter's result is kept for the look and the text it was found for.
fn sockets_ui(
    ui: &mut Ui,
    snapshot: &Snapshot,
    (filter, cache, look): (&mut String, &mut Option<Shown>, f64),
    rows: &[ConnRow],
) -> Option<u32> {
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new("Every socket").strong());
        ui.add(egui::TextEdit::singleline(filter).hint_text("filter: CLOSE_WAIT, 8080, python3…").desired_width(240.0));
    });
    let fresh = cache.as_ref().is_some_and(|(at, text, _)| *at == look && text == filter);
    if !fresh {
        let needle = filter.trim().to_ascii_lowercase();
        let indices = (0..snapshot.sockets.len())
            .filter(|&i| {
                needle.is_empty()
                    || snapshot.sockets.get(i).is_some_and(|s| line(snapshot, s).to_ascii_lowercase().contains(&needle))
            })
            .collect();
        *cache = Some((look, filter.clone(), indices));
    }
    let shown: Vec<&Socket> =
        cache.iter().flat_map(|(.., indices)| indices.iter().filter_map(|&i| snapshot.sockets.get(i))).collect();
    ui.label(RichText::new(format!("{} of {} sockets", shown.len(), snapshot.sockets.len())).weak());
    let mut asked = None;
    egui::ScrollArea::vertical().id_salt("machine sockets").max_height(320.0).show_rows(
        ui,
        ROW_HEIGHT,
        shown.len(),
        |ui, range| {
            for socket in shown.get(range).unwrap_or_default() {
                ui.horizontal(|ui| {
                    ui.monospace(line(snapshot, socket));
                    if let Some(id) = connection_of(rows, socket) {
                        if ui.small_button(format!("ladder of connection {id}")).clicked() {
                            asked = Some(id);
                        }
                    }
                });
            }
        },
    );
    asked
}

fn line(snapshot: &Snapshot, socket: &Socket) -> String {
    let timer = socket.timer.map_or_else(String::new, |t| t.describe());
    format!(
        "{:<12} {:>6} {:>6}  {:<22} {:<22} {:<20} {timer}",
        socket.state.name(),
        socket.recv_q,
        socket.send_q,
        host::endpoint(&socket.local),
        host::endpoint(&socket.peer),
        process_name(snapshot, socket.pid)
    )
}

/// The open capture's connection between this socket's two ends, either way round.
fn connection_of(rows: &[ConnRow], socket: &Socket) -> Option<u32> {
    let ends = [socket.local, socket.peer];
    rows.iter()
        .find(|row| {
            let (Ok(client), Ok(server)) = (row.client.parse(), row.server.parse()) else { return false };
            ends == [client, server] || ends == [server, client]
        })
        .map(|row| row.id)
}
