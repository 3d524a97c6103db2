//! A second capture of the same traffic, from the other end, read and matched on a thread while
//! the window shows the first: then each connection can be drawn from both ends.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

use crate::analysis::merge::{merge, Merged};
use crate::ladder::two_views::TwoViews;
use crate::Engine;

/// The other end's capture, matched against the document's.
pub struct Vantage {
    pub b_path: PathBuf,
    pub b_engine: Engine,
    pub merged: Merged,
    /// The last connection drawn from both ends, laid out once.
    cached: Option<(u32, Option<TwoViews>)>,
}

impl Vantage {
    /// Connection `id` (of the document's capture) from both ends, when B saw it too.
    pub fn views(&self, a: &Engine, id: u32) -> Option<TwoViews> {
        let &(b_id, _) = self.merged.vantage.get(&id)?;
        TwoViews::new(a.connection(id)?, self.b_engine.connection(b_id)?, &self.merged)
    }

    /// What [`Self::views_cached`] laid out last, without laying out anything.
    pub fn views_cached_peek(&self) -> Option<&TwoViews> {
        self.cached.as_ref().and_then(|(_, views)| views.as_ref())
    }

    /// Like [`Self::views`], laid out once per connection shown.
    pub fn views_cached(&mut self, a: &Engine, id: u32) -> Option<&TwoViews> {
        if self.cached.as_ref().is_none_or(|(cached, _)| *cached != id) {
            self.cached = Some((id, self.views(a, id)));
        }
        self.cached.as_ref().and_then(|(_, views)| views.as_ref())
    }

    /// What the window says about the pair: the offset and how many segments matched.
    pub fn summary(&self) -> String {
        let report = self.merged.report();
        let name = self.b_path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match self.merged.offset_nanos {
            Some(_) => format!(
                "Both ends: {name}'s clock corrected by {:+.6} s (± {:.6} s); {} segments seen by both, {} only here, {} only there",
                report.offset, report.uncertainty, report.matched, report.only_a, report.only_b
            ),
            None => format!("{name} shares no segment with this capture in both directions: the clocks cannot be matched"),
        }
    }
}

/// B being read and matched.
pub struct VantageLoad {
    receiver: Receiver<Result<Vantage, String>>,
}

impl VantageLoad {
    /// Reads `b_path` and matches it against `a` on a thread; `notify` wakes the window.
    pub fn spawn(a: Arc<Engine>, b_path: &Path, notify: impl Fn() + Send + 'static) -> Self {
        let (sender, receiver) = channel();
        let b_path = b_path.to_path_buf();
        let spawned = std::thread::Builder::new().name("tcpladder-vantage".into()).spawn(move || {
            let read = crate::session::read_capture(&b_path, crate::EngineConfig::default(), 1 << 20, |_, _| {
                std::ops::ControlFlow::Continue(())
            });
            let result = read.map_err(|err| err.to_string()).map(|outcome| {
                let merged = merge(&a, &outcome.engine);
                Vantage { b_path, b_engine: outcome.engine, merged, cached: None }
            });
            // The window closed the document meanwhile: nobody wants it any more.
            let _ = sender.send(result);
            notify();
        });
        if let Err(err) = spawned {
            let (sender, receiver) = channel();
            let _ = sender.send(Err(format!("could not start reading the second capture: {err}")));
            return Self { receiver };
        }
        Self { receiver }
    }

    /// The result, once there.
    pub fn poll(&self) -> Option<Result<Vantage, String>> {
        self.receiver.try_recv().ok()
    }
}
