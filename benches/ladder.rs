//! One frame of the ladder of a 100,000-segment connection: layout lookup, painting the rows in
//! view and tessellating them into triangles, as the app does each frame, without a GPU.

// Tests and benchmarks fail by panicking: the library's no-panic lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use etherparse::PacketBuilder;

use std::collections::BTreeSet;
use tcpladder::wire::LinkType;

use tcpladder::ladder::{LadderLayout, LayoutOptions, RowKind};
use tcpladder::session::document::Document;
use tcpladder::session::loader::Loaded;
use tcpladder::summary::ConnRow;
use tcpladder::ui::charts::{charts_ui, ChartsState};
use tcpladder::ui::ladder_view::{ladder_ui, LadderViewState};
use tcpladder::{Engine, EngineConfig};

const SEGMENTS: u32 = 100_000;

fn frame(to_server: bool, syn: bool, ack: bool, seq: u32, ack_number: u32, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if to_server { (40_000, 80) } else { (80, 40_000) };
    let mut tcp = PacketBuilder::ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).tcp(src, dst, seq, 512);
    if syn {
        tcp = tcp.syn();
    }
    if ack {
        tcp = tcp.ack(ack_number);
    }
    let mut out = Vec::new();
    let _ = tcp.write(&mut out, payload);
    out
}

/// A document holding one connection: handshake, 100,000 data segments, no close.
fn document() -> Document {
    document_of(SEGMENTS)
}

/// A document holding one connection of `segments` data segments after the handshake.
fn document_of(segments: u32) -> Document {
    let mut engine = Engine::new(LinkType::RawIp, EngineConfig::default());
    engine.ingest(0, &frame(true, true, false, 0, 0, &[]));
    engine.ingest(1, &frame(false, true, true, 0, 1, &[]));
    engine.ingest(2, &frame(true, false, true, 1, 1, &[]));
    let payload = [7u8; 100];
    for i in 0..segments {
        engine.ingest(3 + i64::from(i), &frame(true, false, true, 1 + i * 100, 1, &payload));
    }
    let end = engine.capture_end_nanos();
    let rows = engine.connections().iter().map(|c| ConnRow::new(c, None, end)).collect();
    let first_notes = Default::default();
    Document::new(Loaded {
        path: "bench".into(),
        engine,
        rows,
        damage: None,
        cancelled: false,
        first_layout: None,
        first_notes,
    })
}

fn input() -> egui::RawInput {
    egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1200.0, 900.0))),
        ..Default::default()
    }
}

fn bench(c: &mut Criterion) {
    let ctx = egui::Context::default();
    let mut group = c.benchmark_group("ladder_frame");
    for (name, expanded) in [("folded", false), ("expanded_middle", true)] {
        let mut document = document();
        if expanded {
            // Unfold the run and scroll to its middle: 100,003 rows, ~25 in view.
            let fold = document.layout().and_then(|layout| {
                layout.rows.iter().find_map(|row| match row.kind {
                    RowKind::Folded(run) => Some(run.first),
                    _ => None,
                })
            });
            document.expanded.extend(fold);
        }
        let mut view = LadderViewState { scroll_to_segment: Some(50_000), ..Default::default() };
        // Settle the scroll position before measuring, and check the frame draws a screenful.
        let mut shapes = 0;
        for _ in 0..3 {
            let output = ctx.run_ui(input(), |ui| {
                ladder_ui(ui, &mut document, &mut view);
            });
            shapes = output.shapes.len();
        }
        let visible_segments = if expanded { 20 } else { 9 };
        assert!(shapes > visible_segments * 3, "{name}: only {shapes} shapes painted");
        eprintln!("{name}: {shapes} shapes per frame");
        group.bench_function(name, |b| {
            b.iter(|| {
                let output = ctx.run_ui(input(), |ui| {
                    ladder_ui(ui, &mut document, &mut view);
                });
                black_box(ctx.tessellate(output.shapes, output.pixels_per_point))
            });
        });
    }
    let document = document();
    let Some(connection) = document.connection() else { panic!("no connection") };
    let fold = LadderLayout::new(connection, &BTreeSet::new(), &[], &LayoutOptions::default())
        .rows
        .iter()
        .find_map(|row| match row.kind {
            RowKind::Folded(run) => Some(run.first),
            _ => None,
        })
        .into_iter()
        .collect::<BTreeSet<usize>>();
    // Done once when a connection is selected or a run is expanded, not every frame.
    group.bench_function("layout_100k_expanded", |b| {
        b.iter(|| black_box(LadderLayout::new(connection, &fold, &[], &LayoutOptions::default()).rows.len()));
    });
    group.finish();
}

/// One frame of the time-sequence chart of a 1,000,000-segment connection (the series are computed
/// once and cached; each frame decimates them to the pixels in view and draws).
fn chart(c: &mut Criterion) {
    let ctx = egui::Context::default();
    let document = document_of(1_000_000);
    let mut state = ChartsState::default();
    let mut frame = || {
        let output = ctx.run_ui(input(), |ui| {
            let _ = charts_ui(ui, &document, &mut state, None);
        });
        ctx.tessellate(output.shapes, output.pixels_per_point)
    };
    // The first frame computes and caches the series.
    let _ = frame();
    let mut group = c.benchmark_group("chart_frame");
    group.sample_size(20);
    group.bench_function("time_sequence_1m_segments", |b| b.iter(|| black_box(frame().len())));
    group.finish();
}

criterion_group!(benches, bench, chart);
criterion_main!(benches);
