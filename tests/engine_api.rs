//! The engine as the app will use it: fed from a file with progress, cancellable, and asked for
//! its model while it reads.

use std::ops::ControlFlow;

use tcpladder::capture::read_capture;
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
    assert_eq!(outcome.engine.connections().first().map(|c| c.segments.len()), Some(3));
}

#[test]
fn time_wait_length_is_configurable() {
    let server_final_state = |time_wait_nanos| {
        let config = EngineConfig { time_wait_nanos };
        let outcome =
            read_capture(&sample("server-close-first.pcap"), config, 1 << 20, |_, _| ControlFlow::Continue(()))
                .unwrap_or_else(|err| panic!("{err}"));
        let engine = outcome.engine;
        let end = engine.capture_end_nanos();
        engine.connections().first().map(|c| c.states_at(end)[1].name()).unwrap_or_default()
    };
    // The server closed first; its TIME_WAIT outlasts the capture only when it is long enough.
    assert_eq!(server_final_state(60_000_000_000), "TIME_WAIT");
    assert_eq!(server_final_state(1_000), "CLOSED");
}
