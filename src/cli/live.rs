//! The commands that capture live: `capture` and `lesson`.

use std::process::ExitCode;

use anyhow::{bail, Context as _};

use tcpladder::capture::live::LiveOptions;
use tcpladder::capture::source::LiveCapture;
use tcpladder::capture::worker::{spawn_capture, LiveEvent};
use tcpladder::engine::{Engine, EngineConfig, DEFAULT_LIVE_MEMORY_LIMIT_MB};
use tcpladder::ladder::Numbering;
use tcpladder::lessons;
use tcpladder::render::render_text_ladder;
use tcpladder::summary::secs;

use super::conns::{print_conns, ConnsFormat};
use super::files::{load, print_memory};
use super::Reading;

/// Captures until `count` packets or `duration` seconds, whichever comes first.
pub(super) fn capture(
    options: &LiveOptions,
    config: Reading,
    duration: Option<f64>,
    count: Option<u64>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    if duration.is_none() && count.is_none() {
        bail!("say when to stop: --duration SECS or --count N");
    }
    let mut live = LiveCapture::open(options)?;
    let mut engine_config = EngineConfig { decode_on_thread: false, ..config.engine };
    engine_config.memory_limit_bytes.get_or_insert(DEFAULT_LIVE_MEMORY_LIMIT_MB << 20);
    let mut engine = Engine::new(live.link(), engine_config);
    let filter = options.filter.as_deref().map_or(String::new(), |f| format!(" with filter `{f}`"));
    let helper = if live.through_helper() { " through the capture helper" } else { "" };
    eprintln!("tcpladder: capturing on {} ({}){filter}{helper}", options.device, live.link());
    let started = std::time::Instant::now();
    let deadline = duration.map(|secs| started + std::time::Duration::from_secs_f64(secs.max(0.0)));
    let mut packets = 0u64;
    while count.is_none_or(|n| packets < n) && deadline.is_none_or(|d| std::time::Instant::now() < d) {
        live.next(|ts_nanos, frame| {
            engine.ingest(ts_nanos, frame);
            packets += 1;
        })?;
    }
    live.flush()?;
    let (received, dropped) = live.stats().unwrap_or_default();
    let twice = if tcpladder::capture::live::counters_count_twice(&options.device) {
        "; on lo the kernel counts each packet twice, sent and received"
    } else {
        ""
    };
    eprintln!(
        "tcpladder: {packets} packets in {:.1} s ({received} received by the filter, {dropped} dropped by the kernel{twice})",
        started.elapsed().as_secs_f64()
    );
    let evicted = engine.stats().evicted_connections;
    if evicted > 0 {
        eprintln!(
            "tcpladder: the {evicted} oldest connections ({} segments) were dropped to stay under the memory limit",
            engine.stats().evicted_segments
        );
    }
    if config.print_stats {
        print_memory(&engine, started.elapsed());
    }
    print_conns(&engine, if json { ConnsFormat::Json } else { ConnsFormat::Table })?;
    Ok(ExitCode::SUCCESS)
}

/// Lists the lessons, or performs one while capturing `lo` and prints its ladder and explanation.
pub(super) fn lesson(name: Option<&str>, config: Reading) -> anyhow::Result<ExitCode> {
    let Some(name) = name else {
        for lesson in lessons::all() {
            println!("{:<20} {} — {}", lesson.id, lesson.title, lesson.question);
        }
        return Ok(ExitCode::SUCCESS);
    };
    let Some(lesson) = lessons::find(name) else {
        let ids: Vec<&str> = lessons::all().iter().map(|l| l.id).collect();
        bail!("no lesson `{name}`; the lessons are: {}", ids.join(", "));
    };
    let port = lessons::port_of(lesson);
    println!(
        "# {}

{}

{}
",
        lesson.title, lesson.question, lesson.snippet
    );
    let options = LiveOptions { filter: Some(format!("tcp port {port}")), ..LiveOptions::loopback() };
    let capture = spawn_capture(options, || {});
    let link = match capture.events.recv_timeout(std::time::Duration::from_secs(5)) {
        Ok(LiveEvent::Started { link }) => link,
        Ok(LiveEvent::Stopped(end)) => {
            return lesson_from_recording(lesson, &end.error_text().unwrap_or_default(), config)
        }
        _ => bail!("the capture did not start"),
    };
    // The lesson's ladder is drawn as it plays: its conversations are asked for while reading.
    let mut engine = Engine::new(link, EngineConfig { decode_on_thread: false, ..config.engine });
    let mut ingest = |event| match event {
        LiveEvent::Batch { batch, .. } => {
            engine.ingest_all(batch.iter());
            true
        }
        LiveEvent::Stopped(_) => false,
        LiveEvent::Started { .. } => true,
    };
    // Reads what the capture sends for as long as `go_on` says.
    let mut read_while = |go_on: &dyn Fn() -> bool| {
        while go_on() {
            if let Ok(event) = capture.events.recv_timeout(std::time::Duration::from_millis(20)) {
                ingest(event);
            }
        }
    };
    // The capture's queue is bounded: it is read while the lesson plays (a lesson idles for
    // seconds), else the capture would wait on it and be stopped before reading the rest.
    let outcome = std::thread::scope(|scope| {
        let playing = scope.spawn(|| lesson.run(port));
        read_while(&|| !playing.is_finished());
        playing.join().unwrap_or_else(|_| Err(std::io::Error::other("the lesson's thread panicked")))
    })
    .with_context(|| format!("performing the lesson `{}`", lesson.id))?;
    // Let the last segments arrive before stopping the capture.
    let settle = std::time::Instant::now() + std::time::Duration::from_millis(300);
    read_while(&|| std::time::Instant::now() < settle);
    capture.stop();
    while let Ok(event) = capture.events.recv_timeout(std::time::Duration::from_secs(5)) {
        if !ingest(event) {
            break;
        }
    }
    drop(outcome.held);
    drop(outcome.held_listeners);
    print_lesson(lesson, &engine, &outcome.events);
    Ok(ExitCode::SUCCESS)
}

/// Capturing is not allowed: show the recording of the same scenario, and say so.
fn lesson_from_recording(lesson: &lessons::Lesson, why: &str, config: Reading) -> anyhow::Result<ExitCode> {
    eprintln!("tcpladder: cannot capture: {why}");
    let Some(sample) = lesson.sample else { bail!("this lesson has no recording to fall back to") };
    let path = tcpladder::samples::bundled_sample()
        .and_then(|bundled| bundled.parent().map(|dir| dir.join(sample)))
        .context("the sample captures are missing")?;
    println!("(Capturing is not permitted here, so this is a recording of the same scenario: {}.)\n", path.display());
    let (engine, _) = load(&path, config)?;
    print_lesson(lesson, &engine, &[]);
    Ok(ExitCode::SUCCESS)
}

fn print_lesson(lesson: &lessons::Lesson, engine: &Engine, events: &[lessons::AppEvent]) {
    let end = engine.capture_end_nanos();
    for connection in engine.connections() {
        print!("{}", render_text_ladder(connection, engine.conversation(connection.id), end, Numbering::Relative));
        println!();
    }
    if !events.is_empty() {
        let start = engine.stats().first_ts_nanos.unwrap_or(0);
        println!("What the applications saw:");
        for event in events {
            // The segment captured last before the call returned is the one that explains it.
            let after = engine
                .connections()
                .iter()
                .flat_map(|c| c.segments.iter())
                .filter(|s| s.ts_nanos <= event.ts_nanos)
                .map(|s| s.frame)
                .max();
            let after = after.map_or(String::new(), |frame| format!("  (after frame {frame})"));
            println!(
                "  {:>9.6} s  {:<6} {:<34} → {}{after}",
                secs(event.ts_nanos - start),
                event.side,
                event.call,
                event.outcome
            );
        }
        println!();
    }
    println!("{}", lesson.explanation);
}
