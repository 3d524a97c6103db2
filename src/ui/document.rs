//! An opened capture as the UI holds it: the model, its rows, and what is selected.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::error::DamagedCapture;
use crate::ladder::{LadderLayout, LayoutOptions};
use crate::loader::Loaded;
use crate::report::ConnRow;
use crate::tcp::Connection;
use crate::Engine;

/// A capture that finished loading.
pub struct Document {
    pub path: PathBuf,
    pub engine: Engine,
    pub rows: Vec<ConnRow>,
    pub damage: Option<DamagedCapture>,
    pub cancelled: bool,
    pub selected_conn: Option<u32>,
    pub selected_segment: Option<usize>,
    /// Folded runs the user expanded, by their first segment, for the selected connection.
    pub expanded: BTreeSet<usize>,
    layout: Option<(u32, BTreeSet<usize>, LadderLayout)>,
}

impl Document {
    /// A document from a finished load, with its first connection selected.
    pub fn new(loaded: Loaded) -> Self {
        let selected_conn = loaded.rows.first().map(|row| row.id);
        Self {
            path: loaded.path,
            engine: loaded.engine,
            rows: loaded.rows,
            damage: loaded.damage,
            cancelled: loaded.cancelled,
            selected_conn,
            selected_segment: None,
            expanded: BTreeSet::new(),
            layout: None,
        }
    }

    /// The selected connection.
    pub fn connection(&self) -> Option<&Connection> {
        self.engine.connection(self.selected_conn?)
    }

    /// The row of the selected connection.
    pub fn row(&self) -> Option<&ConnRow> {
        let id = self.selected_conn?;
        self.rows.get(id as usize).filter(|row| row.id == id)
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

    /// The ladder layout of the selected connection, recomputed only when it or the folds change.
    pub fn layout(&mut self) -> Option<&LadderLayout> {
        let id = self.selected_conn?;
        let stale = !matches!(&self.layout, Some((cached, expanded, _)) if *cached == id && *expanded == self.expanded);
        if stale {
            let connection = self.engine.connection(id)?;
            let noted: Vec<u32> =
                self.row().map(|row| row.diagnoses.iter().map(|d| d.frame).collect()).unwrap_or_default();
            let layout = LadderLayout::new(connection, &self.expanded, &noted, &LayoutOptions::default());
            self.layout = Some((id, self.expanded.clone(), layout));
        }
        self.layout.as_ref().map(|(_, _, layout)| layout)
    }
}
