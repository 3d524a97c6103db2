//! The live-capture window: pick an interface (loopback first), type a BPF filter (checked as you
//! type), start, stop, clear; counters and rate; the exact remedy when capturing is not allowed.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use egui::{RichText, Ui};

use crate::capture::live::{check_filter, counters_count_twice, list_interfaces, Interface, LiveError, LiveOptions};
use crate::capture::worker::{spawn_capture, CaptureStop};
use crate::wire::LinkType;

use crate::session::document::Document;
use crate::session::live_model::LiveModel;

/// A running capture: the switch that stops it and the thread that analyses it.
struct Running {
    stop: CaptureStop,
    model: Arc<LiveModel>,
    /// Its document was handed to the window.
    shown: bool,
}

/// The capture window's state.
pub struct LivePanel {
    pub open: bool,
    interfaces: Result<Vec<Interface>, String>,
    selected: usize,
    pub filter: String,
    filter_error: Option<String>,
    checked_filter: Option<String>,
    snaplen: i32,
    promisc: bool,
    pub save_path: String,
    capture: Option<Running>,
    pub error: Option<String>,
    received: u32,
    dropped: u32,
    packets: u64,
    started: Option<Instant>,
    /// Keep the newest segment of the selected connection in view.
    pub follow: bool,
    /// Above this many MB held, the oldest connections are dropped.
    pub memory_limit_mb: u64,
    /// The interface of the running (or last) capture.
    device: String,
    /// How long this frame waited for the analysis to pause.
    pub waited: std::time::Duration,
}

impl Default for LivePanel {
    fn default() -> Self {
        Self {
            open: false,
            interfaces: Ok(Vec::new()),
            selected: 0,
            filter: String::new(),
            filter_error: None,
            checked_filter: None,
            snaplen: crate::capture::live::DEFAULT_SNAPLEN,
            promisc: false,
            save_path: String::new(),
            capture: None,
            error: None,
            received: 0,
            dropped: 0,
            packets: 0,
            started: None,
            follow: true,
            memory_limit_mb: crate::engine::DEFAULT_LIVE_MEMORY_LIMIT_MB,
            device: LiveOptions::loopback().device,
            waited: std::time::Duration::ZERO,
        }
    }
}

/// What the panel asks the app to do.
pub enum LiveAction {
    None,
    /// A capture started: show this new, empty document.
    Started(Box<Document>),
}

impl LivePanel {
    /// Opens the window and lists the interfaces.
    pub fn show_window(&mut self) {
        self.open = true;
        self.interfaces = list_interfaces().map_err(|err| err.to_string());
        self.selected = 0;
    }

    /// True while capturing.
    pub fn running(&self) -> bool {
        self.capture.is_some()
    }

    /// Starts capturing with the current settings.
    pub fn start(&mut self, ctx: &egui::Context) {
        let device = match &self.interfaces {
            Ok(list) => list.get(self.selected).map_or_else(|| LiveOptions::loopback().device, |i| i.name.clone()),
            Err(_) => LiveOptions::loopback().device,
        };
        let filter = Some(self.filter.trim().to_string()).filter(|f| !f.is_empty());
        let save = Some(PathBuf::from(self.save_path.trim())).filter(|p| !p.as_os_str().is_empty());
        let options = LiveOptions { device, filter, snaplen: self.snaplen, promisc: self.promisc, save };
        self.start_with(ctx, options);
    }

    /// Starts capturing with these options (a lesson's: loopback and its port).
    pub fn start_with(&mut self, ctx: &egui::Context, options: LiveOptions) {
        if let Some(filter) = &options.filter {
            self.filter.clone_from(filter);
        }
        self.device.clone_from(&options.device);
        // The panel shows what this capture runs with (`tcpladder watch` sets them).
        self.snaplen = options.snaplen;
        self.save_path = options.save.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        self.abandon();
        // The capture thread wakes the analysis through the channel; the analysis wakes the window.
        let (events, stop) = spawn_capture(options, || {}).into_parts();
        let waker = ctx.clone();
        let limit = self.memory_limit_mb.saturating_mul(1 << 20);
        let model = LiveModel::spawn(events, self.label(), limit, move |after| waker.request_repaint_after(after));
        self.capture = Some(Running { stop, model, shown: false });
        self.error = None;
        self.packets = 0;
        self.started = Some(Instant::now());
    }

    /// Asks the capture to stop.
    pub fn stop(&self) {
        if let Some(capture) = &self.capture {
            capture.stop.stop();
        }
    }

    /// Stops the capture and its analysis at once, without waiting for its last rows.
    fn abandon(&mut self) {
        if let Some(capture) = self.capture.take() {
            capture.stop.stop();
            capture.model.close();
        }
    }

    /// At the start of a frame: takes the live document back from the analysis into `document`,
    /// with the counters; a new capture's document comes as [`LiveAction::Started`].
    pub fn poll(&mut self, document: &mut Option<Document>) -> LiveAction {
        self.waited = std::time::Duration::ZERO;
        let Some(capture) = &mut self.capture else { return LiveAction::None };
        let returned = capture.model.take_back();
        self.waited = returned.waited;
        self.received = returned.received;
        self.dropped = returned.dropped;
        self.packets = returned.packets;
        let mut action = LiveAction::None;
        match returned.document {
            Some(new) if returned.fresh => {
                capture.shown = true;
                action = LiveAction::Started(Box::new(new));
            }
            Some(lent) => *document = Some(lent),
            None => {}
        }
        if let Some(end) = returned.stopped {
            self.error = end.error_text();
            self.capture = None;
        }
        action
    }

    /// At the end of a frame: lends the live document to the analysis until the next one. When
    /// the window shows another document instead, the capture stops.
    pub fn lend(&mut self, document: &mut Option<Document>) {
        let Some(capture) = &self.capture else { return };
        if document.as_ref().is_some_and(|d| d.capture_id == Some(capture.model.id)) {
            if let Some(live) = document.take() {
                capture.model.lend(live);
            }
        } else if capture.shown {
            self.abandon();
        }
    }

    /// Reads the live document where it is between frames (tests and tools look at it then).
    pub fn with_lent<R>(&self, read: impl FnOnce(Option<&Document>) -> R) -> R {
        match &self.capture {
            Some(capture) => capture.model.with_lent(read),
            None => read(None),
        }
    }

    fn label(&self) -> String {
        format!("live capture on {}", self.device)
    }

    /// The panel, docked above the connection table so it hides neither the table nor the
    /// ladder; returns true when the user asked to clear the captured connections.
    pub fn docked_ui(&mut self, ui: &mut Ui, document: Option<&Document>) -> bool {
        let mut clear = false;
        if super::docked_header::docked_header_ui(ui, "Live capture") {
            self.open = false;
        }
        clear |= self.contents_ui(ui, document);
        clear
    }

    fn contents_ui(&mut self, ui: &mut Ui, document: Option<&Document>) -> bool {
        let running = self.running();
        ui.add_enabled_ui(!running, |ui| {
            self.interface_ui(ui);
            self.filter_ui(ui);
            ui.horizontal(|ui| {
                ui.label("snaplen");
                ui.add(egui::DragValue::new(&mut self.snaplen).range(64..=crate::capture::live::DEFAULT_SNAPLEN));
                ui.checkbox(&mut self.promisc, "promiscuous").on_hover_text("also needs cap_net_admin");
            });
            ui.horizontal(|ui| {
                ui.label("memory limit");
                ui.add(egui::DragValue::new(&mut self.memory_limit_mb).range(16..=65_536).suffix(" MB"))
                    .on_hover_text("above it, the oldest connections are dropped (the save file keeps everything)");
            });
            ui.horizontal(|ui| {
                ui.label("save to");
                ui.add(
                    egui::TextEdit::singleline(&mut self.save_path)
                        .hint_text("optional: a .pcap path")
                        .desired_width(240.0),
                );
            });
        });
        let mut clear = false;
        ui.horizontal(|ui| {
            if ui.add_enabled(!running && self.filter_error.is_none(), egui::Button::new("Start")).clicked() {
                self.start(ui.ctx());
            }
            if ui.add_enabled(running, egui::Button::new("Stop")).clicked() {
                self.stop();
            }
            clear = ui.add_enabled(!running, egui::Button::new("Clear")).clicked();
            ui.checkbox(&mut self.follow, "follow newest");
        });
        let elapsed = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64()).max(1e-3);
        ui.label(format!(
            "{} packets · {} received by the filter · {} dropped by the kernel · {:.0} packets/s",
            self.packets,
            self.received,
            self.dropped,
            if running { self.packets as f64 / elapsed } else { 0.0 }
        ));
        if counters_count_twice(&self.device) {
            ui.label(
                RichText::new(
                    "On loopback the kernel counts each packet twice, sent and received (libpcap keeps one): \
                     halve both counters to compare them with the packets.",
                )
                .weak(),
            );
        }
        if let Some(engine) = document.map(|d| &d.engine) {
            let held = engine.held_bytes();
            let held = if held < 1 << 20 {
                format!("{:.0} kB", held as f64 / 1024.0)
            } else {
                format!("{:.1} MB", held as f64 / f64::from(1u32 << 20))
            };
            ui.label(format!("holding {held} of {} MB", self.memory_limit_mb));
            let stats = engine.stats();
            if stats.evicted_connections > 0 {
                let note = format!(
                    "The {} oldest connections ({} segments) were dropped to stay under the limit{}.",
                    stats.evicted_connections,
                    stats.evicted_segments,
                    if self.save_path.trim().is_empty() { "" } else { "; the save file has every packet" }
                );
                ui.label(RichText::new(note).color(ui.visuals().warn_fg_color));
            }
        }
        if let Some(error) = &self.error {
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            if let Some(command) = quoted_command(error) {
                ui.horizontal(|ui| {
                    ui.code(command);
                    if ui.button("Copy").clicked() {
                        ui.ctx().copy_text(command.to_string());
                    }
                });
            }
        }
        clear
    }

    fn interface_ui(&mut self, ui: &mut Ui) {
        match &self.interfaces {
            Err(error) => {
                ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            }
            Ok(list) => {
                let describe = |i: &Interface| {
                    let state = if i.up { "up" } else { "down" };
                    let kind = if i.loopback { ", loopback" } else { "" };
                    let addresses =
                        if i.addresses.is_empty() { String::new() } else { format!(" · {}", i.addresses.join(", ")) };
                    let description = i.description.as_deref().map_or(String::new(), |d| format!(" · {d}"));
                    format!("{} ({state}{kind}){addresses}{description}", i.name)
                };
                let current = list.get(self.selected).map_or_else(|| "no interface".to_string(), describe);
                egui::ComboBox::from_label("interface").selected_text(current).width(340.0).show_ui(ui, |ui| {
                    for (index, interface) in list.iter().enumerate() {
                        ui.selectable_value(&mut self.selected, index, describe(interface));
                    }
                });
            }
        }
    }

    fn filter_ui(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label("filter");
            ui.add(
                egui::TextEdit::singleline(&mut self.filter).hint_text("BPF, e.g. tcp port 8080").desired_width(260.0),
            );
        });
        if self.checked_filter.as_deref() != Some(self.filter.as_str()) {
            let filter = self.filter.trim();
            // Loopback on Linux and most interfaces are Ethernet; the device re-checks on start.
            // Beside the filter box, libpcap's own words are enough: the box shows which filter.
            self.filter_error = match check_filter(filter, LinkType::Ethernet) {
                _ if filter.is_empty() => None,
                Ok(()) => None,
                Err(LiveError::Filter { message, .. }) => Some(message),
                Err(other) => Some(other.to_string()),
            };
            self.checked_filter = Some(self.filter.clone());
        }
        match &self.filter_error {
            Some(error) => ui.label(RichText::new(error).color(ui.visuals().error_fg_color)),
            None if !self.filter.trim().is_empty() => ui.label(RichText::new("filter OK").weak()),
            None => ui.label(RichText::new("no filter: every packet").weak()),
        };
    }
}

/// The first `command` quoted in backticks in a message, for a Copy button.
fn quoted_command(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let length = message.get(start..)?.find('`')?;
    message.get(start..start + length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remedy_command_is_found_for_copying() {
        let message = "no permission to capture on lo (x). Run `sudo setcap cap_net_raw=eip /usr/bin/tcpladder` once";
        assert_eq!(quoted_command(message), Some("sudo setcap cap_net_raw=eip /usr/bin/tcpladder"));
        assert_eq!(quoted_command("nothing quoted"), None);
    }
}
