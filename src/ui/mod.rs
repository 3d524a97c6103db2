//! The desktop app (egui/eframe). The only module that knows egui; it reads the engine's model.

pub mod action;
pub mod app;
mod apply;
pub mod charts;
pub mod conn_table;
pub mod conversation_pane;
pub mod details;
mod docked;
mod docked_header;
pub mod export_kind;
mod exports;
pub mod frame_log;
mod ladder_paint;
pub mod ladder_view;
pub mod lesson_panel;
pub mod live_panel;
pub mod machine_view;
mod menus;
mod open_files;
mod panels;
pub mod predict_panel;
mod prose;
pub mod requests_panel;
pub mod several_view;
mod sizes;
pub mod theme;
pub mod two_views_view;

use std::path::PathBuf;

use crate::capture::live::LiveOptions;

pub use app::TcpLadderApp;

/// What the window shows first.
pub enum Start {
    /// This capture, or the bundled sample; files are read under this limit (MB) when given.
    File { file: Option<PathBuf>, memory_limit_mb: Option<u64> },
    /// A live capture, started at once.
    Live { options: LiveOptions, memory_limit_mb: u64 },
    /// Two captures of the same traffic, one from each end.
    BothEnds { a: PathBuf, b: PathBuf },
}

/// Opens the main window; blocks until it is closed.
pub fn run(start: Start) -> eframe::Result {
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("tcpladder")
        .with_app_id("tcpladder")
        .with_inner_size([1600.0, 960.0])
        .with_min_inner_size([800.0, 500.0])
        .with_drag_and_drop(true);
    if let Ok(icon) = eframe::icon_data::from_png_bytes(include_bytes!("../../assets/icon.png")) {
        viewport = viewport.with_icon(icon);
    }
    // OpenGL by default: where there is no GPU (a VM, a remote desktop, Xvfb) Mesa's software
    // OpenGL draws a frame several times cheaper than its software Vulkan, which under a packet
    // flood was the difference between 3 and 17 frames a second.
    let renderer = match std::env::var("TCPLADDER_RENDERER").as_deref() {
        Ok("wgpu") => eframe::Renderer::Wgpu,
        _ => eframe::Renderer::Glow,
    };
    let options = eframe::NativeOptions { viewport, renderer, ..Default::default() };
    eframe::run_native(
        "tcpladder",
        options,
        Box::new(move |cc| {
            let app = match start {
                Start::File { file, memory_limit_mb } => TcpLadderApp::with_memory_limit(
                    &cc.egui_ctx,
                    cc.storage,
                    file,
                    memory_limit_mb.map(|mb| mb.saturating_mul(1 << 20)),
                ),
                Start::BothEnds { a, b } => {
                    let mut app = TcpLadderApp::new(&cc.egui_ctx, cc.storage, Some(a));
                    app.second_capture = Some(b);
                    app
                }
                Start::Live { options, memory_limit_mb } => {
                    let mut app = TcpLadderApp::new(&cc.egui_ctx, cc.storage, None);
                    app.live.memory_limit_mb = memory_limit_mb;
                    // The capture window shows the counters: packets, kernel drops, evictions.
                    app.live.show_window();
                    app.live.start_with(&cc.egui_ctx, options);
                    app
                }
            };
            Ok(Box::new(app))
        }),
    )
}
