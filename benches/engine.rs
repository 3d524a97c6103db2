//! Throughput of the engine: decoding frames and tracking connections, on a synthetic loopback
//! conversation built in memory (1,000 connections of 100 segments with Linux's options).

// Tests and benchmarks fail by panicking: the library's no-panic lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{PacketBuilder, TcpOptionElement};

use tcpladder::decode::decode_frame;
use tcpladder::wire::LinkType;
use tcpladder::{Engine, EngineConfig};

const CONNECTIONS: u16 = 1_000;
const EXCHANGES: u32 = 46;

fn frame(client_port: u16, to_server: bool, flags: &str, seq: u32, ack: u32, payload: &[u8]) -> Vec<u8> {
    let (src, dst) = if to_server { (client_port, 8080) } else { (8080, client_port) };
    let mut tcp =
        PacketBuilder::ethernet2([0; 6], [0; 6]).ipv4([127, 0, 0, 1], [127, 0, 0, 1], 64).tcp(src, dst, seq, 512);
    for flag in flags.chars() {
        tcp = match flag {
            'S' => tcp.syn(),
            'F' => tcp.fin(),
            'P' => tcp.psh(),
            '.' => tcp.ack(ack),
            _ => tcp,
        };
    }
    let options = [TcpOptionElement::Noop, TcpOptionElement::Noop, TcpOptionElement::Timestamp(seq, ack)];
    let Ok(tcp) = tcp.options(&options) else { return Vec::new() };
    let mut out = Vec::with_capacity(128 + payload.len());
    let _ = tcp.write(&mut out, payload);
    out
}

/// A capture's worth of frames: handshake, request/response exchanges, client-first close.
fn conversation() -> Vec<Vec<u8>> {
    let request = [b'q'; 64];
    let response = [b'r'; 200];
    let mut frames = Vec::new();
    for c in 0..CONNECTIONS {
        let port = 20_000 + c;
        let (mut cs, mut ss) = (1_000u32, 5_000u32);
        frames.push(frame(port, true, "S", cs, 0, &[]));
        frames.push(frame(port, false, "S.", ss, cs + 1, &[]));
        cs += 1;
        ss += 1;
        frames.push(frame(port, true, ".", cs, ss, &[]));
        for _ in 0..EXCHANGES {
            frames.push(frame(port, true, "P.", cs, ss, &request));
            cs += 64;
            frames.push(frame(port, false, "P.", ss, cs, &response));
            ss += 200;
        }
        frames.push(frame(port, true, "F.", cs, ss, &[]));
        frames.push(frame(port, false, "F.", ss, cs + 1, &[]));
        frames.push(frame(port, true, ".", cs + 1, ss + 1, &[]));
    }
    frames
}

fn bench(c: &mut Criterion) {
    let frames = conversation();
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.sample_size(20);
    group.bench_function("decode_100k_frames", |b| {
        b.iter(|| {
            for frame in &frames {
                let _ = black_box(decode_frame(LinkType::Ethernet, black_box(frame)));
            }
        });
    });
    group.bench_function("ingest_100k_frames", |b| {
        b.iter(|| {
            let mut engine = Engine::new(LinkType::Ethernet, EngineConfig::default());
            for (i, frame) in frames.iter().enumerate() {
                engine.ingest(i as i64 * 1_000, frame);
            }
            black_box(engine.connections().len())
        });
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
