//! Several connections on one ladder, as the window chooses them: the connections marked in the
//! table, one connection and its chain, every connection to or from one port, or what the
//! filter shows. Laid out once when chosen; the window draws the layout.

use crate::analysis::chain_story::chain_story;
use crate::analysis::chains::chain_order;
use crate::ladder::multi::MultiLayout;
use crate::ladder::LayoutOptions;
use crate::summary::{links_by_id, ConnRow};
use crate::Engine;

/// Which connections to draw together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// These, as marked in the table.
    Marked(Vec<u32>),
    /// This connection and every connection chained to it.
    Chain(u32),
    /// Every connection to or from this connection's server port.
    Port(u32),
    /// These, as the filter shows them.
    Filtered(Vec<u32>),
}

/// The connections drawn together, laid out.
#[derive(Debug, Clone)]
pub struct Several {
    pub ids: Vec<u32>,
    /// What was chosen, in words: "connection 2 and its chain (3 connections)".
    pub title: String,
    pub layout: MultiLayout,
    /// The chain's diagnosis, when there is one.
    pub story: Vec<String>,
}

/// At most this many connections are drawn together; the lanes and rows stay virtualised, but
/// a choice past it is cut (and says so) so that laying it out stays quick.
pub const MOST_CONNECTIONS: usize = 5_000;

impl Several {
    /// Lays out `choice`; `None` when it holds fewer than one connection.
    pub fn choose(engine: &Engine, rows: &[ConnRow], choice: &Choice) -> Option<Self> {
        let links = links_by_id(rows);
        let (mut chain, title): (Vec<(u32, usize)>, String) = match choice {
            Choice::Marked(ids) => (ids.iter().map(|&id| (id, 0)).collect(), "the marked connections".into()),
            Choice::Filtered(ids) => {
                (ids.iter().map(|&id| (id, 0)).collect(), "the connections the filter shows".into())
            }
            Choice::Chain(id) => (chain_order(&[*id], &links), format!("connection {id} and its chain")),
            Choice::Port(id) => {
                let port = engine.connection(*id)?.server.port();
                let ids = engine
                    .connections()
                    .iter()
                    .filter(|c| c.server.port() == port || c.client.port() == port)
                    .map(|c| (c.id, 0))
                    .collect();
                (ids, format!("every connection to or from port {port}"))
            }
        };
        let cut = chain.len().saturating_sub(MOST_CONNECTIONS);
        chain.truncate(MOST_CONNECTIONS);
        let connections: Vec<_> = chain.iter().filter_map(|&(id, _)| engine.connection(id)).collect();
        if connections.is_empty() {
            return None;
        }
        let depths: Vec<usize> =
            chain.iter().filter(|(id, _)| engine.connection(*id).is_some()).map(|&(_, d)| d).collect();
        let ids: Vec<u32> = connections.iter().map(|c| c.id).collect();
        let layout = MultiLayout::chained(&connections, &depths, &LayoutOptions::default());
        let story = chain_story(engine, &links, &ids);
        let more = if cut > 0 { format!(", {cut} more not drawn") } else { String::new() };
        let title = format!("{title} ({} connections, {} sockets{more})", ids.len(), layout.lanes.len());
        Some(Self { ids, title, layout, story })
    }
}
