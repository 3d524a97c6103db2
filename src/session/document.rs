//! An opened capture as the UI holds it: the model, its rows, and what is selected.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use std::sync::mpsc::{channel, Receiver};

use super::recent_frames::RecentFrames;
use crate::capture::read_frame;
use crate::error::DamagedCapture;
use crate::ladder::{LadderLayout, LayoutOptions};
use crate::session::loader::{arrow_notes, Loaded};
use crate::summary::ConnRow;
use crate::tcp::Connection;
use crate::wire::LinkType;
use crate::Engine;

/// A rows version never used before, by any document.
fn next_rows_version() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The row of connection `id` among rows sorted by id (the oldest may have been evicted).
pub fn row_by_id(rows: &[ConnRow], id: u32) -> Option<&ConnRow> {
    rows.binary_search_by_key(&id, |row| row.id).ok().and_then(|at| rows.get(at))
}

/// One frame's bytes, read back from the file for the details pane.
#[derive(Debug, Clone)]
pub struct FrameBytes {
    pub frame: u32,
    pub bytes: Result<(LinkType, Vec<u8>), String>,
}

/// A capture that finished loading.
pub struct Document {
    pub path: PathBuf,
    /// Shared with threads that compute a big connection's charts (files only: a live
    /// capture's engine keeps changing).
    pub engine: Arc<Engine>,
    pub rows: Vec<ConnRow>,
    /// Changes whenever `rows` do, so views of them know when to recompute.
    pub rows_version: u64,
    pub damage: Option<DamagedCapture>,
    pub cancelled: bool,
    pub selected_conn: Option<u32>,
    pub selected_segment: Option<usize>,
    /// Folded runs the user expanded, by their first segment, for the selected connection.
    pub expanded: BTreeSet<usize>,
    layout: Option<(u32, BTreeSet<usize>, LadderLayout)>,
    /// What the conversation writes beside the selected connection's arrows, by frame (message
    /// labels, waits), computed with the layout.
    app_notes: std::collections::BTreeMap<u32, Vec<String>>,
    /// The answered requests' waits of the selected connection: (request frame, response frame,
    /// seconds), drawn as brackets on the client's side.
    waits: Vec<(u32, u32, f64)>,
    /// The connection and its segment count the waits were found for.
    waits_of: Option<(u32, usize)>,
    /// Segments of the selected connection when the layout was computed (live captures grow).
    layout_len: usize,
    frame_bytes: Option<FrameBytes>,
    frame_request: Option<(u32, Receiver<FrameBytes>)>,
    /// For a live capture: each connection's segment count when its row was last computed.
    row_lens: Vec<usize>,
    /// Notes to show on the arrows of these frames (what a lesson's applications saw).
    pub annotations: Vec<(u32, String)>,
    /// The live capture that fills this document, if any.
    pub capture_id: Option<u64>,
    /// Where an unfinished row refresh goes on: the next connection id to look at.
    refresh_from: Option<u32>,
    /// The unfinished row refresh changed some rows.
    refresh_changed: bool,
    /// Rows of evicted connections, not yet taken by [`Self::take_evicted`].
    evicted_rows: Vec<ConnRow>,
    /// The Conversation pane's transcript: of which connection, and the read (pending or done).
    followed: Option<(u32, Followed)>,
    /// For a live capture: the segment count the conversation was followed at (it grows).
    followed_len: usize,
    /// A live capture's newest frames' bytes, for Details (there is no file to read them from).
    recent_frames: Option<RecentFrames>,
    /// Several connections drawn on one ladder instead of the selected one.
    pub several: Option<super::several::Several>,
    /// The same traffic captured at the other end, matched with this capture.
    pub vantage: Option<super::vantage::Vantage>,
}

/// Why a live connection's earliest bytes are missing from its streams, and what to do instead.
const LIVE_BYTES_DROPPED: &str = "segments of this connection are older than the newest frames a live capture \
                                  keeps, so their bytes are holes here: capture to a file (the live window's save \
                                  file, or `tcpladder capture -w FILE`) and open it to follow every byte";

/// A connection's conversation read back with its bytes, or why it could not be.
pub type FollowResult = Result<Arc<crate::protocols::Conversation>, String>;

enum Followed {
    Reading(Receiver<FollowResult>),
    Read(FollowResult),
}

/// Connections and rows a live document let go of, to be freed where no lock is held.
pub struct Evicted {
    pub connections: Vec<Connection>,
    pub rows: Vec<ConnRow>,
}

impl Document {
    /// A document from a finished load, with its first connection selected.
    pub fn new(loaded: Loaded) -> Self {
        let selected_conn = loaded.rows.first().map(|row| row.id);
        // The loader laid out the first connection: the one shown first.
        let layout_len = selected_conn.and_then(|id| loaded.engine.connection(id)).map_or(0, |c| c.segments.len());
        let layout = loaded.first_layout.zip(selected_conn).map(|(layout, id)| (id, BTreeSet::new(), layout));
        let app_notes = loaded.first_notes;
        Self {
            path: loaded.path,
            engine: Arc::new(loaded.engine),
            rows: loaded.rows,
            rows_version: next_rows_version(),
            damage: loaded.damage,
            cancelled: loaded.cancelled,
            selected_conn,
            selected_segment: None,
            expanded: BTreeSet::new(),
            layout,
            layout_len,
            frame_bytes: None,
            frame_request: None,
            row_lens: Vec::new(),
            annotations: Vec::new(),
            app_notes,
            waits: Vec::new(),
            waits_of: None,
            capture_id: None,
            refresh_from: None,
            refresh_changed: false,
            evicted_rows: Vec::new(),
            followed: None,
            followed_len: 0,
            recent_frames: None,
            several: None,
            vantage: None,
        }
    }

    /// An empty document that live capture `capture_id` fills; `label` names it where a path
    /// would. Above `memory_limit_bytes` the oldest connections are dropped.
    pub fn live(label: &str, link: LinkType, memory_limit_bytes: u64, capture_id: u64) -> Self {
        let config = crate::EngineConfig { memory_limit_bytes: Some(memory_limit_bytes), ..Default::default() };
        let engine = crate::Engine::new(link, config);
        let loaded = Loaded {
            path: PathBuf::from(label),
            engine,
            rows: Vec::new(),
            damage: None,
            cancelled: false,
            first_layout: None,
            first_notes: std::collections::BTreeMap::new(),
        };
        // An eighth of the limit, at most 32 MB: enough for the segments a person clicks on.
        let frames_budget = usize::try_from((memory_limit_bytes / 8).min(32 << 20)).unwrap_or(32 << 20);
        Self {
            capture_id: Some(capture_id),
            recent_frames: Some(RecentFrames::new(frames_budget)),
            ..Self::new(loaded)
        }
    }

    /// The engine, to change it (a copy is made only if a thread still reads it).
    pub fn engine_mut(&mut self) -> &mut Engine {
        Arc::make_mut(&mut self.engine)
    }

    /// Feeds captured frames to the engine.
    pub fn ingest(&mut self, batch: &crate::capture::worker::FrameBatch) {
        self.ingest_frames(batch.iter());
    }

    /// Feeds frames to the engine; a live document also keeps their bytes for Details.
    pub fn ingest_frames<'a>(&mut self, frames: impl IntoIterator<Item = (i64, &'a [u8])>) {
        let engine = Arc::make_mut(&mut self.engine);
        for (ts_nanos, frame) in frames {
            engine.ingest(ts_nanos, frame);
            if let Some(recent) = &mut self.recent_frames {
                recent.push(u32::try_from(engine.stats().packets).unwrap_or(u32::MAX), frame);
            }
        }
    }

    /// Recomputes every row that is out of date ([`Self::refresh_rows_within`] without a limit).
    pub fn refresh_rows(&mut self) {
        self.refresh_rows_within(std::time::Duration::MAX);
    }

    /// Recomputes the rows of connections that grew since the last pass (a live capture), and
    /// drops the rows of connections the engine evicted to bound memory. Stops after about
    /// `budget` and goes on at the next call; true when a pass finished.
    pub fn refresh_rows_within(&mut self, budget: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        let end = self.engine.capture_end_nanos();
        let first_id = self.engine.first_connection_id();
        let evicted_rows = self.rows.iter().take_while(|row| row.id < first_id).count();
        let rows_before = self.rows.len();
        if evicted_rows > 0 {
            // What the caller did not take since the last eviction is freed now.
            self.evicted_rows = self.rows.drain(..evicted_rows).collect();
            self.row_lens.drain(..evicted_rows.min(self.row_lens.len()));
            if self.selected_conn.is_some_and(|id| id < first_id) {
                self.selected_conn = None;
                self.selected_segment = None;
            }
            // Views keep row ids: they must not keep the evicted ones.
            self.rows_version = next_rows_version();
        }
        // Rows that came with the document have no recorded length: recompute them once.
        self.row_lens.resize(self.rows.len(), usize::MAX);
        let from = self.refresh_from.take().unwrap_or(first_id).max(first_id);
        let connections = self.engine.connections();
        let skip = from.saturating_sub(first_id) as usize;
        for (looked, connection) in connections.range(skip.min(connections.len())..).enumerate() {
            // Reading the clock is not free: look at it every few dozen connections.
            if looked % 32 == 31 && started.elapsed() >= budget {
                self.refresh_from = Some(connection.id);
                break;
            }
            let len = connection.segments.len();
            let index = connection.id.saturating_sub(first_id) as usize;
            match (self.rows.get_mut(index), self.row_lens.get_mut(index)) {
                (Some(_), Some(known)) if *known == len => {}
                (Some(slot), Some(known)) => {
                    *slot = ConnRow::new(connection, self.engine.conversation(connection.id), end);
                    *known = len;
                    self.refresh_changed = true;
                }
                _ => {
                    self.rows.push(ConnRow::new(connection, self.engine.conversation(connection.id), end));
                    self.row_lens.push(len);
                }
            }
        }
        if self.rows.len() != rows_before {
            self.refresh_changed = true;
            // The table's rows count against a live capture's memory limit too: their average
            // size, over the newest rows.
            let newest = self.rows.get(self.rows.len().saturating_sub(256)..).unwrap_or_default();
            if !newest.is_empty() {
                let average = newest.iter().map(ConnRow::bytes).sum::<usize>() / newest.len();
                self.engine_mut().set_extra_bytes_per_connection(average as u64);
            }
        }
        if self.refresh_from.is_some() {
            return false;
        }
        if std::mem::take(&mut self.refresh_changed) {
            self.rows_version = next_rows_version();
        }
        self.engine_mut().measure_held();
        if self.selected_conn.is_none() {
            self.selected_conn = self.rows.first().map(|row| row.id);
        }
        true
    }

    /// What was evicted since the last call, for the caller to free when it suits it (freeing
    /// a hundred thousand connections takes a while).
    pub fn take_evicted(&mut self) -> Evicted {
        Evicted { connections: self.engine_mut().take_evicted(), rows: std::mem::take(&mut self.evicted_rows) }
    }

    /// The bytes of `frame`, read from the file on a background thread the first time they are
    /// asked for (`notify` wakes the UI when they arrive); `None` until then.
    pub fn frame_bytes(&mut self, frame: u32, notify: impl Fn() + Send + 'static) -> Option<&FrameBytes> {
        if let Some((requested, receiver)) = &self.frame_request {
            if *requested == frame {
                if let Ok(bytes) = receiver.try_recv() {
                    self.frame_bytes = Some(bytes);
                    self.frame_request = None;
                }
            }
        }
        let cached = self.frame_bytes.as_ref().is_some_and(|b| b.frame == frame);
        let pending = self.frame_request.as_ref().is_some_and(|(f, _)| *f == frame);
        let kept = self.recent_frames.as_ref().and_then(|recent| recent.get(frame));
        if let (false, Some(bytes)) = (cached, kept) {
            self.frame_bytes = Some(FrameBytes { frame, bytes: Ok((self.engine.link(), bytes.to_vec())) });
        } else if !cached && !pending && !self.path.is_file() {
            // A live capture or a lesson keeps its frames' headers, not their bytes, and has no
            // file to read them back from: say so rather than "No such file".
            let why = "only the newest frames' bytes of a live capture or a lesson are kept, and this one is older: \
                       capture to a file (the live window's save file, or `tcpladder capture -w FILE`) and open it \
                       to see every frame";
            self.frame_bytes = Some(FrameBytes { frame, bytes: Err(why.to_string()) });
        } else if !cached && !pending {
            let (sender, receiver) = channel();
            let path = self.path.clone();
            let spawned = std::thread::Builder::new().name("tcpladder-frame".into()).spawn(move || {
                let bytes = read_frame(&path, frame).map_err(|err| err.to_string());
                // The document was closed meanwhile: the bytes are not wanted any more.
                let _ = sender.send(FrameBytes { frame, bytes });
                notify();
            });
            if spawned.is_ok() {
                self.frame_request = Some((frame, receiver));
            }
        }
        self.frame_bytes.as_ref().filter(|b| b.frame == frame)
    }

    /// The selected connection's conversation with both byte streams, read from the file on a
    /// background thread the first time it is asked for (`notify` wakes the UI when it is
    /// ready); `None` while it is read.
    pub fn followed(&mut self, notify: impl Fn() + Send + 'static) -> Option<FollowResult> {
        let id = self.selected_conn?;
        let live_len = self.recent_frames.as_ref().and_then(|_| self.engine.connection(id)).map(|c| c.segments.len());
        let stale = live_len.is_some_and(|len| len != self.followed_len);
        if stale || self.followed.as_ref().is_none_or(|(of, _)| *of != id) {
            let followed = if let Some(recent) = &self.recent_frames {
                // A live capture: its newest frames are in memory, followed at once, again as
                // the connection grows.
                let connection = self.engine.connection(id)?;
                self.followed_len = connection.segments.len();
                let (conversation, missing) =
                    crate::session::follow::follow_kept(connection, self.engine.link(), |frame| recent.get(frame));
                // Some segments too old to be kept: what remains is followed, holes and all.
                Followed::Read(if missing > 0 && missing == connection.segments.len() {
                    Err(format!("all {missing} {LIVE_BYTES_DROPPED}"))
                } else {
                    Ok(Arc::new(conversation))
                })
            } else {
                let connection = self.engine.connection(id)?.clone();
                let (sender, receiver) = channel();
                let path = self.path.clone();
                let spawned = std::thread::Builder::new().name("tcpladder-follow".into()).spawn(move || {
                    let read =
                        crate::session::follow::follow(&path, &connection).map(Arc::new).map_err(|err| err.to_string());
                    // The document was closed meanwhile: the transcript is not wanted any more.
                    let _ = sender.send(read);
                    notify();
                });
                match spawned {
                    Ok(_) => Followed::Reading(receiver),
                    Err(err) => Followed::Read(Err(format!("could not start reading: {err}"))),
                }
            };
            self.followed = Some((id, followed));
        }
        let (_, followed) = self.followed.as_mut()?;
        if let Followed::Reading(receiver) = followed {
            if let Ok(read) = receiver.try_recv() {
                *followed = Followed::Read(read);
            }
        }
        match followed {
            Followed::Read(read) => Some(read.clone()),
            Followed::Reading(_) => None,
        }
    }

    /// The capture's file name (or a live capture's label), for titles.
    pub fn title(&self) -> String {
        self.path.file_name().unwrap_or(self.path.as_os_str()).to_string_lossy().into_owned()
    }

    /// The selected connection.
    pub fn connection(&self) -> Option<&Connection> {
        self.engine.connection(self.selected_conn?)
    }

    /// The row of the selected connection.
    pub fn row(&self) -> Option<&ConnRow> {
        row_by_id(&self.rows, self.selected_conn?)
    }

    /// Selects a connection, clearing the segment selection.
    pub fn select_connection(&mut self, id: u32) {
        if self.selected_conn != Some(id) {
            self.selected_conn = Some(id);
            self.selected_segment = None;
            self.expanded.clear();
        }
    }

    /// The layout last computed by [`Self::layout`], without recomputing it.
    pub fn layout_cached(&self) -> Option<&LadderLayout> {
        self.layout.as_ref().filter(|(id, _, _)| Some(*id) == self.selected_conn).map(|(_, _, layout)| layout)
    }

    /// The conversation's notes on the selected connection's arrows, as of the last layout.
    pub fn app_notes(&self) -> &std::collections::BTreeMap<u32, Vec<String>> {
        &self.app_notes
    }

    /// The selected connection's answered requests: (request frame, response frame, seconds).
    pub fn waits(&self) -> &[(u32, u32, f64)] {
        &self.waits
    }

    /// The ladder layout of the selected connection, recomputed only when it or the folds change.
    pub fn layout(&mut self) -> Option<&LadderLayout> {
        let id = self.selected_conn?;
        let len = self.engine.connection(id).map_or(0, |c| c.segments.len());
        let len = len + self.annotations.len();
        let stale = len != self.layout_len
            || !matches!(&self.layout, Some((cached, expanded, _)) if *cached == id && *expanded == self.expanded);
        if stale {
            self.layout_len = len;
            let connection = self.engine.connection(id)?;
            let (noted, notes) = arrow_notes(&self.engine, connection, self.row());
            self.app_notes = notes;
            let mut layout = LadderLayout::new(connection, &self.expanded, &noted, &LayoutOptions::default());
            if let Some(conversation) = self.engine.conversation(id) {
                layout.note_fold_contents(connection, conversation.messages());
            }
            self.layout = Some((id, self.expanded.clone(), layout));
        }
        if self.waits_of != Some((id, len)) {
            self.waits_of = Some((id, len));
            let connection = self.engine.connection(id)?;
            self.waits = self.engine.conversation(id).map_or_else(Vec::new, |conversation| {
                crate::analysis::exchanges::exchanges(connection, conversation)
                    .iter()
                    .filter(|e| e.outcome == crate::analysis::exchanges::Outcome::Answered)
                    .filter_map(|e| Some((e.request_frame, e.response_frame?, e.latency?)))
                    .collect()
            });
        }
        self.layout.as_ref().map(|(_, _, layout)| layout)
    }
}
