//! Opening captures from the window: the file dialogs (one capture, or two of the same traffic)
//! and files dropped onto the window.

use std::path::PathBuf;
use std::time::Instant;

use super::app::{TcpLadderApp, NO_DIALOG_WITHIN};

impl TcpLadderApp {
    pub(super) fn open_dialog(&mut self, ctx: &egui::Context) {
        let asked = Instant::now();
        let picked = rfd::FileDialog::new()
            .set_title("Open a capture")
            .add_filter("Captures (pcap, pcapng)", &["pcap", "pcapng", "cap", "dmp"])
            .add_filter("All files", &["*"])
            .pick_file();
        match picked {
            Some(path) => self.open(ctx, &path),
            None if asked.elapsed() < NO_DIALOG_WITHIN => {
                self.notice = Some(
                    "No file dialog appeared: this system has neither the XDG desktop portal nor zenity \
                     (install xdg-desktop-portal-gtk or zenity). Drag a capture onto the window, or type its \
                     path in the box at the top."
                        .into(),
                );
            }
            None => {}
        }
    }

    /// Asks for two captures of the same traffic (one from each end) and opens them together.
    pub(super) fn open_two_dialog(&mut self, ctx: &egui::Context) {
        let picked = rfd::FileDialog::new()
            .set_title("Open two captures of the same traffic: the client's end and the server's")
            .add_filter("Captures (pcap, pcapng)", &["pcap", "pcapng", "cap", "dmp"])
            .pick_files();
        match picked.as_deref() {
            Some([a, b]) => self.open_two(ctx, a, b),
            Some(other) => {
                self.error = Some(format!("Choose two captures (one from each end), not {}.", other.len()));
            }
            None => {}
        }
    }

    pub(super) fn handle_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped: Vec<PathBuf> = ctx.input(|i| i.raw.dropped_files.iter().map(|f| f.path().to_path_buf()).collect());
        match dropped.as_slice() {
            // Two captures dropped together: the same traffic from both ends.
            [a, b] => self.open_two(ctx, a, b),
            [path, ..] => self.open(ctx, path),
            [] => {}
        }
    }
}
