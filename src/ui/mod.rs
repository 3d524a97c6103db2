//! The desktop app (egui/eframe). The only module that knows egui; it reads the engine's model.

pub mod app;
pub mod charts;
pub mod conn_table;
pub mod details;
pub mod document;
pub mod ladder_view;
pub mod lesson_panel;
pub mod live_panel;
pub mod theme;

use std::path::PathBuf;

pub use app::TcpLadderApp;

/// Opens the main window; blocks until it is closed.
pub fn run(file: Option<PathBuf>) -> eframe::Result {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("tcpladder")
        .with_app_id("tcpladder")
        .with_inner_size([1600.0, 960.0])
        .with_min_inner_size([800.0, 500.0])
        .with_drag_and_drop(true);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(icon);
    }
    let options = eframe::NativeOptions { viewport, ..Default::default() };
    eframe::run_native(
        "tcpladder",
        options,
        Box::new(move |cc| Ok(Box::new(TcpLadderApp::new(&cc.egui_ctx, cc.storage, file)))),
    )
}
