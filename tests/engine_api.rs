//! The engine as the app will use it: fed from a file with progress, cancellable, and asked for
//! its model while it reads.

use std::ops::ControlFlow;

use tcpladder::protocols::Conversation;
use tcpladder::session::read_capture;
use tcpladder::EngineConfig;

use crate::util::sample;

#[test]
fn progress_is_reported_and_the_model_grows_while_reading() {
    let mut seen = Vec::new();
    let outcome = read_capture(&sample("keep-alive.pcap"), EngineConfig::default(), 2, |progress, engine| {
        seen.push((progress.packets, progress.bytes_read, engine.stats().packets, engine.connections().len()));
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(!outcome.cancelled && outcome.damage.is_none());
    let total = outcome.engine.stats().packets;
    assert!(seen.len() as u64 >= total / 2, "a report every two packets: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0].1 <= w[1].1), "bytes read only grow: {seen:?}");
    assert!(seen.iter().all(|&(read, _, fed, _)| read == fed), "the model holds what was read");
    let last = seen.last().copied().unwrap_or_default();
    assert_eq!(last.0, total);
    assert_eq!(last.1, std::fs::metadata(sample("keep-alive.pcap")).map(|m| m.len()).unwrap_or(0));
}

#[test]
fn reading_can_be_cancelled_and_keeps_what_it_read() {
    let outcome = read_capture(&sample("zero-window.pcap"), EngineConfig::default(), 1, |progress, _| {
        if progress.packets >= 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })
    .unwrap_or_else(|err| panic!("{err}"));
    assert!(outcome.cancelled);
    assert_eq!(outcome.engine.stats().packets, 3);
    assert_eq!(outcome.engine.connections().front().map(|c| c.segments.len()), Some(3));
}

#[test]
fn time_wait_length_is_configurable() {
    let server_final_state = |time_wait_nanos| {
        let config = EngineConfig { time_wait_nanos, ..Default::default() };
        let outcome =
            read_capture(&sample("server-close-first.pcap"), config, 1 << 20, |_, _| ControlFlow::Continue(()))
                .unwrap_or_else(|err| panic!("{err}"));
        let engine = outcome.engine;
        let end = engine.capture_end_nanos();
        engine.connections().front().map(|c| c.states_at(end).server.name()).unwrap_or_default()
    };
    // The server closed first; its TIME_WAIT outlasts the capture only when it is long enough.
    assert_eq!(server_final_state(60_000_000_000), "TIME_WAIT");
    assert_eq!(server_final_state(1_000), "CLOSED");
}

/// Raw-IP frames of `connections` connections, 10 data segments each, one after another.
fn stream(connections: u16) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for c in 0..connections {
        for i in 0..10u32 {
            let builder = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(10_000 + c, 80, 1 + i * 100, 1000)
                .ack(1);
            let mut frame = Vec::new();
            let _ = builder.write(&mut frame, &[0u8; 100]);
            frames.push(frame);
        }
    }
    frames
}

#[test]
fn a_memory_limit_drops_the_oldest_connections_and_keeps_the_newest_whole() {
    let limit = 4 << 20;
    let config = EngineConfig { memory_limit_bytes: Some(limit), ..Default::default() };
    let mut engine = tcpladder::Engine::new(tcpladder::wire::LinkType::RawIp, config);
    let mut peak = 0;
    for (i, frame) in stream(30_000).iter().enumerate() {
        engine.ingest(i as i64, frame);
        if i % 1000 == 0 {
            peak = peak.max(engine.memory_bytes());
        }
    }
    // Between checks (every 8,192 packets) up to ~820 new connections arrive, ~1.3 kB each with
    // their index slots.
    assert!(peak <= limit + (2 << 20), "held {peak} bytes with a limit of {limit}");
    let stats = engine.stats();
    assert!(stats.evicted_connections > 10_000, "{stats:?}");
    assert_eq!(stats.evicted_segments, stats.evicted_connections * 10);
    let newest = engine.connections().back().unwrap_or_else(|| panic!("nothing held"));
    assert_eq!((newest.id, newest.segments.len()), (29_999, 10));
    assert_eq!(engine.connection(engine.first_connection_id()).map(|c| c.id), Some(engine.first_connection_id()));
    assert!(engine.connection(0).is_none());
}

#[test]
fn a_live_document_drops_the_rows_of_dropped_connections() {
    use tcpladder::capture::worker::FrameBatch;
    let mut document = tcpladder::session::document::Document::live(
        "live capture on lo",
        tcpladder::wire::LinkType::RawIp,
        1 << 20,
        1,
    );
    let mut batch = FrameBatch::default();
    for (i, frame) in stream(5_000).iter().enumerate() {
        let start = batch.bytes.len();
        batch.bytes.extend_from_slice(frame);
        batch.frames.push((i as i64, start..batch.bytes.len()));
        if batch.frames.len() == 4096 {
            document.ingest(&std::mem::take(&mut batch));
            document.refresh_rows();
        }
    }
    document.ingest(&batch);
    document.refresh_rows();
    let first = document.engine.first_connection_id();
    assert!(first > 0, "something was dropped");
    assert_eq!(document.rows.len(), document.engine.connections().len());
    assert_eq!(document.rows.first().map(|r| r.id), Some(first));
    assert!(document.rows.windows(2).all(|w| w[0].id + 1 == w[1].id));
}

/// Frames as the capture thread sends them: in batches.
fn batches(frames: &[Vec<u8>], per_batch: usize) -> Vec<tcpladder::capture::worker::FrameBatch> {
    let mut batches = Vec::new();
    for (n, chunk) in frames.chunks(per_batch).enumerate() {
        let mut batch = tcpladder::capture::worker::FrameBatch::default();
        for (i, frame) in chunk.iter().enumerate() {
            let start = batch.bytes.len();
            batch.bytes.extend_from_slice(frame);
            batch.frames.push(((n * per_batch + i) as i64, start..batch.bytes.len()));
        }
        batches.push(batch);
    }
    batches
}

#[test]
fn the_live_analysis_fills_the_lent_document_and_hands_it_back_at_every_frame() {
    use std::sync::mpsc::sync_channel;
    use std::time::{Duration, Instant};
    use tcpladder::capture::worker::LiveEvent;
    use tcpladder::session::live_model::LiveModel;

    let frames = stream(20_000);
    let (sender, events) = sync_channel(16);
    let model = LiveModel::spawn(events, "live capture on lo".into(), 2 << 20, |_| {});
    let feeder = std::thread::spawn(move || {
        let _ = sender.send(LiveEvent::Started { link: tcpladder::wire::LinkType::RawIp });
        for batch in batches(&frames, 8_192) {
            let _ = sender.send(LiveEvent::Batch { batch, received: 0, dropped: 0 });
        }
        let _ = sender.send(LiveEvent::Stopped(tcpladder::capture::worker::CaptureEnd::Asked));
    });
    // The test plays the window: take the document back, look at it, lend it again.
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut frames_drawn, mut longest_wait, mut seen_growing) = (0, Duration::ZERO, 0u64);
    let document = loop {
        assert!(Instant::now() < deadline, "the analysis did not finish");
        let returned = model.take_back();
        longest_wait = longest_wait.max(returned.waited);
        if let Some(end) = returned.stopped {
            assert_eq!(end.error_text(), None);
            break returned.document;
        }
        if let Some(document) = returned.document {
            frames_drawn += 1;
            seen_growing = seen_growing.max(document.engine.stats().packets);
            model.lend(document);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let _ = feeder.join();
    let document = document.unwrap_or_else(|| panic!("the document came back with Stopped"));
    assert_eq!(document.engine.stats().packets, 200_000, "every frame was analysed");
    assert!(document.engine.stats().evicted_connections > 0, "the 2 MB limit evicted connections");
    assert_eq!(document.rows.len(), document.engine.connections().len(), "one row per connection held");
    assert_eq!(document.rows.first().map(|r| r.id), Some(document.engine.first_connection_id()));
    assert!(frames_drawn > 1 && seen_growing > 0, "the window saw the document while it grew");
    // Not a timing target: a window that waited this long would have been starved.
    assert!(longest_wait < Duration::from_secs(2), "the window waited {longest_wait:?}");
}

#[test]
fn closing_the_live_analysis_lets_go_of_the_capture() {
    use std::sync::mpsc::sync_channel;
    use std::time::{Duration, Instant};
    use tcpladder::capture::worker::LiveEvent;
    use tcpladder::session::live_model::LiveModel;

    let (sender, events) = sync_channel(1);
    let model = LiveModel::spawn(events, "live capture on lo".into(), 1 << 20, |_| {});
    let _ = sender.send(LiveEvent::Started { link: tcpladder::wire::LinkType::RawIp });
    let deadline = Instant::now() + Duration::from_secs(10);
    let document = loop {
        assert!(Instant::now() < deadline, "no document");
        if let Some(document) = model.take_back().document {
            break document;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // The window keeps the document (it opened another capture): the analysis ends, and the
    // capture thread's next send fails, which stops it.
    drop(document);
    model.close();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let quiet = LiveEvent::Batch { batch: Default::default(), received: 0, dropped: 0 };
        if let Err(std::sync::mpsc::TrySendError::Disconnected(_)) = sender.try_send(quiet) {
            break;
        }
        assert!(Instant::now() < deadline, "the analysis still holds the capture's events");
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn conversations_decoded_on_their_own_thread_are_the_ones_decoded_in_place() {
    let read = |path: &std::path::Path, decode_on_thread: bool, keep_all_messages: bool| {
        let config = EngineConfig { decode_on_thread, keep_all_messages, ..EngineConfig::default() };
        read_capture(path, config, 1 << 20, |_, _| ControlFlow::Continue(())).map(|outcome| outcome.engine)
    };
    let mut compared = 0;
    let samples = std::fs::read_dir(sample("")).into_iter().flatten().flatten().map(|entry| entry.path());
    for path in samples.filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng")) {
        for keep_all in [false, true] {
            let (Ok(here), Ok(there)) = (read(&path, false, keep_all), read(&path, true, keep_all)) else { continue };
            for connection in here.connections() {
                let (a, b) = (here.conversation(connection.id), there.conversation(connection.id));
                assert_eq!(
                    a.map(Conversation::messages),
                    b.map(Conversation::messages),
                    "{}: {}",
                    path.display(),
                    connection.id
                );
                assert_eq!(a.map(Conversation::dropped_messages), b.map(Conversation::dropped_messages));
                assert_eq!(
                    a.map(|c| c.hole_bytes(tcpladder::wire::Side::Server)),
                    b.map(|c| c.hole_bytes(tcpladder::wire::Side::Server))
                );
                compared += a.map_or(0, |c| c.messages().len());
            }
        }
    }
    assert!(compared > 300, "only {compared} messages compared");
}

#[test]
fn rows_made_one_at_a_time_are_the_rows_made_all_at_once() {
    let (mut compared, mut counted, mut linked) = (0, 0, 0);
    let samples = std::fs::read_dir(sample("")).into_iter().flatten().flatten().map(|entry| entry.path());
    for path in samples.filter(|p| p.extension().is_some_and(|e| e == "pcap" || e == "pcapng")) {
        let Ok(outcome) = read_capture(&path, EngineConfig::default(), 1 << 20, |_, _| ControlFlow::Continue(()))
        else {
            continue;
        };
        let engine = &outcome.engine;
        let end = engine.capture_end_nanos();
        let mut all: Vec<tcpladder::summary::ConnRow> = engine
            .connections()
            .iter()
            .map(|c| tcpladder::summary::ConnRow::new(c, engine.conversation(c.id), end))
            .collect();
        // The accept queue's count, from the finished rows' own findings.
        let mut waiting = std::collections::HashMap::new();
        for row in all.iter().filter(|r| r.diagnoses.iter().any(|d| d.code.name() == "accept_backlog")) {
            *waiting.entry(row.server.clone()).or_default() += 1;
        }
        for row in &mut all {
            tcpladder::summary::note_accept_queue(row, &waiting);
        }
        let mut links = tcpladder::analysis::chains::links_of(engine);
        for row in &mut all {
            row.links = links.remove(&row.id).unwrap_or_default();
        }
        let one_at_a_time: Vec<_> = tcpladder::summary::rows_of(engine).collect();
        let json = |rows: &[tcpladder::summary::ConnRow]| serde_json::to_value(rows).expect("rows serialise");
        assert_eq!(json(&one_at_a_time), json(&all), "{}", path.display());
        compared += all.len();
        counted += all.iter().filter(|r| r.diagnoses.iter().any(|d| d.text.contains("such connections"))).count();
        linked += all.iter().filter(|r| !r.links.is_empty()).count();
    }
    assert!(compared > 60 && counted > 0 && linked > 0, "{compared} rows, {counted} counted, {linked} linked");
}
