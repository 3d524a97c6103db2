//! Reads a capture file into an [`Engine`]: the capture layer yields packets, this feeds them,
//! reporting progress and honouring cancellation. The command line, the window's loader, the
//! fuzz bodies and the tests all read files through here.

use std::ops::ControlFlow;
use std::path::Path;

use crate::capture::{CaptureFile, CaptureFormat, Progress};
use crate::engine::{Engine, EngineConfig};
use crate::error::{CaptureError, DamagedCapture};
use crate::wire::LinkType;

/// What reading a file produced.
#[derive(Debug)]
pub struct ReadOutcome {
    pub engine: Engine,
    pub format: CaptureFormat,
    /// Set when the file is damaged or cut off: everything before it is in `engine`.
    pub damage: Option<DamagedCapture>,
    /// True when the progress callback asked to stop.
    pub cancelled: bool,
}

/// The memory limit of a file read with none given: half of this machine's memory (`MemTotal`),
/// or 4 GiB where that cannot be read. A file, however large or hostile, never takes more.
pub fn default_memory_limit() -> u64 {
    let total_kb = std::fs::read_to_string("/proc/meminfo").ok().and_then(|info| {
        let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    });
    total_kb.map_or(4 << 30, |kb| kb.saturating_mul(1024) / 2)
}

/// What a read past its memory limit left out, in words (`None` when nothing was): the command
/// line and the window say the same.
pub fn limit_reached_note(limit_bytes: u64, stats: &crate::engine::Stats) -> Option<String> {
    (stats.evicted_connections > 0).then(|| {
        format!(
            "The memory limit ({} MB) was reached: the {} oldest connections ({} segments) are counted in the \
             totals but not listed, and connections still open then are listed from where they went on (mid-stream)",
            limit_bytes >> 20,
            stats.evicted_connections,
            stats.evicted_segments
        )
    })
}

/// Reads `path`, calling `on_progress` every `progress_every` packets; it may stop the read.
/// Damage stops the read and is reported in the outcome with everything before it kept.
pub fn read_capture(
    path: &Path,
    config: EngineConfig,
    progress_every: u64,
    mut on_progress: impl FnMut(&Progress, &mut Engine) -> ControlFlow<()>,
) -> Result<ReadOutcome, CaptureError> {
    let mut file = CaptureFile::open(path)?;
    let format = file.format();
    let mut engine: Option<Engine> = None;
    let every = progress_every.max(1);
    let mut damage = None;
    let mut cancelled = false;
    loop {
        match file.next_packet() {
            Ok(Some(packet)) => {
                let engine = engine.get_or_insert_with(|| Engine::new(packet.link, config));
                engine.ingest_in_block(packet.link, packet.ts_nanos, packet.data, packet.block);
            }
            Ok(None) => break,
            Err(found) => {
                damage = Some(found);
                break;
            }
        }
        let progress = file.progress();
        if progress.packets.is_multiple_of(every) {
            if let Some(engine) = &mut engine {
                if on_progress(&progress, engine).is_break() {
                    cancelled = true;
                    break;
                }
            }
        }
    }
    let link = file.link().unwrap_or(LinkType::Ethernet);
    let mut engine = engine.unwrap_or_else(|| Engine::new(link, config));
    if let Some(drops) = file.kernel_drops() {
        engine.note_kernel_drops(drops);
    }
    engine.finish();
    if !cancelled {
        let mut progress = file.progress();
        progress.bytes_read = progress.bytes_total;
        // The final call reports completion; stopping now changes nothing.
        let _ = on_progress(&progress, &mut engine);
    }
    Ok(ReadOutcome { engine, format, damage, cancelled })
}
