//! One frame of the several-connection ladder at 2,000 connections and 100,000 segments (2,001
//! lanes: 2,000 clients of one server port, fan-in), scrolled to the middle: what the window
//! paints and tessellates each frame, without a GPU. The layout is computed once, when chosen.

// Tests and benchmarks fail by panicking: the library's no-panic lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use etherparse::PacketBuilder;

use tcpladder::session::several::{Choice, Several};
use tcpladder::summary::ConnRow;
use tcpladder::ui::ladder_view::LadderViewState;
use tcpladder::ui::several_view::several_ui;
use tcpladder::wire::LinkType;
use tcpladder::{Engine, EngineConfig};

const CONNECTIONS: u32 = 2_000;
/// Segments per connection: a handshake, 44 data segments and their ACKs' worth, a close.
const PER_CONNECTION: u32 = 50;

fn frame(client_port: u16, to_server: bool, flags: &str, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if to_server { (client_port, 80) } else { (80, client_port) };
    let mut tcp = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).tcp(src, dst, seq, 512);
    for flag in flags.chars() {
        tcp = match flag {
            'S' => tcp.syn(),
            'F' => tcp.fin(),
            'A' => tcp.ack(ack),
            _ => tcp,
        };
    }
    let mut out = Vec::new();
    let _ = tcp.write(&mut out, payload);
    out
}

/// 2,000 connections to port 80, interleaved in time as a busy server sees them.
fn engine() -> Engine {
    let mut engine = Engine::new(LinkType::RawIp, EngineConfig::default());
    let payload = [7u8; 100];
    let mut ts = 0i64;
    for step in 0..PER_CONNECTION {
        for conn in 0..CONNECTIONS {
            let port = 10_000 + u16::try_from(conn).unwrap();
            ts += 1_000;
            let bytes = match step {
                0 => frame(port, true, "S", 0, 0, &[]),
                1 => frame(port, false, "SA", 0, 1, &[]),
                2 => frame(port, true, "A", 1, 1, &[]),
                s if s == PER_CONNECTION - 1 => frame(port, true, "FA", 1 + (s - 3) * 100, 1, &[]),
                s => frame(port, true, "A", 1 + (s - 3) * 100, 1, &payload),
            };
            engine.ingest(ts, &bytes);
        }
    }
    engine
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1200.0, 900.0))),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let engine = engine();
    let end = engine.capture_end_nanos();
    let rows: Vec<ConnRow> = engine.connections().iter().map(|c| ConnRow::new(c, None, end)).collect();
    let all: Vec<u32> = rows.iter().map(|r| r.id).collect();
    let mut group = c.benchmark_group("several_frame");
    group.bench_function("layout_2000_connections_100k_segments", |b| {
        b.iter(|| {
            black_box(Several::choose(&engine, &rows, &Choice::Filtered(all.clone())).map(|s| s.layout.rows.len()))
        });
    });
    let several = Several::choose(&engine, &rows, &Choice::Filtered(all)).expect("a layout");
    assert_eq!(several.layout.lanes.len(), CONNECTIONS as usize + 1);
    let segments: usize = engine.connections().iter().map(|c| c.segments.len()).sum();
    assert_eq!(segments, (CONNECTIONS * PER_CONNECTION) as usize);
    let ctx = egui::Context::default();
    // Select the middle segment of the middle connection: the view scrolls there and stays.
    let middle = (CONNECTIONS / 2, PER_CONNECTION as usize / 2);
    let mut view = LadderViewState { scroll_to_segment: Some(middle.1), ..Default::default() };
    let mut shapes = 0;
    for _ in 0..3 {
        let output = ctx.run_ui(input(), |ui| {
            let _ = several_ui(ui, &engine, &several, &mut view, Some(middle));
        });
        shapes = output.shapes.len();
    }
    assert!(shapes > 40, "only {shapes} shapes painted");
    eprintln!("several: {shapes} shapes per frame");
    group.bench_function("frame_2000_connections_100k_segments", |b| {
        b.iter(|| {
            let output = ctx.run_ui(input(), |ui| {
                let _ = several_ui(ui, &engine, &several, &mut view, Some(middle));
            });
            black_box(ctx.tessellate(output.shapes, output.pixels_per_point))
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
